"""STUN Binding messages (RFC 8489), built and read without a network."""

import struct

import pytest

from shares.errors import ConfigError
from shares.network import stun
from tests.stun_responder import answer, xor_mapped

TXID = bytes(range(12))
OTHER = bytes(range(1, 13))


def message(attrs: bytes, kind=0x0101, cookie=stun.MAGIC, txid=TXID, length=None) -> bytes:
    size = len(attrs) if length is None else length
    return struct.pack("!HHI12s", kind, size, cookie, txid) + attrs


def mapped(address: bytes, family: int) -> bytes:
    value = struct.pack("!BBH", 0, family, 40000) + address
    return struct.pack("!HH", 0x0001, len(value)) + value


def test_request_is_a_bare_binding_request():
    assert stun.request(TXID) == b"\x00\x01\x00\x00\x21\x12\xa4\x42" + TXID


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (answer(stun.request(TXID), "203.0.113.7"), "203.0.113.7"),
        (answer(stun.request(TXID), "2001:db8::7"), "2001:db8::7"),
        (message(mapped(bytes([198, 51, 100, 4]), 1)), "198.51.100.4"),  # an RFC 3489 server
        # XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS, whatever the order.
        (message(mapped(bytes(4), 1) + xor_mapped("203.0.113.7", 1, TXID)), "203.0.113.7"),
        (answer(stun.request(OTHER), "203.0.113.7"), None),  # someone else's transaction
        (message(xor_mapped("203.0.113.7", 1, TXID), kind=0x0111), None),  # an error answer
        (message(xor_mapped("203.0.113.7", 1, TXID), cookie=0), None),
        (message(xor_mapped("203.0.113.7", 1, TXID), length=4), None),  # length disagrees
        (message(xor_mapped("203.0.113.7", 1, TXID)[:-2], length=10), None),  # cut short
        (message(struct.pack("!HHBBH4s", 0x0020, 8, 0, 3, 0, bytes(4))), None),  # no such family
        (message(struct.pack("!HHBBH", 0x0020, 4, 0, 2, 0)), None),  # v6 without its bytes
        (message(b""), None),
        (b"\x01\x01\x00", None),
    ],
)
def test_parse_response(data, expected):
    assert stun.parse_response(data, TXID) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stun.example.org", [("stun.example.org", 3478)]),
        ("stun.example.org:19302", [("stun.example.org", 19302)]),
        ("127.0.0.1:5000, [::1]:5001", [("127.0.0.1", 5000), ("::1", 5001)]),
        ("[2001:db8::1]", [("2001:db8::1", 3478)]),
    ],
)
def test_servers(text, expected):
    assert stun.parse_servers(text) == expected


@pytest.mark.parametrize(
    "text", ["", "a:b", "a:0", "a:65536", "::1:3478", "a,b,c", "a,", "http://a", "a b", "[::1", "[x]:1"]
)
def test_bad_servers(text):
    with pytest.raises(ConfigError, match="PASLA_STUN_SERVER"):
        stun.parse_servers(text)
