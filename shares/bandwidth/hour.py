"""A sliding hour of bytes per client, as 60 one-minute buckets (pure).

The counters live in the cache as one key per client and minute (atomic
increments hold across workers); these functions only say which minutes
count now, how much room is left, how long until there is room again, and
how large a grant may be.
"""

import math

BUCKET_SECONDS = 60
BUCKETS = 60
WINDOW_SECONDS = BUCKET_SECONDS * BUCKETS
# A Retry-After never says more than the whole window.
MAX_RETRY_AFTER = WINDOW_SECONDS


def minute_of(now: float) -> int:
    return math.floor(now / BUCKET_SECONDS)


def live_minutes(now: float) -> range:
    """The minutes whose bytes count against the budget at `now`, oldest first."""
    current = minute_of(now)
    return range(current - BUCKETS + 1, current + 1)


def used(counts: dict[int, int], now: float) -> int:
    """Bytes counted in the live minutes (a missing minute counts nothing)."""
    return sum(counts.get(minute, 0) for minute in live_minutes(now))


def room(counts: dict[int, int], now: float, budget: int) -> int:
    return max(0, budget - used(counts, now))


def retry_after(counts: dict[int, int], now: float, budget: int) -> int:
    """Whole seconds until some room opens as old minutes slide out (0: room now)."""
    total = used(counts, now)
    if total < budget:
        return 0
    for minute in live_minutes(now):
        total -= counts.get(minute, 0)
        if total < budget:
            leaves_at = (minute + BUCKETS) * BUCKET_SECONDS
            return min(MAX_RETRY_AFTER, max(1, math.ceil(leaves_at - now)))
    return MAX_RETRY_AFTER  # only refunds below zero could bring us here


def grant(counts_after_charge: int, budget: int, charged: int) -> int:
    """How much of `charged` (already counted, making `counts_after_charge`
    in the window) may be kept: the rest goes back."""
    over = counts_after_charge - budget
    return charged if over <= 0 else max(0, charged - over)
