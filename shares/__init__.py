"""pasla: share one file or directory through a token URL that dies by time or count."""

__version__ = "0.1.0"
