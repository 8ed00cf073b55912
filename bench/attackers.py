"""Hostile clients for the `attacks` bench scenario and the transport tests.

Each runs in a thread of its own with one selector for all its sockets, so
hundreds of sockets cost the measuring process little:

- SocketFlood keeps N connections open from given source addresses; with
  `trickle`, each sends a request line and then one header line every
  `trickle` seconds without ever finishing (slowloris), else nothing at all.
  A socket the server drops is opened again after RECONNECT_DELAY, as a
  real attacker would.
- BigPost announces a huge body and streams zeros for as long as the server
  takes them, then reads whatever answer comes.
"""

import selectors
import socket
import threading
import time

RECONNECT_DELAY = 0.1


class SocketFlood:
    def __init__(self, port: int, sources: list[str], count: int, trickle: float | None = None):
        self.port = port
        self.sources = sources
        self.count = count
        self.trickle = trickle
        self.connects = 0
        self.drops = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _open(self, selector, slot: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((self.sources[slot % len(self.sources)], 0))
        sock.connect_ex(("127.0.0.1", self.port))
        self.connects += 1
        # [slot, request line sent, next trickle time]
        selector.register(sock, selectors.EVENT_READ, [slot, False, time.monotonic()])

    def _drop(self, selector, sock, pending: list) -> None:
        slot = selector.get_key(sock).data[0]
        selector.unregister(sock)
        sock.close()
        self.drops += 1
        pending.append((time.monotonic() + RECONNECT_DELAY, slot))

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        pending = [(0.0, slot) for slot in range(self.count)]
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                due = [p for p in pending if p[0] <= now]
                pending = [p for p in pending if p[0] > now]
                for _, slot in due:
                    try:
                        self._open(selector, slot)
                    except OSError:
                        pending.append((now + RECONNECT_DELAY, slot))
                for key, _ in selector.select(timeout=0.05):
                    try:
                        data = key.fileobj.recv(4096)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._drop(selector, key.fileobj, pending)
                if self.trickle is not None:
                    self._trickle(selector, pending)
        finally:
            for key in list(selector.get_map().values()):
                key.fileobj.close()
            selector.close()

    def _trickle(self, selector, pending: list) -> None:
        now = time.monotonic()
        for key in list(selector.get_map().values()):
            state = key.data
            if state[2] > now:
                continue
            payload = b"X-Slow: y\r\n" if state[1] else b"GET / HTTP/1.1\r\nHost: x\r\n"
            try:
                key.fileobj.send(payload)
            except BlockingIOError:
                pass  # still connecting: try again on the next round
            except OSError:
                self._drop(selector, key.fileobj, pending)
                continue
            else:
                state[1] = True
            state[2] = now + self.trickle


class BigPost:
    """One client POSTing `size` bytes of zeros (or chunked, with no end)."""

    def __init__(
        self, port: int, path: str, size: int, chunked: bool = False, seconds: float = 5.0, source="127.0.0.1"
    ):
        self.port = port
        self.source = source
        self.path = path
        self.size = size
        self.chunked = chunked
        self.seconds = seconds
        self.sent = 0  # body bytes the server's side took
        self.answer = b""
        self.answer_after: float | None = None  # seconds from the head to the answer
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._thread.join(timeout=self.seconds + 10)

    def _head(self) -> bytes:
        framing = b"Transfer-Encoding: chunked" if self.chunked else b"Content-Length: %d" % self.size
        return b"POST %s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % (self.path.encode(), framing)

    def _run(self) -> None:
        try:
            self._post()
        except OSError:
            pass  # refused or reset: no answer, status None

    def _post(self) -> None:
        block = b"\0" * 65536
        if self.chunked:
            block = b"%x\r\n%s\r\n" % (len(block), block)
        with socket.create_connection(
            ("127.0.0.1", self.port), timeout=10, source_address=(self.source, 0)
        ) as sock:
            sock.sendall(self._head())
            began = time.monotonic()
            sock.setblocking(False)
            selector = selectors.DefaultSelector()
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while time.monotonic() - began < self.seconds and self.sent < self.size:
                for _, events in selector.select(timeout=0.05):
                    if events & selectors.EVENT_READ and not self._read(sock, began):
                        selector.close()
                        return
                    if events & selectors.EVENT_WRITE:
                        try:
                            self.sent += sock.send(block[: min(len(block), self.size - self.sent)])
                        except BlockingIOError:
                            pass
                        except OSError:
                            selector.unregister(sock)
                            selector.register(sock, selectors.EVENT_READ)
            selector.close()
            sock.setblocking(True)
            sock.settimeout(2)
            while self._read(sock, began):
                pass

    def _read(self, sock, began: float) -> bool:
        """Take what the server says; False once it is done talking."""
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if data and self.answer_after is None:
            self.answer_after = time.monotonic() - began
        self.answer += data
        return bool(data)

    @property
    def status(self) -> int | None:
        parts = self.answer.split(b" ", 2)
        return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None


def legitimate_requests(port: int, path: str, count: int, interval: float = 0.1, timeout: float = 5.0):
    """`count` HEAD requests from 127.0.0.1, each on a fresh connection.

    Returns (seconds, status or None) per request: None when the server
    reset, closed or did not answer within `timeout`.
    """
    request = b"HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode()
    results = []
    for _ in range(count):
        began = time.monotonic()
        status = None
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
                sock.sendall(request)
                head = b""
                while b"\r\n" not in head:
                    data = sock.recv(4096)
                    if not data:
                        break
                    head += data
                parts = head.split(b" ", 2)
                if len(parts) > 2 and parts[1].isdigit():
                    status = int(parts[1])
        except OSError:
            pass
        results.append((time.monotonic() - began, status))
        time.sleep(interval)
    return results


def summary(results) -> tuple[float, float]:
    """(share of requests answered 200, p90 seconds over all of them)."""
    ok = sum(1 for _, status in results if status == 200)
    times = sorted(seconds for seconds, _ in results)
    return ok / len(results), times[min(len(times) - 1, int(len(times) * 0.9))]
