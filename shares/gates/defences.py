"""Strikes, bans and rate windows: the request gates' memory.

Counters that change per request live in Django's cache and use only
atomic `add` + `incr`, so a shared cache (Redis) makes them hold across
workers. A Ban row is written only when a ban is earned; the cache keeps a
short-lived answer to "is this address banned?" so a request costs no
database read in the common case.

Everything here is synchronous: the middleware calls it in one hop.
"""

import logging
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q

from shares.gates import ratelimit
from shares.handling.counters import counters
from shares.models import Ban
from shares.telemetry import metrics

log = logging.getLogger("pasla.defences")

PREFIX = "pasla:"
# How long "banned / not banned" is remembered before the database is
# asked again; an unban in the admin takes effect within this time.
BAN_MEMORY_SECONDS = 60
# Strikes outlive any sane guessing session; a share's own life is the
# usual bound.
STRIKE_MEMORY_SECONDS = 24 * 3600


def _scope_key(scope: str | None) -> str:
    return scope or "*"


def _ban_key(scope: str | None, ip: str) -> str:
    return f"{PREFIX}ban:{_scope_key(scope)}:{ip}"


def _strike_key(scope: str | None, ip: str) -> str:
    return f"{PREFIX}strike:{_scope_key(scope)}:{ip}"


def _counter(key: str, timeout: float) -> int:
    """Add one to a counter, creating it if needed; atomic on every backend."""
    counters().add(key, 0, timeout=timeout)
    try:
        return counters().incr(key)
    except ValueError:
        # Evicted between add and incr (a full cache): start again at one.
        counters().set(key, 1, timeout=timeout)
        return 1


# --- bans -----------------------------------------------------------------


def _bans_in_database(scope: str | None, ips) -> set[str]:
    rows = Ban.objects.filter(ip__in=list(ips))
    rows = (
        rows.filter(Q(share_id=scope) | Q(share__isnull=True)) if scope else rows.filter(share__isnull=True)
    )
    return set(rows.values_list("ip", flat=True))


def remembered_ban(scope: str | None, ips: tuple[str, ...]) -> bool | None:
    """The cache's answer: True/False, or None when it does not know for all."""
    known = counters().get_many([_ban_key(scope, ip) for ip in ips])
    if any(known.values()):
        return True
    return False if len(known) == len(ips) else None


def is_banned(scope: str | None, ips: tuple[str, ...]) -> bool:
    keys = {_ban_key(scope, ip): ip for ip in ips}
    known = counters().get_many(list(keys))
    if any(known.values()):
        return True
    unknown = [ip for key, ip in keys.items() if key not in known]
    if not unknown:
        return False
    banned = _bans_in_database(scope, unknown)
    counters().set_many({_ban_key(scope, ip): ip in banned for ip in unknown}, timeout=BAN_MEMORY_SECONDS)
    return bool(banned)


def ban(scope: str | None, ip: str, strikes: int, max_rows: int) -> None:
    exists = Ban.objects.filter(ip=ip, share_id=scope) if scope else Ban.objects.filter(ip=ip, share=None)
    if not exists.exists():
        try:
            with transaction.atomic():
                Ban.objects.create(share_id=scope, ip=ip, strikes=strikes)
        except IntegrityError:
            pass  # another worker banned it a moment ago
        else:
            log.warning("banned %s after %d wrong guesses", ip, strikes, extra={"pasla_safe": True})
            metrics.banned()
    counters().set(_ban_key(scope, ip), True, timeout=BAN_MEMORY_SECONDS)
    evict_oldest_bans(max_rows)


def evict_oldest_bans(max_rows: int) -> int:
    """Keep the ban table bounded: the oldest rows go first."""
    excess = Ban.objects.count() - max_rows
    if excess <= 0:
        return 0
    oldest = list(Ban.objects.order_by("created_at", "pk").values_list("pk", flat=True)[:excess])
    deleted, _ = Ban.objects.filter(pk__in=oldest).delete()
    return deleted


def forget_ban(scope: str | None, ip: str) -> None:
    """For an unban: drop the remembered answer so it applies at once."""
    counters().delete(_ban_key(scope, ip))


def strike(scope: str | None, ips: tuple[str, ...], *, threshold: int, max_banned: int) -> list[str]:
    """Count a wrong guess against every address; returns those now banned."""
    banned = []
    for ip in ips:
        count = _counter(_strike_key(scope, ip), STRIKE_MEMORY_SECONDS)
        if count >= threshold:
            ban(scope, ip, count, max_banned)
            banned.append(ip)
    return banned


# --- rate windows -----------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    """One request counted in one bucket; refunded if it turns out exempt."""

    key: str
    verdict: ratelimit.Verdict


def charge(bucket: str, ident: str, *, limit: int, window: float, now: float | None = None) -> Charge:
    now = time.time() if now is None else now
    index, elapsed = ratelimit.window_index(now, window)
    current_key = f"{PREFIX}rate:{bucket}:{ident}:{index}"
    previous_key = f"{PREFIX}rate:{bucket}:{ident}:{index - 1}"
    current = _counter(current_key, window * 2 + 1)
    previous = counters().get(previous_key, 0)
    return Charge(current_key, ratelimit.assess(previous, current, elapsed, limit, window))


def refund(charges) -> None:
    for item in charges:
        try:
            counters().decr(item.key)
        except ValueError:
            pass  # the window is gone already
