import pytest

from shares import tokens
from shares.config.conf import ConfigError, Limits, limits_from_env
from shares.config.durations import parse_max_downloads, parse_minutes
from shares.network.clients import normalize_ip
from shares.web.negotiation import prefers_html


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("60", 60),
        ("0.05", 0.05),
        (".5", 0.5),
        ("3s", 0.05),
        ("90S", 1.5),
        ("2m", 2),
        ("2h", 120),
        ("1d", 1440),
        ("1s", 1 / 60),
        ("1.0s", 1 / 60),
        ("0.0167", 0.0167),
        (" 5 m ", 5),
    ],
)
def test_durations(text, minutes):
    assert parse_minutes(text) == pytest.approx(minutes)


BAD_DURATIONS = ["0", "-5", "", "abc", "5x", "1e3", "nan", "inf", "0s", "366d", "1 0"]
# Under a second: a link dead on arrival.
BAD_DURATIONS += ["0.5s", "0.999s", "0.01", "0.0001m", ".1s"]
# ASCII digits only: int()/float() take these, a person reads them differently or not at all.
BAD_DURATIONS += ["\u0665", "\u0665s", "\uff15m", "1_000", " +5", "+5", "5\u2003", "5\u017f", "\u0968\u0966h"]


@pytest.mark.parametrize("text", BAD_DURATIONS)
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_minutes(text)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("1", 1), (" 7 ", 7), ("1000000", 1_000_000)])
def test_max_downloads(text, value):
    assert parse_max_downloads(text) == value


@pytest.mark.parametrize(
    "text", ["-1", "1.5", "x", "", "1000001", "٣", "\uff13", "1_0", "+3", "3\u2003", "9" * 5000]
)
def test_bad_max_downloads(text):
    with pytest.raises(ValueError):
        parse_max_downloads(text)


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("", False),
        ("*/*", False),  # curl, wget
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # browsers
        ("text/html", True),
        ("application/json", False),
        ("text/html;q=0", False),
        ("application/octet-stream, text/html;q=0.5", False),
        ("text/html;q=0.5, */*;q=0.5", True),
        ("TEXT/HTML", True),
        ("text/html;q=abc", False),
    ],
)
def test_prefers_html(accept, html):
    assert prefers_html(accept) is html


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("::ffff:10.1.2.3", "10.1.2.3"),  # dual-stack sockets report IPv4 like this
        ("::1", "::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("", None),
        (None, None),
        ("not-an-ip", None),
        ("1.2.3.4:80", None),
    ],
)
def test_normalize_ip(raw, canonical):
    assert normalize_ip(raw) == canonical


def test_tokens_are_128_bit_and_stored_as_digest():
    minted = {tokens.mint() for _ in range(200)}
    assert len(minted) == 200
    token = minted.pop()
    assert tokens.looks_like_token(token)
    assert tokens.digest(token) != token and len(tokens.digest(token)) == 64
    assert tokens.matches(token, tokens.digest(token))
    assert not tokens.matches(token + "x", tokens.digest(token))


@pytest.mark.parametrize("candidate", ["favicon.ico", "a" * 21, "a" * 23, "abc/def", "robots.txt", ""])
def test_not_token_shaped(candidate):
    assert not tokens.looks_like_token(candidate)


def test_limits_defaults_and_bounds():
    assert limits_from_env({}) == Limits()
    assert limits_from_env({"PASLA_BAN_THRESHOLD": "3"}).ban_threshold == 3
    # A read buffer outside 4 KiB-16 MiB acts as the nearest bound (tests/unit/test_conf.py has the rest).
    assert limits_from_env({"PASLA_CHUNK_SIZE": "1"}).chunk_size == 4096
    assert limits_from_env({"PASLA_CHUNK_SIZE": str(1 << 30)}).chunk_size == 16 << 20
    for bad in ({"PASLA_BAN_THRESHOLD": "0"}, {"PASLA_SOCKET_TIMEOUT": "x"}):
        with pytest.raises(ConfigError):
            limits_from_env(bad)


@pytest.mark.parametrize("name", ["a\x00b", "a\\b", "a/b", "", ".", "..", "tab\there", "x" * 256, "del\x7f"])
def test_unshareable_names(name):
    from shares.files.payloads import PayloadError, validate_name

    with pytest.raises(PayloadError):
        validate_name(name)


@pytest.mark.parametrize("name", ["report.pdf", "rapport été.txt", "日本語.zip", "a b (1).tar.gz"])
def test_shareable_names(name):
    from shares.files.payloads import validate_name

    assert validate_name(name) == name
