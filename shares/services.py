"""Operations on shares, shared by the CLI, the views and the admin."""

import fcntl
import functools
import logging
import os
import signal
import socket
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from shares import tokens
from shares.config import runtime
from shares.download import payloads, ranges, row_seal, slots
from shares.download import rows as download_rows
from shares.models import Download, Share
from shares.operator import processes

log = logging.getLogger("pasla")
# Asked once: every history row names the host that served it.
HOSTNAME = socket.gethostname()


def ensure_database() -> None:
    """Create or upgrade the schema on first use, so no separate step is needed.

    A lock keeps two `pasla` processes started at once from both migrating
    a fresh database: a file lock in the data directory for SQLite, an
    advisory lock in PostgreSQL itself (the processes may sit on other hosts).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
            try:
                _migrate_if_needed()
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
        return
    lock_path = settings.DATA_DIR / "migrate.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _migrate_if_needed()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# Any fixed 64-bit number: pasla's one advisory lock.
MIGRATE_LOCK_KEY = 0x7061736C61


def _migrate_if_needed() -> None:
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    if executor.migration_plan(targets):
        call_command("migrate", verbosity=0, interactive=False)


@functools.lru_cache(maxsize=2)
def _seal_key(secret_key: str) -> bytes:
    return row_seal.derive_key(secret_key)


def seal_key() -> bytes:
    return _seal_key(settings.SECRET_KEY)


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


def pinned_identity(share: Share) -> payloads.Identity:
    return payloads.Identity(share.device, share.inode, share.size, share.mtime_ns)


def share_for_token(token: str, scope: set[str] | None) -> Share | None:
    """The share this token opens here, whatever the rest of the URL says."""
    if not tokens.looks_like_token(token):
        return None
    share = download_rows.share_by_digest(tokens.digest(token))
    if share is None or not tokens.matches(token, share.token_digest):
        return None
    if scope is not None and share.id not in scope:
        return None
    return share


def find_share(token: str, name: str, scope: set[str] | None) -> Share | None:
    """The share a URL names, or None: unknown token, wrong name, out of scope."""
    share = share_for_token(token, scope)
    if share is None or name != share.name:
        return None
    return share


@dataclass
class Outcome:
    """What the download view should answer."""

    status: int
    share: Share | None = None
    selection: ranges.Selection | None = None
    source: object | None = None
    download_id: int | None = None
    slot_id: int | None = None
    reason: str = ""
    # The whole body, when it is small enough to read in this same hop.
    body: bytes | None = None


# Bodies up to this size are read with the database work, on the same
# executor hop, and leave with the headers in one write. Zero copy (or a
# read hop of its own) costs an event-loop round trip before the first
# byte, which is more than copying a few pages.
INLINE_BODY_LIMIT = 64 << 10


def validator_of(share: Share) -> str:
    """The strong ETag of what the share serves (a file, or an archive of a tree)."""
    if share.kind == Share.Kind.DIRECTORY:
        from shares.archives import pinning

        return pinning.archive_etag(share.id, share.archive_format, share.manifest)
    return pinned_identity(share).etag(share.id)


def open_source(share: Share, start: int, end: int):
    """A reader for the share's bytes; raises PayloadChanged if anything drifted."""
    if share.kind == Share.Kind.DIRECTORY:
        from shares.archives.source import open_archive

        return open_archive(share, start, end)
    fd = payloads.open_verified(share.path, pinned_identity(share))
    return payloads.FileSource(fd, pinned_identity(share))


def _file_gone(share: Share, exc: Exception) -> None:
    """A deleted file does not come back: end the share rather than answer 500 forever."""
    if share.end(Share.State.GONE):
        log.error("share %s ended: %s", share.id, exc)


def payload_intact(share: Share) -> bool:
    """Whether the share could be served right now (the landing page asks first)."""
    try:
        open_source(share, 0, share.size - 1).close()
    except payloads.PayloadGone as exc:
        _file_gone(share, exc)
        return False
    except (payloads.PayloadChanged, OSError) as exc:
        log.error("share %s: refusing to serve, %s", share.id, exc)
        return False
    return True


def seal_holds(share: Share) -> bool:
    """Whether a share may go on to be served: its row is the one pasla sealed.

    Checked before any file is opened. A row that ended is refused anyway
    without opening anything, so only a share that would be served is judged;
    one that fails is ended as broken, and stays refused with a 500.
    """
    if share.state == Share.State.BROKEN:
        return False
    if not share.is_live or row_seal.intact(seal_key(), share):
        return True
    log.error(
        "share %s: refusing to serve, its database row does not match its seal "
        "(edited outside pasla, or SECRET_KEY changed); marked broken",
        share.id,
    )
    share.end(Share.State.BROKEN)
    return False


def open_download(token: str, name: str, scope, *, wants_page, **request) -> Outcome:
    """The whole database side of a download request, in one thread hop.

    404 for a URL that opens nothing; status 0 (with the share) when
    `wants_page(share)` says the client gets the landing page instead;
    otherwise what prepare_download() decides. One hop instead of two is
    a good part of the time to first byte of a small file.
    """
    try:
        share = find_share(token, name, scope)
        if share is None:
            return Outcome(404)
        if not seal_holds(share):
            return Outcome(500, share, reason=Share.State.BROKEN)
        if wants_page(share):
            return Outcome(0, share)
        return prepare_download(share, **request)
    except DatabaseError:
        # This thread keeps its connection between requests: a broken one
        # must go, or the database coming back would not end the 503s.
        connection.close_if_unusable_or_obsolete()
        raise


def prepare_download(
    share: Share,
    *,
    method: str,
    range_header,
    if_range,
    client_ip: str,
    user_agent: str,
    client_cert: str | None = None,
) -> Outcome:
    """Everything that needs the database before the first byte, in one thread hop."""
    if not share.is_live:
        return Outcome(410, share, reason=share.effective_state)
    etag = validator_of(share)
    last_modified = http_date_of(share.mtime_ns)
    selection = ranges.FULL
    if method == "GET":
        selection = ranges.select(range_header, if_range, share.size, etag, last_modified)
    if isinstance(selection, ranges.Partial):
        start, end, status = selection.start, selection.end, 206
    else:
        start, end, status = 0, share.size - 1, 200
    try:
        source = open_source(share, start, end)
    except payloads.PayloadGone as exc:
        _file_gone(share, exc)
        return Outcome(410, share, reason=Share.State.GONE)
    except (payloads.PayloadChanged, OSError) as exc:
        log.error("share %s: refusing to serve, %s", share.id, exc)
        return Outcome(500, share, reason="changed")
    if isinstance(selection, ranges.Unsatisfiable) or method == "HEAD":
        source.close()
        return Outcome(416 if method == "GET" else 200, share, selection)
    body = None
    if end - start + 1 <= INLINE_BODY_LIMIT:
        try:
            body = source.read(start, end - start + 1) if end >= start else b""
        except (payloads.PayloadDrift, OSError) as exc:
            source.close()
            log.error("share %s: refusing to serve, %s", share.id, exc)
            return Outcome(500, share, reason="changed")
    # The slot and its history row are written in one commit.
    with transaction.atomic():
        slot_id = slots.grant(share, client_ip=client_ip, validator=etag, start=start, end=end + 1)
        download_id = None
        if slot_id is not None:
            download_id = download_rows.insert_download(
                share.pk,
                slot_id=slot_id,
                client_ip=client_ip,
                user_agent=user_agent[:200],
                status=status,
                range_start=start,
                range_end=end,
                pid=os.getpid(),
                hostname=HOSTNAME,
                client_cert=client_cert,
            )
    if slot_id is None:
        source.close()
        share.refresh_from_db()
        return Outcome(410, share, reason=share.effective_state if not share.is_live else "exhausted")
    return Outcome(
        status, share, selection, source=source, download_id=download_id, slot_id=slot_id, body=body
    )


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
            size = download_rows.share_size(share_id)
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
            download_rows.close_download(download_id, sent=sent, outcome=outcome)
            download_rows.add_bytes(share_id, sent)
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


def abandon(outcome: Outcome) -> None:
    """A prepared download whose client left before the response: give it all back."""
    if outcome.source is not None:
        outcome.source.close()
    start = outcome.selection.start if isinstance(outcome.selection, ranges.Partial) else 0
    aborted = Download.Outcome.ABORTED
    finish_download(outcome.download_id, outcome.share.id, 0, aborted, outcome.slot_id, start)


@functools.lru_cache(maxsize=256)
def http_date_of(mtime_ns: int) -> str:
    """Last-Modified of a file: asked twice per download, the same few values."""
    from django.utils.http import http_date

    return http_date(mtime_ns // 1_000_000_000)


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


def revoke(share: Share) -> bool:
    return share.end(Share.State.REVOKED)


def reclaim(share_id: str) -> bool:
    """This process serves the share, yet finds it recorded dead: take it back.

    Another host reaps a lease by the clock alone, so a server that could not
    renew for a while (a suspended machine, a long database outage) may come
    back to find its share buried while it is running; it is not dead, and
    its recipient's link must keep working. Only while the time lasts.
    """
    from shares.operator import leases

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


# --- the operator's side: the CLI and the admin call exactly these -----------


class OperatorError(ValueError):
    """An operator action that cannot be done as asked (shown as one line)."""


def server_liveness(share: Share) -> processes.Liveness:
    return processes.liveness(share.pid, share.hostname, share.process_stamp)


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
    shares, delete orphaned key material."""
    from shares.operator import leases

    buried = bury_dead_servers() + leases.reap()
    Share.objects.expire_due()
    reap_tls_material()
    return buried


def active_transfers(share_ids) -> dict[str, int]:
    from django.db.models import Count

    rows = (
        Download.objects.filter(share_id__in=list(share_ids), outcome=Download.Outcome.IN_PROGRESS)
        .values("share_id")
        .annotate(n=Count("id"))
    )
    return {row["share_id"]: row["n"] for row in rows}


def extension_limit(share: Share):
    """The latest expiry a share may be given: a year after creation, and
    never past the certificate it is served with (clients would refuse it)."""
    from datetime import datetime

    from shares.config.durations import MAX_MINUTES

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
    from shares.config.durations import MAX_MINUTES

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
    from shares.config.durations import MAX_DOWNLOADS

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
    from shares.gates import defences

    scope, ip = ban.share_id, ban.ip
    ban.delete()
    defences.forget_ban(scope, ip)


def purge(older_than_days: float) -> int:
    """Delete ended shares (history, slots and bans with them) that ended
    more than `older_than_days` ago; returns how many shares went."""
    from django.db.models import Q

    from shares.config import datadir

    cutoff = timezone.now() - timedelta(days=older_than_days)
    ended = Share.objects.exclude(state=Share.State.LIVE).filter(
        Q(ended_at__lte=cutoff) | Q(ended_at=None, expires_at__lte=cutoff)
    )
    ids = list(ended.values_list("id", flat=True))
    ended.delete()
    for share_id in ids:
        datadir.remove_share_log(settings.DATA_DIR, share_id)
    return len(ids)


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
    from shares.network import tls_store

    return tls_store.reap(settings.DATA_DIR, tls_material_is_orphaned)


# --- `pasla serve`: many shares, many workers ---------------------------------


def settle_all() -> list[str]:
    """A serve worker's watchdog: end every live share whose time or cap is over.

    Requests read the share's row anyway, so an ended share is refused by
    every worker at once; this keeps the stored state true for `list`, the
    admin and the history. Returns the ids that ended now.
    """
    Share.objects.expire_due()
    ended = []
    capped = Share.objects.filter(state=Share.State.LIVE, max_downloads__gt=0).filter(
        slots_used__gte=F("max_downloads")
    )
    for share_id in capped.values_list("pk", flat=True):
        if settle(share_id) == Share.State.EXHAUSTED:
            ended.append(share_id)
    return ended


def close_worker_history(pid: int, hostname: str) -> int:
    """A worker died (SIGKILL, crash): close what it left open.

    Its in-progress history rows become "interrupted" (their bytes_sent is
    the last progress flushed, at most a second old; the slot keeps only
    what earlier requests recorded, so its owner can resume), and its slots
    are free for other workers.
    Returns the number of history rows closed.
    """
    from shares.models import Slot

    closed = Download.objects.filter(pid=pid, hostname=hostname, outcome=Download.Outcome.IN_PROGRESS).update(
        outcome=Download.Outcome.INTERRUPTED, finished_at=timezone.now()
    )
    Slot.objects.filter(worker=runtime.worker_id(pid, hostname)).update(worker="")
    return closed
