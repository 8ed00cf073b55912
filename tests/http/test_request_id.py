"""PASLA_LOG_FORMAT=json and X-Request-ID: one JSON object per line, ids echoed."""

import json
import re

import pytest


def records(served) -> list[dict]:
    lines = [line for line in served.stderr().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is JSON, or this raises


def access_ids(served) -> list[str]:
    return [r.get("request_id") for r in records(served) if r["logger"] == "pasla.access"]


def test_json_logs_carry_the_request_id_that_is_echoed(pasla, sample):
    served = pasla(sample, 5, env={"PASLA_LOG_FORMAT": "json"})
    resp, _ = served.request("HEAD")
    generated = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)
    resp, _ = served.request("GET", "/favicon.ico", headers={"X-Request-ID": "trace-42.a:b_c"})
    assert (resp.status, resp.headers["X-Request-ID"]) == (404, "trace-42.a:b_c")
    served.wait_until(lambda: len(access_ids(served)) == 2)
    assert access_ids(served) == [generated, "trace-42.a:b_c"]
    record = next(r for r in records(served) if r["logger"] == "pasla.access")
    assert set(record) == {"time", "level", "logger", "pid", "message", "request_id"}
    assert record["pid"] == served.proc.pid and f"share:{served.info['id']}" in record["message"]


@pytest.mark.parametrize("offered", ["x" * 65, "a b", "<script>", "é", ""])
def test_unsafe_request_ids_are_replaced(pasla, sample, offered):
    served = pasla(sample, 5)
    resp, _ = served.request("HEAD", headers={"X-Request-ID": offered})
    assert re.fullmatch(r"[0-9a-f]{16}", resp.headers["X-Request-ID"])


def test_the_token_is_never_taken_as_a_request_id(pasla, sample):
    served = pasla(sample, 5, env={"PASLA_LOG_FORMAT": "json"})
    for offered in (served.token, f"id-{served.token}"):
        resp, _ = served.request("HEAD", headers={"X-Request-ID": offered})
        assert resp.status == 200
        assert served.token not in resp.headers["X-Request-ID"]
    # Error answers carry the id too, and the log never the token (fixture checks).
    resp, _ = served.request("GET", f"/{served.token}/wrong-name", headers={"X-Request-ID": served.token})
    assert resp.status == 404 and served.token not in resp.headers["X-Request-ID"]


def test_no_token_is_taken_as_a_request_id_on_any_path(pasla, sample):
    served = pasla(sample, 5, env={"PASLA_LOG_FORMAT": "json"})
    token = served.token
    asked = [
        ("/favicon.ico", {}),
        (f"/X/{token}/sample.bin", {"Daphne-Root-Path": "/X"}),
        (served.path, {"Daphne-Root-Path": f"/{token}"}),
    ]
    for path, extra in asked:
        for offered in (token, f"id-{token}", f"{token}.1"):
            resp, _ = served.request("GET", path, headers={"X-Request-ID": offered, **extra})
            assert re.fullmatch(r"[0-9a-f]{16}", resp.headers["X-Request-ID"]), (path, offered)
    # Proxies' ids are kept: nginx's $request_id and UUIDs.
    for offered in ("0f" * 16, "123e4567-e89b-12d3-a456-426614174000"):
        resp, _ = served.request("GET", "/favicon.ico", headers={"X-Request-ID": offered})
        assert resp.headers["X-Request-ID"] == offered
    served.wait_until(lambda: len(access_ids(served)) == 11)
    assert token not in served.stderr()
