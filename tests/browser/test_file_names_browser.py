"""chromium saves a share under its exact name (filename*), after a real click on the page."""

import pytest

from tests.file_names import NAMES, ids

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("name", "_curl_saves", "browser_saves"), NAMES, ids=ids)
def test_a_click_saves_the_file_under_its_own_name(
    browser, pasla, tmp_path, name, _curl_saves, browser_saves
):
    source = tmp_path / "src"
    source.mkdir()
    shared = source / name
    shared.write_bytes(b"contents of " + name.encode())
    served = pasla(shared, 5)
    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(served.url)
        assert page.locator("h1").inner_text() == name
        with page.expect_download() as info:
            page.click("#download")
        download = info.value
        assert download.failure() is None
        assert download.suggested_filename == browser_saves
        saved = tmp_path / "saved"
        download.save_as(saved)
        assert saved.read_bytes() == shared.read_bytes()
    finally:
        context.close()
