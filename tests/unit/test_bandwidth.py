"""The pure arithmetic of the bandwidth layers: rates, the sliding hour, the token bucket."""

import pytest

from shares.bandwidth import bucket, hour
from shares.bandwidth.bucket import TokenBucket
from shares.config import rates

# --- rates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", 0),
        ("1024", 1024),
        ("1K", 1024),
        ("1k", 1024),
        ("500K", 512_000),
        ("5M", 5 << 20),
        ("1.5M", 1_572_864),
        ("1G", 1 << 30),
        (" 2M\t", 2 << 20),
        ("0.0", 0),
        ("9" * 5000, rates.MAX_RATE),  # huge acts as the ceiling
        ("2048G", rates.MAX_RATE),
    ],
)
def test_rates_that_mean_something(text, expected):
    assert rates.parse_rate(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "M",
        "5MB",
        "5 M",
        "-5M",
        "+5M",
        "5e6",
        "1.2.3",
        "5T",
        "inf",
        "nan",
        "٥M",
        "5m/s",
        "0x10",
        "1_000",
        ".",
    ],
)
def test_junk_rates_are_refused_with_one_line(text):
    with pytest.raises(ValueError) as refused:
        rates.parse_rate(text)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("text", ["1", "1023", "0.5K", "0.0009M"])
def test_rates_below_one_kib_a_second_are_refused(text):
    with pytest.raises(ValueError, match="below 1K"):
        rates.parse_rate(text)


@pytest.mark.parametrize(
    "rate, shown",
    [(5 << 20, "5 MiB/s"), (512_000, "500 KiB/s"), (1_572_864, "1.5 MiB/s"), (1000, "1000 B/s")],
)
def test_rates_described_for_people(rate, shown):
    assert rates.describe(rate) == shown


# --- the sliding hour ---------------------------------------------------------

T0 = 1_000_000 * 60.0  # the start of a minute
NOW = T0 + 30  # half way into minute M
M = hour.minute_of(NOW)


def test_the_live_minutes_are_the_last_sixty():
    live = hour.live_minutes(NOW)
    assert len(live) == 60 and live[-1] == M and live[0] == M - 59


@pytest.mark.parametrize(
    "counts, budget, used, room",
    [
        ({}, 100, 0, 100),
        ({M: 40}, 100, 40, 60),
        ({M: 40, M - 59: 30}, 100, 70, 30),
        ({M: 40, M - 60: 30}, 100, 40, 60),  # an hour ago: slid out
        ({M: 40, M + 1: 30}, 100, 40, 60),  # not yet (a clock behind another worker's)
        ({M: 150}, 100, 150, 0),
        ({M: 80, M - 1: -10}, 100, 70, 30),  # a refund that landed in a later minute
    ],
)
def test_used_and_room(counts, budget, used, room):
    assert hour.used(counts, NOW) == used
    assert hour.room(counts, NOW, budget) == room


@pytest.mark.parametrize(
    "counts, budget, retry",
    [
        ({}, 100, 0),
        ({M: 99}, 100, 0),
        # All of it this minute: room once this minute leaves the window, at the end of minute M+59.
        ({M: 100}, 100, 59 * 60 + 30),
        # The oldest minute's bytes leave first: 30 s after NOW, minute M-59 is gone.
        ({M - 59: 10, M: 90}, 100, 30),
        # Leaving the oldest is not enough: the next minute must go too.
        ({M - 59: 1, M - 58: 5, M: 95}, 100, 90),
        ({M - 10: 500}, 100, 49 * 60 + 30),
    ],
)
def test_retry_after_is_when_enough_slides_out(counts, budget, retry):
    assert hour.retry_after(counts, NOW, budget) == retry


def test_retry_after_is_bounded_by_the_window():
    # Every live minute full: the whole window, never more.
    counts = {minute: 1000 for minute in hour.live_minutes(NOW)}
    assert 1 <= hour.retry_after(counts, NOW, 10) <= hour.MAX_RETRY_AFTER


@pytest.mark.parametrize(
    "total_after, budget, charged, kept",
    [
        (50, 100, 50, 50),  # within
        (100, 100, 50, 50),  # exactly at the budget
        (130, 100, 50, 20),  # 30 over: 30 go back
        (500, 100, 50, 0),  # over already (another worker's grant): nothing
    ],
)
def test_a_grant_keeps_only_what_fits(total_after, budget, charged, kept):
    assert hour.grant(total_after, budget, charged) == kept


# --- the token bucket ---------------------------------------------------------


def test_capacity_is_a_tenth_of_a_second_within_bounds():
    assert bucket.capacity_for(1 << 20) == (1 << 20) // 10
    assert bucket.capacity_for(1024) == bucket.MIN_CAPACITY
    assert bucket.capacity_for(1 << 40) == bucket.MAX_CAPACITY


def test_a_bucket_starts_full_refills_at_its_rate_and_never_overflows():
    b = TokenBucket(100_000, now=0.0)
    assert b.available(0.0) == b.capacity == 16_384
    b.take(16_384)
    assert b.available(0.05) == 5_000
    assert b.available(10.0) == b.capacity


@pytest.mark.parametrize(
    "senders, want, piece",
    [
        (1, 1 << 30, 16_384),  # one transfer: the whole capacity
        (4, 1 << 30, 4_096),  # four: a quarter each
        (100, 1 << 30, bucket.MIN_PIECE),  # never below the smallest useful piece
        (1, 1000, 1000),  # never more than asked
    ],
)
def test_grants_are_fair_pieces(senders, want, piece):
    b = TokenBucket(100_000, now=0.0, senders=senders)
    assert bucket.grant([b], 0.0, want) == (piece, 0.0)


def test_an_empty_bucket_says_how_long_to_wait():
    b = TokenBucket(100_000, now=0.0, senders=1)
    b.take(b.capacity)
    assert bucket.grant([b], 0.0, 1 << 20) == (0, pytest.approx(0.16384))
    assert bucket.grant([b], 0.2, 1 << 20) == (16_384, 0.0)


def test_two_buckets_grant_what_both_allow_and_wait_for_the_slower():
    share = TokenBucket(50_000, now=0.0, senders=1)  # 16 KiB capacity
    server = TokenBucket(1 << 20, now=0.0, senders=1)  # 100 KiB capacity
    granted, _ = bucket.grant([share, server], 0.0, 1 << 20)
    assert granted == 16_384
    assert share.available(0.0) == 0 and server.available(0.0) == server.capacity - 16_384
    granted, wait = bucket.grant([share, server], 0.0, 1 << 20)
    assert granted == 0 and wait == pytest.approx(16_384 / 50_000)


def test_over_ten_seconds_a_bucket_lets_through_its_rate():
    # Many small asks, as senders make them: what went out over 10 s is
    # the rate times 10 plus at most the first burst.
    rate = 256 << 10
    b = TokenBucket(rate, now=0.0, senders=3)
    now, sent = 0.0, 0
    while now < 10.0:
        granted, wait = bucket.grant([b], now, 1 << 20)
        sent += granted
        now += wait if not granted else 0.001
    assert rate * 10 <= sent <= rate * 10 + b.capacity


def test_giving_back_never_overflows():
    b = TokenBucket(100_000, now=0.0)
    b.give_back(1 << 30)
    assert b.available(0.0) == b.capacity
