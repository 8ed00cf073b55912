"""Run daphne for one share until it ends, then drain and exit.

The database is the control plane: a watchdog asks it twice a second whether
the share has expired, been used up or been revoked (by `pasla stop` or the
admin), so no side channel is needed.
"""

import asyncio
import functools
import logging
import signal
import time

from shares.download import finish
from shares.handling import outage
from shares.models import Share
from shares.operator import actions, chores, housekeeping, leases

log = logging.getLogger("pasla")

WATCH_INTERVAL = 0.5
# While the database or cache is away, how often to ask whether it is back.
OUTAGE_PROBE_INTERVAL = 1.0
DRAIN_POLL = 0.2
PROGRESS_INTERVAL = 1.0


class ShareRunner:
    signals = (signal.SIGINT, signal.SIGTERM)
    # A PaslaServer subclass to run instead (the relay's); None for PaslaServer.
    server_class = None

    def __init__(
        self,
        share_id: str | None,
        listeners,
        limits,
        *,
        on_ready=None,
        on_tick=None,
        on_end=None,
        wrappers=(),
        shared=None,
    ):
        self.wrappers = list(wrappers)
        self.shared = shared
        self.share_id = share_id
        self.listeners = listeners
        self.limits = limits
        self.on_ready = on_ready
        self.on_tick = on_tick
        self.on_end = on_end
        self.ending = False
        self.end_reason = None
        self._drain_deadline = 0.0
        self._stopping = False

    def run(self) -> int:
        # Imported here: importing daphne installs the asyncio reactor.
        from shares.server.daphne_server import PaslaServer  # noqa: I001  (reactor first)
        from twisted.internet import reactor

        from pasla_site.asgi import application
        from shares.telemetry.live import board
        from shares.server.periodic import Every, OffLoop

        self.reactor = reactor
        self.board = board
        self.server = (self.server_class or PaslaServer)(
            application,
            self.listeners,
            stall_timeout=self.limits.transfer_stall_timeout,
            ready_callable=self._ready,
            wrappers=self.wrappers,
            limits=self.limits,
            shared=self.shared,
            zero_copy_sends=bool(self.limits.zero_copy),
        )
        self._settler = OffLoop(self._settle, self._checked)
        self._flusher = OffLoop(finish.record_progress, what="record download progress")
        self._renewer = OffLoop(leases.renew_and_reap, what="renew this worker's lease")
        self._prober = OffLoop(outage.outages.probe, what="probe the database and cache")
        self._timers = {
            "watch": Every(WATCH_INTERVAL, self._check),
            "progress": Every(PROGRESS_INTERVAL, self._flush_progress),
            "lease": Every(leases.renew_every(), self._renewer.submit, now=True),
            "outage": Every(OUTAGE_PROBE_INTERVAL, self._probe_outages),
        }
        if self.limits.purge_after_days > 0:
            self._purger = OffLoop(chores.purge_if_due, what="purge old shares")
            purge = functools.partial(self._purger.submit, self.limits.purge_after_days)
            self._timers["purge"] = Every(chores.PURGE_ASK_SECONDS, purge, now=True)
        if self.on_tick:
            self._timers["tick"] = Every(1.0, self._on_tick)
        closed = leases.take()
        if closed:
            log.warning("closed %d download(s) an earlier process with this pid left in progress", closed)
        try:
            self.server.run()
        finally:
            _release_lease()
        return 0

    # --- lifecycle ----------------------------------------------------------

    def _ready(self):
        loop = asyncio.get_event_loop()
        for signum in self.signals:
            loop.add_signal_handler(signum, self._on_signal, signum)
        for timer in self._timers.values():
            timer.start()
        if self.on_ready:
            self.on_ready(self.server)

    def _flush_progress(self):
        """Running byte counts to the database: one batch a second, whatever the load."""
        if self._flusher.busy:
            return  # what is due now goes with the next batch
        due = self.board.due_progress()
        if due:
            self._flusher.submit(due)

    def _probe_outages(self):
        if outage.outages.down():
            self._prober.submit()

    def _on_tick(self):
        try:
            self.on_tick(self)
        except Exception:  # a display glitch must never stop the server
            log.exception("status display failed")

    def _on_signal(self, signum):
        if self.ending:
            log.warning("second signal: stopping now")
            self._stop_reactor()
            return
        name = signal.Signals(signum).name
        log.info("received %s: stopping the share", name)
        future = asyncio.get_event_loop().run_in_executor(None, _revoke, self.share_id)
        future.add_done_callback(lambda _: self._begin_end("stopped"))

    def _check(self):
        if not self.ending:
            self._settler.submit()

    def _settle(self):
        """The watchdog's question, asked off the loop: has the share ended?"""
        state = housekeeping.settle(self.share_id)
        if state == "dead" and housekeeping.reclaim(self.share_id):
            log.warning(
                "share %s was recorded as dead while this server could not renew its lease "
                "(suspended, or cut off from the database): serving it again",
                self.share_id,
            )
            return None
        return state

    def _checked(self, future):
        try:
            state = future.result()
        except Exception as exc:
            if not outage.note_failure(exc):
                log.exception("watchdog could not read the share")
            return
        if state is not None:
            self._begin_end(state)

    def _begin_end(self, reason):
        if self.ending:
            return
        self.ending = True
        self.end_reason = reason
        self._timers["watch"].stop()
        self.server.stop_listening()
        self._drain_deadline = time.monotonic() + self.limits.drain_timeout
        active = self.board.active_total()
        if active:
            log.info("share ended (%s): letting %d download(s) finish", reason, active)
        self._drain()

    def _drain(self):
        # Requests still being decided (a late 410, say) get their answer
        # too: a fast last download can end the share while they wait.
        if self.board.active_total() == 0 and self.server.requests_in_flight() == 0:
            self._stop_reactor()
        elif time.monotonic() >= self._drain_deadline:
            log.warning("drain timeout: cutting %d download(s)", self.board.active_total())
            self._stop_reactor()
        else:
            self.reactor.callLater(DRAIN_POLL, self._drain)

    def _stop_reactor(self):
        if self._stopping:
            return
        self._stopping = True
        for timer in self._timers.values():
            timer.stop()
        if self.on_end:
            try:
                self.on_end(self)
            except Exception:
                log.exception("end hook failed")
        self.reactor.stop()


def _release_lease():
    try:
        leases.release()
    except Exception as exc:  # the database may be what ended us; the lease then goes stale
        log.warning("could not release this worker's lease: %s", exc)


def _revoke(share_id):
    share = Share.objects.filter(pk=share_id).first()
    if share is not None:
        actions.revoke(share)
