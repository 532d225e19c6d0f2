"""The pipelines, joined only through the data catalog."""
