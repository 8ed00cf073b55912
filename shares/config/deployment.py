"""Where a shared server listens and how its URLs look (pure, no Django).

PASLA_BIND / --bind name the sockets of `pasla serve`; PASLA_PUBLIC_URL is
how recipients reach it (a proxy's https://… address, say); PASLA_URL_PREFIX
is the path every share URL (and the admin) lives under, for a server
published under a sub-path of a site.
"""

import ipaddress
import re
import urllib.parse

from shares.config import numbers
from shares.errors import ConfigError
from shares.network.addresses import parse_public_host, url_host

DEFAULT_BIND = "127.0.0.1:8000"
# Path segments of unreserved characters only: nothing to escape, nothing a
# proxy would rewrite.
_PREFIX = re.compile(r"^(?:/[A-Za-z0-9._~-]+)*$")


def parse_bind(text: str) -> tuple[str, int]:
    """ "ADDR:PORT" or "[V6ADDR]:PORT" -> (address, port); ValueError if malformed."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"invalid bind address {text!r} (ADDR:PORT, [ADDR]:PORT for IPv6)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        version = 6
    else:
        version = 4
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"invalid bind address {text!r}: {host!r} is not an IP address") from None
    if ip.version != version:
        raise ValueError(f"invalid bind address {text!r} (write IPv6 addresses as [ADDR]:PORT)")
    port = numbers.whole(port_text)
    if port is None or port > 65535:
        raise ValueError(f"invalid port in bind address {text!r} (0-65535)")
    return str(ip), port


def normalize_prefix(text: str) -> str:
    """ "files/" or "/files" -> "/files"; "" or "/" -> "" (no prefix)."""
    text = text.strip()
    if text in ("", "/"):
        return ""
    prefix = "/" + text.strip("/")
    if not _PREFIX.match(prefix) or any(part in (".", "..") for part in prefix.split("/")):
        raise ConfigError(f"PASLA_URL_PREFIX {text!r} must be path segments of letters, digits and -._~ only")
    return prefix


def base_url(public_url: str, bind: tuple[str, int] | None, public_host: str = "") -> str:
    """Scheme and authority recipients use: PASLA_PUBLIC_URL, else the bind address."""
    if public_url:
        parts = urllib.parse.urlsplit(public_url.strip())
        # The path is PASLA_URL_PREFIX's job: one place, so it cannot be doubled.
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
        ):
            raise ConfigError(f"PASLA_PUBLIC_URL {public_url!r} must be http(s)://HOST[:PORT]")
        return f"{parts.scheme}://{parts.netloc}"
    if bind is None:
        raise ConfigError("set PASLA_PUBLIC_URL (or PASLA_BIND) so the share URL can be printed")
    host, port = bind
    version = ipaddress.ip_address(host).version
    public = parse_public_host(public_host)
    # The bind's own family first; a lone address of the other family still beats loopback.
    chosen = public.for_version(version) or public.v4 or public.v6
    if chosen:
        host = chosen
    elif ipaddress.ip_address(host).is_unspecified:
        host = "127.0.0.1" if version == 4 else "::1"
    return f"http://{url_host(host)}:{port}"


def share_url(base: str, prefix: str, token: str, name: str) -> str:
    return f"{base}{prefix}/{token}/{urllib.parse.quote(name, safe='')}"
