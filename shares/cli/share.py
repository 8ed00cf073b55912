"""`manage.py pasla FILE [minutes] [max_downloads]`: create a share and serve it."""

import logging
import os
import signal
import sys
import urllib.parse

from django.conf import settings

from shares import tokens
from shares.cli import tls_setup
from shares.cli import via as via_options
from shares.cli.attendant import Attendant
from shares.cli.parser import CliError
from shares.cli.pinned import Pinned, directory_fields, pin, sha256_for, warn_left_out
from shares.cli.serving import serving_from
from shares.config import deployment, runtime
from shares.config.serving_options import TlsChoice
from shares.e2e import sharing as e2e_sharing
from shares.errors import ConfigError
from shares.files import payloads
from shares.handling import outage
from shares.network import clients, stun, tls_store
from shares.network.address_probe import url_hosts
from shares.network.addresses import LOOPBACK_WARNING, loopback_only
from shares.network.certificates import CertPair
from shares.operator import actions, database, housekeeping
from shares.operator.console import ShareView, print_banner, print_json
from shares.operator.notify import NotifyError, validate_url
from shares.server import listeners as listen

log = logging.getLogger("pasla")


def share_url(
    scheme: str, host: str | None, port: int, token: str, name: str, fragment: str = ""
) -> str | None:
    if host is None:
        return None
    prefix = settings.PASLA_URL_PREFIX
    return f"{scheme}://{host}:{port}{prefix}/{token}/{urllib.parse.quote(name, safe='')}{fragment}"


def client_options(opts, trust_proxy: bool, trust_header: str | None) -> dict:
    """--allow-ip, and --trust-proxy / --trust-header after the config file; CliError if bad."""
    try:
        networks = tuple(clients.parse_network(text) for text in opts.allow_ip)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    header = trust_header
    if header is not None:
        if not trust_proxy:
            raise CliError("--trust-header needs --trust-proxy")
        if not clients.valid_header_name(header):
            raise CliError(f"invalid header name {header!r} (letters, digits and '-' only)")
    return {"trust": trust_proxy, "header": header, "networks": networks}


def public_address_sources(opts) -> tuple:
    """--public-address: STUN first for each family pasla has to detect; nothing by default."""
    if not opts.public_address:
        return ()
    try:
        servers = stun.parse_servers(settings.PASLA_STUN_SERVER)
    except ConfigError as exc:
        raise CliError(str(exc)) from None

    def ask(version: int) -> list[str]:
        found, problem = stun.lookup(servers, version)
        if problem:
            tls_setup.warn(
                f"--public-address: no IPv{version} address from STUN ({problem}); using this machine's"
            )
        return [found] if found else []

    return (ask,)


def _stop_during_setup(signum, frame):
    # Until the server installs its own handlers, SIGTERM unwinds like
    # Ctrl+C so the cleanup below still runs.
    raise SystemExit(128 + signum)


# Flags that describe a serving process: with --no-serve, `pasla serve` has its own.
SERVER_FLAGS = {
    "port": "-p/--port",
    "ipv4": "-4",
    "ipv6": "-6",
    "https": "--https/--no-https",
    "tls_cert": "--tls-cert",
    "tls_key": "--tls-key",
    "client_ca": "--client-ca",
    "client_cert_sha256": "--client-cert-sha256",
    "allow_ip": "--allow-ip",
    "trust_proxy": "--trust-proxy",
    "trust_header": "--trust-header",
    "detach": "-d/--detach",
    "notify": "--notify",
}


def check_no_serve(opts) -> None:
    for attr, flag in SERVER_FLAGS.items():
        if getattr(opts, attr) not in (None, False, []):
            raise CliError(f"{flag} is an option of the server ('pasla serve'), not of --no-serve")


def create_only(opts, minutes: float, max_downloads: int, pinned: "Pinned") -> int:
    """--no-serve: record the share for a running `pasla serve` and print its URL."""
    warn_left_out(pinned)

    bind = None
    if not settings.PASLA_PUBLIC_URL:
        try:
            bind = deployment.parse_bind((settings.PASLA_BIND or [deployment.DEFAULT_BIND])[0])
        except ValueError as exc:
            raise CliError(f"PASLA_BIND: {exc}") from None
    try:
        base = deployment.base_url(settings.PASLA_PUBLIC_URL, bind, settings.PASLA_PUBLIC_HOST)
    except deployment.ConfigError as exc:
        raise CliError(str(exc)) from None
    parts = urllib.parse.urlsplit(base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sha256 = sha256_for(pinned, opts)
    plan = e2e_sharing.plan(pinned, sha256) if opts.e2e else None
    extra = {"served_by": "pasla serve", **directory_fields(pinned)}
    token = tokens.mint()
    share_id = "dry-run"
    outage.require()  # --dry-run too: the share would be recorded there
    if not opts.dry_run:
        database.ensure_database()
        new = actions.create_share(
            **e2e_sharing.payload_fields(pinned, sha256, plan),
            minutes=minutes,
            max_downloads=max_downloads,
            port=port,
            scheme=parts.scheme,
            shared_server=True,
            options={"max_rate": opts.max_rate} if opts.max_rate else None,
        )
        if plan:
            e2e_sharing.keep(plan, new.share, served_here=False)
        token, share_id = new.token, new.share.id
    url_name, fragment = (plan.opaque_name, plan.fragment) if plan else (pinned.name, "")
    url = deployment.share_url(base, settings.PASLA_URL_PREFIX, token, url_name) + fragment
    view = ShareView(
        id=share_id,
        file=str(pinned.path),
        name=pinned.name,
        size=pinned.identity.size,
        port=port,
        port_auto=False,
        minutes=minutes,
        max_downloads=max_downloads,
        sha256=sha256,
        url_ipv4=url,
        url_ipv6=None,
        dry_run=opts.dry_run,
        scheme=parts.scheme,
        extra=extra,
    )
    print_json(view.as_json()) if opts.json else print_banner(view)
    return 0


def run(opts) -> int:
    notify_url = None
    if opts.notify is not None:
        try:
            notify_url = validate_url(opts.notify)
        except NotifyError as exc:
            raise CliError(str(exc)) from None
    via = via_options.from_options(opts)
    if opts.no_serve:
        check_no_serve(opts)
        if opts.public_address:
            raise CliError(
                "--public-address applies to a share served here; with --no-serve set PASLA_PUBLIC_URL"
            )
    serving = serving_from(opts)
    minutes, max_downloads, port = serving.minutes, serving.max_downloads, serving.port
    if opts.no_serve:
        # The config file's port/TLS/proxy settings are the server's business.
        try:
            return create_only(opts, minutes, max_downloads, pin(opts))
        except payloads.PayloadError as exc:
            raise CliError(str(exc)) from None
    clients = client_options(opts, serving.trust_proxy, serving.trust_header)
    client_certs = tls_setup.client_auth_from(opts)
    tls_choice = serving.tls
    if via is not None:  # TLS and proxies are the relay's business; the config file's settings wait
        tls_choice, clients["trust"], clients["header"] = TlsChoice("off", origin="cli"), False, None
    if client_certs.enabled and not tls_choice.enabled:
        if opts.https is False:
            raise CliError("--client-ca/--client-cert-sha256 need TLS: they cannot go with --no-https")
        tls_choice = TlsChoice("ephemeral", origin="cli")
    scheme = "https" if tls_choice.enabled else "http"
    own_pair = server_tls = None
    if tls_choice.mode == "own":
        own_pair, server_tls = tls_setup.own_certificate(
            tls_choice.cert, tls_choice.key, minutes, client_certs
        )
    try:
        pinned = pin(opts)
    except payloads.PayloadError as exc:
        raise CliError(str(exc)) from None
    path, identity = pinned.path, pinned.identity
    warn_left_out(pinned)

    # Before a port is bound (and with --dry-run too): the share lives there.
    outage.require()
    mode = "4" if opts.ipv4 else "6" if opts.ipv6 else "both"
    try:
        bound = via_options.bind_loopback(port) if via else listen.bind(port, mode)
    except listen.ListenError as exc:
        raise CliError(str(exc)) from None
    adopted = False
    tls_dir = created = None
    try:
        actual_port = bound[0].port
        host4 = host6 = None
        if via is None:
            host4, host6 = url_hosts(
                mode != "6", listen.has_ipv6(bound), settings.PASLA_PUBLIC_HOST, public_address_sources(opts)
            )
        warnings = (LOOPBACK_WARNING,) if via is None and loopback_only([host4, host6]) else ()
        for warning in warnings:
            tls_setup.warn(warning)
        sha256 = sha256_for(pinned, opts)
        plan = e2e_sharing.plan(pinned, sha256) if opts.e2e else None
        url_name, fragment = (plan.opaque_name, plan.fragment) if plan else (pinned.name, "")
        extra = directory_fields(pinned)
        if "entries" in extra:
            extra["banner_rows"] = [
                ("Archive", f"{pinned.archive_format}, {extra['entries']} entries, stored, streamed"),
            ]
        if via is not None:
            extra["via"] = via.base

        def view_for(share_id: str, token: str, dry_run: bool, pair: CertPair | None) -> ShareView:
            return ShareView(
                id=share_id,
                file=str(path),
                name=pinned.name,
                size=identity.size,
                port=actual_port,
                port_auto=port is None or port == 0,
                minutes=minutes,
                max_downloads=max_downloads,
                sha256=sha256,
                url_ipv4=via.share_url(token, url_name, fragment)
                if via
                else share_url(scheme, host4, actual_port, token, url_name, fragment),
                url_ipv6=None if via else share_url(scheme, host6, actual_port, token, url_name, fragment),
                dry_run=dry_run,
                scheme=via.scheme if via else scheme,
                cert_mode=tls_choice.mode if tls_choice.enabled else None,
                cert_fingerprint=pair.fingerprint if pair else None,
                cert_source=str(os.path.abspath(pair.source)) if pair and pair.source else None,
                cert_expiry=pair.not_after if pair and pair.source else None,
                extra=dict(extra),
                warnings=warnings,
            )

        if opts.dry_run:
            # An ephemeral certificate made now would never be served: no fingerprint.
            view = view_for("dry-run", tokens.mint(), True, own_pair)
            print_json(view.as_json()) if opts.json else print_banner(view)
            return 0

        # Imported when serving: importing the server installs the asyncio reactor.
        from shares.server.runner import ShareRunner

        pair = own_pair
        if tls_choice.mode == "ephemeral":
            pair = tls_setup.ephemeral_pair([host4, host6], minutes)

        database.ensure_database()
        _reap_quietly()
        # Held until the server installs its own handlers (it replaces this one).
        signal.signal(signal.SIGTERM, _stop_during_setup)
        new = actions.create_share(
            **e2e_sharing.payload_fields(pinned, sha256, plan),
            minutes=minutes,
            max_downloads=max_downloads,
            port=actual_port,
            scheme=scheme,
            cert_fingerprint=pair.fingerprint if pair else "",
            options={
                "trust_proxy": clients["trust"],
                "trust_header": clients["header"],
                "allow_ip": [str(net) for net in clients["networks"]],
                # An extension (admin) must never outlive the certificate.
                "cert_not_after": pair.not_after.isoformat() if pair else None,
                **({"max_rate": opts.max_rate} if opts.max_rate else {}),
            },
        )
        created = new.share
        if plan:
            e2e_sharing.keep(plan, new.share, served_here=True)
        if tls_choice.mode == "ephemeral":
            tls_dir, server_tls = tls_setup.store_ephemeral(
                settings.DATA_DIR, new.share.id, pair, client_certs
            )
        view = view_for(new.share.id, new.token, False, pair)
        runtime.serve_only({new.share.id})
        runtime.configure_clients(**clients)
        attendant = Attendant(opts, view, notify_url)

        def ready(server):
            if opts.json:
                print_json(view.as_json())
            else:
                print_banner(view)
            sys.stdout.flush()
            if opts.detached_child:
                # stdout was a pipe to `pasla -d`, which exits now: anything
                # printed later goes to the log instead of a closed pipe.
                os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
            attendant.ready()

        attachment = via and via_options.Attachment(
            via, via_options.routes_for(new.token, new.share.expires_at), settings.PASLA_URL_PREFIX
        )

        def ended(runner):
            if attachment:
                attachment.leave()
            attendant.ended(runner)
            log.info("share %s ended: %s", new.share.id, runner.end_reason)

        runner = ShareRunner(
            new.share.id,
            bound,
            settings.PASLA_LIMITS,
            on_ready=attachment.wrap_ready(ready) if attachment else ready,
            on_tick=attendant.tick,
            on_end=ended,
            wrappers=tls_setup.wrappers(server_tls),
        )
        adopted = True
        code = runner.run()
        attendant.finish(runner.end_reason)
        if attachment and attachment.failure:
            raise CliError(attachment.failure)
        return code
    except BaseException:
        if created is not None:
            # Whatever stopped us, nothing serves this share any more.
            _end_quietly(created)
        raise
    finally:
        tls_store.remove(tls_dir)
        if not adopted:
            for item in bound:
                item.sock.close()


def _end_quietly(share) -> None:
    try:
        actions.revoke(share)
    except Exception:
        log.warning("could not mark share %s as ended", share.id, exc_info=True)


def _reap_quietly() -> None:
    try:
        housekeeping.housekeeping()
    except Exception:  # housekeeping must never stop a new share
        log.warning("could not clean up after earlier shares", exc_info=True)
