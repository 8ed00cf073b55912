"""Bodies the server makes piece by piece (encrypted by TLS, or sealed records), sized to the socket.

Both senders that cannot hand the kernel a file range make each piece in
Python, so a piece is as large as the room left in the socket's send
buffer: the socket nearly always takes all of it, and a slow reader leaves
the sender holding only a small remainder.
"""

import fcntl
import socket
import struct

from shares.server.sending.zero_copy import FileSender

MIN_PIECE = 16 << 10
MAX_PIECE = 1 << 20
# Where the send queue cannot be read: a fixed piece.
FALLBACK_PIECE = 64 << 10
# Pieces one writable event may make and send: bounds one event's time on
# the loop when the socket keeps taking everything.
PIECES_PER_EVENT = 8
SIOCOUTQ = 0x5411  # Linux (TIOCOUTQ): bytes in a TCP socket's send queue


def send_room(sock) -> int:
    """Bytes the socket's send buffer has room for, about; FALLBACK_PIECE where the kernel cannot tell."""
    try:
        size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return FALLBACK_PIECE
    # SO_SNDBUF counts the kernel's bookkeeping too: about half is data.
    return size // 2 - queued


class PieceSender(FileSender):
    """A FileSender whose subclass makes each piece itself and keeps what the socket left in `_out`."""

    _out = None

    def stop(self, error: Exception | None = None) -> None:
        if self._out is not None:
            # Part of a piece is left: anything written after it would land
            # mid-body, so nothing else may go on this connection.
            self._out = None
            self.transport.abortConnection()
        super().stop(error)

    def _next_piece(self, turn: int):
        """The size of the next piece to make (turn: pieces made in this writable event);
        otherwise a 1-tuple holding what _writable must return now."""
        if (held := self._flush_queued()) is not None:
            return held
        if self.remaining <= 0:
            self.stop()
            return (None,)
        room = send_room(self.transport.socket)
        if turn and room < MIN_PIECE:
            return (None,)  # full enough: the next writable event goes on
        piece = min(self.remaining, max(MIN_PIECE, min(MAX_PIECE, room)))
        if self.pacer is not None:
            piece, wait = self.pacer.allow(piece)
            if not piece:
                self._pause(wait)
                return (None,)
        return piece
