"""In-process counters of what this server is doing right now.

They feed the terminal status line and the shutdown drain; the database
gets totals when a transfer ends, never a write per chunk.
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

    def listen(self, fn: Callable[[str, int, bool, str], None]) -> None:
        self._listeners.append(fn)

    def _get(self, share_id: str) -> ShareActivity:
        return self._shares.setdefault(share_id, ShareActivity())

    def begin(self, share_id: str) -> None:
        with self._lock:
            self._get(share_id).active += 1

    def progress(self, share_id: str, count: int) -> None:
        with self._lock:
            self._get(share_id).bytes_in_flight += count

    def end(self, share_id: str, sent: int, complete: bool, client: str) -> None:
        with self._lock:
            act = self._get(share_id)
            act.active -= 1
            act.bytes_in_flight -= sent
            if complete:
                act.completed += 1
                act.last_client = client
                act.last_finished_at = time.time()
        for listener in self._listeners:
            try:
                listener(share_id, sent, complete, client)
            except Exception:  # a listener's bug must never break a transfer
                log.exception("transfer listener failed")

    def snapshot(self, share_id: str) -> ShareActivity:
        with self._lock:
            act = self._get(share_id)
            return ShareActivity(**{k: getattr(act, k) for k in act.__dataclass_fields__})

    def active_total(self) -> int:
        with self._lock:
            return sum(a.active for a in self._shares.values())


board = Board()
