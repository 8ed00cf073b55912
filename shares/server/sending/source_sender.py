"""Bodies made while they are sent (an encrypted share's records), written by the server.

The same `pasla.response.sendfile` message as a file range, with a
`source` (anything with `read(offset, size) -> bytes`, such as
shares/e2e/source.SealedSource) instead of an `fd`. On every writable event
the sender reads the next piece of the range from the source and hands it
to the socket itself: no ASGI message, no Django iteration and no Twisted
buffer per chunk, which is where a streamed body spends most of its CPU.

Pieces are sized to the socket's free send buffer (shares/server/sending/pieces.py).
"""

from twisted.internet import main

from shares.files.payloads import PayloadChanged, PayloadDrift
from shares.server.sending.pieces import PIECES_PER_EVENT, PieceSender
from shares.server.sending.zero_copy import ClientGone


class SourceSender(PieceSender):
    """Sends [offset, offset + count) of `source` on a plain TCP `transport`."""

    def __init__(self, transport, source, offset: int, count: int, progress, pacer=None):
        super().__init__(transport, -1, offset, count, progress, pacer)
        self.source = source
        self._out: memoryview | None = None  # the part of the piece the socket has not taken

    def held(self) -> int:
        return 0 if self._out is None else len(self._out)

    def _writable(self):
        transport = self.transport
        for turn in range(PIECES_PER_EVENT):
            if self._out is None:
                piece = self._next_piece(turn)
                if isinstance(piece, tuple):
                    return piece[0]
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
                self._sent(sent)
            if self._out is not None:
                return None
        return None
