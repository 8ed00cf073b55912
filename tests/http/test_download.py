"""The recipient's view of one file: headers, body, ranges, errors."""

import base64
import hashlib
import urllib.parse

import pytest


@pytest.fixture
def served(pasla, sample):
    return pasla(sample, 5)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_full_get_headers_and_body(served, sample):
    resp, body = served.request()
    content = sample.read_bytes()
    assert resp.status == 200
    assert body == content
    assert resp.getheader("Content-Length") == str(len(content))
    assert resp.getheader("Accept-Ranges") == "bytes"
    assert resp.getheader("Content-Disposition") == 'attachment; filename="sample.bin"'
    assert resp.getheader("ETag").startswith('"') and resp.getheader("ETag").endswith('"')
    assert resp.getheader("Last-Modified").endswith("GMT")
    assert resp.getheader("Cache-Control") == "no-store"
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert resp.getheader("Referrer-Policy") == "no-referrer"
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    assert resp.getheader("Repr-Digest") == f"sha-256=:{digest}:"
    assert resp.getheader("Digest") == f"sha-256={digest}"
    assert served.info["file_sha256"] == sha256(content)


def test_no_server_banner_or_versions(served):
    resp, body = served.request()
    assert resp.getheader("Server") in (None, "")
    headers = " ".join(f"{k}: {v}" for k, v in resp.getheaders()).lower()
    for word in ("daphne", "twisted", "django", "python"):
        assert word not in headers
    resp, body = served.request(path="/nothing-here")
    assert b"daphne" not in body.lower() and b"django" not in body.lower()


def test_head_matches_get_and_sends_no_body(served, sample):
    resp, body = served.request("HEAD")
    assert resp.status == 200
    assert body == b""
    assert resp.getheader("Content-Length") == str(sample.stat().st_size)
    assert resp.getheader("Repr-Digest")
    assert served.share_row()["slots_used"] == 0


def test_non_ascii_name_gets_rfc6266_filename_star(pasla, tmp_path):
    path = tmp_path / "rapport été ü.txt"
    path.write_bytes(b"bonjour")
    served = pasla(path)
    assert urllib.parse.unquote(served.path.split("/")[2]) == path.name
    resp, body = served.request()
    assert resp.status == 200 and body == b"bonjour"
    disposition = resp.getheader("Content-Disposition")
    assert disposition == (
        "attachment; filename=\"rapport ete u.txt\"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9%20%C3%BC.txt"
    )


RANGE_CASES = [
    ("bytes=0-99", 206, (0, 99)),
    ("bytes=100-", 206, (100, None)),
    ("bytes=-100", 206, (-100, None)),
    ("bytes=10-99999999999", 206, (10, None)),  # clamped
    ("bytes=0-0,5-9", 200, None),  # multi-range: whole file
    ("items=0-9", 200, None),  # unknown unit
]


@pytest.mark.parametrize(("header", "status", "span"), RANGE_CASES)
def test_range_requests(served, sample, header, status, span):
    content = sample.read_bytes()
    resp, body = served.request(headers={"Range": header})
    assert resp.status == status
    if span is None:
        assert body == content
        assert resp.getheader("Content-Range") is None
        return
    start, end = span
    start = start if start >= 0 else len(content) + start
    expected = content[start : (end + 1 if end is not None else None)]
    assert body == expected
    last = start + len(expected) - 1
    assert resp.getheader("Content-Range") == f"bytes {start}-{last}/{len(content)}"
    assert resp.getheader("Content-Length") == str(len(expected))


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0"])
def test_unsatisfiable_ranges_get_416(served, sample, header):
    size = sample.stat().st_size
    resp, _body = served.request(headers={"Range": header.format(size=size)})
    assert resp.status == 416
    assert resp.getheader("Content-Range") == f"bytes */{size}"
    assert served.share_row()["slots_used"] == 0


def test_if_range(served, sample):
    content = sample.read_bytes()
    head, _ = served.request("HEAD")
    etag, modified = head.getheader("ETag"), head.getheader("Last-Modified")
    for validator in (etag, modified):
        resp, body = served.request(headers={"Range": "bytes=5-9", "If-Range": validator})
        assert (resp.status, body) == (206, content[5:10])
    for stale in ('"not-the-etag"', "W/" + etag, "Mon, 01 Jan 2001 00:00:00 GMT"):
        resp, body = served.request(headers={"Range": "bytes=5-9", "If-Range": stale})
        assert (resp.status, len(body)) == (200, len(content))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/favicon.ico",
        "/{token}",
        "/{token}/other-name.bin",
        "/AAAAAAAAAAAAAAAAAAAAAA/sample.bin",
        "/x/y/z",
    ],
)
def test_wrong_paths_are_404_without_leaking(served, path):
    resp, body = served.request(path=path.format(token=served.token))
    assert resp.status == 404
    assert served.token.encode() not in body
    assert b"sample.bin" not in body and b"/tmp" not in body


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(served, method):
    resp, _body = served.request(method, body=b"x" if method in ("PUT", "PATCH") else None)
    assert resp.status == 405
    assert resp.getheader("Allow") == "GET, HEAD, POST"  # POST: the landing page's button


def test_a_post_without_the_pages_ticket_is_sent_to_the_page(served):
    resp, body = served.request("POST")
    assert resp.status == 303 and resp.getheader("Location") == served.path and body == b""
    assert served.downloads() == []


def test_error_bodies_are_json_for_programs_and_html_for_browsers(served):
    resp, body = served.request(path="/nope")
    assert resp.getheader("Content-Type").startswith("application/json")
    assert b'"not_found"' in body
    resp, body = served.request(path="/nope", headers={"Accept": "text/html,*/*;q=0.8"})
    assert resp.getheader("Content-Type").startswith("text/html")
    assert b"<h1>Not found</h1>" in body


def test_history_rows_record_each_download(served, sample):
    served.request(headers={"Range": "bytes=0-9", "User-Agent": "curl/8.0"})
    served.request()
    rows = served.wait_until(
        lambda: (
            (r := served.downloads()) and all(x["outcome"] != "in_progress" for x in r) and len(r) == 2 and r
        )
    )
    first, second = rows
    assert (first["status"], first["range_start"], first["range_end"], first["bytes_sent"]) == (206, 0, 9, 10)
    assert first["client_ip"] == "127.0.0.1" and first["user_agent"] == "curl/8.0"
    assert first["outcome"] == second["outcome"] == "complete"
    assert second["bytes_sent"] == sample.stat().st_size
    share = served.wait_until(
        lambda: (s := served.share_row())["bytes_served"] == 10 + sample.stat().st_size and s
    )
    # The full GET from the same client re-fetched only 10 delivered bytes: it
    # continues the first request's slot (see README, "Recipients").
    assert share["slots_used"] == 1


def test_empty_file(pasla, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    served = pasla(path)
    resp, body = served.request()
    assert (resp.status, body, resp.getheader("Content-Length")) == (200, b"", "0")
    resp, _ = served.request(headers={"Range": "bytes=0-"})
    assert resp.status == 416
