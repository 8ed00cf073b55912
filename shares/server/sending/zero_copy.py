"""Zero-copy file bodies on plain TCP: os.sendfile driven by the reactor.

The ASGI side asks for it with pasla's own extension (not the standard
`http.response.pathsend`, which names a path: re-opening a path would
reopen the door to a file swapped after it was checked, and it has no byte
range). The scope of a plain-TCP request carries `extensions["pasla.sendfile"]`;
the application may then send, after `http.response.start`, any number of

    {"type": "pasla.response.sendfile", "fd": int, "offset": int, "count": int,
     "progress": callable(int)}

messages, then the usual final `http.response.body`. Each one returns once
its bytes have left, the client has gone, or the transfer stalled; the
application learns which from the bytes reported to `progress`, which is
called with every amount the kernel accepted, so what a cut download
delivered is known to the byte (minus what sat in socket buffers).

TLS connections get the same extension, served by
shares/server/sending/tls_sender.py: the bytes must pass through OpenSSL, but the
server still reads and sends the range itself, in large pieces. Directory
archives are generated, so they stream as before.

How: the response headers are written through Twisted as usual; while a
range is being sent, the TCP transport's doWrite is replaced by one that
first lets Twisted flush its own buffer (the headers), then calls
os.sendfile once per writable event on the non-blocking socket. Twisted
keeps owning the file descriptor's registration, so a connection lost
meanwhile is cleaned up by Twisted as always and only has to wake us.

The socket is corked (TCP_CORK) while a range is sent, as nginx does with
`tcp_nopush`: sendfile hands the socket 64 KiB at a time, which is a few
bytes more than one loopback segment holds, so without the cork every
handful became a full segment plus a tiny one. Corked, the kernel sends
only full segments and the headers share the first one with the body;
uncorking at the end of the range sends what is left at once.
"""

import asyncio
import fcntl
import os
import socket
import struct

from twisted.internet import main, reactor
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import TLSMemoryBIOProtocol

from shares.download.sendfile_plan import DELIVERED, EXTENSION, MESSAGE

__all__ = [
    "DELIVERED",
    "EXTENSION",
    "MESSAGE",
    "ClientGone",
    "FileSender",
    "plain_tcp_transport",
    "unsent",
]

# Most one sendfile call may move. The socket's free buffer space limits
# it anyway; this only bounds one call's time on the event loop.
STEP = 8 << 20

TCP_CORK = getattr(socket, "TCP_CORK", None)  # Linux
SIOCOUTQNSD = 0x894B  # Linux: bytes in a TCP socket's send queue not sent yet


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


def unsent(transport) -> int:
    """Bytes written to this connection that have not gone out yet (Twisted's
    buffer plus what the socket has not sent, SIOCOUTQNSD); 0 where the
    kernel cannot tell.

    Not-yet-acknowledged would be stricter, but the client's delayed ACK
    then costs every response tens of milliseconds.
    """
    queued = twisted_pending(transport)
    try:
        raw = fcntl.ioctl(transport.fileno(), SIOCOUTQNSD, struct.pack("i", 0))
    except (OSError, AttributeError, ValueError):
        return queued
    return queued + struct.unpack("i", raw)[0]


def twisted_pending(transport) -> int:
    """Bytes Twisted still holds in its own write buffer for this transport."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class FileSender:
    """Sends [offset, offset + count) of `fd` on a Twisted TCP transport."""

    def __init__(self, transport, fd: int, offset: int, count: int, progress, pacer=None):
        """pacer: the send-rate cap's (shares/bandwidth/pacing.py), None when uncapped."""
        self.transport = transport
        self.pacer = pacer
        self._wake = None  # the timer of a send paused by the rate cap
        self.fd = fd
        self.offset = offset
        self.remaining = count
        self.progress = progress
        self.delivered = 0  # the sum of what progress was told
        self.done = asyncio.get_running_loop().create_future()
        self._installed = False

    def held(self) -> int:
        """Bytes this sender holds that the socket has not taken yet."""
        return 0

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
        if self.pacer is None:
            # Paced pieces are small and spaced out: corked, each one's
            # last partial segment would wait for the cork's timeout.
            self._cork(True)
        self.transport.startWriting()
        return self.done

    def stop(self, error: Exception | None = None) -> None:
        """Give the transport back (idempotent); wakes the waiter."""
        if self._wake is not None:
            if self._wake.active():
                self._wake.cancel()
            self._wake = None
        if self._installed:
            self._installed = False
            del self.transport.doWrite
            self._cork(False)
            if not self.transport.disconnected and twisted_pending(self.transport) == 0:
                self.transport.stopWriting()
        self._resolve(error)

    def _pause(self, wait: float) -> None:
        """The rate cap says wait: no writable events until the timer, no sleeping."""
        self.transport.stopWriting()
        if self._wake is not None and self._wake.active():
            self._wake.cancel()  # woken early by a write from elsewhere
        self._wake = reactor.callLater(wait, self._resume)

    def _resume(self) -> None:
        self._wake = None
        if self._installed and not self.transport.disconnected:
            self.transport.startWriting()

    def _cork(self, on: bool) -> None:
        if TCP_CORK is None or self.transport.disconnected:
            return
        try:
            self.transport.socket.setsockopt(socket.IPPROTO_TCP, TCP_CORK, int(on))
        except OSError:
            pass  # the connection is going; nothing is left to push

    def _resolve(self, error: Exception | None = None) -> None:
        # The outcome is the result (None when every byte left), not an
        # exception: nobody may be waiting any more when the client leaves.
        if not self.done.done():
            self.done.set_result(error)

    def _sent(self, count: int) -> None:
        """`count` more bytes of the body were taken by the socket."""
        self.delivered += count
        if self.pacer is not None:
            self.pacer.spent(count)
        self.progress(count)

    def _flush_queued(self):
        """Send what Twisted queued (the headers) before any file byte.

        None when file bytes may go now; otherwise a 1-tuple holding what
        _writable must return this turn.
        """
        transport = self.transport
        if twisted_pending(transport):
            why = type(transport).doWrite(transport)
            if why:
                self.stop(ClientGone())
                return (why,)
            if twisted_pending(transport):
                return (None,)
            transport.startWriting()  # Twisted stops writing once drained
        if transport.disconnecting:
            self.stop(ClientGone())
            return (None,)
        return None

    def _writable(self):
        transport = self.transport
        if (held := self._flush_queued()) is not None:
            return held[0]
        count = min(self.remaining, STEP)
        if self.pacer is not None:
            count, wait = self.pacer.allow(count)
            if not count:
                self._pause(wait)
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
        self.offset += sent
        self.remaining -= sent
        self._sent(sent)
        if self.remaining <= 0:
            self.stop()
        return None
