"""Bind addresses, URL prefixes and the URL printed for a shared server."""

import pytest

from shares.config.deployment import base_url, normalize_prefix, parse_bind, share_url
from shares.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::]:8443", ("::", 8443)),
        ("[::1]:80", ("::1", 80)),
        (" 10.0.0.5:65535 ", ("10.0.0.5", 65535)),
    ],
)
def test_bind_addresses(text, expected):
    assert parse_bind(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "8000",
        ":8000",
        "localhost:8000",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "::1:80",
        "[127.0.0.1]:80",
        "127.0.0.1:８０",
        "127.0.0.1:-1",
        "[::1:80",
    ],
)
def test_bad_bind_addresses(text):
    with pytest.raises(ValueError):
        parse_bind(text)


def test_a_very_long_bind_port_is_named_as_a_bad_port():
    # int() refuses strings over 4300 digits with its own message.
    with pytest.raises(ValueError, match="invalid port in bind address"):
        parse_bind("127.0.0.1:" + "9" * 5000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("/", ""),
        ("files", "/files"),
        ("/files/", "/files"),
        ("a/b-c_d.e~f", "/a/b-c_d.e~f"),
        ("//x", "/x"),
    ],
)
def test_prefixes(text, expected):
    assert normalize_prefix(text) == expected


@pytest.mark.parametrize("text", ["/a b", "/../etc", "/a/./b", "/%2e", "/a?x", "/a#b", "/ä"])
def test_bad_prefixes(text):
    with pytest.raises(ConfigError):
        normalize_prefix(text)


@pytest.mark.parametrize(
    ("public_url", "bind", "public_host", "expected"),
    [
        ("https://files.example.com", None, "", "https://files.example.com"),
        ("https://files.example.com/", ("0.0.0.0", 8000), "", "https://files.example.com"),
        ("http://10.0.0.1:8080", None, "", "http://10.0.0.1:8080"),
        ("", ("127.0.0.1", 8000), "", "http://127.0.0.1:8000"),
        ("", ("0.0.0.0", 8000), "", "http://127.0.0.1:8000"),
        ("", ("::", 8000), "", "http://[::1]:8000"),
        ("", ("0.0.0.0", 8000), "share.example.com", "http://share.example.com:8000"),
        ("", ("::", 8000), "share.example.com", "http://share.example.com:8000"),
        # PASLA_PUBLIC_HOST=V4,V6: the bind's own family, else the other address.
        ("", ("0.0.0.0", 8000), "192.0.2.9,2001:db8::9", "http://192.0.2.9:8000"),
        ("", ("::", 8000), "192.0.2.9,2001:db8::9", "http://[2001:db8::9]:8000"),
        ("", ("::", 8000), "192.0.2.9", "http://192.0.2.9:8000"),
        ("", ("127.0.0.1", 8000), "2001:db8::9", "http://[2001:db8::9]:8000"),
    ],
)
def test_base_url(public_url, bind, public_host, expected):
    assert base_url(public_url, bind, public_host) == expected


@pytest.mark.parametrize(
    "public_url",
    ["ftp://x", "https://", "https://x/files", "https://x?a=1", "https://u@x", "x.example.com"],
)
def test_bad_public_urls(public_url):
    with pytest.raises(ConfigError):
        base_url(public_url, ("127.0.0.1", 1))


def test_share_url_carries_the_prefix_and_quotes_the_name():
    url = share_url("https://x.example", "/files", "TOKEN", "a b#ü.txt")
    assert url == "https://x.example/files/TOKEN/a%20b%23%C3%BC.txt"
    assert share_url("http://h:1", "", "T", "n") == "http://h:1/T/n"
