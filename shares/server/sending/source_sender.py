"""Bodies made while they are sent (an encrypted share's records), written by the server.

The same `pasla.response.sendfile` message as a file range, with a
`source` (anything with `read(offset, size) -> bytes`, such as
shares/e2e/source.SealedSource) instead of an `fd`. On every writable event
the sender reads the next piece of the range from the source and hands it
to the socket itself: no ASGI message, no Django iteration and no Twisted
buffer per chunk, which is where a streamed body spends most of its CPU.

Memory: a piece is as large as the room left in the socket's send buffer
(as for TLS in shares/server/sending/tls_sender.py), so the socket nearly always
takes all of it and a slow reader leaves at most a small remainder held.
"""

from twisted.internet import main

from shares.files.payloads import PayloadChanged, PayloadDrift
from shares.server.sending.zero_copy import ClientGone, FileSender, send_room

MIN_PIECE = 16 << 10
MAX_PIECE = 1 << 20
# Pieces one writable event may make and send: bounds one event's time on the loop.
PIECES_PER_EVENT = 8


class SourceSender(FileSender):
    """Sends [offset, offset + count) of `source` on a plain TCP `transport`."""

    def __init__(self, transport, source, offset: int, count: int, progress, pacer=None):
        super().__init__(transport, -1, offset, count, progress, pacer)
        self.source = source
        self._out: memoryview | None = None  # the part of the piece the socket has not taken

    def held(self) -> int:
        return 0 if self._out is None else len(self._out)

    def stop(self, error: Exception | None = None) -> None:
        if self._out is not None:
            # Part of a piece is left: anything written after it would land
            # mid-body, so nothing else may go on this connection.
            self._out = None
            self.transport.abortConnection()
        super().stop(error)

    def _writable(self):
        transport = self.transport
        for turn in range(PIECES_PER_EVENT):
            if self._out is None:
                if (held := self._flush_queued()) is not None:
                    return held[0]
                if self.remaining <= 0:
                    self.stop()
                    return None
                room = send_room(transport.socket, MAX_PIECE)
                if turn and room < MIN_PIECE:
                    return None  # full enough: the next writable event goes on
                piece = min(self.remaining, max(MIN_PIECE, min(MAX_PIECE, room)))
                if self.pacer is not None:
                    piece, wait = self.pacer.allow(piece)
                    if not piece:
                        self._pause(wait)
                        return None
                try:
                    self._out = memoryview(self.source.read(self.offset, piece))
                except (PayloadChanged, PayloadDrift, OSError, ValueError) as exc:
                    # The view learns it from the bytes missing and breaks the response itself.
                    self.stop(ClientGone(f"cannot make the body: {exc}"))
                    return None
                self.offset += piece
                self.remaining -= piece
            try:
                sent = transport.socket.send(self._out)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as exc:
                self.stop(ClientGone(str(exc)))
                return main.CONNECTION_LOST
            self._out = self._out[sent:] if sent < len(self._out) else None
            if sent:
                self.delivered += sent
                if self.pacer is not None:
                    self.pacer.spent(sent)
                self.progress(sent)
            if self._out is not None:
                return None
        return None
