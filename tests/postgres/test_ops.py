"""/healthz and /metrics: for loopback (and PASLA_ADMIN_ALLOW) only, on both backends."""

import json
import re

import pytest

from tests.conftest import wait_until

OUTSIDER = "127.0.0.2"  # not 127.0.0.1: outside the admin networks


def metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} missing from:\n{text}"
    return float(match.group(1))


def test_health_and_metrics_for_loopback_only(pasla, sample, backend):
    served = pasla(sample, 5, env={**backend.env, "PASLA_RATE_LIMIT_MAX_REQUESTS": "3"})
    resp, body = served.request("GET", "/healthz")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok", "database": "ok", "cache": "ok"}
    resp, body = served.request("GET", served.path)
    assert (resp.status, len(body)) == (200, sample.stat().st_size)
    resp, text = served.request("GET", "/metrics")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    text = text.decode()
    assert metric(text, "pasla_requests_total", '{status="200"}') == 2  # /healthz and the download
    assert metric(text, "pasla_bytes_served_total") >= sample.stat().st_size
    assert metric(text, "pasla_slot_claims_total") == 1
    assert metric(text, "pasla_active_transfers") == 0
    assert metric(text, "pasla_bans_total") == 0
    # Monitoring polls often: its own gate, not the rate limit.
    assert {served.request("GET", "/healthz")[0].status for _ in range(6)} == {200}
    # Everyone else: exactly an unknown path (status, type and body).
    unknown = served.request("GET", "/no-such/page", source=OUTSIDER)
    for path in ("/healthz", "/metrics"):
        resp, body = served.request("GET", path, source=OUTSIDER)
        assert (resp.status, resp.headers["Content-Type"], body) == (
            unknown[0].status,
            unknown[0].getheader("Content-Type"),
            unknown[1],
        )
        assert b"pasla_" not in body and b"database" not in body


def test_health_says_503_when_the_cache_is_unreachable(pasla, sample, private_redis):
    private_redis.start()
    served = pasla(sample, 5, env={"CACHE_URL": private_redis.url})
    # Gone after the start (an unreachable cache at start is exit 1).
    private_redis.stop()
    resp, body = served.request("GET", "/healthz")
    assert resp.status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "ok", "cache": "unreachable"}


@pytest.mark.postgres
def test_metrics_add_up_every_worker(serve, postgres, sample):
    server = serve(postgres)
    share = server.share(sample, 5)
    for n in range(12):
        resp, _ = server.request("GET", share["path"], source=f"127.0.4.{n + 1}")
        assert resp.status == 200

    # An access line is written once the body has gone out and its books
    # are closed, a moment after the client has every byte: wait for all 12.
    def served_by_pid():
        by_pid = server.access_by_pid().items()
        served = {pid: [m for m in messages if " 200 " in m] for pid, messages in by_pid}
        return served if sum(map(len, served.values())) >= 12 else None

    served = wait_until(served_by_pid, 10)
    assert {pid for pid, lines in served.items() if lines} == set(server.workers)
    resp, text = server.request("GET", "/metrics")
    text = text.decode()
    assert metric(text, "pasla_requests_total", '{status="200"}') == 12
    assert metric(text, "pasla_slot_claims_total") == 12
    assert metric(text, "pasla_bytes_served_total") == 12 * sample.stat().st_size
    resp, body = server.request("GET", "/healthz")
    assert json.loads(body)["status"] == "ok"
