"""One recipient request answered through a sender connection (Twisted glue, relay side).

The sender's response head is parsed here; its body is then written into
the recipient's Twisted request as it arrives, with the sender connection
registered as the request's producer: when the recipient's socket is full,
Twisted pauses the producer, which stops reading the sender's socket, so
TCP slows the sender down. Nothing is buffered beyond one socket read.
"""

import asyncio
import logging
import time

from twisted.internet.interfaces import IPushProducer
from twisted.web import http
from zope.interface import implementer

from shares.relay import framing, splice
from shares.relay.hub import SenderGone
from shares.server.sending import zero_copy

log = logging.getLogger("pasla.relay")

PIPE_MESSAGE = "pasla.relay.pipe"


@implementer(IPushProducer)
class Exchange:
    def __init__(self, conn, method: str, bucket=None):
        self.conn = conn  # the BackendConnection it runs on
        self.method = method
        self.bucket = bucket  # the sender's bandwidth.Bucket, or None
        loop = asyncio.get_event_loop()
        self.head: asyncio.Future = loop.create_future()
        self.piped: asyncio.Future = loop.create_future()
        self.framing: framing.Framing | None = None
        self.left = 0
        self.decoder = None
        self.pending = b""  # body bytes read with the head, before the pipe is attached
        self.request = None
        self.sent = 0
        self.paused_by: set[str] = set()
        self.splicer = None

    # --- the head ---------------------------------------------------------------

    def head_arrived(self, head: framing.Head, rest: bytes) -> None:
        self.framing = framing.response_framing(self.method, head)
        self.left = self.framing.length
        if self.framing.kind == "chunked":
            self.decoder = framing.ChunkedDecoder()
        self.pending = rest
        if self.framing.kind == "none" or (self.framing.kind == "length" and self.left == 0):
            self._settle(True)
        else:
            self.pause("pipe")  # until the recipient's response has started
        if not self.head.done():
            self.head.set_result(head)

    # --- the body ---------------------------------------------------------------

    def attach(self, request) -> asyncio.Future:
        """Pipe the body into `request` (a started PaslaRequest); the future says whether it all went."""
        if self.piped.done():
            return self.piped
        self.request = request
        if request.producer is not None:
            request.unregisterProducer()  # daphne's gate: this exchange paces the body instead
        request.registerProducer(self, True)
        data, self.pending = self.pending, b""
        if data:
            self.feed(data)
        elif not request.startedWriting:
            http.Request.write(request, b"")  # the status line and headers, queued in Twisted
        if not self.piped.done() and not self.splice_rest(request):
            self.resume("pipe")
        return self.piped

    def splice_rest(self, request) -> bool:
        """Hand the rest of a known-length body to the kernel when both sides are plain TCP."""
        if not splice.available() or self.framing.kind != "length" or self.bucket is not None:
            return False
        source = zero_copy.plain_tcp_transport(self.conn.transport)
        target = zero_copy.plain_tcp_transport(request.channel.transport if request.channel else None)
        if source is None or target is None:
            return False
        self.splicer = splice.SplicePump(source, target, self.left, self._spliced, self._splice_ended)
        self.splicer.start()
        return True

    def _spliced(self, count: int) -> None:
        self.sent += count
        self.left -= count

    def _splice_ended(self, complete: bool) -> None:
        self.splicer = None
        self._settle(complete)

    def feed(self, data: bytes) -> None:
        if self.request is None:
            self.pending += data  # bounded: the connection is paused until attach()
            return
        if self.piped.done():
            return
        kind = self.framing.kind
        if kind == "length":
            piece, extra = data[: self.left], data[self.left :]
            self.left -= len(piece)
            self._write(piece)
            if extra:
                log.info("a sender sent bytes past its response's length; cut")
                self._settle(False)
            elif self.left == 0:
                self._settle(True)
        elif kind == "chunked":
            try:
                pieces = self.decoder.feed(data)
            except framing.FramingError as exc:
                log.info("a sender's chunked body was malformed (%s); cut", exc)
                self._settle(False)
                return
            for piece in pieces:
                self._write(piece)
            if self.decoder.done:
                self._settle(True)
        else:
            self._write(data)

    def _write(self, piece: bytes) -> None:
        if not piece:
            return
        self.sent += len(piece)
        self.request.write(piece)
        if self.bucket is not None:
            wait = self.bucket.take(len(piece), time.monotonic())
            if wait > 0 and "rate" not in self.paused_by:
                self.pause("rate")
                asyncio.get_event_loop().call_later(wait, self.resume, "rate")

    def sender_closed(self) -> None:
        """The sender's connection ended: a close-delimited body is complete, any other is cut."""
        if not self.head.done():
            self.head.set_exception(SenderGone())
        self._settle(self.framing is not None and self.framing.kind == "close")

    def _settle(self, complete: bool) -> None:
        if self.piped.done():
            return
        if self.splicer is not None:
            self.splicer, splicer = None, self.splicer
            splicer.stop()
        self.piped.set_result(complete)
        if self.request is not None and self.request.producer is self:
            self.request.unregisterProducer()
        self.conn.finished(complete)

    def abort(self) -> None:
        """The recipient left (or gave up waiting): the sender hears it by its connection closing."""
        self._settle(False)

    # --- IPushProducer: the recipient's socket paces the sender's --------------

    def pause(self, why: str) -> None:
        if not self.paused_by:
            self.conn.pause_reading()
        self.paused_by.add(why)

    def resume(self, why: str) -> None:
        if why not in self.paused_by:
            return
        self.paused_by.discard(why)
        if not self.paused_by and not self.piped.done():
            self.conn.resume_reading()

    def pauseProducing(self):
        self.pause("recipient")

    def resumeProducing(self):
        self.resume("recipient")

    def stopProducing(self):
        self.abort()
