"""Pacing, pure: reconnection delays (the sender) and a bandwidth bucket (the relay)."""

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """first, first*factor, ... up to cap; each drawn from [delay/2, delay]
    so that many senders cut off by one relay restart do not return in step."""

    first: float = 0.25
    factor: float = 2.0
    cap: float = 4.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * self.factor ** min(self.failures, 32))
        self.failures += 1
        return self.rng.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.failures = 0


class Bucket:
    """`rate` bytes a second with a burst of one second's worth; rate 0 is unlimited."""

    def __init__(self, rate: int, now: float):
        self.rate = rate
        self.level = float(rate)
        self.at = now

    def take(self, count: int, now: float) -> float:
        """Charge `count` bytes; the seconds to wait before reading more (0 when in credit)."""
        if self.rate <= 0:
            return 0.0
        self.level = min(float(self.rate), self.level + (now - self.at) * self.rate)
        self.at = now
        self.level -= count
        return 0.0 if self.level >= 0 else -self.level / self.rate
