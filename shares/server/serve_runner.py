"""One worker of `pasla serve`: every live share, until SIGTERM.

Like the one-share runner, but nothing here ends with a share: the
watchdog settles every share whose time or cap is over (requests read the
share's row, so an ended share is refused at once by every worker; the
watchdog keeps the stored state true), and a signal drains the transfers in
flight and exits. With several workers the connection caps are shared
through Redis; the heartbeat keeps this worker's entry alive there.
"""

import logging
import signal

from shares.handling import outage
from shares.operator import housekeeping
from shares.server.periodic import Every, OffLoop
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

    def run(self) -> int:
        try:
            return super().run()
        finally:
            if self.shared is not None:
                # A clean exit leaves nothing behind in Redis.
                self.shared.forget()

    def _ready(self):
        if self.shared is not None:
            self._beater = OffLoop(self.shared.heartbeat, what="refresh this worker's connection counts")
            self._timers["heartbeat"] = Every(HEARTBEAT_SECONDS, self._heartbeat)
        super()._ready()

    def _heartbeat(self):
        # Taken here, on the reactor thread that changes it: the guard's own
        # count of what it holds in Redis, which the heartbeat writes back.
        self._beater.submit(dict(self.server.guard.shared_by_ip))

    def _on_signal(self, signum):
        if self.ending:
            log.warning("second signal: stopping now")
            self._stop_reactor()
            return
        # The shares go on: other workers (or the next start) serve them.
        self._begin_end("stopped")

    def _settle(self):
        return housekeeping.settle_all()

    def _checked(self, future):
        try:
            for share_id in future.result():
                log.info("share %s ended: exhausted", share_id)
        except Exception as exc:
            if not outage.note_failure(exc):
                log.exception("watchdog could not read the shares")
