"""The bytes budget of one client address over a sliding hour (PASLA_CLIENT_BYTES_PER_HOUR).

The counters are one cache key per client and minute (shares/bandwidth/hour.py
has the arithmetic), changed only with atomic add + incr/decr, so a shared
cache (Redis under `pasla serve`) makes the budget hold across every
worker and every share. A transfer does not charge each write: it takes a
grant of up to GRANT bytes ahead (charged at once), spends it locally, and
gives back what it did not send when it ends.

Which client: the identity the request gates judge (the proxy's header
only with --trust-proxy), IPv6 counted by its network of PASLA_IPV6_PREFIX
bits as the connection caps count it, so one host cannot rotate through
the addresses of its own /64 for a fresh budget.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

from django.conf import settings

from shares.bandwidth import hour
from shares.handling import counters
from shares.network import clients

log = logging.getLogger("pasla")

PREFIX = "pasla:bytes:"  # beside the gates' "pasla:" counters
# One grant's size: a sendfile segment, four reads of the read loop. The
# budget is exceeded by nothing, but a cut transfer may leave up to this
# much charged until it ends and gives it back.
GRANT = 4 << 20
# A minute's key outlives the window by a little, so none is missed.
KEY_SECONDS = hour.WINDOW_SECONDS + 2 * hour.BUCKET_SECONDS


def budget() -> int:
    return settings.PASLA_LIMITS.client_bytes_per_hour


def client_key(ip: str) -> str:
    return clients.connection_key(ip, settings.PASLA_LIMITS.ipv6_prefix) or ip


def _key(client: str, minute: int) -> str:
    return f"{PREFIX}{client}:{minute}"


def _counts(client: str, now: float) -> dict[int, int]:
    keys = {_key(client, minute): minute for minute in hour.live_minutes(now)}
    found = counters.counters().get_many(list(keys))
    return {keys[key]: int(value) for key, value in found.items()}


def _add(key: str, amount: int) -> None:
    store = counters.counters()
    store.add(key, 0, timeout=KEY_SECONDS)
    try:
        store.incr(key, amount) if amount >= 0 else store.decr(key, -amount)
    except ValueError:
        store.set(key, amount, timeout=KEY_SECONDS)  # evicted between add and incr


def retry_after(ip: str, now: float | None = None) -> int:
    """0 when this client may start a download now, else seconds until it may."""
    limit = budget()
    if limit <= 0:
        return 0
    now = time.time() if now is None else now
    return hour.retry_after(_counts(client_key(ip), now), now, limit)


@dataclass
class Grant:
    minute: int  # where it was charged, so what is given back goes there too
    size: int


def take(client: str, want: int, now: float | None = None) -> Grant:
    """Charge up to `want` bytes now; the grant may be smaller, or 0."""
    now = time.time() if now is None else now
    minute = hour.minute_of(now)
    key = _key(client, minute)
    _add(key, want)
    total = hour.used(_counts(client, now), now)
    kept = hour.grant(total, budget(), want)
    if kept < want:
        _add(key, kept - want)
    return Grant(minute, kept)


def give_back(client: str, grant: Grant) -> None:
    if grant.size > 0:
        _add(_key(client, grant.minute), -grant.size)


class OverBudget(Exception):
    """The client's budget for the hour is spent: the response must end here."""


class Allowance:
    """One transfer's side of its client's budget: what it may still send on its grant."""

    def __init__(self, ip: str):
        self.client = client_key(ip)
        self.grant = Grant(0, 0)
        self.local = 0  # bytes of the grant not spent yet

    def top_up(self, remaining: int) -> None:
        """Blocking (cache): give back what is left, take a fresh grant of
        up to GRANT (never more than the `remaining` bytes of the transfer)."""
        self.settle()
        self.grant = take(self.client, max(1, min(remaining, GRANT)))
        self.local = self.grant.size

    def spend(self, size: int) -> int:
        """How much of `size` may go now, taken from the grant (0: spent)."""
        size = min(size, self.local)
        self.local -= size
        return size

    def settle(self) -> None:
        """Blocking (cache): give back the unspent part of the grant."""
        if self.local > 0:
            give_back(self.client, Grant(self.grant.minute, self.local))
        self.local = 0


def cache_is_local() -> bool:
    return counters.cache_is_local()


async def off_loop(fn, *args):
    """A cache call: inline on local memory (microseconds), on a thread for Redis."""
    if counters.cache_is_local():
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def refused_for(ip: str) -> int:
    """The download gate: 0 lets the request on, else its Retry-After in seconds."""
    if budget() <= 0:
        return 0
    return await off_loop(retry_after, ip)


def allowance_for(ip: str) -> "Allowance | None":
    return Allowance(ip) if budget() > 0 else None
