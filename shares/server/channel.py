"""Twisted's HTTP/1.1 channel with pasla's limits on the request head and body.

Stock Twisted reads any announced body to the end (spooling it to a temp
file, which daphne then queues in memory) before anyone may answer, closes
silently on an over-long line, and passes any method token through. Here
the head is judged as it arrives (shares/server/request_limits.py): an
over-long URL is 414, an over-long header 431, a method that is not upper
case 400, and a body over its cap 413 before one byte of it is processed.
A refusal is written, the socket stops being read, our side half-closes
so the client sees the answer, and the connection guard resets whatever
is left after a short grace.
"""

import logging

from twisted.web import http

from shares.server import guards, request_limits

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
