"""`manage.py pasla FILE [minutes] [max_downloads]`: create a share and serve it."""

import logging
import sys
import urllib.parse

from django.conf import settings

from shares import identity, payloads, runtime, tokens
from shares.addresses import url_hosts
from shares.cli.parser import CliError, parse_port
from shares.console import ShareView, print_banner, print_json
from shares.durations import parse_max_downloads, parse_minutes
from shares.server import listeners as listen

log = logging.getLogger("pasla")


def share_url(scheme: str, host: str | None, port: int, token: str, name: str) -> str | None:
    if host is None:
        return None
    return f"{scheme}://{host}:{port}/{token}/{urllib.parse.quote(name, safe='')}"


def _checksum(path, size: int, wanted: bool | None, quiet: bool) -> str:
    if wanted is False or (wanted is None and size > payloads.SHA256_AUTO_LIMIT):
        return ""
    if quiet or not sys.stderr.isatty() or size < (64 << 20):
        return payloads.sha256_of(path)
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("SHA-256", total=size)
        return payloads.sha256_of(path, lambda n: progress.advance(task, n))


def client_options(opts) -> dict:
    """--allow-ip / --trust-proxy / --trust-header, checked; CliError if bad."""
    try:
        networks = tuple(identity.parse_network(text) for text in opts.allow_ip)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    header = opts.trust_header
    if header is not None:
        if not opts.trust_proxy:
            raise CliError("--trust-header needs --trust-proxy")
        if not identity.valid_header_name(header):
            raise CliError(f"invalid header name {header!r} (letters, digits and '-' only)")
    return {"trust": opts.trust_proxy, "header": header, "networks": networks}


def run(opts) -> int:
    try:
        minutes = parse_minutes(opts.duration)
        max_downloads = 1 if opts.single else parse_max_downloads(opts.max_downloads)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    port = parse_port(opts.port)
    clients = client_options(opts)
    try:
        path, identity = payloads.pin_file(opts.file)
    except payloads.PayloadError as exc:
        raise CliError(str(exc)) from None

    mode = "4" if opts.ipv4 else "6" if opts.ipv6 else "both"
    try:
        bound = listen.bind(port, mode)
    except listen.ListenError as exc:
        raise CliError(str(exc)) from None
    adopted = False
    try:
        actual_port = bound[0].port
        host4, host6 = url_hosts(ipv4=mode != "6", ipv6=listen.has_ipv6(bound))
        sha256 = _checksum(path, identity.size, opts.checksum, opts.json)

        def view_for(share_id: str, token: str, dry_run: bool) -> ShareView:
            return ShareView(
                id=share_id,
                file=str(path),
                name=path.name,
                size=identity.size,
                port=actual_port,
                port_auto=port is None or port == 0,
                minutes=minutes,
                max_downloads=max_downloads,
                sha256=sha256,
                url_ipv4=share_url("http", host4, actual_port, token, path.name),
                url_ipv6=share_url("http", host6, actual_port, token, path.name),
                dry_run=dry_run,
            )

        if opts.dry_run:
            view = view_for("dry-run", tokens.mint(), True)
            print_json(view.as_json()) if opts.json else print_banner(view)
            return 0

        from shares import services
        from shares.server.runner import ShareRunner

        services.ensure_database()
        new = services.create_share(
            path=str(path),
            name=path.name,
            identity=identity,
            minutes=minutes,
            max_downloads=max_downloads,
            sha256=sha256,
            port=actual_port,
            options={
                "trust_proxy": clients["trust"],
                "trust_header": clients["header"],
                "allow_ip": [str(net) for net in clients["networks"]],
            },
        )
        view = view_for(new.share.id, new.token, False)
        runtime.serve_only({new.share.id})
        runtime.configure_clients(**clients)

        def ready(server):
            if opts.json:
                print_json(view.as_json())
            else:
                print_banner(view)
            sys.stdout.flush()

        def ended(runner):
            log.info("share %s ended: %s", new.share.id, runner.end_reason)

        runner = ShareRunner(new.share.id, bound, settings.PASLA_LIMITS, on_ready=ready, on_end=ended)
        adopted = True
        return runner.run()
    finally:
        if not adopted:
            for item in bound:
                item.sock.close()
