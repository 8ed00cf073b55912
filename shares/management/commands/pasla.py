"""`python manage.py pasla ...`: share a file, list shares, stop them, purge history.

The grammar is the standalone tool's (a positional FILE beside the
`list`/`stop` words), which Django's subcommand parser cannot express, so
this command parses its own argv.
"""

import sys

from django.core.management.base import BaseCommand

from shares.cli.parser import CliError, fail, parse, share_parser
from shares.handling import outage


class Command(BaseCommand):
    help = "Share a file through a token URL that dies by time or by download count."

    def print_help(self, prog_name, subcommand):
        share_parser().print_help()

    def run_from_argv(self, argv):
        sys.exit(main(argv[2:]))


def main(argv: list[str]) -> int:
    try:
        if argv and argv[0] == "relay":
            from shares.cli import relay

            return relay.main(argv[1:])
        name, opts = parse(argv)
        if name == "share" and opts.detach and not opts.detached_child and not opts.dry_run:
            # Each subcommand loads only what it runs: `list` must start fast.
            from shares.cli import detach

            return detach.run(argv, opts)
        if name == "share":
            from shares.cli import share

            return share.run(opts)
        if name == "client-cert":
            from shares.cli import client_cert

            return client_cert.run(opts)
        if name == "get":
            from shares.cli import get

            return get.run(opts)
        if name == "serve":
            from shares.cli import serve

            return serve.run(opts, argv[1:])
        from shares.cli import manage

        return manage.run(name, opts)
    except CliError as exc:
        return fail(str(exc))
    except outage.Unavailable as exc:
        return fail(str(exc))
    except Exception as exc:
        # A database or cache that goes away after the start check: still one line.
        kind = outage.failure_kind(exc)
        if kind is None:
            raise
        return fail(f"lost the {kind}: {outage.reason(exc)}")
