"""Live coverage of the slots this process is serving right now.

Parallel requests of one slot (a downloader with four connections) must not
each send the same bytes: every chunk is taken from the slot's account here
before it is read, under one lock, so siblings see each other's progress
without a database write per chunk. The database gets each request's own
bytes when it ends (shares/download/slots.py).
"""

import threading
from dataclasses import dataclass

from shares.download.coverage import SlotAccount


@dataclass
class _Entry:
    account: SlotAccount
    users: int = 0


class SlotLedger:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}

    def view(self, slot_id: int) -> SlotAccount | None:
        """The in-flight account, if this process is serving the slot."""
        with self._lock:
            entry = self._entries.get(slot_id)
            if entry is None:
                return None
            account = entry.account
            return SlotAccount(account.size, account.allowance, list(account.covered), account.sent)

    def attach(self, slot_id: int, stored: SlotAccount) -> None:
        """A request starts serving the slot; the live account wins over the stored one."""
        with self._lock:
            entry = self._entries.setdefault(slot_id, _Entry(stored))
            entry.users += 1

    def take(self, slot_id: int, start: int, count: int) -> bool:
        with self._lock:
            return self._entries[slot_id].account.take(start, count)

    def detach(self, slot_id: int) -> None:
        with self._lock:
            entry = self._entries.get(slot_id)
            if entry is None:
                return
            entry.users -= 1
            if entry.users <= 0:
                del self._entries[slot_id]


ledger = SlotLedger()
