"""HTTP Range and If-Range selection (RFC 9110 section 14), no Django here.

One range at most is served: multi-range requests get the full
representation, which RFC 9110 allows and every download client handles.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Full:
    """Serve the whole representation with 200."""


@dataclass(frozen=True)
class Partial:
    """Serve bytes start..end (inclusive) with 206."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True)
class Unsatisfiable:
    """Answer 416 with `Content-Range: bytes */size`."""

    def content_range(self, size: int) -> str:
        return f"bytes */{size}"


FULL = Full()
UNSATISFIABLE = Unsatisfiable()
Selection = Full | Partial | Unsatisfiable

# Larger positions than this are nonsense for any file and would only let a
# client make us do big-integer arithmetic.
_MAX_DIGITS = 19


def _position(text: str) -> int | None:
    text = text.strip(" \t")
    if not text or len(text) > _MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def parse_range(header: str | None, size: int) -> Selection:
    """Decide what a `Range` header asks for, given the representation size."""
    if header is None:
        return FULL
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip(" \t").lower() != "bytes":
        return FULL  # unknown unit or no unit: ignore the header
    if "," in spec:
        return FULL  # multi-range: serve everything
    first, dash, last = spec.strip(" \t").partition("-")
    if not dash:
        return FULL
    if first.strip(" \t") == "":
        suffix = _position(last)
        if suffix is None:
            return FULL
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return Partial(max(0, size - suffix), size - 1)
    start = _position(first)
    if start is None:
        return FULL
    if last.strip(" \t") == "":
        end = size - 1
    else:
        end = _position(last)
        if end is None or end < start:
            return FULL  # invalid range-spec: ignore the header
        end = min(end, size - 1)
    if start >= size:
        return UNSATISFIABLE
    return Partial(start, end)


def if_range_allows(if_range: str | None, etag: str, last_modified: str) -> bool:
    """Whether a Range may be honoured under `If-Range` (RFC 9110 13.1.5).

    Only a strong, exactly equal validator allows it; a weak ETag or a date
    that is not the Last-Modified we sent means "send me everything".
    """
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith("W/"):
        return False
    if value.startswith('"'):
        return value == etag
    return value == last_modified


def select(
    range_header: str | None,
    if_range: str | None,
    size: int,
    etag: str,
    last_modified: str,
) -> Selection:
    if range_header is None:
        return FULL
    if not if_range_allows(if_range, etag, last_modified):
        return FULL
    return parse_range(range_header, size)
