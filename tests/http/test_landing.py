"""Part 1 over HTTP: browsers get a page, programs get the file, bots burn nothing."""

import hashlib
import html
import re
import secrets
import subprocess

import pytest

CHROME_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
)
SLACKBOT = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Accept": "text/html"}


def action_of(page: bytes) -> str:
    """The URL the page's Download button POSTs to (its page ticket in the query)."""
    match = re.search(rb'<form method="post" action="([^"]+)"', page)
    assert match, page[:500]
    return html.unescape(match.group(1).decode())


def press_download(served, page: bytes, source=None, headers=None) -> str:
    """POST the page's button as a browser does; returns the URL it is sent on to."""
    resp, body = served.request(
        "POST", path=action_of(page), headers={"Accept": CHROME_ACCEPT, **(headers or {})}, source=source
    )
    assert resp.status == 303 and body == b"", (resp.status, body[:200])
    return resp.headers["Location"]


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


def test_the_button_downloads_and_browser_style_resume_works(pasla, sample):
    served = pasla(sample, 5, "--single")
    _, page = served.request(headers={"Accept": CHROME_ACCEPT})
    url = press_download(served, page)
    assert no_slot_used(served)  # pressing the button is not the download
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
    url = press_download(served, page)
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
    url = press_download(served, page, source="127.0.0.2")
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


# --- the Download button is a POST; only its answer leads to the file -------


def test_the_page_ticket_alone_never_fetches_the_file(pasla, sample):
    """A scanner that reads the form's action (or builds a GET from it) gets the page again."""
    served = pasla(sample, 5, "--single")
    _, page = served.request(headers={"Accept": CHROME_ACCEPT})
    assert b'<form method="get"' not in page and b"<form" in page
    for headers in ({"Accept": CHROME_ACCEPT}, {"Accept": CHROME_ACCEPT, "Range": "bytes=0-"}):
        resp, again = served.request(path=action_of(page), headers=headers)
        assert resp.status == 200 and b"<form" in again
    assert no_slot_used(served)


@pytest.mark.parametrize(
    ("why", "source", "headers", "tamper"),
    [
        ("another address", "127.0.0.2", {}, None),
        ("another site", None, {"Sec-Fetch-Site": "cross-site"}, None),
        ("a sibling site", None, {"Sec-Fetch-Site": "same-site"}, None),
        ("a forged ticket", None, {}, lambda url: url.rsplit("=", 1)[0] + "=6b49d200.AAAAAAAAAAAAAAAAAAAAAA"),
        ("no ticket", None, {}, lambda url: url.split("?", 1)[0]),
    ],
)
def test_a_button_press_that_is_not_from_this_page_goes_back_to_the_page(
    pasla, sample, why, source, headers, tamper
):
    served = pasla(sample, 5, "--single")
    _, page = served.request(headers={"Accept": CHROME_ACCEPT})
    action = action_of(page)
    if tamper:
        action = tamper(action)
    resp, body = served.request(
        "POST", path=action, headers={"Accept": CHROME_ACCEPT, **headers}, source=source
    )
    assert resp.status == 303, why
    assert resp.headers["Location"] == served.path  # the page, no ticket
    resp, page_again = served.request(path=resp.headers["Location"], headers={"Accept": CHROME_ACCEPT})
    assert resp.status == 200 and b"<form" in page_again
    assert no_slot_used(served)


def test_the_button_works_from_the_same_origin_and_the_url_it_leads_to_is_bound_to_the_client(pasla, sample):
    served = pasla(sample, 5, 3)
    _, page = served.request(headers={"Accept": CHROME_ACCEPT})
    url = press_download(served, page, headers={"Sec-Fetch-Site": "same-origin"})
    assert url.startswith(served.path + "?dl=") and url != action_of(page)
    resp, body = served.request(path=url, headers={"Accept": CHROME_ACCEPT}, source="127.0.0.2")
    assert resp.status == 200 and b"<form" in body  # copied elsewhere: only the page
    assert no_slot_used(served)
    resp, body = served.request(path=url, headers={"Accept": CHROME_ACCEPT})
    assert resp.status == 200 and body == sample.read_bytes()
    assert resp.headers["Content-Disposition"] == 'attachment; filename="sample.bin"'


def test_a_name_with_a_question_mark_and_a_hash_keeps_its_button_working(pasla, tmp_path):
    odd = tmp_path / "what? #1.txt"
    odd.write_bytes(b"odd name\n")
    served = pasla(odd, 5)
    _, page = served.request(headers={"Accept": CHROME_ACCEPT})
    url = press_download(served, page)
    resp, body = served.request(path=url, headers={"Accept": CHROME_ACCEPT})
    assert resp.status == 200 and body == b"odd name\n"


def test_guessing_tokens_by_post_earns_strikes_like_get(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "3"})
    for _ in range(3):
        resp, _ = served.request("POST", f"/{secrets.token_urlsafe(16)}/sample.bin?dl=x")
        assert resp.status == 404
    resp, _ = served.request("HEAD")
    assert resp.status == 403  # banned, right link included


def test_a_right_token_with_another_name_posted_is_no_guess(pasla, sample):
    served = pasla(sample, 1, env={"PASLA_BAN_THRESHOLD": "1"})
    resp, _ = served.request("POST", f"/{served.token}/other.bin")
    assert resp.status == 404
    assert served.request("HEAD")[0].status == 200


def test_other_methods_on_a_share_url_are_still_405(pasla, sample):
    served = pasla(sample, 5)
    for method in ("PUT", "DELETE", "PATCH"):
        resp, _ = served.request(method)
        assert resp.status == 405 and resp.headers["Allow"] == "GET, HEAD, POST"
    resp, _ = served.request("POST", "/favicon.ico")
    assert resp.status == 405 and resp.headers["Allow"] == "GET, HEAD"
    assert no_slot_used(served)
