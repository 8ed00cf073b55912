"""Parsing the operator's duration and download-cap arguments."""

import math
import re

from shares.config import numbers

MAX_MINUTES = 365 * 24 * 60  # a year: beyond that a "temporary" link is not
MAX_DOWNLOADS = 1_000_000

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 24 * 3600}
# ASCII only: \d and \s would also match other scripts' digits and spaces.
_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([smhd]?)\s*$", re.IGNORECASE | re.ASCII)


def parse_minutes(text: str) -> float:
    """'60' and '0.5' are minutes; '90s', '2h', '1d' carry their own unit."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"invalid duration {text!r} (use minutes, or a number with s/m/h/d)")
    seconds = float(match.group(1)) * _SECONDS[(match.group(2) or "m").lower()]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration must be positive, got {text!r}")
    # Expiry is kept and shown to the second: less would be a link dead on arrival.
    if seconds < 1:
        raise ValueError(f"duration must be at least one second, got {text!r}")
    minutes = seconds / 60
    if minutes > MAX_MINUTES:
        raise ValueError(f"duration must be at most {MAX_MINUTES} minutes (one year)")
    return minutes


# max_downloads' one spelling of "no cap": the model, the slot SQL and the CLI use it by name.
UNLIMITED = 0


def is_capped(max_downloads: int) -> bool:
    return max_downloads != UNLIMITED


def parse_max_downloads(text: str) -> int:
    value = numbers.whole(text.strip(" \t"))
    if value is None:
        raise ValueError(f"max_downloads must be a whole number >= 0, got {text!r}")
    if value > MAX_DOWNLOADS:
        raise ValueError(f"max_downloads must be at most {MAX_DOWNLOADS}")
    return value
