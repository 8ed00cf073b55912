import pytest

from shares import coverage
from shares.coverage import SlotAccount


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], []),
        ([(0, 0)], []),
        ([(5, 10), (0, 5)], [(0, 10)]),
        ([(0, 4), (6, 9)], [(0, 4), (6, 9)]),
        ([(0, 10), (2, 3)], [(0, 10)]),
        ([[3, 7], [1, 4], [8, 9]], [(1, 7), (8, 9)]),
    ],
)
def test_normalize_merges_and_sorts(given, expected):
    assert coverage.normalize(given) == expected


@pytest.mark.parametrize(
    ("intervals", "start", "end", "expected"),
    [
        ([], 0, 100, 0),
        ([(0, 40)], 40, 100, 0),
        ([(0, 40)], 30, 100, 10),
        ([(0, 40), (60, 80)], 0, 100, 60),
        ([(10, 20)], 12, 15, 3),
    ],
)
def test_overlap(intervals, start, end, expected):
    assert coverage.overlap(intervals, start, end) == expected


@pytest.mark.parametrize(
    ("intervals", "size", "expected"),
    [([], 0, True), ([], 5, False), ([(0, 5)], 5, True), ([(0, 4)], 5, False), ([(0, 2), (3, 5)], 5, False)],
)
def test_covers_all(intervals, size, expected):
    assert coverage.covers_all(intervals, size) is expected


@pytest.mark.parametrize(
    ("size", "configured", "expected"),
    [(100, 16, 16), (10, 16, 5), (0, 16, 0), (1 << 30, 16 << 20, 16 << 20), (3, 0, 0)],
)
def test_allowance_is_capped_at_half_the_file(size, configured, expected):
    assert coverage.allowance_for(size, configured) == expected


def test_resume_continues_while_bytes_are_new():
    account = SlotAccount(size=100, allowance=10)
    assert account.take(0, 40)
    assert account.may_continue(40, 100)
    assert account.may_continue(35, 100)  # 5 bytes overlap: within the allowance
    assert not account.may_continue(0, 100)  # a re-download


def test_resends_spend_the_allowance_for_good():
    account = SlotAccount(size=100, allowance=10)
    assert account.take(0, 50)
    assert account.take(45, 5)  # 5 re-sent
    assert account.resent == 5 and account.budget_left == 5
    assert not account.take(40, 10)  # 10 more would pass the bound
    assert account.take(50, 50)
    assert account.complete
    assert account.sent <= account.size + account.allowance


@pytest.mark.parametrize("cut", [1, 7, 33, 50, 99])
def test_bytes_per_slot_never_exceed_size_plus_allowance(cut):
    account = SlotAccount(size=100, allowance=10)
    # An abuser loops: fetch from 0, cut, fetch from 0 again ...
    for _ in range(50):
        for offset in range(0, cut, 3):
            if not account.take(offset, min(3, cut - offset)):
                break
    assert account.sent <= 100 + 10


@pytest.mark.parametrize(
    "covered, sent, start, count, expected",
    [
        ([], 0, 0, 100, 100),  # nothing sent yet: all of it
        ([(0, 50)], 50, 50, 50, 50),  # new bytes cost nothing
        ([(0, 50)], 50, 40, 20, 20),  # 10 re-sent, allowance 10: just fits
        ([(0, 50)], 50, 30, 30, 10),  # 20 re-sent would pass it: stops 10 into the overlap
        ([(0, 50)], 60, 45, 10, 0),  # 10 already re-sent: none left, the overlap ends it at once
        ([(0, 50)], 60, 50, 10, 10),  # ...but bytes past the coverage are still free
        ([(10, 20), (30, 40)], 20, 0, 50, 30),  # free 0-10, 5 of 10-20, then the budget is gone at 15
        ([(10, 20), (30, 40)], 20, 20, 10, 10),  # a gap between coverings is free
        ([(0, 100)], 100, 0, 0, 0),
    ],
)
def test_allowed_is_where_the_budget_ends(covered, sent, start, count, expected):
    account = SlotAccount(size=100, allowance=10, covered=covered, sent=sent)
    assert account.allowed(start, count) == expected
    # take() agrees: exactly `expected` bytes pass, one more does not.
    assert SlotAccount(100, 10, list(covered), sent).take(start, expected)
    if expected < count:
        assert not SlotAccount(100, 10, list(covered), sent).take(start, expected + 1)


def test_record_charges_what_was_sent():
    account = SlotAccount(size=100, allowance=10)
    account.record(0, 60)
    account.record(55, 10)  # 5 of them again
    assert (account.covered, account.sent, account.resent, account.budget_left) == ([(0, 65)], 70, 5, 5)
