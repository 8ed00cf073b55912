"""Sliding-window rate arithmetic (pure; the counters live in the cache).

Two fixed windows are counted, the current and the previous one; the
previous one is weighted by how much of it still overlaps the sliding
window. That needs only atomic increments, which every cache offers, and
holds at most two keys per client.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the current window closes
    retry_after: int | None  # seconds until one more request would pass


def window_index(now: float, window: float) -> tuple[int, float]:
    """Which fixed window `now` falls in, and how far into it (0..1)."""
    index = math.floor(now / window)
    return index, (now - index * window) / window


def estimate(previous: int, current: int, elapsed: float) -> float:
    return previous * (1.0 - elapsed) + current


def seconds_until_allowed(previous: int, current: int, elapsed: float, limit: int, window: float) -> float:
    """How long until a request, counted on top of `current`, would be within `limit`."""
    if estimate(previous, current, elapsed) + 1 <= limit:
        return 0.0
    room = limit - current - 1
    if room >= 0 and previous > 0:
        # The previous window's weight fades linearly inside this window.
        wait = window * (1.0 - elapsed - room / previous)
        if wait < window * (1.0 - elapsed):
            return max(wait, 0.0)
    # Not before the next window; there `current` becomes the fading part.
    to_next = window * (1.0 - elapsed)
    fade = 0.0 if current <= 0 else window * max(0.0, 1.0 - (limit - 1) / current)
    return to_next + fade


def assess(previous: int, current: int, elapsed: float, limit: int, window: float) -> Verdict:
    """Judge a request already counted in `current`."""
    load = estimate(previous, current, elapsed)
    allowed = load <= limit
    retry = None
    if not allowed:
        retry = max(1, math.ceil(seconds_until_allowed(previous, current, elapsed, limit, window)))
    return Verdict(
        allowed=allowed,
        limit=limit,
        remaining=max(0, math.floor(limit - load)),
        reset_after=max(1, math.ceil(window * (1.0 - elapsed))),
        retry_after=retry,
    )
