"""A browser through a relay: the sender's landing page, then the file."""

import hashlib

import pytest

from tests.browser.conftest import browser  # noqa: F401  (the shared chromium fixture)

pytestmark = pytest.mark.browser


def test_chromium_gets_the_landing_page_and_the_file_through_the_relay(browser, via, sample, tmp_path):  # noqa: F811
    served = via(sample, 5, "--single")
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(served.url)
    assert page.url == served.url  # the relay's URL, no redirect to the sender
    assert page.locator("h1").inner_text() == "sample.bin"
    assert served.share_row()["slots_used"] == 0  # the page used no slot
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.failure() is None
    saved = tmp_path / "downloaded.bin"
    download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(sample.read_bytes()).digest()
    assert download.suggested_filename == "sample.bin"
    context.close()
    assert served.wait(timeout=15) == 0  # its one download delivered: the share ended
    assert served.share_row()["state"] == "exhausted"
