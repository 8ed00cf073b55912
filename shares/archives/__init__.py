"""Directories served as archives produced on the fly, with a size known up front."""
