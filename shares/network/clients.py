"""Who is asking: the socket peer, or a proxy's header when told to trust it.

Pure helpers, no Django: the middleware feeds them the peer address and the
raw header values.
"""

import functools
import ipaddress
import re
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Longer than any honest forwarding chain we could use; only the rightmost
# entry is read anyway, and a bound keeps parsing cheap.
MAX_HEADER_LENGTH = 2048
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# "198.51.100.7:5678" (Azure and a few others append the client port).
_V4_WITH_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$")
# "[2001:db8::1]:5678" or "[2001:db8::1]".
_V6_BRACKETED = re.compile(r"^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$")


# Every connection and every request asks, mostly about the same few
# addresses; parsing one costs several microseconds.
@functools.lru_cache(maxsize=1024)
def normalize_ip(text: str | None) -> str | None:
    """Canonical text of an IP, with IPv4-mapped IPv6 folded to IPv4."""
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


@functools.lru_cache(maxsize=1024)
def connection_key(text: str | None, ipv6_prefix: int = 64) -> str | None:
    """What connection caps count by: an IPv4 address, or the IPv6 network
    of `ipv6_prefix` bits around one (a single host usually owns a /64)."""
    ip = normalize_ip(text)
    if ip is None or ":" not in ip or ipv6_prefix >= 128:
        return ip
    return str(ipaddress.ip_network(f"{ip}/{ipv6_prefix}", strict=False))


def parse_forwarded_entry(entry: str) -> str | None:
    """One address as a proxy wrote it (bare, v4:port, [v6] or [v6]:port)."""
    entry = entry.strip()
    if not entry or len(entry) > 64:
        return None
    for shape in (_V4_WITH_PORT, _V6_BRACKETED):
        match = shape.match(entry)
        if match:
            entry = match.group(1)
            break
    if "%" in entry:  # a zone id names an interface on the proxy, not a client
        return None
    return normalize_ip(entry)


def rightmost_forwarded(value: str | None) -> str | None:
    """The entry our own proxy appended: the last one of X-Forwarded-For.

    Everything left of it was sent by the client and can say anything.
    """
    if not value or len(value) > MAX_HEADER_LENGTH:
        return None
    return parse_forwarded_entry(value.rsplit(",", 1)[-1])


def single_address(value: str | None) -> str | None:
    """A one-address header such as CF-Connecting-IP or X-Real-IP."""
    if not value or len(value) > MAX_HEADER_LENGTH or "," in value:
        return None
    return parse_forwarded_entry(value)


@dataclass(frozen=True)
class Client:
    """The identity a request is judged by, and the socket it came from."""

    ip: str
    peer: str

    @property
    def via_proxy(self) -> bool:
        return self.ip != self.peer

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address that answers for this request (strikes, bans, allowlist)."""
        return (self.ip,) if self.ip == self.peer else (self.ip, self.peer)


UNKNOWN_PEER = "0.0.0.0"


def identify(
    peer: str | None, header_value: str | None, *, trust_proxy: bool, trust_header: str | None
) -> Client:
    """Decide who is asking.

    Without trust_proxy the header is never looked at; with it, a missing or
    malformed value falls back to the socket peer.
    """
    peer_ip = normalize_ip(peer) or UNKNOWN_PEER
    if not trust_proxy:
        return Client(peer_ip, peer_ip)
    forwarded = single_address(header_value) if trust_header else rightmost_forwarded(header_value)
    return Client(forwarded or peer_ip, peer_ip)


def parse_network(text: str) -> Network:
    """A CIDR (or a bare address) from the operator; ValueError with a reason."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 64:
        raise ValueError(f"invalid CIDR {text!r}")
    try:
        network = ipaddress.ip_network(cleaned, strict=False)
    except ValueError:
        raise ValueError(f"invalid CIDR {text!r}") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
        # ::ffff:10.0.0.0/104 means 10.0.0.0/8: clients are folded to IPv4.
        if network.prefixlen < 96:
            raise ValueError(f"invalid CIDR {text!r}")
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)
    return network


def is_allowed(ip: str, networks: tuple[Network, ...]) -> bool:
    """True when no allowlist is set or the address lies inside one entry."""
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address.version == net.version and address in net for net in networks)


def valid_header_name(name: str) -> bool:
    """Header names daphne passes through: no underscores, no spaces."""
    return bool(HEADER_NAME.match(name))
