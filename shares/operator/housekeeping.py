"""Keeping the stored state true: ended shares, dead servers, orphaned key material."""

import os

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from shares.download import slots
from shares.download.rows import HOSTNAME
from shares.e2e import keys as e2e_keys
from shares.models import Download, Share
from shares.network import tls_store
from shares.operator import leases, processes
from shares.operator.actions import server_liveness


def share_has_transfers(share: Share) -> bool:
    return share.downloads.filter(outcome=Download.Outcome.IN_PROGRESS).exists()


def settle(share_id: str) -> str | None:
    """The watchdog's question: has this share ended? Returns its end state.

    Time runs out by the clock; a capped share is exhausted once every slot
    is taken, every slot has delivered the whole payload, and no download is
    still running. A slot cut short keeps the share alive (until its time is
    over) so its owner can resume.
    """
    Share.objects.expire_due()
    share = Share.objects.filter(pk=share_id).first()
    if share is None:
        return Share.State.REVOKED
    if share.state != Share.State.LIVE:
        return share.state
    if (
        share.is_capped
        and share.slots_used >= share.max_downloads
        and not share_has_transfers(share)
        and not slots.unfinished_exist(share)
    ):
        share.end(Share.State.EXHAUSTED)
        return Share.State.EXHAUSTED
    return None


def settle_all() -> list[str]:
    """A serve worker's watchdog: end every live share whose time or cap is over.

    Requests read the share's row anyway, so an ended share is refused by
    every worker at once; this keeps the stored state true for `list`, the
    admin and the history. Returns the ids that ended now.
    """
    Share.objects.expire_due()
    ended = []
    capped = Share.objects.capped().filter(state=Share.State.LIVE).filter(slots_used__gte=F("max_downloads"))
    for share_id in capped.values_list("pk", flat=True):
        if settle(share_id) == Share.State.EXHAUSTED:
            ended.append(share_id)
    return ended


def reclaim(share_id: str) -> bool:
    """This process serves the share, yet finds it recorded dead: take it back.

    Another host reaps a lease by the clock alone, so a server that could not
    renew for a while (a suspended machine, a long database outage) may come
    back to find its share buried while it is running; it is not dead, and
    its recipient's link must keep working. Only while the time lasts.
    """
    taken = Share.objects.filter(
        pk=share_id,
        state=Share.State.DEAD,
        pid=os.getpid(),
        hostname=HOSTNAME,
        expires_at__gt=timezone.now(),
    ).update(state=Share.State.LIVE, ended_at=None)
    if taken:
        leases.renew()
    return bool(taken)


def _close_orphaned_downloads(share_id: str) -> None:
    Download.objects.filter(share_id=share_id, outcome=Download.Outcome.IN_PROGRESS).update(
        outcome=Download.Outcome.INTERRUPTED, finished_at=timezone.now()
    )


def bury_dead_servers() -> list[Share]:
    """Live shares whose server process on this machine is gone: mark them dead.

    A hard kill (SIGKILL, OOM, power loss) runs no cleanup, so the next
    `list`, `stop`, start or admin page does it: the row ends as "dead",
    its unfinished downloads as interrupted, and its key material goes.
    Returns the shares it buried (with their state as it was found).
    """
    buried = []
    for share in Share.objects.filter(state=Share.State.LIVE).exclude(pid=None):
        if server_liveness(share) != processes.Liveness.DEAD:
            continue
        if share.end(Share.State.DEAD):
            _close_orphaned_downloads(share.id)
            buried.append(share)
    return buried


def housekeeping() -> list[Share]:
    """Bury dead servers (here by pid, elsewhere by lease), mark expired
    shares, delete orphaned key material (TLS, and encrypted shares' key records)."""
    buried = bury_dead_servers() + leases.reap()
    Share.objects.expire_due()
    reap_tls_material()
    e2e_keys.reap(settings.DATA_DIR, tls_material_is_orphaned)
    return buried


def tls_material_is_orphaned(share_id: str) -> bool:
    """Whether a share's ephemeral TLS directory has outlived its server.

    True once the share is over, gone from the database, or its serving
    process on this machine is dead (a hard kill skips every cleanup).
    """
    share = Share.objects.filter(pk=share_id).first()
    if share is None or not share.is_live:
        return True
    return server_liveness(share) == processes.Liveness.DEAD


def reap_tls_material() -> list[str]:
    return tls_store.reap(settings.DATA_DIR, tls_material_is_orphaned)
