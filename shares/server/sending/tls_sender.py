"""File bodies over TLS: read, encrypted and written in large pieces by the server.

The same `pasla.response.sendfile` messages as on plain TCP
(shares/server/sending/zero_copy.py), served without the kernel's sendfile: on
every writable event the sender reads the next piece of the range into one
buffer shared by all connections, encrypts it with a single SSL_write on
the connection's own OpenSSL object, drains the memory BIO in a few large
reads and hands the ciphertext to the socket itself, all parts in one
sendmsg. Twisted's TLS layer would have
cut the piece into 16 KiB slices, each one copied, encrypted, read back
and queued separately.

Ordering: the TLS stream must reach the socket in the order OpenSSL
produced it. Whatever TLS wrote through Twisted before (the response
headers, a session ticket, an alert) goes first; ciphertext the sender
holds goes before anything Twisted queued after it was made.

Memory: a piece is as large as the room left in the socket's send buffer
(shares/server/sending/pieces.py), so a slow reader holds at most a small
remainder of ciphertext, and its memory BIO, which keeps the capacity of
the largest piece it held, stays small too.

Progress: the bytes reported are plaintext bytes whose ciphertext the
kernel accepted, in proportion within a piece (so to within one TLS record).
"""

import os

from OpenSSL import SSL
from twisted.internet import main
from twisted.protocols.policies import ProtocolWrapper

from shares.files.payloads import PayloadChanged, PayloadDrift
from shares.server.sending.pieces import MAX_PIECE, PIECES_PER_EVENT, PieceSender
from shares.server.sending.zero_copy import ClientGone
from shares.server.tls import CiphertextBuffer, PaslaTLS

# One plaintext and one ciphertext buffer for every connection: a piece is
# read, encrypted and offered to the socket within one call on the
# reactor's thread; only what the socket did not take is copied out.
_plaintext = bytearray(MAX_PIECE)
_ciphertext = CiphertextBuffer(MAX_PIECE + (64 << 10))


def tls_layer(transport) -> PaslaTLS | None:
    """The PaslaTLS protocol among an HTTP channel's transport wrappers, if any."""
    while isinstance(transport, ProtocolWrapper):
        if isinstance(transport, PaslaTLS):
            return transport
        transport = transport.__dict__.get("transport")
    return None


class TLSFileSender(PieceSender):
    """Sends [offset, offset + count) of `fd` through `tls` (a PaslaTLS) on its TCP `transport`."""

    def __init__(self, transport, tls: PaslaTLS, body, offset: int, count: int, progress, pacer=None):
        """body: a file descriptor, or a source to read() (shares/server/sending/source_sender.py)."""
        fd, self.source = (body, None) if isinstance(body, int) else (-1, body)
        super().__init__(transport, fd, offset, count, progress, pacer)
        self.tls = tls
        self.connection = tls.getHandle()
        self._out = None  # parts of ciphertext the socket has not taken yet
        self._out_plain = 0  # plaintext bytes the piece's ciphertext carries
        self._out_size = 0  # bytes of that ciphertext
        self._out_sent = 0
        self._out_reported = 0
        self.body_failed = False

    def start(self):
        # The headers may still sit in Twisted's small-write aggregator: they
        # must be encrypted before the first byte of the body.
        self.tls.flush_writes()
        return super().start()

    def held(self) -> int:
        return 0 if self._out is None else self._out_size - self._out_sent

    def _writable(self):
        transport = self.transport
        for turn in range(PIECES_PER_EVENT):
            if self._out is None:
                piece = self._next_piece(turn)
                if isinstance(piece, tuple):
                    return piece[0]
                problem = self._encrypt_next(piece)
                if problem:
                    self.stop(ClientGone(problem))
                    # A body that could not be made is the view's to break (it records why).
                    return None if self.body_failed else main.CONNECTION_LOST
                if self.pacer is not None:
                    self.pacer.spent(self._out_plain)
            try:
                sent = transport.socket.sendmsg(self._out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self.stop(ClientGone(str(exc)))
                return main.CONNECTION_LOST
            self._advance(sent)
            if self._out is not None:
                self._out = [bytes(part) if _ciphertext.owns(part) else part for part in self._out]
                return None
        return None

    def _encrypt_next(self, size: int) -> str | None:
        """The next `size` bytes of the range encrypted into _out; a problem or None."""
        view = memoryview(_plaintext)[:size]
        try:
            if self.source is not None:
                view = memoryview(self.source.read(self.offset, size))
                got = len(view)
            else:
                got = os.preadv(self.fd, [view], self.offset)
        except OSError as exc:
            return f"cannot read the file: {exc.strerror}"
        except (PayloadChanged, PayloadDrift, ValueError) as exc:
            self.body_failed = True
            return f"cannot make the body: {exc}"
        if got == 0:
            return "file ended early"
        try:
            self._out = _ciphertext.encrypt(self.connection, view[:got])
        except SSL.Error:
            return "TLS error"
        self.offset += got
        self.remaining -= got
        self._out_plain, self._out_sent, self._out_reported = got, 0, 0
        self._out_size = sum(len(part) for part in self._out)
        return None

    def _advance(self, sent: int) -> None:
        """`sent` more bytes of ciphertext left: report the plaintext they carry."""
        self._out_sent += sent
        if self._out_sent >= self._out_size:
            carried = self._out_plain
            self._out = None
        else:
            carried = self._out_plain * self._out_sent // self._out_size
            while sent:  # drop what left from the front of the parts
                first = self._out[0]
                if sent >= len(first):
                    sent -= len(first)
                    del self._out[0]
                else:
                    self._out[0] = memoryview(first)[sent:]
                    sent = 0
        newly = carried - self._out_reported
        self._out_reported = carried
        if newly:
            self.delivered += newly
            self.progress(newly)
