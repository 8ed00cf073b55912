"""`pasla FILE --via URL`: serve a share through a relay (see docs/relay.md).

The share's server listens on 127.0.0.1 only; the tunnel client
(shares/relay/tunnel.py) connects out to the relay and hands each
recipient's request to that server. The URL printed is the relay's.
"""

import http.client
import logging
import os
import ssl
import time
import urllib.parse
from dataclasses import dataclass

from shares import tokens
from shares.cli.parser import CliError
from shares.relay import framing, keys
from shares.server import listeners as listen

log = logging.getLogger("pasla")

# Flags that describe how recipients reach this machine: with --via they reach the relay.
NOT_WITH_VIA = {
    "ipv4": "-4",
    "ipv6": "-6",
    "https": "--https/--no-https",
    "tls_cert": "--tls-cert",
    "tls_key": "--tls-key",
    "client_ca": "--client-ca",
    "client_cert_sha256": "--client-cert-sha256",
    "trust_proxy": "--trust-proxy",
    "trust_header": "--trust-header",
    "public_address": "--public-address",
    "no_serve": "--no-serve",
}
LEAVE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Via:
    scheme: str
    host: str
    port: int
    path: str  # the relay URL's path, "" or "/prefix"
    key: str
    ca: str | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base(self) -> str:
        default = 443 if self.scheme == "https" else 80
        netloc = self.host_header if self.port != default else self.host_header.rsplit(":", 1)[0]
        return f"{self.scheme}://{netloc}{self.path}"

    def share_url(self, token: str, name: str, fragment: str = "") -> str:
        return f"{self.base}/{token}/{urllib.parse.quote(name, safe='')}{fragment}"


def parse_url(text: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a relay URL; CliError if it is not one."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"--via takes the relay's http:// or https:// URL, got {text!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise CliError("--via takes a plain URL: no user, query or fragment")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CliError(f"--via: invalid port in {text!r}") from None
    path = parts.path.rstrip("/")
    if path and (not path.startswith("/") or any(c in path for c in " %?#")):
        raise CliError(f"--via: invalid path in {text!r}")
    return parts.scheme, parts.hostname, port, path


def from_options(opts) -> Via | None:
    """--via, --via-key (or PASLA_VIA_KEY) and --via-ca, checked; None without --via."""
    if opts.via is None:
        if opts.via_key or opts.via_ca:
            raise CliError("--via-key and --via-ca go with --via")
        return None
    for attr, flag in NOT_WITH_VIA.items():
        if getattr(opts, attr, None) not in (None, False, []):
            raise CliError(f"{flag} does not go with --via: recipients reach the relay, not this machine")
    scheme, host, port, path = parse_url(opts.via)
    key = opts.via_key or os.environ.get("PASLA_VIA_KEY", "")
    if not key:
        raise CliError("--via needs the sender key from 'pasla relay add-sender': --via-key or PASLA_VIA_KEY")
    if not keys.looks_like_key(key):
        raise CliError("the sender key is malformed (it starts with pvk_)")
    if opts.via_ca is not None:
        if scheme != "https":
            raise CliError("--via-ca needs an https:// relay")
        try:
            with open(opts.via_ca, "rb") as fh:
                if b"-----BEGIN CERTIFICATE-----" not in fh.read():
                    raise CliError(f"--via-ca: no PEM certificate in {opts.via_ca}")
        except OSError as exc:
            raise CliError(f"--via-ca: cannot read {opts.via_ca}: {exc.strerror}") from None
    return Via(scheme, host, port, path, key, opts.via_ca)


def bind_loopback(port: int | None) -> list:
    """The share's own socket: loopback only (the relay is the way in); -p picks its port."""
    try:
        sock = listen.bind_address("127.0.0.1", port or 0)
    except listen.ListenError as exc:
        raise CliError(str(exc)) from None
    return [listen.Listener(sock, sock.family)]


def routes_for(token: str, expires_at) -> list[framing.Route]:
    # The relay keeps the route a little past the share's end, for the drain.
    return [framing.Route(tokens.digest(token), int(expires_at.timestamp()) + 600)]


class Attachment:
    """The tunnel of one share: started once its server is ready, the banner after the relay took it."""

    def __init__(self, via: Via, routes, prefix: str):
        self.via, self.routes, self.prefix = via, routes, prefix
        self.tunnel = None
        self.failure = None

    def wrap_ready(self, ready):
        """The runner's on_ready: start the tunnel, and call `ready` once registered."""

        def start(server):
            from shares.relay.tunnel import TunnelClient

            def up():
                ready(server)

            def fatal(why):
                self.failure = why
                log.error("%s", why)
                os.kill(os.getpid(), 15)  # end the share as `pasla stop` would

            self.tunnel = TunnelClient(
                self.via, self.routes, server.factory, prefix=self.prefix, on_up=up, on_fatal=fatal
            )
            self.tunnel.start()

        return start

    def leave(self) -> None:
        """Tell the relay this share is over (404 from now on); best effort, bounded."""
        if self.tunnel is not None:
            self.tunnel.stop()
        via = self.via
        try:
            if via.scheme == "https":
                context = (
                    ssl.create_default_context(cafile=via.ca) if via.ca else ssl.create_default_context()
                )
                conn = http.client.HTTPSConnection(via.host, via.port, timeout=LEAVE_TIMEOUT, context=context)
            else:
                conn = http.client.HTTPConnection(via.host, via.port, timeout=LEAVE_TIMEOUT)
            started = time.monotonic()
            raw = framing.listen_request(via.host_header, via.path, via.key, self.routes, leave=True)
            conn.connect()
            conn.sock.sendall(raw)
            conn.sock.settimeout(max(0.1, LEAVE_TIMEOUT - (time.monotonic() - started)))
            conn.sock.recv(1024)
            conn.close()
        except (OSError, ssl.SSLError) as exc:
            log.info("could not tell the relay that the share ended: %s", exc)
