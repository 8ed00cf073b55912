"""`--public-address`: ask a STUN server (RFC 8489) which address it sees us from.

Only on request: by default pasla makes no outbound lookup. The message
format is pure and table-tested; `lookup` is the one place that talks to
the network (one small UDP exchange per address family, bounded in time).
"""

import ipaddress
import os
import re
import socket
import struct

from shares.errors import ConfigError

DEFAULT_SERVER = "stun.l.google.com:19302"
DEFAULT_PORT = 3478
MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
MAPPED_ADDRESS = 0x0001
XOR_MAPPED_ADDRESS = 0x0020
MAX_MESSAGE = 1500
TIMEOUT = 1.5  # per attempt; two attempts per family
_FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}
_SERVER = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+))(?::(?P<port>\d{1,5}))?$")


def request(txid: bytes) -> bytes:
    return struct.pack("!HHI12s", BINDING_REQUEST, 0, MAGIC, txid)


def _address(value: bytes, xor: bool, txid: bytes) -> str | None:
    size = {1: 4, 2: 16}.get(value[1]) if len(value) >= 4 else None
    if size is None or len(value) < 4 + size:
        return None
    raw = value[4 : 4 + size]
    if xor:
        mask = struct.pack("!I", MAGIC) + txid
        raw = bytes(a ^ b for a, b in zip(raw, mask, strict=False))
    return str(ipaddress.ip_address(raw))


def parse_response(data: bytes, txid: bytes) -> str | None:
    """The mapped address in a Binding success answer to `txid`; None for anything else."""
    if len(data) < 20:
        return None
    kind, length, cookie, got = struct.unpack("!HHI12s", data[:20])
    if kind != BINDING_SUCCESS or cookie != MAGIC or got != txid or length != len(data) - 20:
        return None
    plain = None
    offset = 20
    while offset + 4 <= len(data):
        attr, size = struct.unpack("!HH", data[offset : offset + 4])
        value = data[offset + 4 : offset + 4 + size]
        if len(value) < size:
            return None
        if attr == XOR_MAPPED_ADDRESS:
            return _address(value, True, txid)
        if attr == MAPPED_ADDRESS and plain is None:
            plain = _address(value, False, txid)
        offset += 4 + size + (-size % 4)
    return plain


def parse_servers(text: str) -> list[tuple[str, int]]:
    """PASLA_STUN_SERVER: "HOST[:PORT]" or "[V6]:PORT", up to two, comma-separated."""
    parts = [part.strip() for part in text.split(",")]
    matches = [_SERVER.match(part) for part in parts]
    if (
        not 1 <= len(parts) <= 2
        or not all(matches)
        or any(m["port"] and not 0 < int(m["port"]) < 65536 for m in matches)
    ):
        raise ConfigError(
            f"PASLA_STUN_SERVER {text!r} must be HOST[:PORT] or [V6]:PORT, at most two, comma-separated"
        )
    return [(m["v6"] or m["host"], int(m["port"] or DEFAULT_PORT)) for m in matches]


def _ask(family: int, address) -> str | None:
    txid = os.urandom(12)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        # connect(): the kernel drops datagrams from anyone but the server.
        sock.connect(address)
        for _ in range(2):
            sock.send(request(txid))
            try:
                while True:
                    found = parse_response(sock.recv(MAX_MESSAGE), txid)
                    if found:
                        return found
            except TimeoutError:
                continue
    return None


def lookup(servers: list[tuple[str, int]], version: int) -> tuple[str | None, str | None]:
    """(address the first answering server saw, None) or (None, why not)."""
    problem = "no STUN server for this address family"
    for host, port in servers:
        try:
            infos = socket.getaddrinfo(host, port, _FAMILIES[version], socket.SOCK_DGRAM)
        except OSError:
            problem = f"no IPv{version} address for {host}"
            continue
        for *_, address in infos[:2]:
            try:
                found = _ask(_FAMILIES[version], address)
            except OSError as exc:
                problem = exc.strerror or str(exc)
                continue
            if found:
                return found, None
            problem = "no answer"
    return None, problem
