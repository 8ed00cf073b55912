"""What the operator does to shares: create, stop, extend, add downloads, unban, purge.

The CLI and the admin call exactly these.
"""

import os
import signal
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from shares import tokens
from shares.config.durations import MAX_DOWNLOADS, MAX_MINUTES
from shares.download import row_seal
from shares.download.lookup import seal_key
from shares.files import datadir, payloads
from shares.gates import defences
from shares.models import Download, Share
from shares.operator import processes


@dataclass
class NewShare:
    share: Share
    token: str


def create_share(
    *,
    path: str,
    name: str,
    identity: payloads.Identity,
    minutes: float,
    max_downloads: int,
    sha256: str = "",
    port: int | None = None,
    scheme: str = "http",
    cert_fingerprint: str = "",
    options: dict | None = None,
    kind: str = Share.Kind.FILE,
    archive_format: str = "",
    manifest: list | None = None,
    shared_server: bool = False,
) -> NewShare:
    """shared_server: served by `pasla serve`, not by the process creating it."""
    token = tokens.mint()
    now = timezone.now()
    for _ in range(20):
        share = Share(
            id=Share.new_id(),
            token_digest=tokens.digest(token),
            name=name,
            path=path,
            kind=kind,
            archive_format=archive_format,
            size=identity.size,
            device=identity.device,
            inode=identity.inode,
            mtime_ns=identity.mtime_ns,
            sha256=sha256,
            manifest=manifest or [],
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            max_downloads=max_downloads,
            pid=None if shared_server else os.getpid(),
            hostname="" if shared_server else socket.gethostname(),
            process_stamp="" if shared_server else processes.own_stamp(),
            port=port,
            scheme=scheme,
            cert_fingerprint=cert_fingerprint,
            options=options or {},
        )
        share.seal = row_seal.seal(seal_key(), share)
        try:
            with transaction.atomic():
                share.save(force_insert=True)
        except IntegrityError:
            continue  # an id collision among live shares: draw another
        return NewShare(share, token)
    raise RuntimeError("could not allocate a share id")


class OperatorError(ValueError):
    """An operator action that cannot be done as asked (shown as one line)."""


def server_liveness(share: Share) -> processes.Liveness:
    return processes.liveness(share.pid, share.hostname, share.process_stamp)


def revoke(share: Share) -> bool:
    return share.end(Share.State.REVOKED)


def stop_share(share: Share) -> bool:
    """Revoke, then nudge its server so it need not wait for the watchdog.

    The database change alone is enough (the watchdog polls it); the
    signal only matters for speed. Never signals this process itself (the
    admin runs inside a share's server) nor a pid that now belongs to
    another process.
    """
    changed = revoke(share)
    if share.pid and share.pid != os.getpid() and server_liveness(share) == processes.Liveness.ALIVE:
        try:
            os.kill(share.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    return changed


def active_transfers(share_ids) -> dict[str, int]:
    rows = (
        Download.objects.filter(share_id__in=list(share_ids), outcome=Download.Outcome.IN_PROGRESS)
        .values("share_id")
        .annotate(n=Count("id"))
    )
    return {row["share_id"]: row["n"] for row in rows}


def extension_limit(share: Share):
    """The latest expiry a share may be given: a year after creation, and
    never past the certificate it is served with (clients would refuse it)."""
    limit = share.created_at + timedelta(minutes=MAX_MINUTES)
    cert_end = (share.options or {}).get("cert_not_after")
    if cert_end:
        limit = min(limit, datetime.fromisoformat(cert_end))
    return limit


def _refuse_to_reseal_a_broken_row(current: Share) -> None:
    """An operator action re-seals the row: never over facts someone else wrote."""
    if not row_seal.intact(seal_key(), current):
        raise OperatorError(f"share {current.id}: its database row does not match its seal; not changed")


def extend(share: Share, minutes: float) -> Share:
    """Give a live share more time; OperatorError if it is over or would outlive its limits."""
    if not (0 < minutes <= MAX_MINUTES):
        raise OperatorError(f"minutes must be between 1 and {MAX_MINUTES}")
    with transaction.atomic():
        current = Share.objects.select_for_update().get(pk=share.pk)
        if not current.is_live:
            raise OperatorError(f"share {current.id} is {current.effective_state}, not live")
        _refuse_to_reseal_a_broken_row(current)
        new_expiry = current.expires_at + timedelta(minutes=minutes)
        limit = extension_limit(current)
        if new_expiry > limit:
            raise OperatorError(f"share {current.id} cannot live past {limit:%Y-%m-%d %H:%M} UTC")
        current.expires_at = new_expiry
        current.seal = row_seal.seal(seal_key(), current)
        Share.objects.filter(pk=current.pk).update(expires_at=new_expiry, seal=current.seal)
    share.expires_at, share.seal = new_expiry, current.seal
    return share


def add_downloads(share: Share, count: int) -> Share:
    """Raise a capped share's cap by `count` (an unlimited share stays unlimited)."""
    if not (0 < count <= MAX_DOWNLOADS):
        raise OperatorError(f"the number of downloads to add must be between 1 and {MAX_DOWNLOADS}")
    with transaction.atomic():
        current = Share.objects.select_for_update().get(pk=share.pk)
        if not current.is_live:
            raise OperatorError(f"share {current.id} is {current.effective_state}, not live")
        _refuse_to_reseal_a_broken_row(current)
        if not current.is_capped:
            raise OperatorError(f"share {current.id} has no cap to raise")
        if current.max_downloads + count > MAX_DOWNLOADS:
            raise OperatorError(f"the cap cannot exceed {MAX_DOWNLOADS}")
        current.max_downloads += count
        current.seal = row_seal.seal(seal_key(), current)
        Share.objects.filter(pk=current.pk).update(max_downloads=current.max_downloads, seal=current.seal)
    share.refresh_from_db()
    return share


def unban(ban) -> None:
    """Lift a ban; this process forgets it at once, other servers within a minute."""
    scope, ip = ban.share_id, ban.ip
    ban.delete()
    defences.forget_ban(scope, ip)


def purge(older_than_days: float) -> int:
    """Delete ended shares (history, slots and bans with them) that ended
    more than `older_than_days` ago; returns how many shares went."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    ended = Share.objects.exclude(state=Share.State.LIVE).filter(
        Q(ended_at__lte=cutoff) | Q(ended_at=None, expires_at__lte=cutoff)
    )
    ids = list(ended.values_list("id", flat=True))
    ended.delete()
    for share_id in ids:
        datadir.remove_share_log(settings.DATA_DIR, share_id)
    return len(ids)
