"""Raw-socket helpers shared by the tests that watch the server cut connections."""

import os
import socket
import ssl
import time


def closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes this socket (EOF or reset); reads whatever comes."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"still open after {limit}s") from None
    return time.monotonic() - started


def get_while_rewritten(served, path, size: int, read_first: int, tls=False) -> tuple[bytes, dict, bytes]:
    """GET the share on a slow socket, rewrite `path` in place (same size, new
    bytes) once `read_first` body bytes arrived, read to the end or the cut:
    (status line, headers, body)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # keep most of it queued at the server
    sock.settimeout(30)
    sock.connect(("127.0.0.1", served.port))
    if tls:
        sock = served.tls_context().wrap_socket(sock, server_hostname="127.0.0.1")
    try:
        sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += sock.recv(4096)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = dict(line.split(b": ", 1) for line in lines[1:])
        while len(body) < read_first:
            body += sock.recv(4096)
        with open(path, "r+b") as fh:
            fh.write(os.urandom(size))
        try:
            while chunk := sock.recv(1 << 16):
                body += chunk
        except (ConnectionResetError, ssl.SSLError):
            pass
    finally:
        sock.close()
    return lines[0], headers, body
