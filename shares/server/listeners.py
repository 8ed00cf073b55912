"""Listening sockets, bound before anything else so a busy port fails fast.

We bind ourselves and hand the sockets to Twisted (adoptStreamPort) instead
of using endpoint strings: that gives one dual-stack socket with
IPV6_V6ONLY=0 where the OS allows, a clean IPv4 fallback where it does not,
and the exact error when the port is taken.
"""

import errno
import random
import socket
from dataclasses import dataclass

RANDOM_PORTS = (40000, 50000)


class ListenError(Exception):
    pass


@dataclass
class Listener:
    sock: socket.socket
    family: int

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]


def _bind_one(
    family: int, port: int, v6only: bool | None, reuse_port: bool, host: str | None = None
) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and v6only is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
        if host is None:
            host = "::" if family == socket.AF_INET6 else "0.0.0.0"
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


def _bind_mode(mode: str, port: int, reuse_port: bool) -> list[Listener]:
    if mode == "4":
        return [Listener(_bind_one(socket.AF_INET, port, None, reuse_port), socket.AF_INET)]
    if mode == "6":
        return [Listener(_bind_one(socket.AF_INET6, port, True, reuse_port), socket.AF_INET6)]
    if socket.has_ipv6:
        try:
            sock = _bind_one(socket.AF_INET6, port, False, reuse_port)
            return [Listener(sock, socket.AF_INET6)]
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise
            # No usable IPv6 here (disabled by sysctl, no ::): IPv4 only.
    return [Listener(_bind_one(socket.AF_INET, port, None, reuse_port), socket.AF_INET)]


def bind(port: int | None, mode: str = "both", reuse_port: bool = False) -> list[Listener]:
    """Bind on every address of the chosen family; port None picks 40000-50000."""
    if port is not None:
        try:
            return _bind_mode(mode, port, reuse_port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ListenError(f"port {port} is already in use") from None
            if exc.errno == errno.EACCES:
                raise ListenError(f"port {port} needs privileges this user lacks") from None
            if exc.errno == errno.EAFNOSUPPORT:
                raise ListenError("IPv6 is not available on this machine") from None
            raise ListenError(f"cannot listen on port {port}: {exc.strerror}") from None
    candidates = random.sample(range(*RANDOM_PORTS), 64)
    for candidate in candidates:
        try:
            return _bind_mode(mode, candidate, reuse_port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise ListenError(f"cannot listen: {exc.strerror}") from None
    raise ListenError("no free port found between 40000 and 50000")


def bind_address(host: str, port: int) -> socket.socket:
    """One SO_REUSEPORT socket on one address, for a worker of `pasla serve`.

    "::" is dual-stack where the OS allows; any other IPv6 address is IPv6 only.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    v6only = None if family == socket.AF_INET else host != "::"
    try:
        return _bind_one(family, port, v6only, True, host)
    except OSError as exc:
        where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(f"{where} is already in use") from None
        raise ListenError(f"cannot listen on {where}: {exc.strerror}") from None


def has_ipv6(listeners: list[Listener]) -> bool:
    return any(item.family == socket.AF_INET6 for item in listeners)


def has_ipv4(listeners: list[Listener], mode: str) -> bool:
    return mode != "6" and bool(listeners)
