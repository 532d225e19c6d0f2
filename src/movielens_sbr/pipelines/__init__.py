"""The four pipelines, joined only through the data catalog."""
