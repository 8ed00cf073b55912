"""The running relay's state: the hub, the senders' buckets, caches of key checks.

`current` is set once by the relay runner; the relay's views read it.
"""

import logging
import time

from shares.relay import keys, store
from shares.relay.hub import Hub
from shares.relay.pacing import Bucket

log = logging.getLogger("pasla.relay")

# A sender's claim on its routes is written again at most this often.
CLAIM_REFRESH = 60.0

current = None


class RelayState:
    def __init__(self, *, prefix: str, max_per_sender: int, sender_rate: int, answer_timeout: float):
        self.prefix = prefix
        self.hub = Hub(max_per_sender)
        self.sender_rate = sender_rate
        self.answer_timeout = answer_timeout
        self.buckets: dict[int, Bucket] = {}
        # key digest -> (sender id, name); emptied when the senders change.
        self.known_keys: dict[str, tuple[int, str]] = {}
        self.claimed: dict[tuple[int, str], float] = {}  # (sender, route) -> when written
        self.sender_set: set[int] | None = None

    # --- off the loop -----------------------------------------------------------

    def authorize(self, key, routes, leave: bool) -> tuple[str, int | None]:
        """("ok" | "refused" | "taken", sender id) for a listen or leave request."""
        sender = None
        if keys.looks_like_key(key):
            sender = self.known_keys.get(keys.digest(key))
            if sender is None:
                sender = store.sender_for_key(key)
                if sender is not None:
                    self.known_keys[keys.digest(key)] = sender
        if sender is None:
            return "refused", None
        sender_id = sender[0]
        if leave:
            store.release_routes(sender_id, [r.digest for r in routes])
            for route in routes:
                self.claimed.pop((sender_id, route.digest), None)
            return "ok", sender_id
        now = time.monotonic()
        if any(
            now - self.claimed.get((sender_id, r.digest), -CLAIM_REFRESH) >= CLAIM_REFRESH for r in routes
        ):
            if not store.claim_routes(sender_id, routes):
                return "taken", sender_id
            for route in routes:
                self.claimed[(sender_id, route.digest)] = now
        return "ok", sender_id

    def poll_senders(self) -> set[int]:
        return store.sender_ids()

    # --- on the loop --------------------------------------------------------------

    def senders_are(self, present: set[int]) -> None:
        """The senders in the database now: anyone removed is cut off."""
        if present == self.sender_set:
            return
        self.sender_set = present
        self.known_keys = {d: s for d, s in self.known_keys.items() if s[0] in present}
        self.claimed = {k: v for k, v in self.claimed.items() if k[0] in present}
        for sender_id in self.hub.online_senders() - present:
            connections = self.hub.connections_of(sender_id)
            log.warning("sender %s was removed: closing its %d connection(s)", sender_id, len(connections))
            for conn in connections:
                conn.cut()

    def bucket_of(self, sender_id: int) -> Bucket | None:
        if self.sender_rate <= 0:
            return None
        bucket = self.buckets.get(sender_id)
        if bucket is None:
            bucket = self.buckets[sender_id] = Bucket(self.sender_rate, time.monotonic())
        return bucket
