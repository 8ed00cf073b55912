"""Which sender connection answers which recipient request (pure; asyncio futures only).

A connection from a sender carries the routes (token digests) of its
shares. While it waits for work it is a held listen; a recipient's request
for one of its routes takes the oldest held listen, or queues until the
sender opens another. A route is online while any connection carrying it
is open, held or busy; when the last one closes, everyone queued for it
hears at once that the sender is gone.
"""

import asyncio
from collections import deque


class SenderGone(Exception):
    """No connection of the route's sender is open any more."""


class Hub:
    def __init__(self, max_per_sender: int):
        self.max_per_sender = max_per_sender
        self.held: dict[str, dict[object, None]] = {}  # route -> held listens, oldest first
        self.live: dict[str, set] = {}  # route -> every open connection carrying it
        self.by_sender: dict[int, set] = {}
        self.queued: dict[str, deque] = {}  # route -> futures of requests waiting for a listen

    # --- the sender's side ----------------------------------------------------

    def admit(self, sender_id: int) -> bool:
        """Whether one more connection of this sender is within its cap."""
        return len(self.by_sender.get(sender_id, ())) < self.max_per_sender

    def connected(self, conn) -> None:
        """`conn` (with .sender_id and .routes) is authenticated and counts from now on."""
        self.by_sender.setdefault(conn.sender_id, set()).add(conn)
        for route in conn.routes:
            self.live.setdefault(route, set()).add(conn)

    def hold(self, conn) -> bool:
        """`conn` waits for work. True if a queued request took it at once (it is busy then)."""
        for route in conn.routes:
            queue = self.queued.get(route)
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(conn)
                    return True
        for route in conn.routes:
            self.held.setdefault(route, {})[conn] = None
        return False

    def unhold(self, conn) -> None:
        for route in conn.routes:
            waiting = self.held.get(route)
            if waiting is not None:
                waiting.pop(conn, None)
                if not waiting:
                    del self.held[route]

    def gone(self, conn) -> None:
        """`conn` closed: forget it; a route left with no connection fails its queue."""
        self.unhold(conn)
        group = self.by_sender.get(conn.sender_id)
        if group is not None:
            group.discard(conn)
            if not group:
                del self.by_sender[conn.sender_id]
        for route in conn.routes:
            live = self.live.get(route)
            if live is None:
                continue
            live.discard(conn)
            if not live:
                del self.live[route]
                for future in self.queued.pop(route, ()):
                    if not future.done():
                        future.set_exception(SenderGone())

    def connections_of(self, sender_id: int) -> list:
        return list(self.by_sender.get(sender_id, ()))

    def online_senders(self) -> set[int]:
        return set(self.by_sender)

    # --- the recipient's side -----------------------------------------------

    def online(self, route: str) -> bool:
        return bool(self.live.get(route))

    def waiting(self, route: str) -> int:
        return sum(1 for f in self.queued.get(route, ()) if not f.done())

    def take(self, route: str):
        """The oldest held listen for this route, now busy; None if none is held."""
        waiting = self.held.get(route)
        if not waiting:
            return None
        conn = next(iter(waiting))
        self.unhold(conn)
        return conn

    async def listen_for(self, route: str, timeout: float):
        """A listen for this route, waiting up to `timeout` s for one.

        TimeoutError when none came, SenderGone when the sender left meanwhile.
        """
        conn = self.take(route)
        if conn is not None:
            return conn
        if not self.online(route):
            raise SenderGone()
        future = asyncio.get_running_loop().create_future()
        self.queued.setdefault(route, deque()).append(future)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self.hold(future.result())  # handed over just as we gave up: pass it on
            raise
        finally:
            queue = self.queued.get(route)
            if queue is not None and future in queue:
                queue.remove(future)
                if not queue:
                    del self.queued[route]
