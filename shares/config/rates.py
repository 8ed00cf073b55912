"""Rates typed by the operator: `--max-rate` and PASLA_MAX_RATE (pure).

Bytes a second, digits with at most one '.', and an optional K, M or G
(either case) that multiplies by 1024, 1024² or 1024³, as curl's
--limit-rate reads them: `500K` is 512 000 B/s, `1.5M` is 1 572 864 B/s.
0 means no cap. Anything else is refused with a reason, never guessed at.
"""

import re

from shares.config import numbers

UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
# ASCII only, no blanks inside, no sign, no exponent.
_PATTERN = re.compile(r"([0-9.]+)([kKmMgG]?)")
# Slower than this, a cap would trip the minimum-speed cut of any client
# and pace in pieces smaller than a packet: refused as meaningless.
MIN_RATE = 1 << 10
# Faster than any link pasla will serve on; a larger value acts as this.
MAX_RATE = 1 << 40
_SHOWN = 40


def parse_rate(text: str) -> int:
    """Bytes a second (0: no cap); ValueError with a one-line reason."""
    cleaned = text.strip(" \t")
    match = _PATTERN.fullmatch(cleaned)
    value = numbers.decimal(match.group(1)) if match else None
    if value is None:
        shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
        raise ValueError(f"invalid rate {shown!r} (bytes a second, e.g. 500K, 5M, 1.5M; 0 = no cap)")
    rate = min(value * UNITS[match.group(2).lower()], MAX_RATE)  # a huge value is inf: the cap
    if rate == 0:
        return 0
    if rate < MIN_RATE:
        raise ValueError(f"rate {cleaned!r} is below 1K (1024 bytes a second); 0 means no cap")
    return int(rate)


def describe(rate: int) -> str:
    """A rate for people: '5 MiB/s', '500 KiB/s', '1234 B/s'."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if rate >= size:
            shown = rate / size
            return f"{shown:.3g} {unit}/s"
    return f"{rate} B/s"
