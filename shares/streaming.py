"""The body of a download: an async generator of chunks from a payload source.

Reads run on the executor so a slow disk never blocks the event loop; the
server's send() waits while the client's socket is full, so at most about
one chunk per connection sits in memory. Each chunk is taken from the
download slot's account before it is read, so parallel requests of one slot
never send the same bytes beyond the slot's allowance. Totals (and the byte
range actually sent, which is what lets a cut download resume on the same
slot) reach the database once, when the transfer ends, however it ends --
including a client that leaves before the first chunk (`abandon()`).
"""

import asyncio
import logging
import threading

from shares import slots
from shares.live import board
from shares.models import Download
from shares.payloads import PayloadDrift
from shares.services import finish_download

log = logging.getLogger("pasla")

__all__ = ["PayloadDrift", "SlotSpent", "Transfer"]


class SlotSpent(Exception):
    """The slot may not send these bytes again: the response must break."""


class Transfer:
    """One response body under one slot, settled exactly once."""

    def __init__(
        self, *, source, start, length, chunk_size, share_id, download_id, slot_id, client_ip, validator
    ):
        self.validator = validator
        self.source = source
        self.start = start
        self.length = length
        self.chunk_size = chunk_size
        self.share_id = share_id
        self.download_id = download_id
        self.slot_id = slot_id
        self.client_ip = client_ip
        self._claimed = False
        self._lock = threading.Lock()

    def _claim(self) -> bool:
        """The first of the body and abandon() to get here does the settling."""
        with self._lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def abandon(self) -> None:
        """The body was never iterated (client gone first): give everything back."""
        if not self._claim():
            return
        self.source.close()
        finish_download(
            self.download_id, self.share_id, 0, Download.Outcome.ABORTED, self.slot_id, self.start
        )

    async def chunks(self):
        if not self._claim():
            return
        loop = asyncio.get_running_loop()
        start, length = self.start, self.length
        sent = 0
        # The part of this transfer accounted to the current slot.
        part_start, part_sent = start, 0
        outcome = Download.Outcome.ABORTED
        board.begin(self.share_id)
        try:
            while sent < length:
                size = min(self.chunk_size, length - sent)
                position = start + sent
                if not slots.take(self.slot_id, position, size):
                    old, self.slot_id = self.slot_id, None
                    self.slot_id = await loop.run_in_executor(None, self._switch, old, part_start, part_sent)
                    if self.slot_id is None or not slots.take(self.slot_id, position, size):
                        raise SlotSpent("the slot's re-send allowance is used up and no slot is left")
                    part_start, part_sent = position, 0
                data = await loop.run_in_executor(None, self.source.read, position, size)
                yield data
                # Control returns here once send() has handed the chunk to a
                # socket that had room for it.
                sent += size
                part_sent += size
                board.progress(self.share_id, size)
            outcome = Download.Outcome.COMPLETE
        except (PayloadDrift, SlotSpent) as exc:
            outcome = Download.Outcome.FAILED
            log.error("share %s: download %s broken off: %s", self.share_id, self.download_id, exc)
            raise
        finally:
            self.source.close()
            board.end(self.share_id, sent, outcome == Download.Outcome.COMPLETE, self.client_ip)
            # Not awaited: this may run while the task is being cancelled.
            loop.run_in_executor(
                None,
                finish_download,
                self.download_id,
                self.share_id,
                sent,
                outcome,
                self.slot_id,
                part_start,
                part_sent,
            )

    def _switch(self, old_slot: int, part_start: int, part_sent: int) -> int | None:
        return slots.switch(
            old_slot,
            share_id=self.share_id,
            download_id=self.download_id,
            client_ip=self.client_ip,
            validator=self.validator,
            request_start=self.start,
            part_start=part_start,
            part_sent=part_sent,
        )
