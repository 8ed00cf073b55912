"""A token bucket: one sender's bytes per second across all its downloads (pure)."""


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
