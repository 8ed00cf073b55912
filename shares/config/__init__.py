"""Configuration: the CLI, the config file and the environment turned into one set of values."""
