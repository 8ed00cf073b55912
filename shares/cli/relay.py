"""`manage.py pasla relay`: run a relay, and manage the senders allowed to use it."""

import argparse
import json
import logging
import os
import sys

from django.conf import settings

from shares import __version__
from shares.cli import tls_setup
from shares.cli.parser import CliError, Parser
from shares.cli.serve import _bind_all, _binds, _workers
from shares.cli.share import client_options
from shares.config import runtime
from shares.config.deployment import DEFAULT_BIND
from shares.handling import outage
from shares.operator import database
from shares.server import listeners as listen

log = logging.getLogger("pasla")

# How far ahead a relay's own certificate is checked for expiry (a warning only).
CERT_HORIZON_MINUTES = 7 * 24 * 60


RELAY_ACTIONS = ("add-sender", "remove-sender", "senders")


def relay_parser() -> Parser:
    p = Parser(
        prog="manage.py pasla relay",
        description="Run a relay: recipients fetch from it, senders behind NAT connect out to it "
        "('pasla FILE --via URL'). Subcommands: 'add-sender NAME [--json]' (prints a new key once), "
        "'remove-sender NAME' (cut off at once), 'senders [--json]'.",
    )
    p.add_argument(
        "--bind",
        action="append",
        default=[],
        metavar="ADDR:PORT",
        help="address to listen on, [ADDR]:PORT for IPv6 (repeatable; default $PASLA_BIND or 127.0.0.1:8000)",
    )
    p.add_argument("--workers", default="1", metavar="N", help="worker processes (only 1: see docs/relay.md)")
    p.add_argument(
        "--tls-cert", metavar="PATH", default=None, help="serve HTTPS with this PEM certificate (chain)"
    )
    p.add_argument("--tls-key", metavar="PATH", default=None, help="... and this PEM private key")
    p.add_argument(
        "--trust-proxy",
        action="store_true",
        help="behind a reverse proxy: the client is the rightmost X-Forwarded-For entry",
    )
    p.add_argument(
        "--trust-header", metavar="NAME", default=None, help="with --trust-proxy, read this header"
    )
    p.add_argument(
        "--allow-ip", action="append", default=[], metavar="CIDR", help="only these recipients (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object once listening")
    return p


def relay_action_parser(action: str) -> Parser:
    p = Parser(prog=f"manage.py pasla relay {action}")
    if action != "senders":
        p.add_argument("name", help="the sender's name (letters, digits, '.', '_', '-'; at most 64)")
    if action != "remove-sender":
        p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def parse_relay(argv: list[str]) -> argparse.Namespace:
    if argv and argv[0] in RELAY_ACTIONS:
        opts = relay_action_parser(argv[0]).parse_args(argv[1:])
        opts.action = argv[0]
        return opts
    opts = relay_parser().parse_args(argv)
    opts.action = "run"
    return opts


def main(argv: list[str]) -> int:
    """`pasla relay ...` (argv after the word `relay`)."""
    return run(parse_relay(argv))


def run(opts) -> int:
    if opts.action != "run":
        outage.require()
        database.ensure_database()
        return manage_senders(opts)
    return serve(opts)


def manage_senders(opts) -> int:
    from shares.relay import store

    if opts.action == "add-sender":
        try:
            key = store.add_sender(opts.name)
        except store.SenderError as exc:
            raise CliError(str(exc)) from None
        if opts.json:
            sys.stdout.write(json.dumps({"name": opts.name, "key": key}) + "\n")
        else:
            sys.stdout.write(
                f"sender {opts.name} added; its key (shown once, the relay keeps only a digest):\n{key}\n"
                "the sender uses it as PASLA_VIA_KEY (or --via-key) with --via\n"
            )
        return 0
    if opts.action == "remove-sender":
        if not store.remove_sender(opts.name):
            raise CliError(f"no sender named {opts.name!r}")
        sys.stdout.write(f"sender {opts.name} removed; a running relay cuts it off within a second\n")
        return 0
    rows = store.senders()
    if opts.json:
        sys.stdout.write(json.dumps(rows) + "\n")
    else:
        for row in rows:
            sys.stdout.write(f"{row['name']}\t{row['routes']} route(s)\tadded {row['created_at']}\n")
    return 0


def serve(opts) -> int:
    if _workers(opts.workers) != 1:
        raise CliError("a relay runs one worker: it holds its senders' connections in memory (docs/relay.md)")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        raise CliError("--tls-cert and --tls-key go together")
    clients = client_options(opts, opts.trust_proxy, opts.trust_header)
    server_tls = None
    if opts.tls_cert:
        _, server_tls = tls_setup.own_certificate(opts.tls_cert, opts.tls_key, CERT_HORIZON_MINUTES)
    binds = _binds(opts.bind or settings.PASLA_BIND or [DEFAULT_BIND])

    from shares.relay.runner import RelayRunner

    outage.require()
    database.ensure_database()
    sockets = _bind_all(binds, 1)[0]
    bound = [listen.Listener(sock, sock.family) for sock in sockets]
    runtime.serve_only(set())  # the relay's share table stays empty: shares live with their senders
    runtime.configure_clients(**clients)
    scheme = "https" if server_tls else "http"
    addresses = [sock.getsockname()[:2] for sock in sockets]

    def ready(server):
        info = {
            "version": __version__,
            "pid": os.getpid(),
            "scheme": scheme,
            "bind": [f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in addresses],
            "port": addresses[0][1],
        }
        if opts.json:
            sys.stdout.write(json.dumps(info) + "\n")
        else:
            sys.stdout.write(f"pasla relay: {scheme} on {', '.join(info['bind'])}\n")
        sys.stdout.flush()

    runner = RelayRunner(
        bound, settings.PASLA_LIMITS, wrappers=tls_setup.wrappers(server_tls), on_ready=ready
    )
    return runner.run()
