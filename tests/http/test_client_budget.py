"""The bytes budget per client (PASLA_CLIENT_BYTES_PER_HOUR), on a real server.

A download that reaches its client's budget ends there: the client gets a
short body, the history row says over_budget, the slot keeps what was
delivered. The next request from that client is refused with 429 and a
Retry-After, before anything is claimed; every attempt to get round it
(a Range request, HEAD to probe) is tried here. Across shares and workers:
tests/postgres/test_client_budget_serve.py.
"""

import http.client
import os

import pytest

BUDGET = 1 << 20
BIG = 3 << 20
VARIANTS = {
    "sendfile": ((), {}),
    "read-loop": ((), {"PASLA_ZERO_COPY": "0"}),
    "https": (("--https",), {}),
}


def start(pasla, tmp_path, variant="sendfile", size=BIG, budget=BUDGET):
    args, env = VARIANTS[variant]
    shared = tmp_path / "shared.bin"
    payload = os.urandom(size)
    shared.write_bytes(payload)
    served = pasla(shared, 5, *args, "--no-checksum", env={"PASLA_CLIENT_BYTES_PER_HOUR": str(budget), **env})
    return served, payload


def get(served, method="GET", headers=None, source=None):
    """(status, headers, body): the body as far as it came before the connection ended."""
    if served.info.get("scheme") == "https":
        conn = served.https_connection(source=source)
    else:
        conn = served.connection(source=source)
    try:
        conn.request(method, served.path, headers=headers or {})
        resp = conn.getresponse()
        try:
            body = resp.read()
        except http.client.IncompleteRead as short:
            body = short.partial
        return resp.status, dict(resp.getheaders()), body
    finally:
        conn.close()


def settled(served):
    rows = served.downloads()
    return rows if rows and all(r["outcome"] != "in_progress" for r in rows) else None


def assert_refused(status, headers):
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 3600


@pytest.mark.parametrize("variant", VARIANTS.keys())
def test_a_download_is_cut_at_the_budget_and_the_next_request_is_429(pasla, tmp_path, variant):
    served, payload = start(pasla, tmp_path, variant)
    status, headers, body = get(served)
    assert status == 200 and headers["Content-Length"] == str(BIG)
    assert body == payload[:BUDGET]  # to the byte: grants never pass the budget
    (row,) = served.wait_until(lambda: settled(served))
    assert row["outcome"] == "over_budget" and row["bytes_sent"] == BUDGET
    (slot,) = served.query("select covered, complete from shares_slot")
    assert slot == (f"[[0, {BUDGET}]]", 0)  # what came is kept: the slot resumes from there
    assert "bytes budget for the hour" in served.stderr()
    assert "Traceback" not in served.stderr()

    assert_refused(*get(served)[:2])
    # Nothing claimed, nothing recorded for the refused request.
    assert len(served.downloads()) == 1


def test_a_range_request_does_not_escape_the_budget(pasla, tmp_path):
    served, payload = start(pasla, tmp_path)
    status, _, body = get(served, headers={"Range": "bytes=0-699999"})
    assert status == 206 and body == payload[:700_000]
    # The rest of the budget, wherever in the file it is asked for.
    status, _, body = get(served, headers={"Range": "bytes=2000000-"})
    assert status == 206 and body == payload[2_000_000 : 2_000_000 + BUDGET - 700_000]
    assert_refused(*get(served, headers={"Range": "bytes=0-0"})[:2])
    assert_refused(*get(served, headers={"Range": "bytes=3000000-3000009", "If-Range": "x"})[:2])
    rows = served.wait_until(lambda: settled(served))
    assert sum(r["bytes_sent"] for r in rows) == BUDGET


def test_head_is_not_charged(pasla, tmp_path):
    size = 600 << 10
    served, payload = start(pasla, tmp_path, size=size, budget=size)
    for _ in range(30):
        status, headers, _ = get(served, "HEAD")
        assert status == 200 and headers["Content-Length"] == str(size)
    status, _, body = get(served)
    assert status == 200 and body == payload  # the whole budget was still there
    # Now it is spent: HEAD is refused like any request, and still charges nothing.
    assert_refused(*get(served, "HEAD")[:2])
    assert_refused(*get(served)[:2])


def test_each_client_address_has_its_own_budget(pasla, tmp_path):
    served, payload = start(pasla, tmp_path)
    assert get(served)[2] == payload[:BUDGET]
    assert_refused(*get(served)[:2])
    status, _, body = get(served, headers={"Range": "bytes=0-99"}, source="127.0.0.2")
    assert status == 206 and body == payload[:100]


def test_no_budget_by_default(pasla, tmp_path):
    shared = tmp_path / "shared.bin"
    shared.write_bytes(os.urandom(BIG))
    served = pasla(shared, 5, "--no-checksum")
    for _ in range(3):
        status, _, body = get(served)
        assert status == 200 and len(body) == BIG
