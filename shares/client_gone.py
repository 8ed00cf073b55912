"""Telling a running request that its client left, without a task per request to listen.

Django's ASGI handler learns that a client left from an `http.disconnect`
message, so it runs every request beside a second task that does nothing
but wait for one. Measured on a 1 KiB download, that task and its
bookkeeping were about a tenth of the time to first byte. pasla's server
(which knows at once, when the connection is lost) offers EXTENSION in the
scope instead: a `LeaveNotice` whose callback it calls. The handler
(pasla_site/asgi.py) uses it when offered and falls back to Django's way
under any other server.
"""

EXTENSION = "pasla.client_gone"


class LeaveNotice:
    """One request's connection: the server says `client_left()`, the application `listen()`s."""

    __slots__ = ("_callback", "left")

    def __init__(self):
        self._callback = None
        self.left = False

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
