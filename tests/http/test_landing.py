"""Part 1 over HTTP: browsers get a page, programs get the file, bots burn nothing."""

import hashlib
import html
import re
import subprocess

import pytest

CHROME_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
)
SLACKBOT = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Accept": "text/html"}


def ticket_of(page: bytes) -> str:
    match = re.search(rb'name="dl" value="([^"]+)"', page)
    assert match, page[:500]
    return html.unescape(match.group(1).decode())


def no_slot_used(served):
    return served.share_row()["slots_used"] == 0 and served.downloads() == []


def test_a_browser_gets_the_landing_page_and_nothing_is_consumed(pasla, sample):
    served = pasla(sample, 5, "--single")
    resp, page = served.request(headers={"Accept": CHROME_ACCEPT})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    text = page.decode()
    assert "sample.bin" in text and str(sample.stat().st_size) in text
    assert "Expires in" in text and 'id="left"' in text and "Downloads left" in text
    assert hashlib.sha256(sample.read_bytes()).hexdigest() in text  # files ≤ 1 GiB are checksummed
    assert "<svg" in text  # the QR code, inline
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "'nonce-" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert text.count(f'nonce="{nonce}"') == 2  # the style and the countdown script, nothing else runs
    assert "http://" not in text.replace(served.url, "")  # no external assets
    assert "Content-Disposition" not in resp.headers
    assert no_slot_used(served)


def test_a_preview_bot_cannot_burn_a_single_use_link(pasla, sample):
    served = pasla(sample, 5, "--single")
    for _ in range(3):
        resp, page = served.request(headers=SLACKBOT)
        assert resp.status == 200 and b"<form" in page
    assert no_slot_used(served)
    resp, body = served.request(headers={"Accept": "*/*", "User-Agent": "curl/8.5.0"})
    assert resp.status == 200 and body == sample.read_bytes()


@pytest.mark.parametrize(
    "headers",
    [
        {},  # Invoke-WebRequest sends no Accept
        {"Accept": "*/*", "User-Agent": "curl/8.5.0"},
        {"Accept": "*/*", "User-Agent": "Wget/1.21.4"},
    ],
)
def test_programs_get_the_file_directly(pasla, sample, headers):
    served = pasla(sample, 5)
    resp, body = served.request(headers=headers)
    assert resp.status == 200 and body == sample.read_bytes()


def test_curl_without_accept_gets_the_file(pasla, sample, tmp_path):
    served = pasla(sample, 5)
    out = tmp_path / "got.bin"
    done = subprocess.run(["curl", "-sS", "-f", "-o", str(out), served.url], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == sample.read_bytes()


def test_the_page_ticket_downloads_and_browser_style_resume_works(pasla, sample):
    served = pasla(sample, 5, "--single")
    _, page = served.request(headers={"Accept": CHROME_ACCEPT})
    url = f"{served.path}?dl={ticket_of(page)}"
    resp, body = served.request(path=url, headers={"Accept": CHROME_ACCEPT, "Range": "bytes=0-99999"})
    assert resp.status == 206 and body == sample.read_bytes()[:100000]
    etag = resp.headers["ETag"]
    resp, rest = served.request(
        path=url, headers={"Accept": CHROME_ACCEPT, "Range": "bytes=100000-", "If-Range": etag}
    )
    assert resp.status == 206 and body + rest == sample.read_bytes()
    assert served.share_row()["slots_used"] == 1


@pytest.mark.parametrize(
    "ticket",
    ["", "abc", "6b49d200.AAAAAAAAAAAAAAAAAAAAAA", "ffffffffff.AAAAAAAAAAAAAAAAAAAAAA"],
)
def test_forged_tickets_get_the_page_not_the_file(pasla, sample, ticket):
    served = pasla(sample, 5, "--single")
    resp, page = served.request(path=f"{served.path}?dl={ticket}", headers={"Accept": CHROME_ACCEPT})
    assert resp.status == 200 and b"<form" in page
    assert no_slot_used(served)


def test_a_ticket_is_useless_from_another_address(pasla, sample):
    served = pasla(sample, 5, "--single")
    _, page = served.request(headers={"Accept": CHROME_ACCEPT})
    url = f"{served.path}?dl={ticket_of(page)}"
    resp, body = served.request(path=url, headers={"Accept": CHROME_ACCEPT}, source="127.0.0.2")
    assert resp.status == 200 and b"<form" in body
    assert no_slot_used(served)


def test_a_used_up_link_shows_a_clear_410_page(pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (40 << 20))
    served = pasla(big, 5, "--single")
    status, _ = served.cut_download(1 << 20)  # someone holds the only slot, unfinished
    assert status == 200
    served.wait_until(lambda: served.downloads() and served.downloads()[0]["outcome"] != "in_progress")
    _, page = served.request(headers={"Accept": CHROME_ACCEPT}, source="127.0.0.2")
    assert b"Downloads left" in page
    url = f"{served.path}?dl={ticket_of(page)}"
    resp, body = served.request(path=url, headers={"Accept": CHROME_ACCEPT}, source="127.0.0.2")
    assert resp.status == 410
    assert resp.headers["Content-Type"].startswith("text/html")
    assert b"used up" in body and b"new link" in body
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    resp, body = served.request(source="127.0.0.2")
    assert resp.status == 410 and resp.headers["Content-Type"] == "application/json"


def test_a_browser_resume_after_the_ticket_went_stale_still_gets_file_bytes(pasla, sample):
    """GET + Range + If-Range is a resume of the file, never answered with the page."""
    served = pasla(sample, 5)
    resp, _ = served.request("HEAD")
    etag = resp.headers["ETag"]
    resp, body = served.request(
        path=f"{served.path}?dl=6b49d200.AAAAAAAAAAAAAAAAAAAAAA",
        headers={"Accept": CHROME_ACCEPT, "Range": "bytes=1000-", "If-Range": etag},
    )
    assert resp.status == 206 and body == sample.read_bytes()[1000:]
    assert resp.headers["Vary"] == "Accept"
    resp, page = served.request(headers={"Accept": CHROME_ACCEPT, "Range": "bytes=1000-"})
    assert resp.status == 200 and b"<form" in page  # a bare Range is not a resume
