"""Which host names go into the printed URLs."""

import ipaddress
import os
import socket


def _usable(ip: ipaddress._BaseAddress) -> bool:
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def local_addresses() -> tuple[str | None, str | None]:
    """The machine's first usable IPv4 and IPv6 address, if any."""
    v4 = v6 = None
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, proto=socket.IPPROTO_TCP)
    except OSError:
        infos = []
    for family, _, _, _, sockaddr in infos:
        try:
            ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        except ValueError:
            continue
        if not _usable(ip):
            continue
        if family == socket.AF_INET and v4 is None:
            v4 = str(ip)
        elif family == socket.AF_INET6 and v6 is None:
            v6 = str(ip)
    return v4, v6


def url_hosts(ipv4: bool, ipv6: bool) -> tuple[str | None, str | None]:
    """Hosts for url_ipv4 / url_ipv6; PASLA_PUBLIC_HOST overrides detection."""
    public = os.environ.get("PASLA_PUBLIC_HOST", "").strip()
    v4, v6 = local_addresses()
    if public:
        try:
            ip = ipaddress.ip_address(public)
        except ValueError:
            return (public if ipv4 else None), None
        if ip.version == 4:
            v4 = public
        else:
            v6 = public
    host4 = (v4 or "127.0.0.1") if ipv4 else None
    host6 = (v6 or "::1") if ipv6 else None
    return host4, (f"[{host6}]" if host6 else None)


def is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"
