"""Reconnection delays: exponential, capped, jittered (pure, the caller sleeps)."""

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
