"""Errors that the operator's own input raises: shown as one line, exit 1."""


class ConfigError(ValueError):
    """A setting, flag or config-file value that cannot be used as given."""
