import pytest

from shares.download.ranges import FULL, UNSATISFIABLE, Partial, parse_range, select

SIZE = 1000

CASES = [
    # header, expected selection (size 1000)
    (None, FULL),
    ("bytes=0-0", Partial(0, 0)),
    ("bytes=0-499", Partial(0, 499)),
    ("bytes=500-", Partial(500, 999)),
    ("bytes=-1", Partial(999, 999)),
    ("bytes=-500", Partial(500, 999)),
    ("bytes=-5000", Partial(0, 999)),  # suffix longer than the file: all of it
    ("bytes=900-5000", Partial(900, 999)),  # end clamped
    ("bytes=999-999", Partial(999, 999)),
    ("BYTES=10-20", Partial(10, 20)),  # unit is case-insensitive
    ("bytes= 10 - 20 ", Partial(10, 20)),  # optional whitespace
    ("bytes=1000-", UNSATISFIABLE),  # bytes=SIZE- (the reference serves 200 here)
    ("bytes=1000-1000", UNSATISFIABLE),
    ("bytes=5000-6000", UNSATISFIABLE),
    ("bytes=-0", UNSATISFIABLE),
    ("bytes=0-1,5-9", FULL),  # multi-range: whole file
    ("items=0-5", FULL),  # unknown unit: ignored
    ("bytes=5-1", FULL),  # invalid spec: ignored
    ("bytes=abc", FULL),
    ("bytes=-", FULL),
    ("bytes=", FULL),
    ("bytes=1-x", FULL),
    ("bytes=0x10-20", FULL),
    ("bytes=99999999999999999999-", FULL),  # absurdly long number: ignored
    ("bytes=١-٢", FULL),  # non-ASCII digits are not digits here
    ("garbage", FULL),
]


@pytest.mark.parametrize(("header", "expected"), CASES)
def test_parse_range(header, expected):
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [("bytes=0-", UNSATISFIABLE), ("bytes=-1", UNSATISFIABLE), (None, FULL), ("bytes=0-0", UNSATISFIABLE)],
)
def test_empty_file_has_no_satisfiable_range(header, expected):
    assert parse_range(header, 0) == expected


ETAG = '"abc"'
LM = "Mon, 23 Nov 2026 11:00:00 GMT"


@pytest.mark.parametrize(
    ("if_range", "expected"),
    [
        (None, Partial(0, 9)),
        (ETAG, Partial(0, 9)),
        ('"other"', FULL),
        ('W/"abc"', FULL),  # weak validators never allow a range
        (LM, Partial(0, 9)),
        ("Mon, 23 Nov 2026 10:59:59 GMT", FULL),
        ("nonsense", FULL),
    ],
)
def test_if_range(if_range, expected):
    assert select("bytes=0-9", if_range, SIZE, ETAG, LM) == expected


def test_content_range_text():
    assert Partial(5, 9).content_range(100) == "bytes 5-9/100"
    assert UNSATISFIABLE.content_range(100) == "bytes */100"
    assert Partial(5, 9).length == 5
