"""Sliding-window rate limit: 429 with Retry-After, never for the right token."""

import json
import secrets

import pytest


def test_429_after_the_limit_with_its_headers(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "5", "PASLA_RATE_LIMIT_WINDOW": "60"})
    remaining = []
    for _ in range(5):
        resp, _ = served.request("GET", "/favicon.ico")
        assert resp.status == 404
        assert resp.headers["RateLimit-Limit"] == "5"
        assert 1 <= int(resp.headers["RateLimit-Reset"]) <= 60
        remaining.append(int(resp.headers["RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    resp, body = served.request("GET", "/favicon.ico")
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 120
    assert resp.headers["RateLimit-Remaining"] == "0"
    assert json.loads(body) == {"error": "rate_limited", "message": "Slow down and try again later."}
    resp, body = served.request("GET", "/robots.txt", headers={"Accept": "text/html"})
    assert resp.status == 429
    assert resp.headers["Content-Type"].startswith("text/html")
    assert b"Too many requests" in body and b"Traceback" not in body
    # Another client has its own window.
    assert served.request("GET", "/favicon.ico", source="127.0.0.2")[0].status == 404


def test_other_methods_meet_the_rate_gate_before_their_405(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "2"})
    assert served.request("POST", "/favicon.ico", body=b"x")[0].status == 405
    assert served.request("DELETE", "/anything")[0].status == 405
    assert served.request("PUT", "/anything", body=b"x")[0].status == 429


# POST at the share's URL is the landing page's button (tests/http/test_landing.py).
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_at_the_share_url_are_not_token_exempt(pasla, sample, method):
    served = pasla(sample, 1, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "5"})
    statuses = [served.request(method, body=b"x")[0].status for _ in range(8)]
    assert statuses == [405] * 5 + [429] * 3
    # The same client's download is still exempt, and the wrong token gets
    # the same 429 as the right one: no answer tells them apart.
    assert served.request("GET", headers={"Range": "bytes=0-9"})[0].status == 206
    wrong = f"/{secrets.token_urlsafe(16)}/sample.bin"
    assert served.request(method, wrong, body=b"x")[0].status == 429
    assert served.share_row()["state"] == "live"


def test_the_right_token_is_never_throttled(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_RATE_LIMIT_MAX_REQUESTS": "5"})
    size = sample.stat().st_size
    expected = sample.read_bytes()
    for n in range(30):
        start = n * (size // 30)
        resp, body = served.request("GET", headers={"Range": f"bytes={start}-{start + 999}"})
        assert resp.status == 206, n
        assert body == expected[start : start + 1000]
        assert "RateLimit-Remaining" not in resp.headers
    # Those 30 did not use up the window of the same client.
    resp, _ = served.request("GET", "/favicon.ico")
    assert resp.headers["RateLimit-Remaining"] == "4"
    # Even a client already over its limit still gets the file.
    for _ in range(5):
        served.request("GET", "/favicon.ico")
    assert served.request("GET", "/favicon.ico")[0].status == 429
    assert served.request("GET", headers={"Range": "bytes=0-9"})[0].status == 206
    # A wrong token over the limit is not let through by that exemption.
    assert served.request("GET", f"/{secrets.token_urlsafe(16)}/sample.bin")[0].status == 429


def test_proxy_peer_has_an_aggregate_cap(pasla, sample):
    served = pasla(
        sample,
        1,
        "--trust-proxy",
        env={"PASLA_MAX_REQUESTS_PER_PROXY_IP": "4", "PASLA_RATE_LIMIT_MAX_REQUESTS": "20"},
    )
    statuses = [
        served.request("GET", "/favicon.ico", headers={"X-Forwarded-For": f"203.0.113.{n}"})[0].status
        for n in range(6)
    ]
    assert statuses == [404, 404, 404, 404, 429, 429]
    # The right token is exempt from the aggregate cap as well.
    resp, _ = served.request("HEAD", headers={"X-Forwarded-For": "203.0.113.77"})
    assert resp.status == 200
