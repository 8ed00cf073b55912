"""Part 1 in a real browser: Debian's chromium driven by Playwright."""

import hashlib
import os
import re

import pytest

pytestmark = pytest.mark.browser

SLACKBOT = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Accept": "text/html"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_single_use_link_survives_a_preview_and_downloads_once_in_the_browser(
    browser, pasla, sample, tmp_path
):
    served = pasla(sample, 5, "--single")

    # A chat app's link preview comes first.
    resp, page_html = served.request(headers=SLACKBOT)
    assert resp.status == 200 and b"<form" in page_html
    assert served.share_row()["slots_used"] == 0

    context = browser.new_context(accept_downloads=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    csp_errors = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))
    page.goto(served.url)
    assert page.locator("h1").inner_text() == "sample.bin"
    body_text = page.locator("main").inner_text()
    assert "3.0 MiB" in body_text and str(sample.stat().st_size) in body_text
    countdown = page.locator("#left")
    first = countdown.inner_text()
    assert re.fullmatch(r"4m \d\ds|5m 00s", first), first
    for _ in range(50):  # the countdown ticks (polled from here: the page's CSP forbids eval)
        page.wait_for_timeout(100)
        if countdown.inner_text() != first:
            break
    assert countdown.inner_text() != first
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
    page.screenshot(path=tmp_path / "landing-phone.png", full_page=True)
    assert served.share_row()["slots_used"] == 0 and served.downloads() == []

    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.failure() is None
    saved = tmp_path / "downloaded.bin"
    download.save_as(saved)
    assert sha(saved.read_bytes()) == sha(sample.read_bytes())
    assert download.suggested_filename == "sample.bin"
    page.screenshot(path=tmp_path / "landing-after-download.png", full_page=True)
    assert csp_errors == []
    context.close()

    assert served.wait(timeout=15) == 0  # its one download delivered: the share ended
    row = served.share_row()
    assert row["slots_used"] == 1 and row["state"] == "exhausted"


def test_the_page_works_without_javascript(browser, pasla, sample, tmp_path):
    served = pasla(sample, 5)
    context = browser.new_context(accept_downloads=True, java_script_enabled=False)
    page = context.new_page()
    page.goto(served.url)
    assert page.locator("h1").inner_text() == "sample.bin"
    assert re.fullmatch(r"\dm \d\ds", page.locator("#left").inner_text())  # rendered by the server
    page.screenshot(path=tmp_path / "landing-no-js.png", full_page=True)
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "nojs.bin"
    info.value.save_as(saved)
    assert sha(saved.read_bytes()) == sha(sample.read_bytes())
    context.close()


def test_a_used_up_link_shows_the_gone_page(browser, pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(40 << 20))
    served = pasla(big, 5, "--single")
    status, _ = served.cut_download(1 << 20, source="127.0.0.2")  # another client holds the slot
    assert status == 200
    served.wait_until(lambda: served.downloads() and served.downloads()[0]["outcome"] != "in_progress")
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url)
    page.click("#download")
    page.wait_for_load_state()
    assert "Link no longer available" in page.locator("h1").inner_text()
    assert "new link" in page.locator("main").inner_text()
    page.screenshot(path=tmp_path / "gone.png", full_page=True)
    context.close()
