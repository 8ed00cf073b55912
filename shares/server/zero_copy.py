"""Zero-copy file bodies on plain TCP: os.sendfile driven by the reactor.

The ASGI side asks for it with pasla's own extension (not the standard
`http.response.pathsend`, which names a path: re-opening a path would
reopen the door to a file swapped after it was checked, and it has no byte
range). The scope of a plain-TCP request carries `extensions["pasla.sendfile"]`;
the application may then send, after `http.response.start`, any number of

    {"type": "pasla.response.sendfile", "fd": int, "offset": int, "count": int,
     "progress": callable(int), "grant": callable(int, int) -> int (optional)}

messages, then the usual final `http.response.body`. Each one returns once
its bytes have left, the client has gone, the transfer stalled, or `grant`
said stop; the application learns which from the bytes reported to
`progress`, which is called with every amount the kernel accepted, so what
a cut download delivered is known to the byte (minus what sat in socket
buffers). `grant(offset, count)` is asked right before each sendfile call
how many of the `count` bytes at `offset` may go now: the application
checks them against the download slot there and then, synchronously, so one
message can cover a whole range while the slot is still charged only what
was sent. Returning 0 ends the message early.

TLS connections never get the extension: the bytes must pass through
OpenSSL. Directory archives are generated, so they stream as before.

How: the response headers are written through Twisted as usual; while a
range is being sent, the TCP transport's doWrite is replaced by one that
first lets Twisted flush its own buffer (the headers), then calls
os.sendfile once per writable event on the non-blocking socket, at most
once per REFILL_INTERVAL. Twisted keeps owning the file descriptor's
registration, so a connection lost meanwhile is cleaned up by Twisted as
always and only has to wake us.
"""

import asyncio
import os
import time

from twisted.internet import main
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import TLSMemoryBIOProtocol

from shares.sendfile_plan import EXTENSION, MESSAGE

__all__ = ["EXTENSION", "MESSAGE", "ClientGone", "FileSender", "plain_tcp_transport"]

# Most one sendfile call may move. The socket's free buffer space limits
# it anyway; this only bounds one call's time on the event loop.
STEP = 8 << 20

# After a refill the socket drains for at least this long before the next
# one. Refilling on every writable event keeps a fast client's buffer topped
# up a little at a time, and the client and we then wake each other for
# every few packets; a millisecond's rest lets the buffer empty in bigger
# bites. A client slower than a buffer per millisecond never waits: its
# writable events come further apart than that. Measured on loopback
# (bench/run.py): less CPU per GiB on both ends, throughput as before.
REFILL_INTERVAL = 0.001


class RefillClock:
    """When one connection's socket may next be refilled (kept across its messages)."""

    __slots__ = ("next_at",)

    def __init__(self):
        self.next_at = 0.0

    def wait(self, now: float) -> float:
        """Seconds to hold off at `now`; zero or less: go."""
        return self.next_at - now

    def refilled(self, now: float) -> None:
        self.next_at = now + REFILL_INTERVAL


class ClientGone(Exception):
    pass


def plain_tcp_transport(transport):
    """The TCP transport under the wrappers, or None when TLS is among them."""
    while isinstance(transport, ProtocolWrapper):
        if isinstance(transport, TLSMemoryBIOProtocol):
            return None
        inner = transport.__dict__.get("transport")
        if inner is None:
            return None
        transport = inner
    if transport is None or not hasattr(transport, "socket") or not hasattr(transport, "doWrite"):
        return None
    return transport


def twisted_pending(transport) -> int:
    """Bytes Twisted still holds in its own write buffer for this transport."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class FileSender:
    """Sends [offset, offset + count) of `fd` on a Twisted TCP transport."""

    def __init__(self, transport, fd: int, offset: int, count: int, progress, grant=None, clock=None):
        self.transport = transport
        self.fd = fd
        self.offset = offset
        self.remaining = count
        self.progress = progress
        self.grant = grant
        self.clock = clock or RefillClock()
        self._loop = asyncio.get_running_loop()
        self.done = self._loop.create_future()
        self._installed = False
        self._rest = None

    def start(self) -> asyncio.Future:
        if self.remaining <= 0:
            self._resolve()
            return self.done
        if self.transport.disconnecting or self.transport.disconnected:
            self._resolve(ClientGone())
            return self.done
        # An instance attribute shadows the class's doWrite for this one
        # connection; the reactor looks it up on every writable event.
        self.transport.doWrite = self._writable
        self._installed = True
        self.transport.startWriting()
        return self.done

    def stop(self, error: Exception | None = None) -> None:
        """Give the transport back (idempotent); wakes the waiter."""
        if self._rest is not None:
            self._rest.cancel()
            self._rest = None
        if self._installed:
            self._installed = False
            del self.transport.doWrite
            if not self.transport.disconnected and twisted_pending(self.transport) == 0:
                self.transport.stopWriting()
        self._resolve(error)

    def _resolve(self, error: Exception | None = None) -> None:
        # The outcome is the result (None when every byte left), not an
        # exception: nobody may be waiting any more when the client leaves.
        if not self.done.done():
            self.done.set_result(error)

    def _writable(self):
        transport = self.transport
        if twisted_pending(transport):
            # Headers (or anything else Twisted queued) go first, in order.
            why = type(transport).doWrite(transport)
            if why:
                self.stop(ClientGone())
                return why
            if twisted_pending(transport):
                return None
            transport.startWriting()  # Twisted stops writing once drained
        if transport.disconnecting:
            self.stop(ClientGone())
            return None
        wait = self.clock.wait(time.monotonic())
        if wait > 0:
            # Reading stays on, so a client that leaves meanwhile is noticed.
            transport.stopWriting()
            self._rest = self._loop.call_later(wait, self._resume)
            return None
        count = min(self.remaining, STEP)
        if self.grant is not None:
            count = min(count, self.grant(self.offset, count))
            if count <= 0:
                self.stop()  # the application's call: it knows why
                return None
        try:
            sent = os.sendfile(transport.fileno(), self.fd, self.offset, count)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            self.stop(ClientGone(str(exc)))
            return main.CONNECTION_LOST
        if sent == 0:
            # End of file before the end of the range: the file shrank.
            self.stop(ClientGone("file ended early"))
            return main.CONNECTION_LOST
        self.clock.refilled(time.monotonic())
        self.offset += sent
        self.remaining -= sent
        self.progress(sent)
        if self.remaining <= 0:
            self.stop()
        return None

    def _resume(self):
        self._rest = None
        if self._installed and not self.transport.disconnected:
            self.transport.startWriting()
