"""A tiny STUN responder on loopback that reports a chosen address, as a NAT's server would."""

import ipaddress
import socket
import struct
import threading

MAGIC = 0x2112A442


def xor_mapped(address: str, port: int, txid: bytes) -> bytes:
    """An XOR-MAPPED-ADDRESS attribute, encoded from RFC 8489 section 14.2."""
    ip = ipaddress.ip_address(address)
    mask = struct.pack("!I", MAGIC) + txid
    raw = bytes(a ^ b for a, b in zip(ip.packed, mask, strict=False))
    value = struct.pack("!BBH", 0, 1 if ip.version == 4 else 2, port ^ (MAGIC >> 16)) + raw
    return struct.pack("!HH", 0x0020, len(value)) + value


def answer(request: bytes, mapped: str) -> bytes:
    txid = request[8:20]
    software = b"test-stun"  # an attribute before the address, padded to 4 bytes
    attrs = struct.pack("!HH", 0x8022, len(software)) + software + b"\0" * (-len(software) % 4)
    attrs += xor_mapped(mapped, 40000, txid)
    return struct.pack("!HHI12s", 0x0101, len(attrs), MAGIC, txid) + attrs


class Responder:
    """Answers Binding requests on host:port with `mapped` (or stays silent); counts them."""

    def __init__(self, host: str, mapped: str | None):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.mapped = mapped
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host = self.sock.getsockname()[0]
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            if len(data) < 20 or data[:2] != b"\x00\x01":
                continue
            self.requests += 1
            if self.mapped:
                self.sock.sendto(answer(data, self.mapped), peer)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
