"""`manage.py pasla relay`: run a relay, and manage the senders allowed to use it."""

import json
import logging
import os
import sys

from django.conf import settings

from shares import __version__
from shares.cli import tls_setup
from shares.cli.parser import CliError
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


def run(opts, argv: list[str]) -> int:
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
