import pytest

from shares.download import coverage
from shares.download.coverage import SlotAccount


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
