"""Telling a running request that its client left, without a task per request to listen.

Django's ASGI handler learns that a client left from an `http.disconnect`
message, so it runs every request beside a second task that does nothing
but wait for one, a real share of a small download's time to first byte.
pasla's server
(which knows at once, when the connection is lost) offers EXTENSION in the
scope instead: a `LeaveNotice` whose callback it calls. The handler
(pasla_site/asgi.py) uses it when offered and falls back to Django's way
under any other server.
"""

import asyncio

EXTENSION = "pasla.client_gone"
# Why the server cut a connection itself, when it did (LeaveNotice.reason).
TOO_SLOW = "too_slow"
OVER_BUDGET = "over_budget"


class LeaveNotice:
    """One request's connection: the server says `client_left()`, the application `listen()`s."""

    __slots__ = ("_callback", "cut", "left", "reason")

    def __init__(self):
        self._callback = None
        self.left = False
        self.reason = None  # set by the server before it cuts the connection itself
        # The server's cut(reason): the application ends the connection now,
        # mid-body, without an exception (which daphne would log as a crash).
        self.cut = None

    def listen(self, callback) -> None:
        """callback() runs once when the client leaves; at once if it already has."""
        self._callback = callback
        if self.left:
            callback()

    def stop_listening(self) -> None:
        self._callback = None

    def client_left(self) -> None:
        if self.left:
            return
        self.left = True
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


class DisconnectWatch:
    """Cancels a request's task when its client leaves before it is done."""

    def __init__(self, task: asyncio.Task):
        self.task = task
        self.leaving = False
        self.fired = False  # cancelled because the client left
        self.settled = False  # the request is done: nothing left to cancel
        self.error: AssertionError | None = None

    def client_left(self) -> None:
        if self.settled or self.leaving:
            return
        self.leaving = True
        # On the next turn of the loop, as Django's listener task would: a
        # lost connection also ends the wait of a body part it had already
        # taken, and that part must be counted as sent before the request
        # is cancelled.
        self.task.get_loop().call_soon(self._cancel)

    def _cancel(self) -> None:
        if not self.settled:
            self.fired = True
            self.task.cancel()

    async def listen(self, receive) -> None:
        """Django's listener, for servers that do not offer client_gone."""
        message = await receive()
        if message["type"] != "http.disconnect" and not self.settled:
            # As Django: nothing but a disconnect may follow the body.
            self.error = AssertionError(f"Invalid ASGI message after request body: {message['type']}")
        self.client_left()
