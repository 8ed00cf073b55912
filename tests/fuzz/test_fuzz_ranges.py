"""Range parsing and satisfiability against a brute-force model of RFC 9110 section 14.

The model decides which byte positions a range-spec names by testing every
position of the file, so it shares no arithmetic with shares/download/ranges.py.
"""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from shares.download import ranges

MAX_DIGITS = 19  # pasla's bound: longer positions make the header ignored
OWS = st.sampled_from(["", " ", "\t", "  "])
SPEC = re.compile(r"^[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$")


def position(text: str) -> int | None:
    return int(text) if text and len(text) <= MAX_DIGITS else None


def model(header: str | None, size: int):
    """What to serve: FULL, UNSATISFIABLE or the (first, last) of the named positions."""
    if header is None:
        return ranges.FULL
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip(" \t").lower() != "bytes" or "," in spec:
        return ranges.FULL
    match = SPEC.match(spec)
    if not match:
        return ranges.FULL
    first_text, last_text = match.groups()
    if first_text == "":
        suffix = position(last_text)
        if suffix is None:
            return ranges.FULL
        named = [i for i in range(size) if i >= size - suffix]
    else:
        first = position(first_text)
        last = position(last_text) if last_text else None
        if first is None or (last_text and (last is None or last < first)):
            return ranges.FULL  # an invalid range-spec: the header is ignored
        named = [i for i in range(size) if first <= i and (last is None or i <= last)]
    if not named:
        return ranges.UNSATISFIABLE
    return ranges.Partial(min(named), max(named))


digits = st.one_of(
    st.just(""),
    st.integers(0, 400).map(str),
    st.integers(0, 10**25).map(str),
    st.integers(0, 50).map(lambda n: "0" * 3 + str(n)),  # leading zeros are still digits
    st.sampled_from(["\u0663", "\xb2", "1\u0660", "+5", "-1", "0x10", "1e3", " "]),  # not ASCII digits
)
units = st.sampled_from(["bytes", "BYTES", "Bytes", " bytes ", "\tbytes", "byte", "items", "", "bytes "])
shaped = st.builds(
    lambda unit, eq, o1, first, o2, dash, o3, last, o4, tail: (
        f"{unit}{eq}{o1}{first}{o2}{dash}{o3}{last}{o4}{tail}"
    ),
    units,
    st.sampled_from(["=", "=", "=", ":", ""]),
    OWS,
    digits,
    OWS,
    st.sampled_from(["-", "-", "-", "--", "", "\u2013"]),
    OWS,
    digits,
    OWS,
    st.sampled_from(["", "", "", ",0-1", ", 5-", "-7"]),
)
headers = st.one_of(st.none(), shaped, st.text(max_size=40))
sizes = st.integers(0, 300)


@given(headers, sizes)
@example("bytes=0-", 0)
@example("bytes=-0", 10)
@example("bytes=-500", 10)
@example("bytes=9-", 10)
@example("bytes=10-", 10)
@example("bytes=5-4", 10)
@example("BYTES=2-", 0)
@example("bytes=" + "9" * 20 + "-", 10)
def test_parse_range_agrees_with_the_model(header, size):
    assert ranges.parse_range(header, size) == model(header, size)


@given(headers, sizes)
def test_a_partial_answer_is_inside_the_file_and_consistent(header, size):
    selection = ranges.parse_range(header, size)
    if isinstance(selection, ranges.Partial):
        assert 0 <= selection.start <= selection.end < size
        assert selection.length == selection.end - selection.start + 1 > 0
        assert selection.content_range(size) == f"bytes {selection.start}-{selection.end}/{size}"
    elif isinstance(selection, ranges.Unsatisfiable):
        assert selection.content_range(size) == f"bytes */{size}"
    else:
        assert selection is ranges.FULL


validators = st.sampled_from(['"abc"', 'W/"abc"', '"abd"', "Tue, 01 Jan 2030 00:00:00 GMT", "", ' "abc" '])


@given(headers, st.one_of(st.none(), validators, st.text(max_size=30)), sizes)
def test_if_range_only_lets_an_exact_strong_validator_through(header, if_range, size):
    etag, last_modified = '"abc"', "Tue, 01 Jan 2030 00:00:00 GMT"
    selection = ranges.select(header, if_range, size, etag, last_modified)
    stripped = None if if_range is None else if_range.strip()
    allowed = stripped is None or stripped in (etag, last_modified)
    assert selection == (model(header, size) if allowed else ranges.FULL)
