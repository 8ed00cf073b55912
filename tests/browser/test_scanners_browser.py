"""Mail and chat scanners render the page in a headless browser and follow what they find.

The scanner here is chromium itself: it loads the page (its script runs),
follows every link, submits every GET form and fetches every form action
and resource URL it finds, a few levels deep. None of that may use a
download; a real click afterwards still gets the file, and a download cut
in the middle is resumed by the browser on the same slot.
"""

import hashlib
import os
import socket
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

pytestmark = pytest.mark.browser

MIB = 1 << 20

# Every URL a page offers to a crawler: links, GET form submissions (the
# request the browser would send), and any form action or resource URL.
COLLECT = """() => {
  const out = [];
  for (const a of document.querySelectorAll("a[href], area[href], link[href]")) out.push(a.href);
  for (const el of document.querySelectorAll("[src]")) out.push(el.src);
  for (const form of document.forms) {
    const method = (form.getAttribute("method") || "get").toLowerCase();
    const url = new URL(form.action);
    if (method === "get") url.search = new URLSearchParams(new FormData(form)).toString();
    out.push(url.href);
  }
  return out.filter((u) => u.startsWith("http"));
}"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crawl(page, start: str, same_origin: str, max_pages: int = 25) -> list[str]:
    """Breadth-first over what each page offers; returns every URL visited."""
    seen, queue = [], [start]
    while queue and len(seen) < max_pages:
        url = queue.pop(0)
        if url in seen or not url.startswith(same_origin):
            continue
        seen.append(url)
        try:
            page.goto(url)
        except PlaywrightError:
            continue  # e.g. a navigation that turned into a download: recorded by the listener
        page.wait_for_timeout(1100)  # long enough for the page's script to run a tick
        queue.extend(page.evaluate(COLLECT))
    return seen


def test_a_scanner_that_follows_links_and_get_forms_consumes_nothing(browser, pasla, sample, tmp_path):
    served = pasla(sample, 5, "--single")
    origin = f"http://127.0.0.1:{served.port}/"
    context = browser.new_context(accept_downloads=True)
    downloads = []
    page = context.new_page()
    page.on("download", lambda download: downloads.append(download))
    visited = crawl(page, served.url, origin)
    assert len(visited) >= 2  # it found the page's form and followed it
    assert downloads == []
    row = served.share_row()
    assert row["slots_used"] == 0 and row["state"] == "live" and served.downloads() == []

    # The person, after the scanner: one click, the file, one download.
    page.goto(served.url)
    assert "1" in page.locator("main").inner_text()  # still one download left
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "clicked.bin"
    info.value.save_as(saved)
    assert sha(saved.read_bytes()) == sha(sample.read_bytes())
    context.close()
    assert served.wait(timeout=15) == 0
    assert served.share_row()["slots_used"] == 1


class CuttingProxy:
    """A loopback TCP relay that hangs up on the first file download after `cut_after` body bytes.

    Everything else (the page, the button's POST, the browser's resume)
    passes through untouched, so the browser sees a network failure in the
    middle of its download, as on a flaky connection.
    """

    def __init__(self, upstream_port: int, cut_after: int):
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.cut = threading.Event()
        self.requests: list[bytes] = []
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, to_server: bool):
        counted = None  # body bytes of the download being watched
        try:
            while data := src.recv(256 * 1024):
                if to_server:
                    self.requests.append(data.split(b"\r\n\r\n", 1)[0])
                elif not self.cut.is_set():
                    if counted is None and b"Content-Disposition: attachment" in data:
                        counted = len(data.split(b"\r\n\r\n", 1)[-1])
                    elif counted is not None:
                        counted += len(data)
                    if counted is not None and counted >= self.cut_after:
                        self.cut.set()
                        dst.sendall(data[: max(0, len(data) - (counted - self.cut_after))])
                        self._reset(src, dst)
                        return
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)  # pass an orderly end on
        except OSError:
            self._reset(src, dst)

    @staticmethod
    def _reset(*sockets):
        """Hang up both ends mid-body: the browser sees a response shorter than its Content-Length."""
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # also wakes the other pump, blocked on this socket
            except OSError:
                pass
            sock.close()

    def close(self):
        self.listener.close()
        for sock in self.sockets:
            sock.close()


def test_a_download_cut_in_the_middle_is_resumed_by_the_browser_on_one_slot(browser, pasla, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(24 * MIB + 777))
    served = pasla(big, 5, "--single")
    proxy = CuttingProxy(served.port, cut_after=6 * MIB)
    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{proxy.port}{urlsplit(served.url).path}")
        with page.expect_download() as info:
            page.click("#download")
        download = info.value
        saved = tmp_path / "resumed.bin"
        download.save_as(saved)  # waits for the end, resumes included
        assert download.failure() is None
    finally:
        context.close()
        proxy.close()
    assert proxy.cut.is_set()
    resumes = [r for r in proxy.requests if b"\r\nRange: bytes=" in r]
    assert resumes, "the browser never resumed"
    assert all(b"If-Range: " in r and b"?dl=" in r.split(b"\r\n", 1)[0] for r in resumes)
    assert sha(saved.read_bytes()) == sha(big.read_bytes())
    assert served.wait(timeout=15) == 0
    row = served.share_row()
    assert row["slots_used"] == 1 and row["state"] == "exhausted"
