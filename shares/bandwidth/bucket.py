"""A token bucket for the send-rate cap (pure: the caller passes the time).

Tokens are bytes; they flow in at `rate` a second up to `capacity`. Each
transfer takes at most a fair piece at a time (the capacity divided among
the transfers drawing on the bucket), so a fast client cannot take the
whole bucket while others wait; a slow one takes less, and what it leaves
goes to the others.
"""

from dataclasses import dataclass, field

# Pieces smaller than this cost more in wake-ups and system calls than
# they gain in smoothness.
MIN_PIECE = 4 << 10
# About this many seconds of the rate may go out at once.
BURST_SECONDS = 0.1
MIN_CAPACITY = 16 << 10
MAX_CAPACITY = 8 << 20


def capacity_for(rate: int) -> int:
    return int(min(MAX_CAPACITY, max(MIN_CAPACITY, rate * BURST_SECONDS)))


@dataclass
class TokenBucket:
    rate: int  # bytes a second
    now: float  # when the bucket was made: it starts full
    capacity: int = 0
    tokens: float = field(init=False)
    stamp: float = field(init=False)
    senders: int = 0  # transfers drawing on it right now

    def __post_init__(self):
        if self.capacity <= 0:
            self.capacity = capacity_for(self.rate)
        self.tokens = float(self.capacity)
        self.stamp = self.now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def piece(self) -> int:
        """The most one transfer may take at a time."""
        return max(MIN_PIECE, self.capacity // max(1, self.senders))

    def available(self, now: float) -> int:
        self.refill(now)
        return int(self.tokens)

    def take(self, amount: int) -> None:
        self.tokens -= amount

    def give_back(self, amount: int) -> None:
        self.tokens = min(self.capacity, self.tokens + amount)

    def delay_for(self, now: float, amount: int) -> float:
        """Seconds until `amount` tokens are there (0 if they are)."""
        self.refill(now)
        missing = min(amount, self.capacity) - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate


def grant(buckets, now: float, want: int) -> tuple[int, float]:
    """Take up to `want` bytes from every bucket at once: (granted, 0.0), or
    (0, seconds to wait) when any bucket is short of a fair piece."""
    piece = min([want] + [b.piece() for b in buckets])
    waits = [b.delay_for(now, piece) for b in buckets]
    if max(waits) > 0:
        return 0, max(waits)
    for bucket in buckets:
        bucket.take(piece)
    return piece, 0.0
