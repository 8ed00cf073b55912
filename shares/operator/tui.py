"""The foreground server's live terminal: a QR code and a status line.

Rendering is a pure function of a Snapshot (the share row plus this
process's live counters), so it can be tested by rendering into a string;
LiveStatus is the thin part that owns rich's Live display and the bell.
"""

import io
import ipaddress
import logging
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.text import Text

from shares.human import human_bytes, human_duration


@dataclass(frozen=True)
class Snapshot:
    share_id: str
    state: str
    seconds_left: float
    downloads: int
    max_downloads: int
    bytes_served: int
    bytes_in_flight: int = 0
    active: int = 0
    completed: int = 0
    last_client: str = ""
    last_finished_at: float = 0.0  # epoch seconds; 0 = none yet


def status_line(snap: Snapshot) -> Text:
    """One line: time left, downloads used/max, bytes, active transfers, last download."""
    cap = f"{snap.downloads}/{snap.max_downloads}" if snap.max_downloads else f"{snap.downloads}/∞"
    # One line whatever the width: cut with an ellipsis rather than wrapped.
    text = Text(no_wrap=True, overflow="ellipsis")
    if snap.state == "live":
        text.append("● ", style="bold green")
        text.append(f"{human_duration(snap.seconds_left)} left", style="bold")
    else:
        text.append("■ ", style="bold red")
        text.append(f"ended ({snap.state})", style="bold")
    text.append(f" · {cap} downloads")
    text.append(f" · {human_bytes(snap.bytes_served + snap.bytes_in_flight)} sent")
    text.append(f" · {snap.active} active")
    if snap.last_finished_at:
        when = datetime.fromtimestamp(snap.last_finished_at, UTC).strftime("%H:%M:%S")
        text.append(f" · last {snap.last_client} at {when} UTC")
    else:
        text.append(" · none finished yet", style="dim")
    return text


def is_loopback_url(url: str | None) -> bool:
    host = urllib.parse.urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def qr_text(url: str) -> str:
    """The URL as a QR code in half-block characters (two modules per line)."""
    # segno costs about as much to import as the rest of the CLI: only for a QR code.
    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")


def qr_for(urls: list[str | None]) -> str | None:
    """A QR of the first URL someone else could open; none for loopback-only shares."""
    for url in urls:
        if url and not is_loopback_url(url):
            return qr_text(url)
    return None


def render_qr(qr: str) -> Text:
    return Text(qr, no_wrap=True, overflow="crop")


def render(snap: Snapshot, qr: str | None = None) -> Group:
    """What the terminal shows under the banner: the QR code, then the status line."""
    parts = [render_qr(qr)] if qr else []
    parts.append(status_line(snap))
    return Group(*parts)


def wanted(stream=None) -> bool:
    """Only for a person at a terminal: never into a pipe or a file."""
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


class LiveStatus:
    """rich's Live region under the banner, refreshed by the server's tick.

    While it runs, log lines (stderr) are printed above the live line
    instead of tearing through it.
    """

    def __init__(self, console: Console, *, bell: bool):
        # Only the interactive terminal needs rich's live display.
        from rich.live import Live

        self.console = console
        self.bell = bell
        self.completed = 0
        self.live = Live(console=console, auto_refresh=False, redirect_stderr=True, transient=False)
        self._handlers: list[tuple[logging.StreamHandler, object]] = []

    def start(self, snap: Snapshot) -> None:
        self.completed = snap.completed
        self.live.start()
        self.live.update(status_line(snap), refresh=True)
        # Live swapped sys.stderr for a proxy; point the log handlers at it.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stderr__:
                self._handlers.append((handler, handler.setStream(sys.stderr)))

    def update(self, snap: Snapshot) -> None:
        if self.bell and snap.completed > self.completed:
            for _ in range(snap.completed - self.completed):
                self.console.bell()
        self.completed = snap.completed
        self.live.update(status_line(snap), refresh=True)

    def stop(self, snap: Snapshot | None = None) -> None:
        if snap is not None:
            self.update(snap)
        for handler, previous in self._handlers:
            handler.setStream(previous)
        self._handlers.clear()
        self.live.stop()


def snapshot_of(share, activity, now: float | None = None) -> Snapshot:
    """Combine the share row and this process's counters (shares.telemetry.live.ShareActivity)."""
    now = time.time() if now is None else now
    seconds_left = max(0.0, share.expires_at.timestamp() - now)
    return Snapshot(
        share_id=share.id,
        state=share.effective_state,
        seconds_left=seconds_left,
        downloads=share.slots_used,
        max_downloads=share.max_downloads,
        bytes_served=share.bytes_served,
        bytes_in_flight=max(0, activity.bytes_in_flight),
        active=activity.active,
        completed=activity.completed,
        last_client=activity.last_client,
        last_finished_at=activity.last_finished_at,
    )
