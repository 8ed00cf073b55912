"""The admin pages in Debian's chromium: log in, read the live list, revoke a share."""

import pytest

from tests.admin_client import PASSWORD, make_admin_user

pytestmark = pytest.mark.browser


def stylesheet_applied(page) -> bool:
    return page.evaluate(
        """() => [...document.styleSheets].some(
               s => s.href && s.href.endsWith('/admin/css/base.css') && s.cssRules.length > 50)"""
    )


def test_operator_logs_in_sees_live_counts_and_revokes(browser, pasla, sample, data_dir, tmp_path):
    host = pasla(sample, 30)
    target = pasla(sample, 30, 3)
    resp, _ = target.request()
    assert resp.status == 200
    make_admin_user(data_dir)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = []
    # The browser's own /favicon.ico probe is the one 404 expected.
    page.on("response", lambda r: r.status >= 400 and "favicon" not in r.url and problems.append(r.url))
    page.on("console", lambda m: "Content Security Policy" in m.text and problems.append(m.text))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.goto(f"http://127.0.0.1:{host.port}/admin/")
    assert page.url.endswith("/admin/login/?next=/admin/")
    assert stylesheet_applied(page)  # the admin's CSS came through the gate
    page.screenshot(path=tmp_path / "admin-login.png", full_page=True)
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")

    page.click("a[href='/admin/shares/share/']")
    row = page.locator("#result_list tbody tr", has_text=target.info["id"])
    cells = row.inner_text()
    assert "live" in cells and "1/3" in cells and "3.0 MiB" in cells, cells
    assert "0/∞" in page.locator("#result_list tbody tr", has_text=host.info["id"]).inner_text()
    assert stylesheet_applied(page)
    page.screenshot(path=tmp_path / "admin-shares.png", full_page=True)

    row.locator("input[name=_selected_action]").check()
    page.select_option("select[name=action]", "revoke_shares")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert "Revoked 1 share(s)." in page.locator(".messagelist").inner_text()
    assert target.wait(timeout=5) == 0
    page.reload()
    assert "revoked" in page.locator("#result_list tbody tr", has_text=target.info["id"]).inner_text()
    page.screenshot(path=tmp_path / "admin-revoked.png", full_page=True)
    assert problems == []
    context.close()
    assert host.proc.poll() is None


def test_admin_over_https_logs_in_and_extends(browser, pasla, sample, data_dir, tmp_path):
    """Over HTTPS Django's CSRF check wants a same-origin Referer: the admin's
    Referrer-Policy must let the browser send one (the shares' no-referrer would not)."""
    served = pasla(sample, 30, 2, "--https")
    make_admin_user(data_dir)
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(f"https://127.0.0.1:{served.port}/admin/login/")
    assert stylesheet_applied(page)
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.goto(f"https://127.0.0.1:{served.port}/admin/shares/share/")
    before = served.share_row()["expires_at"]
    page.locator("#result_list tbody tr", has_text=served.info["id"]).locator(
        "input[name=_selected_action]"
    ).check()
    page.select_option("select[name=action]", "add_downloads")
    page.fill("input[name=amount]", "2")
    page.click("button[name=index]")
    page.wait_for_load_state()
    assert "cap raised to 4" in page.locator(".messagelist").inner_text()
    assert served.share_row()["max_downloads"] == 4 and served.share_row()["expires_at"] == before
    page.screenshot(path=tmp_path / "admin-https.png", full_page=True)
    context.close()
