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

    def feed(self, data: bytes) -> list[memoryview]:
        """Plaintext of the records `data` completed (an empty list if none).

        Whole records are opened straight from `data` into one new buffer
        (the piece returned); only a record cut by the edge of `data` is
        copied, to be completed by the next call.
        """
        if self.done:
            if data:
                raise ece.FormatError("the encrypted stream goes on after its last record")
            return []
        view = memoryview(data)
        out = memoryview(bytearray(len(self._buffer) + len(view)))
        at = 0
        while not self.done:
            need = ece.record_length(self.next, self.opener.size)
            if self._buffer:
                take = min(need - len(self._buffer), len(view))
                self._buffer += view[:take]
                view = view[take:]
                if len(self._buffer) < need:
                    break
                record, self._buffer = self._buffer, bytearray()
            elif len(view) >= need:
                record, view = view[:need], view[need:]
            else:
                break
            at += self.opener.record_into(self.next, record, out[at:])
            self.next += 1
        if self.done and (view or self._buffer):
            raise ece.FormatError("the encrypted stream goes on after its last record")
        self._buffer += view
        return [out[:at]] if at else []

    def finish(self) -> None:
        if not self.done:
            raise ece.FormatError(f"the encrypted stream ended inside record {self.next}")
