"""--notify URL: post a small JSON event to a webhook, never in a download's way.

Events go into a bounded queue (dropped with a warning when it is full) and
one background thread posts them, with a short timeout and a few retries.
Nothing here runs on the event loop except a put_nowait. The payload names
the share by id and file name: never the token, the URL or the file's path.
The webhook URL itself may hold a secret (many do), so it is never logged.
"""

import ipaddress
import json
import logging
import queue
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

log = logging.getLogger("pasla.notify")

MAX_URL_LENGTH = 2048
QUEUE_SIZE = 256
ATTEMPTS = 3
TIMEOUT = 5.0
BACKOFF = (0.5, 1.0)  # seconds before the second and third attempt
USER_AGENT = "pasla-notify"


class NotifyError(ValueError):
    pass


# An ASCII host name (labels of letters, digits, '-' and '_'), or an IPv4 address.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?")
_HOST_PORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]*))?")
_BAD_URL = "--notify needs an http:// or https:// URL"


def validate_url(text: str) -> str:
    """An http(s) URL with a host; NotifyError (one readable line) otherwise."""
    if not text or len(text) > MAX_URL_LENGTH or not text.isascii() or not text.isprintable() or " " in text:
        raise NotifyError(f"{_BAD_URL} (ASCII, no spaces; a host name in its xn-- form)")
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:  # e.g. an unclosed '[' around an IPv6 address
        raise NotifyError(f"{_BAD_URL}: its host cannot be read") from None
    if parts.scheme not in ("http", "https"):
        raise NotifyError(_BAD_URL)
    host_port = _HOST_PORT.fullmatch(parts.netloc.rpartition("@")[2])
    if host_port is None or not host_port["host"]:
        raise NotifyError(f"{_BAD_URL}: its host cannot be read")
    host = host_port["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise NotifyError(f"{_BAD_URL}: {host} is not an IPv6 address") from None
    elif not _HOST_NAME.fullmatch(host):
        raise NotifyError(f"{_BAD_URL}: its host cannot be read")
    port = host_port["port"]
    if port and not 1 <= int(port) <= 65535:
        raise NotifyError("--notify URL has an invalid port")
    return text


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def download_event(share_id: str, name: str, client: str, sent: int, complete: bool) -> dict:
    return {
        "event": "download",
        "share_id": share_id,
        "file": name,
        "client_ip": client,
        "bytes": sent,
        "outcome": "complete" if complete else "incomplete",
        "time": now_iso(),
    }


def end_event(share_id: str, name: str, reason: str, downloads: int, bytes_served: int) -> dict:
    return {
        "event": "share_ended",
        "share_id": share_id,
        "file": name,
        "reason": reason,
        "downloads": downloads,
        "bytes": bytes_served,
        "time": now_iso(),
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would silently become a GET elsewhere: count it as a failure.
    def redirect_request(self, *args, **kwargs):
        return None


class Notifier:
    def __init__(self, url: str, *, timeout: float = TIMEOUT, attempts: int = ATTEMPTS, backoff=BACKOFF):
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0
        self._opener = urllib.request.build_opener(_NoRedirect())
        self._thread = threading.Thread(target=self._run, name="pasla-notify", daemon=True)
        self._thread.start()

    def post(self, event: dict) -> None:
        """Queue an event; never blocks."""
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            log.warning("notify: queue full, event dropped (%d so far)", self.dropped)

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, waiting at most `timeout` seconds, then stop."""
        try:
            self.queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            event = self.queue.get()
            if event is None:
                return
            self._deliver(event)

    def _deliver(self, event: dict) -> bool:
        body = json.dumps(event).encode()
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff[min(attempt - 1, len(self.backoff) - 1)])
            # The scheme was checked to be http(s) by validate_url().
            request = urllib.request.Request(  # noqa: S310
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            )
            try:
                with self._opener.open(request, timeout=self.timeout) as resp:
                    resp.read(1024)
                    if 200 <= resp.status < 300:
                        return True
                    problem = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    break  # the webhook refuses this event; retrying will not help
            except (OSError, ValueError) as exc:
                problem = type(exc).__name__
        log.warning(
            "notify: %s event for share %s not delivered (%s)", event["event"], event["share_id"], problem
        )
        return False
