"""--notify: one webhook event per finished download and one at the end, never in the way."""

import http.server
import json
import os
import threading
import time

import pytest

from tests.conftest import run_pasla


class Hook:
    """A local webhook that records every POST; can be made slow or failing."""

    def __init__(self, status=204, delay=0.0):
        self.events, self.hits = [], 0
        self.status, self.delay = status, delay
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.hits += 1
                time.sleep(hook.delay)
                if hook.status < 300:
                    hook.events.append((self.path, self.headers["Content-Type"], json.loads(body)))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-part"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, kind):
        return [event for _, _, event in self.events if event["event"] == kind]


@pytest.fixture
def hook():
    made = []

    def make(**kwargs):
        made.append(Hook(**kwargs))
        return made[-1]

    yield make
    for item in made:
        item.server.shutdown()
        item.server.server_close()


def test_one_event_per_finished_download_and_one_at_the_end(pasla, tmp_path, hook, data_dir):
    webhook = hook()
    # Bigger than the socket buffers on the way (several MiB on loopback):
    # a client cut after 1000 bytes must not have the whole body in them.
    sample = tmp_path / "sample.bin"
    sample.write_bytes(os.urandom(24 << 20))
    served = pasla(sample, 5, 3, "--notify", webhook.url)
    size = sample.stat().st_size
    assert served.request("HEAD")[0].status == 200  # not a download
    assert served.request(headers={"Accept": "text/html"})[0].status == 200  # the landing page
    for source in ("127.0.0.1", "127.0.0.2"):
        resp, body = served.request(source=source)
        assert resp.status == 200 and len(body) == size
    status, _ = served.cut_download(1000, source="127.0.0.3")
    assert status == 200
    served.wait_until(lambda: len(webhook.events) >= 3, timeout=10)
    assert run_pasla(["stop", served.info["id"]], data_dir).returncode == 0
    assert served.wait(timeout=10) == 0
    served.wait_until(lambda: webhook.of("share_ended"), timeout=5)

    downloads = webhook.of("download")
    complete = [e for e in downloads if e["outcome"] == "complete"]
    assert sorted(e["client_ip"] for e in complete) == ["127.0.0.1", "127.0.0.2"]
    assert all(e["bytes"] == size and e["share_id"] == served.info["id"] for e in complete)
    assert all(e["file"] == "sample.bin" and e["time"].endswith("+00:00") for e in complete)
    [cut] = [e for e in downloads if e["outcome"] != "complete"]
    assert cut["client_ip"] == "127.0.0.3" and 0 < cut["bytes"] < size
    assert len(downloads) == 3
    [end] = webhook.of("share_ended")
    assert end["reason"] in ("revoked", "stopped") and end["downloads"] == 3
    assert {path for path, _, _ in webhook.events} == {"/hooks/secret-part"}
    assert {ctype for _, ctype, _ in webhook.events} == {"application/json"}
    raw = json.dumps([e for _, _, e in webhook.events])
    assert served.token not in raw and str(sample) not in raw
    assert "secret-part" not in served.stderr()  # the webhook URL is not logged


def test_a_slow_webhook_never_delays_a_download(pasla, sample, hook):
    webhook = hook(delay=2.0)
    served = pasla(sample, 5, "--notify", webhook.url)
    took = []
    for _ in range(3):
        started = time.monotonic()
        resp, _ = served.request()
        took.append(time.monotonic() - started)
        assert resp.status == 200
    assert max(took) < 1.0, took
    served.wait_until(lambda: len(webhook.events) == 3, timeout=15)


def test_a_failing_webhook_is_retried_a_bounded_number_of_times(pasla, sample, hook):
    webhook = hook(status=503)
    served = pasla(sample, 5, "--notify", webhook.url)
    assert served.request()[0].status == 200
    served.wait_until(lambda: "not delivered (HTTP 503)" in served.stderr(), timeout=15)
    assert webhook.hits == 3
    time.sleep(1)
    assert webhook.hits == 3


@pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "http://", "http://h:99999/"])
def test_bad_notify_urls_exit_1(data_dir, sample, url):
    result = run_pasla([sample, "--notify", url, "--dry-run"], data_dir)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "--notify" in result.stderr
