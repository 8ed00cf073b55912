"""Download slots: who may continue which delivery, and what it covered.

A slot belongs to one client identity and one validator (ETag). A request
from the same identity for the same validator continues the newest such
slot when the bytes it asks for are mostly not yet covered; anything else
claims a new slot with `rows.claim_slot()`, the one atomic truth for the
cap. The decision runs in a transaction holding the share row (SELECT ...
FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions lock at BEGIN),
so parallel requests of one client agree on a single slot.
"""

from django.conf import settings
from django.db import transaction

from shares.config import runtime
from shares.download import coverage, rows
from shares.download.slot_ledger import ledger
from shares.models import Share
from shares.telemetry import metrics


def _current_account(slot: rows.SlotRow, size: int) -> coverage.SlotAccount:
    live = ledger.view(slot.id)
    if live is not None:
        return live
    return coverage.SlotAccount(size, allowance_for_size(size), coverage.normalize(slot.covered), slot.sent)


def allowance_for_size(size: int) -> int:
    return coverage.allowance_for(size, settings.PASLA_LIMITS.resume_overlap)


def grant(share: Share, *, client_ip: str, validator: str, start: int, end: int) -> int | None:
    """The id of the slot a request for bytes [start, end) is served under, or None (410).

    Runs inside the caller's transaction when there is one (the history row
    is written in the same commit). The returned slot is attached to this
    process's ledger; the caller must `release()` it when the transfer ends.
    """
    with transaction.atomic(savepoint=False):
        locked = rows.lock_share(share.pk)
        if locked is None or not locked.live:
            return None
        worker = runtime.worker_id()
        slot = rows.lock_newest_slot(share.pk, client_ip, validator)
        if slot is not None:
            account = _current_account(slot, locked.size)
            # Sending under another worker right now: its live account is in
            # that process, so continuing here could send the same bytes
            # twice. This request is a delivery of its own.
            elsewhere = slot.worker not in ("", worker)
            if not elsewhere and account.may_continue(start, end):
                ledger.attach(slot.id, account)
                if not slot.worker:
                    rows.set_slot_worker(slot.id, worker)
                return slot.id
        if not rows.claim_slot(share.pk):
            return None
        metrics.slot_claimed()
        share.slots_used = locked.slots_used + 1
        slot_id = rows.insert_slot(
            share.pk,
            client_ip=client_ip,
            validator=validator,
            covered=[],
            complete=locked.size == 0,
            worker=worker,
        )
        ledger.attach(slot_id, coverage.SlotAccount(locked.size, allowance_for_size(locked.size)))
        return slot_id


def switch(
    slot_id: int,
    *,
    share_id: str,
    download_id: int,
    client_ip: str,
    validator: str,
    request_start: int,
    part_start: int,
    part_sent: int,
) -> int | None:
    """A transfer ran out of its slot's re-send budget: continue under a new slot.

    That happens to a second, simultaneous download of the same bytes by one
    client: it is a second delivery, so it takes a slot of its own (or ends,
    when none is left). The old slot keeps what was sent under it; the new
    one starts with what this request had already delivered, so a full
    download finishes it completely. Returns the new slot id, or None.
    """
    with transaction.atomic():
        size = rows.share_size(share_id)
        release(slot_id, size=size, intervals=[(part_start, part_start + part_sent)], sent=part_sent)
    position = part_start + part_sent
    with transaction.atomic():
        locked = rows.lock_share(share_id)
        if locked is None or not locked.live or not rows.claim_slot(share_id):
            return None
        metrics.slot_claimed()
        delivered = [[request_start, position]] if position > request_start else []
        new_id = rows.insert_slot(
            share_id,
            client_ip=client_ip,
            validator=validator,
            covered=delivered,
            complete=False,
            worker=runtime.worker_id(),
        )
        account = coverage.SlotAccount(
            locked.size, allowance_for_size(locked.size), coverage.normalize(delivered), 0
        )
        ledger.attach(new_id, account)
        rows.move_download(download_id, new_id)
        return new_id


def take(slot_id: int, start: int, count: int) -> bool:
    """Account for bytes about to be sent; False when the slot's re-send budget is spent."""
    return ledger.take(slot_id, start, count)


def release(slot_id: int, *, size: int, intervals: list, sent: int) -> None:
    """A request under the slot ended: store the bytes it actually sent.

    The last of this process's requests under the slot frees it for other
    workers; the slot's row lock orders that against grant().
    """
    detached = False
    try:
        with transaction.atomic(savepoint=False):
            slot = rows.lock_slot(slot_id)
            ledger.detach(slot_id)
            detached = True
            if slot is None:
                return
            covered = coverage.normalize([*slot.covered, *intervals])
            worker = slot.worker
            if worker == runtime.worker_id() and ledger.view(slot_id) is None:
                worker = ""
            rows.store_slot(
                slot_id,
                covered=[list(pair) for pair in covered],
                sent=slot.sent + sent,
                complete=coverage.covers_all(covered, size),
                worker=worker,
            )
    finally:
        if not detached:
            ledger.detach(slot_id)


def unfinished_exist(share: Share) -> bool:
    return share.slots.filter(complete=False).exists()
