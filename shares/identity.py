"""Who is asking: the socket peer (pure helpers, no Django)."""

import ipaddress


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
