"""One worker of `pasla serve`: every live share, until SIGTERM.

Like the one-share runner, but nothing here ends with a share: the
watchdog settles every share whose time or cap is over (requests read the
share's row, so an ended share is refused at once by every worker; the
watchdog keeps the stored state true), and a signal drains the transfers in
flight and exits. With several workers the connection caps are shared
through Redis; the heartbeat keeps this worker's entry alive there.
"""

import asyncio
import logging
import signal

from shares import services
from shares.server.runner import ShareRunner
from shares.server.shared_caps import HEARTBEAT_SECONDS

log = logging.getLogger("pasla")


class ServeRunner(ShareRunner):
    # Only the supervisor's SIGTERM: a Ctrl+C reaches the whole process
    # group, and a worker must not count it as a second signal (stop now)
    # on top of the SIGTERM its supervisor passes on.
    signals = (signal.SIGTERM,)

    def __init__(self, listeners, limits, *, shared=None, on_ready=None):
        super().__init__(None, listeners, limits, on_ready=on_ready, shared=shared)
        self._beat = None

    def _ready(self):
        from twisted.internet import task

        if self.shared is not None:
            self._beat = task.LoopingCall(self._heartbeat)
            self._beat.start(HEARTBEAT_SECONDS, now=False)
        super()._ready()

    def _heartbeat(self):
        # Taken here, on the reactor thread that changes it: the guard's own
        # count of what it holds in Redis, which the heartbeat writes back.
        counts = dict(self.server.guard.shared_by_ip)
        asyncio.get_event_loop().run_in_executor(None, self.shared.heartbeat, counts)

    def _on_signal(self, signum):
        if self.ending:
            log.warning("second signal: stopping now")
            self._stop_reactor()
            return
        # The shares go on: other workers (or the next start) serve them.
        self._begin_end("stopped")

    def _check(self):
        if self._checking or self.ending:
            return
        self._checking = True
        future = asyncio.get_event_loop().run_in_executor(None, services.settle_all)
        future.add_done_callback(self._checked)

    def _checked(self, future):
        self._checking = False
        try:
            for share_id in future.result():
                log.info("share %s ended: exhausted", share_id)
        except Exception:
            log.exception("watchdog could not read the shares")

    def _stop_reactor(self):
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        super()._stop_reactor()
