"""The send-rate cap in a running server: token buckets per share and per server.

`--max-rate` (a share's options, sealed with its row) and PASLA_MAX_RATE
(the whole server) each get one TokenBucket in this process; a transfer of
a share draws on both through its own Pacer. Every way of sending asks the
Pacer before it sends: the sendfile and TLS senders on the reactor (they
stop writing and set a timer when the buckets are short, never sleep), the
read loop with `await acquire()`. With no cap there is no Pacer at all, and
the senders' only extra work is one `is None` check.

Under `pasla serve` each of the N workers paces at 1/N of the rates: the
cap then holds across workers whatever the kernel's spread of connections
(a worker serving nobody leaves its part unused).
"""

import asyncio
import time

from django.conf import settings

from shares.bandwidth import bucket

# Workers of `pasla serve` sharing the caps (set by the worker at start).
workers = 1
# process-wide buckets: "server" and one per share id with a cap
_buckets: dict[str, bucket.TokenBucket] = {}


def _bucket(name: str, rate: int) -> bucket.TokenBucket:
    rate = max(1, rate // max(1, workers))
    found = _buckets.get(name)
    if found is None or found.rate != rate:
        found = _buckets[name] = bucket.TokenBucket(rate, time.monotonic())
    return found


def share_rate(share) -> int:
    return int((share.options or {}).get("max_rate") or 0)


def pacer_for(share) -> "Pacer | None":
    """The Pacer of one transfer of `share`, or None when nothing caps it."""
    buckets = []
    server_rate = settings.PASLA_LIMITS.max_rate
    if server_rate > 0:
        buckets.append(_bucket("server", server_rate))
    if rate := share_rate(share):
        buckets.append(_bucket(f"share:{share.id}", rate))
    return Pacer(buckets) if buckets else None


class Pacer:
    """One transfer's draw on its buckets: a local credit, spent by the sender."""

    def __init__(self, buckets):
        self.buckets = buckets
        self.credit = 0  # bytes granted and not sent yet
        self.closed = False
        for b in buckets:
            b.senders += 1

    def allow(self, want: int) -> tuple[int, float]:
        """Bytes that may go now (up to `want`), or (0, seconds to wait)."""
        if self.credit <= 0:
            granted, wait = bucket.grant(self.buckets, time.monotonic(), want)
            if not granted:
                return 0, wait
            self.credit = granted
        return min(want, self.credit), 0.0

    def spent(self, size: int) -> None:
        self.credit -= size

    async def acquire(self, want: int) -> int:
        """The read loop's way: wait on the event loop until bytes may go; how many."""
        while True:
            size, wait = self.allow(want)
            if size:
                self.spent(size)
                return size
            await asyncio.sleep(wait)

    def close(self) -> None:
        """The transfer ended: what it was granted and did not send goes back."""
        if self.closed:
            return
        self.closed = True
        for b in self.buckets:
            b.senders -= 1
            if self.credit > 0:
                b.give_back(self.credit)
        self.credit = 0
