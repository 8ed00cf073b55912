"""Who is asking: the socket peer, unless a trusted proxy says otherwise."""

import http.client
import json
import secrets

from tests.conftest import run_pasla


def guess() -> str:
    return f"/{secrets.token_urlsafe(16)}/sample.bin"


def banned_ips(served) -> set[str]:
    return {row[0] for row in served.query("select ip from shares_ban")}


def test_forwarded_headers_are_ignored_without_trust_proxy(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "2"})
    spoof = {"X-Forwarded-For": "203.0.113.1", "X-Real-IP": "203.0.113.2", "CF-Connecting-IP": "203.0.113.3"}
    resp, _ = served.request("GET", headers={**spoof, "Range": "bytes=0-0"})
    assert resp.status == 206
    assert served.downloads()[0]["client_ip"] == "127.0.0.1"
    # Rotating the header buys nothing: the strikes land on the socket peer.
    for n in range(2):
        served.request("GET", guess(), headers={"X-Forwarded-For": f"198.51.100.{n}"})
    assert banned_ips(served) == {"127.0.0.1"}
    assert served.request("HEAD", headers={"X-Forwarded-For": "198.51.100.99"})[0].status == 403


def test_trust_proxy_reads_the_rightmost_forwarded_entry(pasla, sample):
    served = pasla(sample, 1, "--trust-proxy")
    ranged = {"Range": "bytes=0-0"}
    cases = [
        ("10.9.9.9, 198.51.100.7", "198.51.100.7"),  # the left part is whatever the client sent
        ("198.51.100.8", "198.51.100.8"),
        ("not-an-address", "127.0.0.1"),  # malformed: fall back to the peer
        ("198.51.100.9, ", "127.0.0.1"),
    ]
    for header, _ in cases:
        assert served.request("GET", headers={**ranged, "X-Forwarded-For": header})[0].status == 206
    assert [row["client_ip"] for row in served.downloads()] == [ip for _, ip in cases]


def test_trust_header_reads_that_header_only(pasla, sample):
    served = pasla(sample, 1, "--trust-proxy", "--trust-header", "CF-Connecting-IP")
    headers = {"Range": "bytes=0-0", "X-Forwarded-For": "10.1.1.1", "CF-Connecting-IP": "203.0.113.50"}
    assert served.request("GET", headers=headers)[0].status == 206
    headers = {"Range": "bytes=0-0", "X-Forwarded-For": "10.1.1.1"}
    assert served.request("GET", headers=headers)[0].status == 206
    assert [row["client_ip"] for row in served.downloads()] == ["203.0.113.50", "127.0.0.1"]


def test_rotating_forwarded_addresses_still_ban_the_proxy_peer(pasla, sample):
    served = pasla(sample, 1, "--trust-proxy", env={"PASLA_BAN_THRESHOLD": "3"})
    for n in range(3):
        resp, _ = served.request("GET", guess(), headers={"X-Forwarded-For": f"203.0.113.{n}"})
        assert resp.status == 404
    assert banned_ips(served) == {"127.0.0.1"}  # no single forwarded address reached 3
    resp, _ = served.request("HEAD", headers={"X-Forwarded-For": "203.0.113.200"})
    assert resp.status == 403


def test_trusted_identity_is_banned_on_its_own(pasla, sample):
    served = pasla(sample, 1, "--trust-proxy", env={"PASLA_BAN_THRESHOLD": "2"})
    for _ in range(2):
        served.request("GET", guess(), headers={"X-Forwarded-For": "203.0.113.7"})
    assert banned_ips(served) == {"203.0.113.7", "127.0.0.1"}


def test_allowlist_refuses_outsiders_on_get_and_head(pasla, sample):
    served = pasla(sample, 1, "--allow-ip", "127.0.0.1/32", "--allow-ip", "2001:db8::/32")
    for method in ("GET", "HEAD"):
        resp, body = served.request(method, source="127.0.0.2")
        assert resp.status == 403
    _, body = served.request("GET", source="127.0.0.2")
    assert json.loads(body)["error"] == "forbidden"
    assert served.request("HEAD", source="127.0.0.1")[0].status == 200
    assert served.downloads() == []


def test_outsiders_never_accumulate_strikes(pasla, sample):
    served = pasla(sample, 1, "--allow-ip", "127.0.0.1", env={"PASLA_BAN_THRESHOLD": "1"})
    for _ in range(5):
        assert served.request("GET", guess(), source="127.0.0.3")[0].status == 403
    assert served.query("select count(*) from shares_ban") == [(0,)]


def test_spoofed_forwarded_address_does_not_pass_the_allowlist(pasla, sample):
    # Without --trust-proxy the header is not even read.
    served = pasla(sample, 1, "--allow-ip", "10.0.0.0/8")
    assert served.request("HEAD", headers={"X-Forwarded-For": "10.1.2.3"})[0].status == 403


def test_with_trust_proxy_both_identity_and_peer_must_be_allowed(pasla, sample):
    served = pasla(sample, 1, "--trust-proxy", "--allow-ip", "198.51.100.0/24")
    # The forwarded address is inside, but the socket peer (127.0.0.1) is not.
    assert served.request("HEAD", headers={"X-Forwarded-For": "198.51.100.7"})[0].status == 403
    both = pasla(sample, 1, "--trust-proxy", "--allow-ip", "198.51.100.0/24", "--allow-ip", "127.0.0.1")
    assert both.request("HEAD", headers={"X-Forwarded-For": "198.51.100.7"})[0].status == 200
    assert both.request("HEAD", headers={"X-Forwarded-For": "203.0.113.7"})[0].status == 403


def test_bad_client_options_exit_1_with_one_line(data_dir, sample):
    cases = [
        (["--allow-ip", "10.0.0.0/33"], "invalid CIDR"),
        (["--allow-ip", "nonsense"], "invalid CIDR"),
        (["--trust-header", "X-Real-IP"], "--trust-header needs --trust-proxy"),
        (["--trust-proxy", "--trust-header", "X_Real_IP"], "invalid header name"),
    ]
    for args, message in cases:
        result = run_pasla([sample, 1, "-p", "0", *args], data_dir)
        assert result.returncode == 1, args
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pasla: error: ") and message in lines[0], lines


def test_allowlist_speaks_ipv6_and_folds_mapped_ipv4(pasla, sample):
    served = pasla(sample, 1, "--allow-ip", "::1/128")
    conn = http.client.HTTPConnection("::1", served.port, timeout=10)
    conn.request("HEAD", served.path)
    assert conn.getresponse().status == 200
    conn.close()
    # 127.0.0.1 reaches the dual-stack socket as ::ffff:127.0.0.1: still IPv4, still outside.
    assert served.request("HEAD")[0].status == 403
    v4 = pasla(sample, 1, "--allow-ip", "127.0.0.0/8")
    assert v4.request("HEAD")[0].status == 200
