"""Raw-socket helpers shared by the tests that watch the server cut connections."""

import socket
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
