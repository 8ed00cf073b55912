"""The body of a download, sent one of two ways, counted one way.

- Zero copy (plain TCP, a regular file): `send_zero_copy()` asks the server
  for each segment with a `pasla.response.sendfile` message; the kernel
  moves the bytes and the server reports every amount it accepted.
- The read loop (TLS, archives, PASLA_ZERO_COPY=0): `chunks()` reads on
  the executor so a slow disk never blocks the event loop, and the
  server's send() waits while the client's socket is full, so at most
  about one chunk per connection sits in memory.

Either way every piece is taken from the download slot's account before
it is sent, so parallel requests of one slot never send the same bytes
beyond the slot's allowance, and every byte that left is counted in
`_count()` (live board, running total for the database). Totals (and the
byte range actually sent, which is what lets a cut download resume on the
same slot) are settled once, when the transfer ends, however it ends --
including a client that leaves before the first byte (`abandon()`).
"""

import asyncio
import logging
import threading

from shares.bandwidth import budget
from shares.bandwidth.budget import OverBudget
from shares.download import slots
from shares.download.finish import finish_download
from shares.download.sendfile_plan import DELIVERED, SEGMENT
from shares.download.sendfile_plan import MESSAGE as SENDFILE
from shares.files.payloads import PayloadDrift
from shares.handling import client_gone, offload
from shares.models import Download
from shares.telemetry.live import board

log = logging.getLogger("pasla")

__all__ = ["OverBudget", "PayloadDrift", "SlotSpent", "Transfer"]


class SlotSpent(Exception):
    """The slot may not send these bytes again: the response must break."""


class Transfer:
    """One response body under one slot, settled exactly once."""

    def __init__(
        self,
        *,
        source,
        start,
        length,
        chunk_size,
        share_id,
        download_id,
        slot_id,
        client_ip,
        validator,
        body=None,
        notice=None,
        allowance=None,
        pacer=None,
    ):
        """body: the range's bytes when they were read already (a small body);
        notice: the connection's client_gone.LeaveNotice, which says why the
        server cut it, if it did; allowance: the client's bytes budget
        (shares/bandwidth/budget.py), pacer: the send-rate cap
        (shares/bandwidth/pacing.py), each None when off."""
        self.notice = notice
        self.allowance = allowance
        self.pacer = pacer
        self.validator = validator
        self.body = body
        self.source = source
        self.start = start
        self.length = length
        self.chunk_size = chunk_size
        self.share_id = share_id
        self.download_id = download_id
        self.slot_id = slot_id
        self.client_ip = client_ip
        self.sent = 0
        self._part_start, self._part_sent = start, 0
        self._switching = None  # a slot switch the client left during
        self._opening = None  # the first piece, when taken before the headers
        self._claimed = False
        self._lock = threading.Lock()

    def _claim(self) -> bool:
        """The first of the body and abandon() to get here does the settling."""
        with self._lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    @property
    def claimed(self) -> bool:
        """The body or abandon() has settled, or is settling, this transfer."""
        return self._claimed

    def abandon(self) -> None:
        """The body was never iterated (client gone first): give everything back."""
        if not self._claim():
            return
        self.source.close()
        self._release_caps(blocking=True)
        finish_download(
            self.download_id, self.share_id, 0, Download.Outcome.ABORTED, self.slot_id, self.start
        )

    # --- one accounting path for both ways of sending -------------------------

    def _begin(self) -> None:
        self._part_start, self._part_sent = self.start, 0
        board.begin(self.share_id, self.download_id)

    def _count(self, size: int) -> None:
        """`size` more bytes were handed to the client's socket."""
        self.sent += size
        self._part_sent += size
        board.progress(self.share_id, size, self.download_id)

    async def _reserve(self, position: int, size: int) -> None:
        """Take [position, position + size) from the slot before sending it."""
        if slots.take(self.slot_id, position, size):
            return
        # Shielded: the switch records what was sent under the old slot, so it
        # must run even if the client leaves meanwhile. Cancelling it before
        # an executor thread picked it up lost those bytes, and the slot could
        # never complete.
        switching = offload.submit(self._switch, self.slot_id, self._part_start, self._part_sent)
        try:
            self.slot_id = await asyncio.shield(switching)
        except asyncio.CancelledError:
            self._switching = switching
            raise
        self._part_start, self._part_sent = position, 0
        if self.slot_id is None or not slots.take(self.slot_id, position, size):
            raise SlotSpent("the slot's re-send allowance is used up and no slot is left")

    async def reserve_opening(self, piece: int) -> None:
        """Take the body's first piece from the slot before the headers go out.

        A duplicate download that may not send a single byte (its slot's
        re-send allowance is spent and no slot is left) raises SlotSpent
        here, so it is answered 410 instead of a 200 with no body; a client
        whose bytes budget ran out meanwhile raises OverBudget (429).
        """
        size = min(piece, self.length)
        if size > 0:
            size = await self._budgeted(self.start, size)
            await self._reserve(self.start, size)
            self._opening = (self.start, size)

    async def _budgeted(self, position: int, size: int) -> int:
        """`size`, or less where the client's bytes budget ends; OverBudget when it has."""
        allowance = self.allowance
        if allowance is None:
            return size
        if allowance.local <= 0:
            await budget.off_loop(allowance.top_up, self.start + self.length - position)
            if allowance.local <= 0:
                raise OverBudget("the client's bytes budget for the hour is spent")
        return allowance.spend(size)

    def _release_caps(self, *, blocking: bool) -> None:
        """Give back what the pacer and the budget granted and nothing sent."""
        if self.pacer is not None:
            self.pacer.close()
        if self.allowance is None or self.allowance.local <= 0:
            return
        if blocking or budget.cache_is_local():
            self.allowance.settle()
        else:
            asyncio.get_running_loop().run_in_executor(None, self.allowance.settle)

    def abandon_opening(self) -> None:
        """The client left during reserve_opening() (on the loop): give
        everything back, after the slot switch it was waiting for if any."""
        if self._switching is None:
            offload.submit(self.abandon)
        elif self._claim():
            self.source.close()
            self._release_caps(blocking=False)
            self._settle_after_switch(Download.Outcome.ABORTED)

    async def _take(self, position: int, size: int) -> int:
        """The next piece from `position`: its size, at most `size`, cut
        short where the budget ends, taken from the slot (unless
        reserve_opening() took it already)."""
        opening, self._opening = self._opening, None
        if opening is not None and opening[0] == position:
            return opening[1]
        size = await self._budgeted(position, size)
        await self._reserve(position, size)
        return size

    def _final(self, outcome: str) -> str:
        """Every byte handed over before the client left (or the request was
        cancelled) is a complete download, however the sending ended."""
        if outcome == Download.Outcome.ABORTED and self.sent >= self.length:
            return Download.Outcome.COMPLETE
        cut_why = getattr(self.notice, "reason", None)
        if outcome == Download.Outcome.ABORTED and cut_why == client_gone.TOO_SLOW:
            return Download.Outcome.TOO_SLOW
        return outcome

    def _over_budget(self) -> bool:
        """The budget ended the body: cut the connection (the client must
        see a short body); False where only an exception can break it."""
        log.info(
            "share %s: download %s ended at its client's bytes budget for the hour (%d bytes sent)",
            self.share_id,
            self.download_id,
            self.sent,
        )
        cut = getattr(self.notice, "cut", None)
        if cut is None:
            return False
        cut(client_gone.OVER_BUDGET, graceful=True)
        return True

    def _broken(self, exc: Exception) -> str:
        log.error("share %s: download %s broken off: %s", self.share_id, self.download_id, exc)
        return Download.Outcome.FAILED

    def _settle(self, outcome: str):
        """Close the books (history row, slot, share total) on the database lane.

        Returns the lane's future, or None when a slot switch the client
        left during will settle instead. Not awaited here: this may run
        while the task is being cancelled.
        """
        self.source.close()
        self._release_caps(blocking=False)
        complete = outcome == Download.Outcome.COMPLETE
        board.end(self.share_id, self.sent, complete, self.client_ip, self.download_id)
        if self._switching is not None:
            self._settle_after_switch(outcome)
            return None
        return offload.submit(
            finish_download,
            self.download_id,
            self.share_id,
            self.sent,
            outcome,
            self.slot_id,
            self._part_start,
            self._part_sent,
        )

    @staticmethod
    async def _books_closed(settling) -> None:
        """A body that ended normally waits for its settling before the
        response ends: the history row is closed before the connection is,
        and the next request on this server does not share the event loop
        and the GIL with this one's bookkeeping."""
        if settling is not None:
            await asyncio.shield(settling)

    def _settle_after_switch(self, outcome: str) -> None:
        """The client left during a slot switch: the switch has recorded the
        old slot's part; once it is done, close the history row and hand back
        the new slot (if it got one) with nothing sent under it."""
        position = self._part_start + self._part_sent
        args = (self.download_id, self.share_id, self.sent, outcome)

        def switched(future) -> None:
            new_slot = None if future.cancelled() or future.exception() else future.result()
            offload.submit(finish_download, *args, new_slot, position, 0)

        self._switching.add_done_callback(switched)

    # --- the read loop (TLS, archives, or zero copy turned off) --------------------

    async def chunks(self):
        """The body as chunks of bytes, each read on the executor."""
        if not self._claim():
            return
        loop = asyncio.get_running_loop()
        self._begin()
        outcome = Download.Outcome.ABORTED
        try:
            while self.sent < self.length:
                position = self.start + self.sent
                size = await self._take(position, min(self.chunk_size, self.length - self.sent))
                if self.body is not None:
                    data = self.body[self.sent : self.sent + size]
                else:
                    data = await loop.run_in_executor(None, self.source.read, position, size)
                if self.pacer is not None:
                    async for piece in self._paced(data):
                        yield piece
                    continue
                yield data
                # Control returns here once send() has handed the chunk to a
                # socket that had room for it.
                self._count(size)
            outcome = Download.Outcome.COMPLETE
        except OverBudget:
            outcome = Download.Outcome.OVER_BUDGET
            if not self._over_budget():
                raise
        except (PayloadDrift, SlotSpent) as exc:
            outcome = self._broken(exc)
            raise
        finally:
            settling = self._settle(self._final(outcome))
        await self._books_closed(settling)

    async def _paced(self, data: bytes):
        """One chunk in the pieces the send-rate cap lets go, each counted once sent."""
        view, offset = memoryview(data), 0
        while offset < len(data):
            size = await self.pacer.acquire(len(data) - offset)
            yield bytes(view[offset : offset + size])
            self._count(size)
            offset += size

    # --- zero copy (plain TCP, a regular file) -------------------------------------

    async def send_zero_copy(self, send) -> None:
        """Send the range with `pasla.response.sendfile` messages (see shares/server/sending/zero_copy.py)."""
        if not self._claim():
            return
        # A file goes by sendfile; a source made while sent (--e2e) by its reader.
        body = {"fd": self.source.fd} if hasattr(self.source, "fd") else {"source": self.source}
        end = self.start + self.length
        self._begin()
        outcome = Download.Outcome.ABORTED
        try:
            while self.sent < self.length:
                position = self.start + self.sent
                size = await self._take(position, min(SEGMENT, self.length - self.sent))
                if not self.source.unchanged():
                    raise PayloadDrift("file changed during transfer")
                # The range's last byte is held back (see _send_last_byte).
                count = size - 1 if position + size == end else size
                before = self.sent
                if count:
                    message = {"type": SENDFILE, **body, "offset": position, "count": count}
                    await send({**message, "progress": self._count, "pacer": self.pacer})
                if self.sent - before < count:
                    # The client left, stalled and was cut, or the file
                    # ended early (sendfile found EOF): only the last is ours.
                    if not self.source.unchanged():
                        raise PayloadDrift("file changed during transfer")
                    break
                if count < size and not await self._send_last_byte(send, position + count):
                    break
            else:
                outcome = Download.Outcome.COMPLETE
        except OverBudget:
            outcome = Download.Outcome.OVER_BUDGET
            if not self._over_budget():
                raise
        except (PayloadDrift, SlotSpent) as exc:
            outcome = self._broken(exc)
            raise
        finally:
            settling = self._settle(self._final(outcome))
        await self._books_closed(settling)

    async def _send_last_byte(self, send, position: int) -> bool:
        """The last byte of a zero-copy range, sent only once the client has
        every byte before it and the file is still unchanged; False if the
        client left first.

        Until then the response cannot look complete to the client, so a
        file rewritten during the send (whose new bytes sendfile may have
        sent from the page cache) ends in a broken connection, never in a
        clean end under the old Repr-Digest.
        """
        arrived = []
        await send({"type": DELIVERED, "arrived": lambda: arrived.append(True)})
        if not arrived:
            return False
        data = self.source.read(position, 1)  # checks the file before and after
        await send({"type": "http.response.body", "body": data, "more_body": True})
        self._count(1)
        return True

    async def zero_copy_body(self, response):
        """The streaming content of a zero-copy response: sends, yields nothing."""
        await self.send_zero_copy(response.asgi_send)
        return
        yield  # makes this an async generator, which StreamingHttpResponse accepts

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
