"""In-process counters of what this server is doing right now.

Every byte a transfer sends is counted here, whatever sent it (the read
loop or a zero-copy send), and only here: they feed the terminal status
line and the shutdown drain, and `due_progress()` hands the database the
running totals of downloads in progress about once a second (one batch,
never a write per chunk). The final totals are written when a transfer
ends (shares/services.finish_download).
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("pasla")


@dataclass
class ShareActivity:
    active: int = 0
    bytes_in_flight: int = 0
    completed: int = 0
    last_client: str = ""
    last_finished_at: float = 0.0


@dataclass
class Board:
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _shares: dict[str, ShareActivity] = field(default_factory=dict)
    # Called as fn(share_id, sent, complete, client) when a transfer ends
    # (the --notify webhook); must not block: it runs on the event loop.
    _listeners: list[Callable[[str, int, bool, str], None]] = field(default_factory=list)

    # download id -> bytes sent so far, for transfers still running
    _downloads: dict[int, int] = field(default_factory=dict)
    # download ids whose count moved since the last due_progress()
    _moved: set = field(default_factory=set)

    def listen(self, fn: Callable[[str, int, bool, str], None]) -> None:
        self._listeners.append(fn)

    def _get(self, share_id: str) -> ShareActivity:
        return self._shares.setdefault(share_id, ShareActivity())

    def begin(self, share_id: str, download_id: int | None = None) -> None:
        with self._lock:
            self._get(share_id).active += 1
            if download_id is not None:
                self._downloads[download_id] = 0

    def progress(self, share_id: str, count: int, download_id: int | None = None) -> None:
        with self._lock:
            self._get(share_id).bytes_in_flight += count
            if download_id in self._downloads:
                self._downloads[download_id] += count
                self._moved.add(download_id)

    def end(
        self, share_id: str, sent: int, complete: bool, client: str, download_id: int | None = None
    ) -> None:
        with self._lock:
            act = self._get(share_id)
            act.active -= 1
            act.bytes_in_flight -= sent
            self._downloads.pop(download_id, None)
            self._moved.discard(download_id)
            if complete:
                act.completed += 1
                act.last_client = client
                act.last_finished_at = time.time()
        for listener in self._listeners:
            try:
                listener(share_id, sent, complete, client)
            except Exception:  # a listener's bug must never break a transfer
                log.exception("transfer listener failed")

    def due_progress(self) -> dict[int, int]:
        """Running totals that moved since the last call: {download id: bytes}."""
        with self._lock:
            due = {d: self._downloads[d] for d in self._moved if d in self._downloads}
            self._moved.clear()
            return due

    def snapshot(self, share_id: str) -> ShareActivity:
        with self._lock:
            act = self._get(share_id)
            return ShareActivity(**{k: getattr(act, k) for k in act.__dataclass_fields__})

    def active_total(self) -> int:
        with self._lock:
            return sum(a.active for a in self._shares.values())


board = Board()
