"""Session-based next-movie recommendation on MovieLens."""

__version__ = "0.1.0"
