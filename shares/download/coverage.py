"""Byte coverage of a download slot: sorted, disjoint [start, end) intervals.

Pure arithmetic, no Django: the rule "a slot covers one full delivery"
is decided on these numbers, so they are tested on their own.
"""

from dataclasses import dataclass, field

Interval = tuple[int, int]


def normalize(intervals) -> list[Interval]:
    """Sort and merge touching or overlapping intervals; drop empty ones."""
    merged: list[list[int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in intervals if int(e) > int(s)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def add(intervals, start: int, end: int) -> list[Interval]:
    return normalize([*intervals, (start, end)])


def total(intervals) -> int:
    return sum(e - s for s, e in intervals)


def overlap(intervals, start: int, end: int) -> int:
    """How many bytes of [start, end) are already in `intervals`."""
    return sum(max(0, min(e, end) - max(s, start)) for s, e in intervals)


def covers_all(intervals, size: int) -> bool:
    return size == 0 or (len(intervals) == 1 and intervals[0][0] <= 0 and intervals[0][1] >= size)


@dataclass
class SlotAccount:
    """One slot's bytes: what was delivered, and how much of it twice.

    `sent` counts every byte handed to the network under the slot; bytes
    sent beyond the distinct coverage are re-sends, limited to `allowance`
    over the slot's life. So a slot never delivers more than
    size + allowance bytes, however its requests are cut and resumed.
    """

    size: int
    allowance: int
    covered: list[Interval] = field(default_factory=list)
    sent: int = 0

    @property
    def resent(self) -> int:
        return max(0, self.sent - total(self.covered))

    @property
    def budget_left(self) -> int:
        return max(0, self.allowance - self.resent)

    @property
    def complete(self) -> bool:
        return covers_all(self.covered, self.size)

    def may_continue(self, start: int, end: int) -> bool:
        """Whether a request for [start, end) stays within this slot."""
        return overlap(self.covered, start, end) <= self.budget_left

    def take(self, start: int, count: int) -> bool:
        """Account for `count` bytes at `start` about to be sent; False if over budget."""
        if overlap(self.covered, start, start + count) > self.budget_left:
            return False
        self.covered = add(self.covered, start, start + count)
        self.sent += count
        return True


def allowance_for(size: int, configured: int) -> int:
    """Re-send allowance: the configured overlap, never more than half the file.

    Half the file keeps a small single-use file from being fetched twice by
    one client; the configured overlap absorbs what sat in network buffers
    when a connection was cut.
    """
    return max(0, min(configured, size // 2))
