"""The body of a download: an async generator of pread chunks.

Reads run on the executor so a slow disk never blocks the event loop; the
server's send() waits while the client's socket is full, so at most about
one chunk per connection sits in memory. Totals reach the database once,
when the transfer ends, however it ends.
"""

import asyncio
import logging
import os

from shares import payloads
from shares.live import board
from shares.models import Download
from shares.services import finish_download

log = logging.getLogger("pasla")


class PayloadDrift(Exception):
    """The file changed while it was being sent: the response must break."""


def _read(fd: int, size: int, offset: int, pinned: payloads.Identity) -> bytes:
    if not payloads.still_pinned(fd, pinned):
        raise PayloadDrift("file changed during transfer")
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise PayloadDrift("file shrank during transfer")
    return data


async def file_chunks(
    *,
    fd: int,
    start: int,
    length: int,
    chunk_size: int,
    pinned: payloads.Identity,
    share_id: str,
    download_id: int,
    client_ip: str,
):
    loop = asyncio.get_running_loop()
    sent = 0
    outcome = Download.Outcome.ABORTED
    board.begin(share_id)
    try:
        while sent < length:
            size = min(chunk_size, length - sent)
            data = await loop.run_in_executor(None, _read, fd, size, start + sent, pinned)
            yield data
            # Control returns here once send() has handed the chunk to a
            # socket that had room for it.
            sent += size
            board.progress(share_id, size)
        outcome = Download.Outcome.COMPLETE
    except PayloadDrift as exc:
        outcome = Download.Outcome.FAILED
        log.error("share %s: download %s broken off: %s", share_id, download_id, exc)
        raise
    finally:
        os.close(fd)
        board.end(share_id, sent, outcome == Download.Outcome.COMPLETE, client_ip)
        # Not awaited: this may run while the task is being cancelled.
        loop.run_in_executor(None, finish_download, download_id, share_id, sent, outcome)
