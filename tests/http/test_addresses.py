"""Dual-stack by default, one family on request."""

import http.client
import socket
import urllib.parse

import pytest


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback here")
def test_dual_stack_serves_ipv4_and_ipv6(pasla, sample, monkeypatch):
    served = pasla(sample, env={"PASLA_PUBLIC_HOST": ""})
    assert served.info["url_ipv6"]
    for host in ("127.0.0.1", "::1"):
        conn = http.client.HTTPConnection(host, served.port, timeout=10)
        conn.request("GET", served.path)
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == sample.read_bytes()
        conn.close()
    clients = {row["client_ip"] for row in served.downloads()}
    assert clients == {"127.0.0.1", "::1"}  # IPv4-mapped addresses are folded


def test_ipv4_only(pasla, sample):
    served = pasla(sample, "-4")
    assert served.info["url_ipv6"] is None
    assert urllib.parse.urlsplit(served.info["url_ipv4"]).hostname == "127.0.0.1"
    resp, body = served.request()
    assert resp.status == 200
    if ipv6_available():
        with socket.socket(socket.AF_INET6) as s:
            assert s.connect_ex(("::1", served.port)) != 0
