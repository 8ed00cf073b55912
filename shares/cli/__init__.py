"""The operator's command line: `manage.py pasla ...`."""
