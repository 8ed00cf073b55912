"""Download slots: who may continue which delivery, and what it covered.

A slot belongs to one client identity and one validator (ETag). A request
from the same identity for the same validator continues the newest such
slot when the bytes it asks for are mostly not yet covered; anything else
claims a new slot with `Share.claim_slot()`, the one atomic truth for the
cap. The decision runs in a transaction holding the share row (SELECT ...
FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions lock at BEGIN),
so parallel requests of one client agree on a single slot.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shares import coverage, metrics, runtime
from shares.models import Download, Share, Slot
from shares.slot_ledger import ledger


def allowance(share: Share) -> int:
    return coverage.allowance_for(share.size, settings.PASLA_LIMITS.resume_overlap)


def _current_account(slot: Slot, share: Share) -> coverage.SlotAccount:
    return ledger.view(slot.pk) or slot.account(allowance(share))


def grant(share: Share, *, client_ip: str, validator: str, start: int, end: int) -> Slot | None:
    """The slot a request for bytes [start, end) is served under, or None (410).

    The returned slot is attached to this process's ledger; the caller must
    `release()` it when the transfer ends.
    """
    with transaction.atomic():
        locked = Share.objects.select_for_update().filter(pk=share.pk).first()
        if locked is None or not locked.is_live:
            return None
        # One query finds and locks the newest slot of this client.
        slot = (
            Slot.objects.select_for_update()
            .filter(share=locked, client_ip=client_ip, validator=validator)
            .order_by("-created_at", "-pk")
            .first()
        )
        if slot is not None:
            slot.share = locked
            account = _current_account(slot, locked)
            # Sending under another worker right now: its live account is in
            # that process, so continuing here could send the same bytes
            # twice. This request is a delivery of its own.
            elsewhere = slot.worker not in ("", runtime.worker_id())
            if not elsewhere and account.may_continue(start, end):
                ledger.attach(slot.pk, account)
                if not slot.worker:
                    Slot.objects.filter(pk=slot.pk).update(worker=runtime.worker_id())
                return slot
        if not locked.claim_slot():
            return None
        metrics.slot_claimed()
        share.slots_used = locked.slots_used
        slot = Slot.objects.create(
            share=locked,
            client_ip=client_ip,
            validator=validator,
            complete=locked.size == 0,
            worker=runtime.worker_id(),
        )
        ledger.attach(slot.pk, slot.account(allowance(locked)))
        return slot


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
    size = Share.objects.filter(pk=share_id).values_list("size", flat=True).first() or 0
    release(slot_id, size=size, intervals=[(part_start, part_start + part_sent)], sent=part_sent)
    position = part_start + part_sent
    with transaction.atomic():
        locked = Share.objects.select_for_update().filter(pk=share_id).first()
        if locked is None or not locked.is_live or not locked.claim_slot():
            return None
        metrics.slot_claimed()
        delivered = [[request_start, position]] if position > request_start else []
        slot = Slot.objects.create(
            share=locked,
            client_ip=client_ip,
            validator=validator,
            covered=delivered,
            worker=runtime.worker_id(),
        )
        ledger.attach(slot.pk, slot.account(allowance(locked)))
        Download.objects.filter(pk=download_id).update(slot=slot)
        return slot.pk


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
        with transaction.atomic():
            slot = Slot.objects.select_for_update().filter(pk=slot_id).first()
            ledger.detach(slot_id)
            detached = True
            if slot is None:
                return
            _store(slot, size, intervals, sent)
    finally:
        if not detached:
            ledger.detach(slot_id)


def _store(slot: Slot, size: int, intervals: list, sent: int) -> None:
    slot_id = slot.pk
    covered = coverage.normalize([*slot.covered, *intervals])
    worker = slot.worker
    if worker == runtime.worker_id() and ledger.view(slot_id) is None:
        worker = ""
    Slot.objects.filter(pk=slot_id).update(
        covered=[list(pair) for pair in covered],
        sent=slot.sent + sent,
        complete=coverage.covers_all(covered, size),
        updated_at=timezone.now(),
        worker=worker,
    )


def unfinished_exist(share: Share) -> bool:
    return share.slots.filter(complete=False).exists()
