"""Opening a pasla-e2e-1 stream as it arrives, record by record (pure, no I/O).

A reader that starts at record `first` (1 for a whole download, later for
a resume) feeds whatever bytes the network gives and gets back the
plaintext of every record completed by them, each authenticated before a
byte of it is returned. `finish()` refuses a stream that ended before its
last record: truncation is detected, not just alteration.
"""

from shares.e2e import ece


class StreamOpener:
    def __init__(self, opener: ece.Opener, first: int = 1):
        if not 1 <= first <= opener.records + 1:
            raise ValueError("no such record to start from")
        self.opener = opener
        self.next = first
        self._buffer = bytearray()

    @property
    def done(self) -> bool:
        return self.next > self.opener.records

    def offset(self) -> int:
        """The ciphertext offset of the next byte this reader expects."""
        return ece.record_start(self.next)

    def feed(self, data: bytes) -> list[bytes]:
        """Plaintext of the records `data` completed (an empty list if none)."""
        if self.done:
            if data:
                raise ece.FormatError("the encrypted stream goes on after its last record")
            return []
        self._buffer += data
        out = []
        while not self.done:
            need = ece.record_length(self.next, self.opener.size)
            if len(self._buffer) < need:
                break
            out.append(self.opener.record(self.next, self._buffer[:need]))
            del self._buffer[:need]
            self.next += 1
        if self.done and self._buffer:
            raise ece.FormatError("the encrypted stream goes on after its last record")
        return out

    def finish(self) -> None:
        if not self.done:
            raise ece.FormatError(f"the encrypted stream ended inside record {self.next}")
