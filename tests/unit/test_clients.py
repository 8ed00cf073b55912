import ipaddress

import pytest

from shares.network.clients import (
    identify,
    is_allowed,
    parse_network,
    rightmost_forwarded,
    single_address,
    valid_header_name,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("1.1.1.1, 198.51.100.7", "198.51.100.7"),
        ("1.1.1.1,198.51.100.7", "198.51.100.7"),
        ("evil, 2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("198.51.100.7:5678", "198.51.100.7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("198.51.100.7, nonsense", None),
        ("198.51.100.7,", None),
        ("", None),
        (None, None),
        ("unknown", None),
        ("300.1.1.1", None),
        ("fe80::1%eth0", None),
        ("1.1.1.1, " * 400 + "198.51.100.7", None),  # over the length bound
        ("198.51.100.7\x00", None),
    ],
)
def test_rightmost_forwarded(header, expected):
    assert rightmost_forwarded(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("2001:db8::9", "2001:db8::9"),
        ("203.0.113.9, 10.0.0.1", None),  # a one-address header with two is forged or broken
        ("", None),
        ("x" * 100, None),
    ],
)
def test_single_address(header, expected):
    assert single_address(header) == expected


@pytest.mark.parametrize(
    ("peer", "header", "trust", "trust_header", "ip", "peer_ip"),
    [
        ("127.0.0.1", "203.0.113.5", False, None, "127.0.0.1", "127.0.0.1"),  # never read untrusted
        ("::ffff:127.0.0.1", None, False, None, "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "9.9.9.9, 203.0.113.5", True, None, "203.0.113.5", "127.0.0.1"),
        ("127.0.0.1", "garbage", True, None, "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", None, True, None, "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5", True, "CF-Connecting-IP", "203.0.113.5", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5, 1.2.3.4", True, "X-Real-IP", "127.0.0.1", "127.0.0.1"),
        (None, None, False, None, "0.0.0.0", "0.0.0.0"),
    ],
)
def test_identify(peer, header, trust, trust_header, ip, peer_ip):
    client = identify(peer, header, trust_proxy=trust, trust_header=trust_header)
    assert (client.ip, client.peer) == (ip, peer_ip)
    assert client.addresses == ((ip,) if ip == peer_ip else (ip, peer_ip))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("10.1.2.3/8", "10.0.0.0/8"),  # host bits are forgiven, as operators write them
        ("192.168.1.7", "192.168.1.7/32"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        (" 127.0.0.1/32 ", "127.0.0.1/32"),
    ],
)
def test_parse_network(text, expected):
    assert parse_network(text) == ipaddress.ip_network(expected)


@pytest.mark.parametrize("text", ["", "10.0.0.0/33", "nonsense", "10.0.0/8", "2001:db8::/129"])
def test_parse_network_rejects(text):
    with pytest.raises(ValueError, match="invalid CIDR"):
        parse_network(text)


NETS = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("ip", "networks", "expected"),
    [
        ("10.2.3.4", NETS, True),
        ("11.0.0.1", NETS, False),
        ("2001:db8::5", NETS, True),
        ("2001:db9::5", NETS, False),
        ("0.0.0.0", NETS, False),
        ("11.0.0.1", (), True),  # no allowlist: everyone
        ("not-an-ip", NETS, False),
    ],
)
def test_is_allowed(ip, networks, expected):
    assert is_allowed(ip, networks) is expected


@pytest.mark.parametrize(
    ("name", "ok"),
    [("CF-Connecting-IP", True), ("X-Real-IP", True), ("X_Real_IP", False), ("a b", False), ("", False)],
)
def test_header_names(name, ok):
    assert valid_header_name(name) is ok
