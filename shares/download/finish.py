"""The end of a download: the history row, the slot and the share's total, settled together."""

import logging

from django.db import connection, transaction

from shares.download import rows, slots
from shares.download.decision import Serve
from shares.models import Download

log = logging.getLogger("pasla")


def finish_download(
    download_id: int,
    share_id: str,
    sent: int,
    outcome: str,
    slot_id: int | None = None,
    start: int = 0,
    slot_sent: int | None = None,
) -> None:
    """Close the history row; give the slot the bytes sent under it (slot_sent,
    from `start`; all of `sent` unless the transfer switched slots)."""
    slot_sent = sent if slot_sent is None else slot_sent
    try:
        # One transaction (one commit) for the slot, the history row and the
        # share's total. A body that ends normally waits for it; a cut one
        # does not, so this may run while other requests are served.
        with transaction.atomic():
            # Lock order: the share's row, then the slot's, as slots.grant()
            # takes them; the other order deadlocks on PostgreSQL when a
            # download ends while the same client starts its next request.
            # (SQLite's IMMEDIATE transactions lock the whole database at BEGIN.)
            size = rows.share_size(share_id)
            if slot_id is not None:
                try:
                    with transaction.atomic():
                        covered = [(start, start + slot_sent)]
                        slots.release(slot_id, size=size, intervals=covered, sent=slot_sent)
                except Exception:
                    # The history row below must still close, or the share could never end.
                    log.exception(
                        "share %s: could not record what download %s covered", share_id, download_id
                    )
            rows.close_download(download_id, sent=sent, outcome=outcome)
            rows.add_bytes(share_id, sent)
    finally:
        # Runs on a database lane thread: give the connection back promptly.
        connection.close_if_unusable_or_obsolete()


def record_progress(due: dict[int, int]) -> None:
    """Running byte counts of downloads in progress, all in one transaction.

    Fed about once a second from the in-memory board, so `pasla list` and
    the admin see transfers move; a row that has already finished keeps
    the final total finish_download() wrote.
    """
    if not due:
        return
    table = connection.ops.quote_name(Download._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET bytes_sent = %s WHERE id = %s AND outcome = %s",  # noqa: S608
                [(sent, pk, Download.Outcome.IN_PROGRESS) for pk, sent in due.items()],
            )
    finally:
        connection.close_if_unusable_or_obsolete()


def abandon(serve: Serve) -> None:
    """A prepared download whose client left before the response: give it all back."""
    serve.source.close()
    aborted = Download.Outcome.ABORTED
    finish_download(serve.download_id, serve.share.id, 0, aborted, serve.slot_id, serve.start)
