"""Who may see the admin pages, and where they live (pure, no Django).

The admin answers only clients on the loopback addresses 127.0.0.1 and ::1,
plus the networks in PASLA_ADMIN_ALLOW. Anyone else gets exactly what an
unknown path gets: the middleware turns the request into one before URL
resolution, so no admin code, static file or redirect runs for them.
"""

import ipaddress
import re

from shares.network.clients import Network, parse_network

LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.1/32"),
    ipaddress.ip_network("::1/128"),
)
MAX_ALLOW_ENTRIES = 64
# Segments a URL prefix may use; no dots so "." and ".." cannot appear.
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_SEGMENTS = 8


class GateConfigError(ValueError):
    pass


def parse_admin_path(text: str) -> str:
    """PASLA_ADMIN_PATH as "seg/seg/" (no leading slash, one trailing)."""
    segments = [s for s in text.strip().strip("/").split("/")]
    if not segments or len(segments) > MAX_SEGMENTS or not all(_SEGMENT.match(s) for s in segments):
        raise GateConfigError(
            f"PASLA_ADMIN_PATH must be path segments of letters, digits, '-' or '_', got {text!r}"
        )
    return "/".join(segments) + "/"


def parse_admin_allow(entries: list[str]) -> tuple[Network, ...]:
    """Loopback plus the operator's networks; GateConfigError on a bad or excessive list."""
    cleaned = [e.strip() for e in entries if e.strip()]
    if len(cleaned) > MAX_ALLOW_ENTRIES:
        raise GateConfigError(f"PASLA_ADMIN_ALLOW takes at most {MAX_ALLOW_ENTRIES} networks")
    networks = list(LOOPBACK)
    for entry in cleaned:
        try:
            networks.append(parse_network(entry))
        except ValueError as exc:
            raise GateConfigError(f"PASLA_ADMIN_ALLOW: {exc}") from None
    return tuple(networks)


def admitted(addresses: tuple[str, ...], networks: tuple[Network, ...]) -> bool:
    """Every address that answers for the request (peer, and a trusted proxy's
    client) must be inside: a forwarded header alone never opens the door."""
    if not addresses:
        return False
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        if not any(address.version == net.version and address in net for net in networks):
            return False
    return True


def is_admin_path(path_info: str, admin_path: str) -> bool:
    return path_info.startswith("/" + admin_path)
