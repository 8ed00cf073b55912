"""Parsing the operator's duration and download-cap arguments."""

import math
import re

MAX_MINUTES = 365 * 24 * 60  # a year: beyond that a "temporary" link is not
MAX_DOWNLOADS = 1_000_000

_UNITS = {"s": 1 / 60, "m": 1, "h": 60, "d": 24 * 60}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_minutes(text: str) -> float:
    """'60' and '0.5' are minutes; '90s', '2h', '1d' carry their own unit."""
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"invalid duration {text!r} (use minutes, or a number with s/m/h/d)")
    minutes = float(match.group(1)) * _UNITS[(match.group(2) or "m").lower()]
    if not math.isfinite(minutes) or minutes <= 0:
        raise ValueError(f"duration must be positive, got {text!r}")
    if minutes > MAX_MINUTES:
        raise ValueError(f"duration must be at most {MAX_MINUTES} minutes (one year)")
    return minutes


def parse_max_downloads(text: str) -> int:
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit():
        raise ValueError(f"max_downloads must be a whole number >= 0, got {text!r}")
    value = int(stripped)
    if value > MAX_DOWNLOADS:
        raise ValueError(f"max_downloads must be at most {MAX_DOWNLOADS}")
    return value
