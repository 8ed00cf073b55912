import pytest

from shares.gates.ratelimit import assess, seconds_until_allowed, window_index


@pytest.mark.parametrize(
    ("now", "window", "index", "elapsed"),
    [(0, 60, 0, 0.0), (59.999, 60, 0, 0.999983), (60, 60, 1, 0.0), (90, 60, 1, 0.5)],
)
def test_window_index(now, window, index, elapsed):
    got_index, got_elapsed = window_index(now, window)
    assert got_index == index
    assert got_elapsed == pytest.approx(elapsed, abs=1e-5)


@pytest.mark.parametrize(
    ("previous", "current", "elapsed", "allowed", "remaining"),
    [
        (0, 1, 0.0, True, 19),
        (0, 20, 0.5, True, 0),  # the 20th request is the last one allowed
        (0, 21, 0.5, False, 0),
        (20, 1, 0.0, False, 0),  # a full previous window still weighs fully at its end
        (20, 1, 0.5, True, 9),  # half of it has slid out
        (20, 10, 0.5, True, 0),
        (20, 11, 0.5, False, 0),
        (40, 0, 0.99, True, 19),
    ],
)
def test_assess(previous, current, elapsed, allowed, remaining):
    verdict = assess(previous, current, elapsed, 20, 60)
    assert verdict.allowed is allowed
    assert verdict.remaining == remaining
    assert (verdict.retry_after is None) is allowed
    assert 1 <= verdict.reset_after <= 60


@pytest.mark.parametrize(
    ("previous", "current", "elapsed", "wait"),
    [
        (0, 20, 0.0, 60 + 60 * (1 - 19 / 20)),  # this window is full: wait for the next
        (0, 21, 0.5, 30 + 60 * (1 - 19 / 21)),  # wait for the window, then for part of it to fade
        (20, 10, 0.5, 60 * (1 - 0.5 - 9 / 20)),  # inside this window, the old weight fades
        (20, 19, 0.0, 60 + 60 * (1 - 19 / 19)),
        (0, 0, 0.3, 0.0),
    ],
)
def test_seconds_until_allowed(previous, current, elapsed, wait):
    assert seconds_until_allowed(previous, current, elapsed, 20, 60) == pytest.approx(wait)


@pytest.mark.parametrize(
    ("previous", "current", "elapsed"),
    [(0, 21, 0.1), (20, 11, 0.5), (35, 2, 0.2), (0, 100, 0.9), (50, 50, 0.0)],
)
def test_retry_after_is_honest(previous, current, elapsed):
    """After waiting Retry-After seconds, one more request really is allowed."""
    limit, window = 20, 60.0
    verdict = assess(previous, current, elapsed, limit, window)
    assert not verdict.allowed
    later = elapsed + verdict.retry_after / window
    if later < 1:
        after = assess(previous, current + 1, later, limit, window)
    else:
        after = assess(current, 1, later - 1, limit, window)
    assert after.allowed
