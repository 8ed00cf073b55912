"""Trimmed parts of Django's request handling: executor lanes, caches, disconnects and outages."""
