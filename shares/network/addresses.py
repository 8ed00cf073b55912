"""Which hosts go into the printed URLs (pure: no sockets, no Django).

Per address family the host is, in order: PASLA_PUBLIC_HOST, then the first
usable address each source offers (address_probe.py asks the kernel: its
routing source address, the interface addresses, the host name), then
loopback. A URL nobody else can open is flagged so the operator is told.
"""

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shares.errors import ConfigError

LOOPBACK = {4: "127.0.0.1", 6: "::1"}
LOOPBACK_WARNING = (
    "every URL is loopback-only, so no other machine can open it (and no QR code is drawn): "
    "set PASLA_PUBLIC_HOST to this machine's name or address (V4,V6 for both families), "
    "or pass --public-address"
)
# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
# /proc/net/if_inet6 flags an address must not carry to be handed out:
# IFA_F_TENTATIVE (duplicate detection pending), IFA_F_DADFAILED, IFA_F_DEPRECATED.
_UNFIT_FLAGS = 0x40 | 0x08 | 0x20


@dataclass(frozen=True)
class PublicHost:
    """PASLA_PUBLIC_HOST: a host name for both families, or one address per family."""

    v4: str | None = None
    v6: str | None = None
    name: str | None = None

    def for_version(self, version: int) -> str | None:
        return self.name or (self.v4 if version == 4 else self.v6)


def _ip(text: str):
    if "%" in text:  # a zone index only means something on this machine
        return None
    try:
        return ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def parse_public_host(text: str) -> PublicHost:
    """ "", "files.example.org", "192.0.2.9", "2001:db8::9" or "192.0.2.9,2001:db8::9"."""
    text = text.strip()
    if not text:
        return PublicHost()
    problem = (
        f"PASLA_PUBLIC_HOST {text!r} must be a host name, an IP address, "
        "or an IPv4 and an IPv6 address separated by a comma"
    )
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == 1 and _ip(parts[0]) is None:
        if not _HOST_NAME.match(parts[0]):
            raise ConfigError(problem)
        return PublicHost(name=parts[0])
    found: dict[int, str] = {}
    for part in parts:
        ip = _ip(part)
        if ip is None or ip.version in found or len(parts) > 2:
            raise ConfigError(problem)
        found[ip.version] = str(ip)
    return PublicHost(v4=found.get(4), v6=found.get(6))


def usable(text: str | None, version: int) -> bool:
    """Could another machine reach us at this address (of this family)?"""
    ip = _ip(text or "")
    return (
        ip is not None
        and ip.version == version
        and not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)
    )


def first_usable(candidates: Iterable[str], version: int) -> str | None:
    """The first usable address of the family, globally routable ones first."""
    fit = [str(_ip(text)) for text in candidates if usable(text, version)]
    fit.sort(key=lambda text: not _ip(text).is_global)
    return fit[0] if fit else None


Source = Callable[[int], Iterable[str]]


def host_for(version: int, public: PublicHost, sources: Iterable[Source]) -> str:
    """The host for one family; sources are asked lazily, in order."""
    chosen = public.for_version(version)
    if chosen:
        return chosen
    for source in sources:
        found = first_usable(source(version), version)
        if found:
            return found
    return LOOPBACK[version]


def url_host(host: str) -> str:
    """A host as it goes between "//" and ":port" (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host


def is_loopback_host(host: str) -> bool:
    ip = _ip(host)
    if ip is not None:
        return ip.is_loopback
    return host.rstrip(".").lower() == "localhost"


def loopback_only(hosts: Iterable[str | None]) -> bool:
    """True when every URL that will be printed points at this machine only."""
    present = [host for host in hosts if host]
    return bool(present) and all(is_loopback_host(host) for host in present)


def parse_if_inet6(text: str) -> list[str]:
    """Addresses from /proc/net/if_inet6, leaving out ones the kernel will not use yet (or any more)."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or len(fields[0]) != 32:
            continue
        try:
            flags = int(fields[4], 16)
            ip = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
        except ValueError:
            continue
        if not flags & _UNFIT_FLAGS:
            out.append(str(ip))
    return out
