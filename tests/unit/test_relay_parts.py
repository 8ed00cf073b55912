"""The relay's pure parts: framing, chunked bodies, the hub, backoff, the bandwidth bucket, keys."""

import asyncio
import random

import pytest

from shares.cli.parser import CliError
from shares.cli.via import Via, parse_url
from shares.relay import framing, keys
from shares.relay.backend import backend_line
from shares.relay.framing import FramingError, Route
from shares.relay.hub import Hub, SenderGone
from shares.relay.pacing import Backoff, Bucket

D1, D2 = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    "buffer, result",
    [
        (b"HTTP/1.1 200 OK\r\n", None),
        (b"HTTP/1.1 200 OK\r\n\r\nbody", (b"HTTP/1.1 200 OK", b"body")),
        (b"HTTP/1.1 204 No Content\r\n\r\n", (b"HTTP/1.1 204 No Content", b"")),
    ],
)
def test_split_head(buffer, result):
    assert framing.split_head(buffer) == result


@pytest.mark.parametrize("buffer", [b"x" * (framing.HEAD_MAX + 1), b"x" * framing.HEAD_MAX + b"\r\n\r\n"])
def test_an_endless_head_is_refused(buffer):
    with pytest.raises(FramingError):
        framing.split_head(buffer)


@pytest.mark.parametrize(
    "head, method, kind, length",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 12", "GET", "length", 12),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 12", "HEAD", "none", 0),
        (b"HTTP/1.1 206 Partial Content\r\ncontent-length: 0", "GET", "length", 0),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5", "GET", "none", 0),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "GET", "chunked", 0),
        (b"HTTP/1.1 200 OK", "GET", "close", 0),
        (b"HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\nContent-Length: 3", "GET", "length", 3),
    ],
)
def test_response_framing(head, method, kind, length):
    framing_ = framing.response_framing(method, framing.parse_response(head))
    assert (framing_.kind, framing_.length) == (kind, length)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1e3",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip",
        b"HTTP/2 200 OK",
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 200 OK\r\nBad Header: x",
        b"HTTP/1.1 200 OK\r\nX-A: a\x00b",
        b"HTTP/1.1 200 OK\r\nno colon",
    ],
)
def test_malformed_responses_are_refused(head):
    with pytest.raises(FramingError):
        framing.response_framing("GET", framing.parse_response(head))


@pytest.mark.parametrize(
    "pieces, body",
    [
        ([b"5\r\nhello\r\n0\r\n\r\n"], b"hello"),
        ([b"5\r", b"\nhel", b"lo\r\n3;ext=1\r\n", b"abc\r\n0\r\nTrailer: x\r\n\r\n"], b"helloabc"),
        ([bytes([c]) for c in b"A\r\n0123456789\r\n0\r\n\r\n"], b"0123456789"),
    ],
)
def test_chunked_bodies_decode_however_they_are_split(pieces, body):
    decoder, out = framing.ChunkedDecoder(), []
    for piece in pieces:
        out += decoder.feed(piece)
    assert b"".join(out) == body and decoder.done


@pytest.mark.parametrize(
    "data",
    [b"zz\r\n", b"5\r\nhelloX\r\n", b"5\nhello", b"1" * 2000, b"0\r\n" + b"T: x\r\n" * 2000],
)
def test_malformed_chunked_bodies_are_refused(data):
    with pytest.raises(FramingError):
        framing.ChunkedDecoder().feed(data)


def test_the_package_drops_hop_by_hop_fields_and_closes():
    headers = [
        ("Host", "relay"),
        ("Connection", "keep-alive, X-Secret"),
        ("X-Secret", "1"),
        ("Range", "bytes=0-9"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "99"),
    ]
    package = framing.package_request("GET", "/t/n?x=1", headers)
    assert package == b"GET /t/n?x=1 HTTP/1.1\r\nHost: relay\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n"
    post = framing.package_request("POST", "/t/n", [], b"a=1")
    assert post.endswith(b"Content-Length: 3\r\nConnection: close\r\n\r\na=1")


@pytest.mark.parametrize(
    "package, prefix, expected",
    [
        (b"GET /t/n HTTP/1.1\r\n\r\n", "", b"GET /t/n HTTP/1.1\r\n\r\n"),
        (b"GET /t/n HTTP/1.1\r\n\r\n", "/files", b"GET /files/t/n HTTP/1.1\r\n\r\n"),
    ],
)
def test_the_senders_prefix_goes_before_the_path(package, prefix, expected):
    assert framing.with_prefix(package, prefix) == expected


def test_routes_round_trip_and_bad_ones_are_refused():
    routes = [Route(D1, 1700000000), Route(D2, 1800000000)]
    assert framing.parse_routes(framing.format_routes(routes)) == routes
    for bad in (None, "", "a" * 63 + " 1", D1.upper() + " 1", D1 + " x", ", ".join([D1 + " 1"] * 17)):
        with pytest.raises(FramingError):
            framing.parse_routes(bad)


@pytest.mark.parametrize(
    "value, key",
    [("Bearer pvk_x", "pvk_x"), ("bearer  pvk_x", "pvk_x"), ("Basic abc", None), ("", None), (None, None)],
)
def test_bearer(value, key):
    assert framing.bearer(value) == key


@pytest.mark.parametrize(
    "line, prefix, backend",
    [
        (b"POST /_relay/listen HTTP/1.1\r", "", True),
        (b"POST /_relay/leave HTTP/1.1", "", True),
        (b"POST /files/_relay/listen HTTP/1.1\r", "/files", True),
        (b"POST /_relay/listen HTTP/1.1\r", "/files", False),
        (b"GET /_relay/listen HTTP/1.1\r", "", False),
        (b"POST /_relay/other HTTP/1.1\r", "", False),
        (b"POST /token/name HTTP/1.1\r", "", False),
        (b"POST /_relay/listen?x HTTP/1.1\r", "", True),
    ],
)
def test_which_connections_are_a_senders(line, prefix, backend):
    assert backend_line(line, prefix) is backend


def test_keys_are_long_and_checked_by_shape_and_digest():
    key = keys.mint()
    assert keys.looks_like_key(key) and len(key) == 47
    assert keys.matches(key, keys.digest(key)) and not keys.matches(key + "x", keys.digest(key))
    assert not keys.looks_like_key(key[:-1]) and not keys.looks_like_key(None)
    assert keys.valid_name("alice-1.b_c") and not keys.valid_name("a b") and not keys.valid_name("x" * 65)


def test_backoff_grows_to_its_cap_with_jitter_and_resets():
    backoff = Backoff(first=0.25, factor=2, cap=4, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    for delay, ceiling in zip(delays, [0.25, 0.5, 1, 2, 4, 4, 4, 4], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 0.25


@pytest.mark.parametrize(
    "rate, takes, waits",
    [
        (0, [(10**9, 0.0)], [0.0]),
        (1000, [(500, 0.0), (500, 0.0), (500, 0.0)], [0.0, 0.0, 0.5]),
        (1000, [(3000, 0.0), (10, 1.0)], [2.0, 1.01]),
        (1000, [(1000, 0.0), (1000, 10.0)], [0.0, 0.0]),  # credit never exceeds one second's worth
    ],
)
def test_bucket(rate, takes, waits):
    bucket = Bucket(rate, 0.0)
    assert [pytest.approx(bucket.take(count, at)) for count, at in takes] == waits


class Conn:
    """What the hub needs of a sender connection (hashed by identity, as the real one)."""

    def __init__(self, sender_id, routes):
        self.sender_id, self.routes = sender_id, routes


def conn(sender, *routes):
    return Conn(sender, frozenset(routes))


def test_the_hub_hands_out_held_listens_oldest_first_and_caps_senders():
    hub = Hub(max_per_sender=2)
    first, second = conn(1, D1), conn(1, D1, D2)
    for c in (first, second):
        assert hub.admit(1)
        hub.connected(c)
        assert hub.hold(c) is False
    assert not hub.admit(1) and hub.admit(2)
    assert hub.online(D1) and hub.online(D2) and not hub.online("c" * 64)
    assert hub.take(D2) is second and hub.take(D2) is None
    assert hub.take(D1) is first and hub.take(D1) is None
    assert hub.online(D1)  # busy connections still carry the route
    hub.gone(first)
    hub.gone(second)
    assert not hub.online(D1) and hub.online_senders() == set()


def test_a_queued_request_gets_the_next_listen_or_hears_the_sender_left():
    async def scenario():
        hub = Hub(max_per_sender=10)
        busy = conn(1, D1)
        hub.connected(busy)
        waiting = asyncio.ensure_future(hub.listen_for(D1, 5))
        await asyncio.sleep(0)
        assert hub.waiting(D1) == 1
        fresh = conn(1, D1)
        hub.connected(fresh)
        assert hub.hold(fresh) is True  # taken at once by the queued request
        assert await waiting is fresh

        left = asyncio.ensure_future(hub.listen_for(D1, 5))
        await asyncio.sleep(0)
        hub.gone(busy)
        hub.gone(fresh)
        with pytest.raises(SenderGone):
            await left
        with pytest.raises(SenderGone):
            await hub.listen_for(D1, 5)  # nobody carries the route any more

        hub.connected(conn(1, D2))
        with pytest.raises(TimeoutError):
            await hub.listen_for(D2, 0.01)
        assert hub.waiting(D2) == 0

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("https://relay.example", ("https", "relay.example", 443, "")),
        ("http://relay.example:8080/", ("http", "relay.example", 8080, "")),
        ("https://[2001:db8::1]:9443/files/", ("https", "2001:db8::1", 9443, "/files")),
    ],
)
def test_relay_urls(text, parsed):
    assert parse_url(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "ftp://relay",
        "relay.example",
        "https://",
        "https://u:p@relay",
        "https://relay/?q",
        "https://relay:99999",
    ],
)
def test_bad_relay_urls_are_refused(text):
    with pytest.raises(CliError):
        parse_url(text)


def test_the_printed_url_leaves_out_a_default_port():
    via = Via("https", "relay.example", 443, "/f", "pvk_", None)
    assert via.share_url("tok", "a b.txt") == "https://relay.example/f/tok/a%20b.txt"
    assert Via("http", "::1", 8000, "", "k", None).base == "http://[::1]:8000"
