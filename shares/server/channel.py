"""Twisted's HTTP/1.1 channel and request, with pasla's limits and backpressure.

Stock Twisted reads any announced body to the end (spooling it to a temp
file, which daphne then queues in memory) before anyone may answer, closes
silently on an over-long line, and passes any method token through. Here
the head is judged as it arrives (shares/server/request_limits.py): an
over-long URL is 414, an over-long header 431, a method that is not upper
case 400, and a body over its cap 413 before one byte of it is processed.
A refusal is written, the socket stops being read, our side half-closes
so the client sees the answer, and the connection guard resets whatever
is left after a short grace.

Each request (PaslaRequest) registers a push producer with its transport, so
a response body is only sent as fast as the client takes it.
"""

import asyncio
import logging

from daphne.http_protocol import WebRequest
from twisted.internet import interfaces
from twisted.web import http
from zope.interface import implementer

from shares.handling import client_gone
from shares.server import guards, request_limits
from shares.server.sending import zero_copy

log = logging.getLogger("pasla.server")


class PaslaChannel(http.HTTPChannel):
    MAX_LENGTH = max(request_limits.REQUEST_LINE_MAX, request_limits.HEADER_LINE_MAX)
    totalHeadersSize = request_limits.HEAD_MAX
    # Set per connection by the factory from PASLA_URL_PREFIX and PASLA_ADMIN_PATH.
    admin_prefix = b"/admin/"

    _refused = False
    _chunk_budget = None  # bytes a chunked body may still use on the wire

    def _on_first_line(self) -> bool:
        # Twisted keeps this state private; it is 1 (or 2) until a request line is parsed.
        return bool(self._HTTPChannel__first_line)

    def dataReceived(self, data):
        if self._refused:
            return
        super().dataReceived(data)

    def lineLengthExceeded(self, line):
        if self._on_first_line():
            self.refuse(414, "URI too long")
        else:
            self.refuse(431, "Request header fields too large")

    def lineReceived(self, line):
        if self._refused:
            return
        first = self._on_first_line()
        if not first and self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self.refuse(431, "Request header fields too large")
            return
        super().lineReceived(line)
        # No command when Twisted could not parse the line (it answered 400 itself).
        command = getattr(self, "_command", None)
        if first and command is not None and not request_limits.method_ok(command):
            self.refuse(400, "Bad request")

    def allHeadersReceived(self):
        # Before Twisted's own handling, which would send "100 Continue".
        rule = request_limits.body_rule(self._path, self.length, self.admin_prefix)
        if rule.refuse:
            self.refuse(413, "Request body too large")
            return
        self._chunk_budget = rule.cap if self.length is None else None
        guard = guards.guard_of(self.transport)
        if guard is not None:
            guard.head_received()
        super().allHeadersReceived()

    def rawDataReceived(self, data):
        if self._refused:
            return
        if self._chunk_budget is not None and not self._handlingRequest:
            self._chunk_budget -= len(data)
            if self._chunk_budget < 0:
                self.refuse(413, "Request body too large")
                return
        super().rawDataReceived(data)

    def allContentReceived(self):
        self._chunk_budget = None
        super().allContentReceived()

    def refuse(self, code: int, text: str) -> None:
        """Answer `code` and end the connection without reading another byte."""
        if self._refused or self.transport is None:
            return
        self._refused = True
        self._buffer = b""
        guard = guards.guard_of(self.transport)
        socket_transport = guards.innermost_transport(self.transport)
        if guard is not None:
            log.info("client %s: refused a request with %d", guard.peer, code)
        socket_transport.pauseProducing()
        self.transport.write(request_limits.refusal(code, text))
        if guard is not None and hasattr(socket_transport, "loseWriteConnection"):
            # Half-close: the answer and a FIN go out, the unread body stays
            # in the kernel, and the guard resets the socket after its grace.
            guard.closing()
            socket_transport.loseWriteConnection()
        else:
            self.transport.loseConnection()


# Bytes one send() syscall may move: Twisted's default of 128 KiB would cut
# every 1 MiB chunk into eight syscalls.
SEND_LIMIT = 1 << 20


@implementer(interfaces.IPushProducer)
class WritableGate:
    """Bridges Twisted's pause/resume for one response to an asyncio.Event."""

    def __init__(self):
        self._writable = asyncio.Event()
        self._writable.set()
        self.stopped = False

    def pauseProducing(self):
        self._writable.clear()

    def resumeProducing(self):
        self._writable.set()

    def stopProducing(self):
        self.stopped = True
        self._writable.set()

    @property
    def paused(self) -> bool:
        return not self._writable.is_set()

    async def wait(self) -> None:
        await self._writable.wait()


class PaslaRequest(WebRequest):
    # daphne's own error page names daphne in its footer.
    error_template = "<!doctype html><title>%(title)s</title><h1>%(title)s</h1><p>%(body)s</p>"

    def __init__(self, *args, **kwargs):
        self.gate = None
        self.sender = None  # a zero_copy.FileSender (or TLS one) while one runs
        self.file_bytes = 0  # body bytes the senders handed to the socket
        self.speed = None  # a SpeedWindow once the response has started
        self.leave_notice = None  # set with the application (client_gone.LeaveNotice)
        super().__init__(*args, **kwargs)
        # Under the guard (and TLS) wrappers: set it on the socket's own
        # transport, not on a wrapper that would only shadow the attribute.
        transport = guards.innermost_transport(getattr(self.channel, "transport", None))
        if transport is not None and hasattr(transport, "SEND_LIMIT"):
            transport.SEND_LIMIT = SEND_LIMIT

    def setResponseCode(self, code, message=None):
        # Twisted has no phrase for 429 and others ("429 Unknown Status").
        super().setResponseCode(code, message or request_limits.reason(code))

    def _guard(self):
        return guards.guard_of(getattr(self.channel, "transport", None)) if self.channel else None

    def process(self):
        # The request is complete: its header deadline no longer applies.
        guard = self._guard()
        if guard is not None:
            guard.request_started()
        # No WebSockets here: drop the upgrade so the request is plain HTTP.
        if self.requestHeaders.hasHeader(b"Upgrade"):
            self.requestHeaders.removeHeader(b"Upgrade")
        return super().process()

    def handle_reply(self, message):
        if (
            message.get("type") == "http.response.start"
            and self.gate is None
            and not self.finished
            and self.channel is not None
        ):
            self.gate = WritableGate()
            self.registerProducer(self.gate, True)
            self.speed = self.server.speed_window()
        super().handle_reply(message)
        if message.get("type") == "http.response.body" and message.get("body") and message.get("more_body"):
            self._write_through()

    def _write_through(self):
        """Hand what was just written to the socket now, not at the next writable event.

        Twisted only buffers a write and waits for the reactor to report the
        socket writable, which it nearly always already is: the first byte
        then waited for the rest of this loop iteration (the response's
        bookkeeping among it) plus a poll. Only on plain TCP, only in the
        middle of a response body (a finished response may already have
        handed the connection to the next request, which is Twisted's to
        drive), and never while a zero-copy sender owns the socket's writes.
        Whatever the socket does not take, or an error, is left to the
        reactor as before.
        """
        if self.sender is not None or self.channel is None:
            return
        transport = zero_copy.plain_tcp_transport(self.channel.transport)
        if (
            transport is None
            or transport.disconnecting
            or transport.disconnected
            or "doWrite" in transport.__dict__
            or not zero_copy.twisted_pending(transport)
        ):
            return
        transport.doWrite()

    def body_taken(self) -> tuple[int, bool] | None:
        """Body bytes the client has taken so far, and whether it is holding
        more back (bytes wait in buffers for it); None off plain sockets."""
        transport = guards.innermost_transport(getattr(self.channel, "transport", None))
        if transport is None or not hasattr(transport, "socket"):
            return None
        held = zero_copy.unsent(transport) + (self.sender.held() if self.sender is not None else 0)
        # Headers sit in the queue as well: only body bytes count as taken.
        return max(0, self.sentLength + self.file_bytes - held), held > 0

    def cut_too_slow(self) -> None:
        """The client read below the minimum speed: end the connection, saying why."""
        self.cut(client_gone.TOO_SLOW)

    def cut(self, reason: str, graceful: bool = False) -> None:
        """End the connection now (a body cut short), saying why; graceful:
        after what was written so far reaches the client (which then sees a
        short body), not with a reset that may drop it."""
        if self.leave_notice is not None:
            self.leave_notice.reason = reason
        if self.sender is not None:
            self.sender.stop(zero_copy.ClientGone())
        transport = getattr(self.channel, "transport", None)
        if transport is None:
            return
        if graceful:
            # TLS closes only once no producer is registered: neither the
            # response's gate nor the channel (which its own close unregisters).
            self._release_gate()
            self.channel.loseConnection()
        else:
            transport.abortConnection()

    def _release_gate(self):
        if self.gate is not None:
            self.gate.stopProducing()
            if self.producer is not None and self.channel is not None:
                self.unregisterProducer()

    def finish(self):
        self._release_gate()
        # Before super(): finishing may start the next pipelined request,
        # which must find the connection busy, not idle.
        guard = self._guard()
        if guard is not None:
            guard.request_finished()
        super().finish()

    def connectionLost(self, reason):
        if self.gate is not None:
            self.gate.stopProducing()
        if self.sender is not None:
            self.sender.stop(zero_copy.ClientGone())
        super().connectionLost(reason)
        if self.leave_notice is not None:
            self.leave_notice.client_left()

    def handle_exception(self, exception):
        if self._response_started:
            # Headers (with Content-Length) are out: the only honest signal
            # left is to break the connection so the client sees a short body.
            if self.channel is not None and self.channel.transport is not None:
                self.channel.transport.abortConnection()
            return
        super().handle_exception(exception)
