"""An `--e2e` share in chromium: decrypted in the page, saved as a stream by its service worker."""

import hashlib
import os
import re
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MIB = 1 << 20
NAME = "holiday-photos.tar"


def rss_of_tree(root_pid: int) -> int:
    """Resident memory of a process and all its descendants (chromium's renderers, its service worker)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def chromium_pid() -> int | None:
    """The newest chromium browser process Playwright started (its children have a --type=)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"chromium" in cmdline and b"--remote-debugging-pipe" in cmdline and b"--type=" not in cmdline:
            found.append(int(entry))
    return max(found) if found else None


class PeakMemory:
    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self.base = rss_of_tree(pid)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_of_tree(self.pid))
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self.thread.join()
        return self.peak - self.base


def make_file(path: Path, mib: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for _ in range(mib):
            block = os.urandom(MIB)
            digest.update(block)
            fh.write(block)
    return digest.hexdigest()


def save_in_browser(browser, served, tmp_path) -> tuple[Path, object, int]:
    """Open the share's URL (its fragment included) on http://localhost, click Download;
    returns (the saved file, the page, chromium's peak memory growth during the download)."""
    url = served.url.replace("127.0.0.1", "localhost")
    assert "#k=" in url
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.goto(url)
    expect(page.locator("#name")).not_to_have_text("Encrypted file", timeout=20_000)
    assert served.share_row()["slots_used"] == 0  # the page (and a preview of it) costs nothing
    pid = chromium_pid()
    assert pid is not None
    watch = PeakMemory(pid)
    with page.expect_download(timeout=300_000) as info:
        page.click("#download")
    download = info.value
    saved = tmp_path / f"saved-{time.monotonic_ns()}"
    download.save_as(saved)
    growth = watch.stop()
    assert download.suggested_filename == page.locator("#name").inner_text()
    expect(page.locator("#status")).to_have_text(re.compile("^Saved"), timeout=20_000)
    assert problems == [], problems
    return saved, page, growth


def test_the_page_decrypts_the_name_and_saves_64_mib_as_a_stream(browser, pasla, tmp_path):
    original = tmp_path / NAME
    digest = make_file(original, 64)
    served = pasla(original, "--e2e", "--single")
    saved, page, _ = save_in_browser(browser, served, tmp_path)
    assert page.locator("#name").inner_text() == NAME
    assert "64.0 MiB" in page.locator("#size").inner_text()
    assert page.locator("#sha256").inner_text() == digest
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == digest
    assert served.share_row()["slots_used"] == 1
    page.context.close()


def test_the_browser_memory_does_not_grow_with_the_file(browser, pasla, tmp_path):
    """64 MiB and 320 MiB cost chromium about the same: the stream holds a few records, not the file."""
    growth = {}
    for mib in (64, 320):
        original = tmp_path / f"{mib}.bin"
        digest = make_file(original, mib)
        served = pasla(original, "--e2e")
        saved, page, growth[mib] = save_in_browser(browser, served, tmp_path)
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == digest
        saved.unlink()
        original.unlink()
        page.context.close()
    extra = growth[320] - growth[64]
    # A Blob or any buffering of the whole file would add 256 MiB here.
    print(f"chromium growth: 64 MiB file +{growth[64] >> 20} MiB, 320 MiB file +{growth[320] >> 20} MiB")
    assert extra < 96 * MIB, f"64 MiB: +{growth[64] >> 20} MiB, 320 MiB: +{growth[320] >> 20} MiB"


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        ("", "This link has no key"),
        ("#k=AAECAwQFBgcICQoLDA0ODw", "This key does not open this file"),
        ("#k=AAECAwQF", "damaged or cut off"),
    ],
)
def test_a_missing_or_wrong_key_says_so_and_nothing_is_fetched(browser, pasla, tmp_path, fragment, message):
    original = tmp_path / NAME
    original.write_bytes(b"private" * 1000)
    served = pasla(original, "--e2e")
    page = browser.new_page()
    page.goto(served.url.split("#")[0] + fragment)
    expect(page.locator("#status")).to_have_class(re.compile("bad"), timeout=20_000)
    assert message in page.locator("#status").inner_text()
    assert page.locator("#name").inner_text() == "Encrypted file"
    assert page.locator("#download").is_disabled()
    assert served.downloads() == []
    page.close()
