"""Refused admin passwords per client address, counted in the database.

The sliding window is the request rate limit's (shares/gates/ratelimit.py), but
the counts are rows, so every process serving the admin (each one-share
server, each `serve` worker, with or without Redis) reads one count. An
attempt is counted before its password is checked, so concurrent guesses
cannot all slip under the limit, and refunded unless the password was
checked and refused: a refused attempt while locked out, a failed CSRF
check or a successful login costs nothing.

Synchronous: the middleware calls it off the event loop.
"""

import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from shares.gates import ratelimit
from shares.models import AdminLoginCount


@dataclass(frozen=True)
class Attempt:
    ip: str
    window: int
    verdict: ratelimit.Verdict


def _count_one(ip: str, index: int) -> bool:
    """Add one to this window's row; True if the row is new."""
    rows = AdminLoginCount.objects.filter(ip=ip, window=index)
    if rows.update(count=F("count") + 1):
        return False
    try:
        with transaction.atomic():
            AdminLoginCount.objects.create(ip=ip, window=index, count=1)
    except IntegrityError:
        rows.update(count=F("count") + 1)  # another process created it a moment ago
        return False
    return True


def charge(ip: str, *, limit: int, window: float, max_rows: int, now: float | None = None) -> Attempt:
    now = time.time() if now is None else now
    index, elapsed = ratelimit.window_index(now, window)
    with transaction.atomic():
        new_row = _count_one(ip, index)
        recent = AdminLoginCount.objects.filter(ip=ip, window__in=(index - 1, index))
        counts = dict(recent.values_list("window", "count"))
    if new_row:
        forget(before=index - 1, max_rows=max_rows)
    verdict = ratelimit.assess(counts.get(index - 1, 0), counts.get(index, 0), elapsed, limit, window)
    return Attempt(ip, index, verdict)


def refund(attempt: Attempt) -> None:
    AdminLoginCount.objects.filter(ip=attempt.ip, window=attempt.window, count__gt=0).update(
        count=F("count") - 1
    )


def forget(*, before: int, max_rows: int) -> None:
    """Windows that no longer weigh go; past max_rows, the oldest go too."""
    AdminLoginCount.objects.filter(window__lt=before).delete()
    excess = AdminLoginCount.objects.count() - max_rows
    if excess > 0:
        oldest = AdminLoginCount.objects.order_by("window", "pk").values_list("pk", flat=True)[:excess]
        AdminLoginCount.objects.filter(pk__in=list(oldest)).delete()
