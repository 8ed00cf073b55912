"""Worker leases: a host that dies mid-download does not hold its rows forever.

History rows and slots name the process sending under them ("host:pid").
On its own host a dead process is found by pid: its supervisor closes what
it left, and `bury_dead_servers` ends a one-share server's share. When the
whole host goes (power, kernel, network for good), nobody there is left to
look, and another host cannot look at a pid. So every serving process holds
a lease row and renews it every renew_every() seconds; in the same step it
reaps the leases nobody renewed for stale_after(). Reaping a lease does what
the supervisor would have done: in-progress history rows become
"interrupted", the slots are free to be continued by any worker (so the
recipient resumes instead of spending another download), and a one-share
server that ran there is recorded as dead.

stale_after() is six renewals, so a process cut off from its database for a
while is not buried for a hiccup. If it was, it renews again when it can,
and its transfers still settle their own rows when they end.

The clock only judges leases of other hosts. A lease of this host is reaped
only when its process is gone (pid and process stamp, as `pasla list`
judges a share's server): a suspended laptop wakes with every lease on it
long stale, and its servers must not bury each other. A one-share server
that still finds its share recorded dead (reaped from another host) takes
it back (housekeeping.reclaim).
"""

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shares.config import runtime
from shares.download import rows
from shares.models import Share, WorkerLease
from shares.operator import processes

log = logging.getLogger("pasla")

STALE_RENEWALS = 6


def renew_every() -> float:
    """Seconds between renewals (PASLA_LEASE_RENEW_INTERVAL, 20 by default)."""
    return settings.PASLA_LIMITS.lease_renew_interval


def stale_after() -> timedelta:
    return timedelta(seconds=STALE_RENEWALS * renew_every())


def reapable(lease, here: str | None = None) -> bool:
    """A stale lease may be reaped: another host's by the clock alone, this
    host's only when its process is really gone."""
    here = here or socket.gethostname()
    if lease.hostname != here:
        return True
    return processes.liveness(lease.pid, lease.hostname, lease.stamp) == processes.Liveness.DEAD


def take() -> int:
    """Before serving: hold this process's lease; returns the rows closed.

    A process that has not served yet has no transfers, so history rows or
    slots under its name were left by an earlier process that had the same
    pid on this host (a reboot hands pids out again). They are closed as
    that process's supervisor would have closed them.
    """
    closed = rows.close_worker_history(os.getpid(), socket.gethostname())
    with _held.lock:
        _held.released = False
    renew()
    return closed


class _Held:
    """Whether this process has given its lease back; renewals run on executor threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.released = False


_held = _Held()


def renew(now: datetime | None = None) -> None:
    # A renewal still running when the server exits must not bring the
    # lease back after release(): both take the lock.
    with _held.lock:
        if _held.released:
            return
        _renew(now)


def _renew(now: datetime | None) -> None:
    WorkerLease.objects.update_or_create(
        worker=runtime.worker_id(),
        defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "stamp": processes.own_stamp(),
            "renewed_at": now or timezone.now(),
        },
    )


def release() -> None:
    """At a clean exit: this process's transfers are settled; nothing to reap."""
    with _held.lock:
        _held.released = True
        WorkerLease.objects.filter(worker=runtime.worker_id()).delete()


def forget(pid: int, hostname: str) -> None:
    """A supervisor closed a dead worker's rows itself: its lease goes too."""

    WorkerLease.objects.filter(worker=runtime.worker_id(pid, hostname)).delete()


def renew_and_reap() -> None:
    """This process's periodic step."""
    now = timezone.now()
    renew(now)
    reap(now)


def reap(now: datetime | None = None) -> list:
    """Close what stale leases left: history rows, slots, one-share servers.

    Returns the shares it recorded as dead (as `bury_dead_servers` does).
    """

    now = now or timezone.now()
    cutoff = now - stale_after()
    buried = []
    for lease in WorkerLease.objects.filter(renewed_at__lt=cutoff).exclude(worker=runtime.worker_id()):
        if not reapable(lease):
            continue
        with transaction.atomic():
            # Another process may reap it at the same time, or the worker
            # may have come back: only the one whose delete takes it goes on.
            taken, _ = WorkerLease.objects.filter(pk=lease.pk, renewed_at__lt=cutoff).delete()
            if not taken:
                continue
            closed = rows.close_worker_history(lease.pid, lease.hostname)
            served = Share.objects.filter(state=Share.State.LIVE, pid=lease.pid, hostname=lease.hostname)
            ended = [share for share in served if share.end(Share.State.DEAD)]
        log.warning(
            "worker %s stopped renewing its lease: closed %d download(s), %d share(s) recorded as dead",
            lease.worker,
            closed,
            len(ended),
        )
        buried += ended
    return buried
