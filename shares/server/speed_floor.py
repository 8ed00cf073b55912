"""The minimum transfer speed (PASLA_MIN_SPEED over PASLA_MIN_SPEED_SECONDS), as pure arithmetic.

One SpeedWindow per response body. The server's periodic check feeds it the
bytes the client has actually taken so far (written minus what still waits
in buffers), and whether the client is holding bytes back right now. The
window starts at the first observation with a byte taken, and only runs
while the client is the one holding the transfer up: a check that finds
nothing waiting for the client (the server itself is slow to produce)
restarts it. A full window averaging below the floor means cut.
"""

from dataclasses import dataclass


@dataclass
class SpeedWindow:
    floor: int  # bytes per second; 0 turns the check off
    seconds: float
    start: float | None = None  # when the current window began
    base: int = 0  # bytes taken when it began

    def observe(self, now: float, taken: int, waiting: bool) -> bool:
        """True when the client averaged below the floor over a full window."""
        if self.floor <= 0 or taken <= 0:
            return False
        if self.start is None or not waiting:
            self.start, self.base = now, taken
            return False
        elapsed = now - self.start
        if elapsed < self.seconds:
            return False
        if (taken - self.base) < self.floor * elapsed:
            return True
        self.start, self.base = now, taken
        return False
