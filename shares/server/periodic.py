"""What a server does every so often: timers, and blocking jobs kept off the loop.

The watchdog, the progress flush, the lease and the shared-caps heartbeat
all talk to a database or Redis, which may be slow; none of them may stall
the event loop that serves the downloads, and none may pile up calls
behind a slow one.
"""

import asyncio
import logging

from twisted.internet import task

from shares.handling import outage

log = logging.getLogger("pasla")


class Every:
    """Calls `call` every `interval` seconds once started; stop() is safe at any time."""

    def __init__(self, interval: float, call, *, now: bool = False):
        self.interval = interval
        self.now = now
        self._loop = task.LoopingCall(call)

    def start(self) -> None:
        if not self._loop.running:
            self._loop.start(self.interval, now=self.now)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()


class OffLoop:
    """A blocking job run in the executor, at most one call at a time.

    submit() while a call is still running does nothing: the next tick
    tries again, so a slow database costs late updates, not a queue.
    `done(future)` runs on the loop when a call ends; without one, a call
    that fails is logged as "could not <what>".
    """

    def __init__(self, job, done=None, *, what: str = ""):
        self.job = job
        self.done = done or self._warn
        self.what = what
        self.busy = False

    def submit(self, *args) -> bool:
        if self.busy:
            return False
        self.busy = True
        future = asyncio.get_event_loop().run_in_executor(None, self.job, *args)
        future.add_done_callback(self._finished)
        return True

    def _finished(self, future) -> None:
        self.busy = False
        self.done(future)

    def _warn(self, future) -> None:
        exc = future.exception()
        # A database or cache outage is logged once, by shares/handling/outage.py.
        if exc is not None and not outage.note_failure(exc):
            log.warning("could not %s: %s", self.what, exc)
