#!/usr/bin/env python3
"""Django's command-line entry point for pasla."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasla_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from shares.errors import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except (ConfigError, ImproperlyConfigured) as exc:
        # Settings are read before any command runs: a bad PASLA_* value or
        # DATABASE_URL is the operator's input, so one line and exit 1.
        sys.stderr.write(f"pasla: error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
