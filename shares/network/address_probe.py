"""What this machine's addresses are, asked of the kernel (no packet leaves).

Each source takes an address family version (4 or 6) and returns candidate
addresses; shares/network/addresses.py decides which one goes into the URL.
"""

import fcntl
import socket
import struct

from shares.network.addresses import PublicHost, host_for, parse_if_inet6, parse_public_host, url_host

# Any public destination will do: connect() on a UDP socket only asks the
# routing table which source address it would use; nothing is sent.
ROUTE_PROBES = {4: "1.1.1.1", 6: "2001:4860::1"}
_FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}
_SIOCGIFADDR = 0x8915
IF_INET6 = "/proc/net/if_inet6"


def route_source(version: int) -> list[str]:
    """The source address the kernel would pick for traffic to the internet."""
    try:
        with socket.socket(_FAMILIES[version], socket.SOCK_DGRAM) as probe:
            probe.connect((ROUTE_PROBES[version], 9))
            return [probe.getsockname()[0]]
    except OSError:  # no route for this family (or no such family at all)
        return []


def _ipv4_of(probe: socket.socket, name: str) -> str | None:
    try:
        answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
    except OSError:  # the interface has no IPv4 address
        return None
    return socket.inet_ntoa(answer[20:24])


def interface_addresses(version: int) -> list[str]:
    """Addresses configured on the interfaces (Linux; empty elsewhere)."""
    if version == 6:
        try:
            with open(IF_INET6, encoding="ascii") as fh:
                return parse_if_inet6(fh.read())
        except OSError:
            return []
    try:
        names = [name for _, name in socket.if_nameindex()]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            return [ip for ip in (_ipv4_of(probe, name) for name in names) if ip]
    except OSError:
        return []


def hostname_addresses(version: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, _FAMILIES[version], socket.SOCK_STREAM)
    except OSError:
        return []
    return [sockaddr[0] for *_, sockaddr in infos]


SOURCES = (route_source, interface_addresses, hostname_addresses)


def url_hosts(ipv4: bool, ipv6: bool, public_host: str = "", first=()) -> tuple[str | None, str | None]:
    """Hosts for url_ipv4 / url_ipv6 (IPv6 in brackets); None for a family not served.

    `first`: sources asked before the kernel's (the opt-in public-address lookup).
    """
    public: PublicHost = parse_public_host(public_host)
    sources = (*first, *SOURCES)
    host4 = host_for(4, public, sources) if ipv4 else None
    host6 = host_for(6, public, sources) if ipv6 else None
    return host4, (url_host(host6) if host6 else None)
