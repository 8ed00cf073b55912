"""What keeps the operator informed while a share is served in the foreground:
the live terminal (QR, status line, bell) and the --notify webhook.

The share command calls these hooks; the server's runner drives them.
"""

import asyncio
import dataclasses
import logging
import sys

from django.db import connection
from rich.console import Console

from shares.models import Share
from shares.operator import notify, tui
from shares.telemetry.live import board

log = logging.getLogger("pasla")


class Attendant:
    def __init__(self, opts, view, notify_url: str | None):
        self.view = view
        self.share_id = view.id
        self.name = view.name
        self.notifier = notify.Notifier(notify_url) if notify_url else None
        self.terminal = not opts.json and not opts.detached_child and tui.wanted(sys.stdout)
        self.show_qr = not opts.no_qr
        self.bell = not opts.quiet
        self.console = Console(highlight=False) if self.terminal else None
        self.live = None
        self._fetching = False
        # Before the first reading (the loop's thread may not query the database).
        self._last = tui.Snapshot(
            share_id=view.id,
            state="live",
            seconds_left=view.minutes * 60,
            downloads=0,
            max_downloads=view.max_downloads,
            bytes_served=0,
        )
        if self.notifier:
            board.listen(self._transfer_ended)

    # --- hooks ---------------------------------------------------------------

    def ready(self) -> None:
        """After the banner: the QR code, then the live status line."""
        if not self.terminal:
            return
        if self.show_qr:
            qr = tui.qr_for([self.view.url_ipv4, self.view.url_ipv6])
            if qr:
                self.console.print(tui.render_qr(qr))
        self.live = tui.LiveStatus(self.console, bell=self.bell)
        self.live.start(self._last)

    def tick(self, runner) -> None:
        if self.live is None or self._fetching:
            return
        self._fetching = True
        future = asyncio.get_event_loop().run_in_executor(None, self._snapshot)
        future.add_done_callback(self._show)

    def ended(self, runner) -> None:
        # Runs on the event loop: no database here, the last reading will do.
        if self.live is not None:
            activity = board.snapshot(self.share_id)
            final = dataclasses.replace(
                self._last,
                state=runner.end_reason or "stopped",
                active=activity.active,
                completed=activity.completed,
                last_client=activity.last_client,
                last_finished_at=activity.last_finished_at,
            )
            try:
                self.live.stop(final)
            finally:
                self.live = None

    def finish(self, reason: str | None) -> None:
        """After the server stopped: the webhook's last event, sent within a bound."""
        if self.notifier is None:
            return
        share = Share.objects.filter(pk=self.share_id).first()
        downloads = share.slots_used if share else 0
        sent = share.bytes_served if share else 0
        self.notifier.post(notify.end_event(self.share_id, self.name, reason or "stopped", downloads, sent))
        self.notifier.close(timeout=15)

    # --- internals -------------------------------------------------------------

    def _snapshot(self) -> tui.Snapshot:
        try:
            share = Share.objects.get(pk=self.share_id)
        finally:
            connection.close_if_unusable_or_obsolete()
        return tui.snapshot_of(share, board.snapshot(self.share_id))

    def _show(self, future) -> None:
        self._fetching = False
        if self.live is None:
            return
        try:
            self._last = future.result()
            self.live.update(self._last)
        except Exception:
            log.debug("status line not updated", exc_info=True)

    def _transfer_ended(self, share_id: str, sent: int, complete: bool, client: str) -> None:
        # Only transfers that delivered something: a client that left before
        # the body is not a download.
        if share_id == self.share_id and (complete or sent > 0):
            self.notifier.post(notify.download_event(share_id, self.name, client, sent, complete))
