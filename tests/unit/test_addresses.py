"""Which host goes into each printed URL: the pure choices, as tables."""

import io

import pytest
from rich.console import Console

from shares.errors import ConfigError
from shares.network.addresses import (
    PublicHost,
    first_usable,
    host_for,
    loopback_only,
    parse_if_inet6,
    parse_public_host,
)
from shares.operator.console import ShareView, print_banner


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", PublicHost()),
        ("   ", PublicHost()),
        ("files.example.org", PublicHost(name="files.example.org")),
        ("files.example.org.", PublicHost(name="files.example.org.")),
        ("localhost", PublicHost(name="localhost")),
        ("192.0.2.9", PublicHost(v4="192.0.2.9")),
        ("2001:db8::9", PublicHost(v6="2001:db8::9")),
        ("[2001:db8::9]", PublicHost(v6="2001:db8::9")),
        ("2001:DB8:0::9", PublicHost(v6="2001:db8::9")),
        ("192.0.2.9,2001:db8::9", PublicHost(v4="192.0.2.9", v6="2001:db8::9")),
        (" 2001:db8::9 , 192.0.2.9 ", PublicHost(v4="192.0.2.9", v6="2001:db8::9")),
        ("192.0.2.9,[2001:db8::9]", PublicHost(v4="192.0.2.9", v6="2001:db8::9")),
    ],
)
def test_public_host(text, expected):
    assert parse_public_host(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "files example.org",
        "files.example.org/x",
        "http://files.example.org",
        "files.example.org:8000",
        "user@files.example.org",
        "-files.example.org",
        "a..b",
        "x" * 64 + ".org",
        "a." * 127 + "org",
        "192.0.2.9,192.0.2.10",
        "2001:db8::9,2001:db8::a",
        "192.0.2.9,files.example.org",
        "files.example.org,2001:db8::9",
        "192.0.2.9,",
        ",2001:db8::9",
        "192.0.2.9,2001:db8::9,192.0.2.10",
        "fe80::1%eth0",
        "bücher.example",
    ],
)
def test_bad_public_host(text):
    with pytest.raises(ConfigError, match="PASLA_PUBLIC_HOST"):
        parse_public_host(text)


@pytest.mark.parametrize(
    ("candidates", "version", "expected"),
    [
        ([], 4, None),
        (["127.0.0.1", "127.0.1.1"], 4, None),  # stock Debian's host name maps to 127.0.1.1
        (["127.0.0.1", "192.0.2.2"], 4, "192.0.2.2"),
        (["169.254.3.4", "0.0.0.0", "224.0.0.1"], 4, None),
        (["172.17.0.1", "203.0.113.0", "8.8.4.4"], 4, "8.8.4.4"),  # global before private
        (["10.0.0.5", "192.168.1.5"], 4, "10.0.0.5"),  # otherwise the source's order
        (["fd00::2"], 4, None),  # wrong family
        (["::1", "fe80::1", "fd00::2"], 6, "fd00::2"),
        (["fd00::2", "2001:4860::5"], 6, "2001:4860::5"),
        (["::ffff:192.0.2.2"], 4, None),
        (["garbage", "192.0.2.2"], 4, "192.0.2.2"),
    ],
)
def test_first_usable(candidates, version, expected):
    assert first_usable(candidates, version) == expected


def sources(table: dict[int, list[list[str]]], asked: list):
    """Fake sources answering from a table and noting what they were asked."""

    def make(index):
        def source(version):
            asked.append((index, version))
            return table[version][index]

        return source

    return [make(index) for index in range(3)]


ROUTED = {4: [["192.0.2.2"], ["127.0.0.1", "10.1.1.1"], ["127.0.0.1"]], 6: [["fd00::2"], [], []]}
NO_ROUTE = {4: [[], ["127.0.0.1", "10.1.1.1"], ["127.0.0.1"]], 6: [[], ["::1", "fe80::1"], []]}
ISOLATED = {4: [[], ["127.0.0.1"], ["127.0.1.1"]], 6: [[], ["::1"], []]}


@pytest.mark.parametrize(
    ("public", "table", "version", "expected", "asked"),
    [
        # The routing source answers: the interfaces and the host name are never asked.
        ("", ROUTED, 4, "192.0.2.2", [(0, 4)]),
        ("", ROUTED, 6, "fd00::2", [(0, 6)]),
        # No route: the interfaces, then the host name.
        ("", NO_ROUTE, 4, "10.1.1.1", [(0, 4), (1, 4)]),
        ("", NO_ROUTE, 6, "::1", [(0, 6), (1, 6), (2, 6)]),
        ("", ISOLATED, 4, "127.0.0.1", [(0, 4), (1, 4), (2, 4)]),
        # PASLA_PUBLIC_HOST: nothing is asked for a family it names.
        ("files.example.org", ROUTED, 4, "files.example.org", []),
        ("files.example.org", ROUTED, 6, "files.example.org", []),
        ("192.0.2.9,2001:db8::9", ROUTED, 6, "2001:db8::9", []),
        ("192.0.2.9", ROUTED, 4, "192.0.2.9", []),
        ("192.0.2.9", ROUTED, 6, "fd00::2", [(0, 6)]),
    ],
)
def test_host_for(public, table, version, expected, asked):
    seen = []
    assert host_for(version, parse_public_host(public), sources(table, seen)) == expected
    assert seen == asked


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        (["127.0.0.1", "[::1]"], True),
        (["127.0.0.1", None], True),
        ([None, "[::1]"], True),
        (["localhost", None], True),
        (["127.0.0.1", "[fd00::2]"], False),
        (["192.0.2.2", "[::1]"], False),
        (["files.example.org", "files.example.org"], False),
        ([None, None], False),
    ],
)
def test_loopback_only(hosts, expected):
    assert loopback_only(hosts) is expected


IF_INET6 = """\
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
fd000000000000000000000000000002 04 40 00 82     eth0
00000000000000000000000000000001 01 80 10 80       lo
20010db8000000000000000000000007 04 40 00 40     eth0
20010db8000000000000000000000008 04 40 00 20     eth0
20010db8000000000000000000000009 04 40 00 08     eth0
2001db8 04 40 00 80 short
zz010db8000000000000000000000009 04 40 00 00     eth0
20010db800000000000000000000000a 04 40 00 01     eth0
"""


def test_if_inet6_leaves_out_tentative_deprecated_and_failed_addresses():
    assert parse_if_inet6(IF_INET6) == ["fe80::fc:ff:fe00:1", "fd00::2", "::1", "2001:db8::a"]
    assert parse_if_inet6("") == []


def banner(**changes) -> str:
    view = dict(
        id="a1b2c3",
        file="/srv/x.bin",
        name="x.bin",
        size=1,
        port=4000,
        port_auto=False,
        minutes=5,
        max_downloads=1,
        sha256="",
        url_ipv4="http://192.0.2.2:4000/t/x.bin",
        url_ipv6="http://[fd00::2]:4000/t/x.bin",
    )
    view.update(changes)
    out = io.StringIO()
    print_banner(ShareView(**view), Console(file=out, width=300, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize(
    ("changes", "lines", "absent"),
    [
        ({}, ["IPv4 : http://192.0.2.2:4000/t/x.bin", "IPv6 : http://[fd00::2]:4000/t/x.bin"], "URL  :"),
        (
            {
                "url_ipv4": "http://files.example.org:4000/t/x.bin",
                "url_ipv6": "http://files.example.org:4000/t/x.bin",
            },
            ["URL  : http://files.example.org:4000/t/x.bin"],
            "IPv4 :",
        ),
        ({"url_ipv4": None}, ["IPv6 : http://[fd00::2]:4000/t/x.bin"], "IPv4 :"),
        ({"warnings": ("no one else can open it",)}, ["Warning : no one else can open it"], "URL  :"),
    ],
)
def test_banner_urls_and_warnings(changes, lines, absent):
    text = banner(**changes)
    for line in lines:
        assert f"  {line}\n" in text
    assert absent not in text
