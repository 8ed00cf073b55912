"""The body of a download: an async generator of chunks from a payload source.

Reads run on the executor so a slow disk never blocks the event loop; the
server's send() waits while the client's socket is full, so at most about
one chunk per connection sits in memory. Each chunk is taken from the
download slot's account before it is read, so parallel requests of one slot
never send the same bytes beyond the slot's allowance. Totals (and the byte
range actually sent, which is what lets a cut download resume on the same
slot) reach the database once, when the transfer ends, however it ends.
"""

import asyncio
import logging

from shares import slots
from shares.live import board
from shares.models import Download
from shares.payloads import PayloadDrift
from shares.services import finish_download

log = logging.getLogger("pasla")

__all__ = ["PayloadDrift", "SlotSpent", "body_chunks"]


class SlotSpent(Exception):
    """The slot may not send these bytes again: the response must break."""


async def body_chunks(
    *,
    source,
    start: int,
    length: int,
    chunk_size: int,
    share_id: str,
    download_id: int,
    slot_id: int,
    client_ip: str,
):
    loop = asyncio.get_running_loop()
    sent = 0
    outcome = Download.Outcome.ABORTED
    board.begin(share_id)
    try:
        while sent < length:
            size = min(chunk_size, length - sent)
            if not slots.take(slot_id, start + sent, size):
                raise SlotSpent("re-send allowance of the slot used up")
            data = await loop.run_in_executor(None, source.read, start + sent, size)
            yield data
            # Control returns here once send() has handed the chunk to a
            # socket that had room for it.
            sent += size
            board.progress(share_id, size)
        outcome = Download.Outcome.COMPLETE
    except (PayloadDrift, SlotSpent) as exc:
        outcome = Download.Outcome.FAILED
        log.error("share %s: download %s broken off: %s", share_id, download_id, exc)
        raise
    finally:
        source.close()
        board.end(share_id, sent, outcome == Download.Outcome.COMPLETE, client_ip)
        # Not awaited: this may run while the task is being cancelled.
        loop.run_in_executor(None, finish_download, download_id, share_id, sent, outcome, slot_id, start)
