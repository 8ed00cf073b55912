"""Numbers typed by the operator: ASCII digits only.

int() and float() also take other scripts' digits, '_' separators, signs,
blanks, exponents, 'inf' and 'nan'; none of these belongs in a setting, and
look-alike digits would make a value read differently to a person than to
pasla.
"""

import re

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")

# Digits beyond this are not converted (int() refuses very long strings);
# such a value is reported as HUGE, which is past every cap pasla has.
_MAX_DIGITS = 30
HUGE = 10**_MAX_DIGITS


def whole(text: str) -> int | None:
    """The value of a string of ASCII digits, else None."""
    if not _WHOLE.fullmatch(text):
        return None
    significant = text.lstrip("0")
    return HUGE if len(significant) > _MAX_DIGITS else int(significant or "0")


def decimal(text: str) -> float | None:
    """The value of ASCII digits with at most one '.', else None (may be inf when huge)."""
    if not _DECIMAL.fullmatch(text):
        return None
    return float(text)
