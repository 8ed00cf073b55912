"""A real nginx publishing `pasla serve` under /files/ (PASLA_URL_PREFIX).

nginx passes the path through unchanged; pasla serves and prints every URL
with the prefix. Skipped only when nginx is not installed (.ci/run installs
nginx-light).
"""

import http.client
import os
import re
import shutil
import subprocess
import urllib.parse

import pytest

from tests.conftest import ROOT, free_port, port_open, wait_until

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def documented_location() -> str:
    """The `location /files/` block of docs/deploy.md, as written there."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    match = re.search(r"```nginx\n#[^\n]*\n(location /files/ \{.*?\n\})\n```", text, re.S)
    assert match, "deploy.md has no nginx location block"
    return match.group(1)


@pytest.fixture
def nginx(tmp_path):
    """Factory: nginx(upstream_port, port) -> port; stopped at teardown."""
    procs = []

    def start(upstream: int, port: int) -> int:
        site = documented_location().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{upstream}")
        conf = tmp_path / "nginx.conf"
        conf.write_text(
            f"""
master_process off;
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    server {{
        listen 127.0.0.1:{port};
{site}
        location / {{ return 418; }}
    }}
}}
"""
        )
        proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
        procs.append(proc)
        wait_until(lambda: port_open(port, proc), 10)
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def get(port: int, path: str, headers=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


def test_a_share_behind_nginx_under_a_prefix(serve, nginx, backend, sample):
    front = free_port()
    server = serve(
        backend,
        workers=1,
        env={"PASLA_URL_PREFIX": "/files", "PASLA_PUBLIC_URL": f"http://127.0.0.1:{front}"},
        args=["--trust-proxy"],
    )
    assert nginx(server.port, front) == front
    # The URL printed by `pasla share` is the public one, prefix included.
    share = server.share(sample, 5)
    url = urllib.parse.urlsplit(share["url"])
    assert share["url"].startswith("http://127.0.0.1:")
    assert url.path.startswith("/files/") and url.path.endswith("/sample.bin")
    resp, body = get(front, url.path)
    assert (resp.status, body) == (200, sample.read_bytes())
    assert resp.getheader("X-Request-ID")  # nginx's $request_id, echoed
    resp, body = get(front, url.path, {"Range": "bytes=10-19"})
    assert (resp.status, body) == (206, sample.read_bytes()[10:20])
    # A browser gets the landing page, whose button posts to the prefixed URL
    # and is sent on to the file there.
    resp, body = get(front, url.path, {"Accept": "text/html"})
    action = re.search(rb'<form method="post" action="([^"]+)"', body)
    assert resp.status == 200 and action and action.group(1).startswith(f"{url.path}?dl=".encode())
    resp, _ = get(front, action.group(1).decode(), {"Accept": "text/html"}, method="POST")
    assert resp.status == 303 and resp.getheader("Location").startswith(f"{url.path}?dl=")
    resp, body = get(front, resp.getheader("Location"), {"Accept": "text/html"})
    assert (resp.status, body) == (200, sample.read_bytes())
    # Monitoring and the admin live under the prefix too (loopback via nginx).
    resp, body = get(front, "/files/healthz")
    assert resp.status == 200 and b'"database": "ok"' in body
    resp, _ = get(front, "/files/admin/")
    assert resp.status == 302 and resp.getheader("Location").startswith("/files/admin/login/")
    # Outside the prefix: nothing of pasla's.
    assert server.request("GET", url.path.removeprefix("/files"))[0].status == 404
