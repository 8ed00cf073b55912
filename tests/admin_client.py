"""A small real-HTTP client for the admin pages: cookies, CSRF token, forms."""

import http.cookiejar
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request

from tests.conftest import run_pasla

PASSWORD = "a-long-test-password-42"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def make_admin_user(data_dir, name: str = "boss") -> None:
    result = run_pasla(["admin-user", name], data_dir, env={"PASLA_ADMIN_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr


def login_attempt(server, source: str, password: str, name: str = "boss", prefix: str = ""):
    """One admin login from `source` on fresh connections, as a browser makes it.

    Works with any test server whose request() takes a source address and a
    body. `prefix`: PASLA_URL_PREFIX, if the server has one. Returns
    (status, response, body) of the POST.
    """
    login = prefix + "/admin/login/"
    resp, page = server.request("GET", login, source=source)
    assert resp.status == 200, resp.status
    cookie = resp.getheader("Set-Cookie").split(";")[0]
    token = _CSRF.search(page.decode()).group(1)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": name, "password": password, "next": "/admin/"}
    )
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    resp, body = server.request("POST", login, headers=headers, body=form, source=source)
    return resp.status, resp, body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class AdminClient:
    def __init__(self, served, context: ssl.SSLContext | None = None):
        self.scheme = served.info.get("scheme", "http")
        self.origin = f"{self.scheme}://127.0.0.1:{served.port}"
        self.base = self.origin + "/admin/"
        self.jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()]
        if self.scheme == "https":
            handlers.append(urllib.request.HTTPSHandler(context=context or served.tls_context()))
        self.opener = urllib.request.build_opener(*handlers)

    def open(self, path: str, data: dict | None = None, headers=None):
        """(status, headers, body text); redirects are returned, not followed."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        if body is not None:
            # A browser on this page would send both; Django checks them over HTTPS.
            request.add_header("Referer", self.base + path)
            request.add_header("Origin", self.origin)
        try:
            with self.opener.open(request, timeout=30) as resp:
                return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode("utf-8", "replace")

    def csrf(self, path: str) -> str:
        status, _, page = self.open(path)
        assert status == 200, (status, page[:500])
        return _CSRF.search(page).group(1)

    def login(self, name: str = "boss", password: str = PASSWORD) -> None:
        token = self.csrf("login/")
        status, headers, page = self.open(
            "login/",
            {"csrfmiddlewaretoken": token, "username": name, "password": password, "next": "/admin/"},
        )
        assert status == 302, (status, page[:800])
        assert headers["Location"] == "/admin/"

    def action(self, model: str, action: str, ids, **extra):
        """Run an admin action on the change list; returns (status, the page it lands on)."""
        path = f"shares/{model}/"
        token = self.csrf(path)
        data = {"csrfmiddlewaretoken": token, "action": action, "_selected_action": list(ids), "index": "0"}
        data.update({k: str(v) for k, v in extra.items()})
        status, headers, page = self.open(path, data)
        if status == 302:
            status, _, page = self.open(path)
        return status, page
