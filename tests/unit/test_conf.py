"""PASLA_* tuning values: every meaningful value is accepted, only nonsense is refused."""

from dataclasses import fields

import pytest

from shares.config.conf import ConfigError, Limits, limits_from_env, parse_log_level

NAMES = [f"PASLA_{field.name.upper()}" for field in fields(Limits)]
# The reference tool's shared names (its README's environment table); pasla
# must take every value of theirs that means something.
SHARED = {
    "PASLA_SOCKET_TIMEOUT",
    "PASLA_HEADER_READ_TIMEOUT",
    "PASLA_TRANSFER_STALL_TIMEOUT",
    "PASLA_MAX_GLOBAL_CONNECTIONS",
    "PASLA_MAX_CONNECTIONS_PER_IP",
    "PASLA_MAX_REQUESTS_PER_PROXY_IP",
    "PASLA_MAX_CONNECTIONS_PER_PROXY_IP",
    "PASLA_RATE_LIMIT_WINDOW",
    "PASLA_RATE_LIMIT_MAX_REQUESTS",
    "PASLA_BAN_THRESHOLD",
    "PASLA_MAX_BANNED_IPS",
    "PASLA_MAX_TRACKED_IPS",
    "PASLA_CHUNK_SIZE",
}
# Where 0 is documented: no re-sent bytes, no drain, no sendfile, no purge.
ZERO_MEANS_SOMETHING = {
    "PASLA_RESUME_OVERLAP",
    "PASLA_DRAIN_TIMEOUT",
    "PASLA_ZERO_COPY",
    "PASLA_PURGE_AFTER_DAYS",
    "PASLA_MIN_SPEED",
    "PASLA_RELAY_SENDER_RATE",
    "PASLA_CLIENT_BYTES_PER_HOUR",
    "PASLA_MAX_RATE",
}
SWITCHES = {"PASLA_ZERO_COPY"}
# Not the reference tool's, and meaningless past its own bound.
BOUNDED = {"PASLA_IPV6_PREFIX", "PASLA_PURGE_AFTER_DAYS"}
SECONDS = {name for name in NAMES if name.endswith(("_TIMEOUT", "_WINDOW", "_INTERVAL", "_DAYS", "_SECONDS"))}


def attribute(name: str) -> str:
    return name.removeprefix("PASLA_").lower()


def test_every_shared_name_is_a_limit():
    assert set(NAMES) >= SHARED


@pytest.mark.parametrize("name", sorted(set(NAMES) - SWITCHES - BOUNDED))
@pytest.mark.parametrize("large", ["1000000", "1000000000000", "9" * 5000])
def test_large_values_are_accepted_and_stay_bounded(name, large):
    value = getattr(limits_from_env({name: large}), attribute(name))
    assert isinstance(value, type(getattr(Limits(), attribute(name))))
    # A million is used as given; more acts as at least that, and stays a
    # finite number that a cache expiry or a buffer can take.
    assert value == 1_000_000 if large == "1000000" else 1_000_000 <= value <= 1 << 40


@pytest.mark.parametrize("name", sorted(SHARED))
def test_reference_tool_values_are_taken_as_given(name):
    # A value in the everyday range is used exactly, not rounded into a band.
    value = "3" if name != "PASLA_CHUNK_SIZE" else "262144"
    assert getattr(limits_from_env({name: value}), attribute(name)) == int(value)


def test_ban_threshold_of_a_million_is_a_million():
    assert limits_from_env({"PASLA_BAN_THRESHOLD": "1000000"}).ban_threshold == 1_000_000


@pytest.mark.parametrize("name", sorted(SECONDS))
def test_fractions_of_seconds_are_accepted(name):
    assert getattr(limits_from_env({name: "0.5"}), attribute(name)) == 0.5


@pytest.mark.parametrize("name", NAMES)
def test_zero(name):
    if name in ZERO_MEANS_SOMETHING:
        assert getattr(limits_from_env({name: "0"}), attribute(name)) == 0
    else:
        with pytest.raises(ConfigError, match=f"^{name} must be .* above 0, got '0'$"):
            limits_from_env({name: "0"})


JUNK = [
    "-1",
    "-0.5",
    "abc",
    "1_000",
    " +5",
    "+5",
    "5 ",
    "1e3",
    "0x10",
    "inf",
    "nan",
    "1,000",
    "\u0665",  # ARABIC-INDIC DIGIT FIVE: int() takes it
    "\uff15",  # FULLWIDTH DIGIT FIVE
    "\u0968\u0966",  # DEVANAGARI 20
    "\u00b2",
    "5\x1b[31m",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("junk", JUNK)
def test_junk_and_negative_values_are_refused_in_one_line(name, junk):
    with pytest.raises(ConfigError) as caught:
        limits_from_env({name: junk})
    message = str(caught.value)
    assert message.startswith(f"{name} must be ") and "\n" not in message and "\x1b" not in message


@pytest.mark.parametrize("name", sorted(set(NAMES) - SECONDS))
def test_whole_numbers_have_no_fraction(name):
    with pytest.raises(ConfigError):
        limits_from_env({name: "2.5"})


def test_switch_is_zero_or_one():
    assert limits_from_env({"PASLA_ZERO_COPY": "1"}).zero_copy == 1
    for value in ("2", "10", "-1"):
        with pytest.raises(ConfigError, match="must be 0 or 1"):
            limits_from_env({"PASLA_ZERO_COPY": value})


def test_empty_means_default():
    assert limits_from_env({name: "" for name in NAMES}) == Limits()
    assert limits_from_env({"PASLA_BAN_THRESHOLD": "  "}) == Limits()


def test_long_junk_is_quoted_short():
    with pytest.raises(ConfigError) as caught:
        limits_from_env({"PASLA_BAN_THRESHOLD": "x" * 10_000})
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("", "INFO"),
        ("debug", "DEBUG"),
        ("INFO", "INFO"),
        ("warn", "WARNING"),
        (" Error ", "ERROR"),
        ("critical", "CRITICAL"),
    ],
)
def test_log_levels(raw, level):
    assert parse_log_level(raw) == level


@pytest.mark.parametrize("raw", ["junk", "10", "NOTSET", "\u0131nfo", "INFO\n", "verbose"])
def test_bad_log_levels(raw):
    with pytest.raises(ConfigError, match=r"^PASLA_LOG_LEVEL must be one of"):
        parse_log_level(raw)


@pytest.mark.parametrize(("raw", "accepted"), [("48", 48), ("128", 128), ("129", None), ("0", None)])
def test_ipv6_prefix_is_a_number_of_bits(raw, accepted):
    if accepted is None:
        with pytest.raises(ConfigError, match="PASLA_IPV6_PREFIX"):
            limits_from_env({"PASLA_IPV6_PREFIX": raw})
    else:
        assert limits_from_env({"PASLA_IPV6_PREFIX": raw}).ipv6_prefix == accepted


def test_a_huge_purge_age_keeps_shares_for_a_century():
    assert limits_from_env({"PASLA_PURGE_AFTER_DAYS": "9" * 400}).purge_after_days == 36500
