"""The domain: a Share, its download history, and the identities it bans."""

import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

from shares.config.durations import UNLIMITED, is_capped


class ShareQuerySet(models.QuerySet):
    def capped(self):
        return self.exclude(max_downloads=UNLIMITED)

    def live(self):
        return self.filter(state=Share.State.LIVE, expires_at__gt=timezone.now())

    def expire_due(self) -> int:
        """Mark live shares whose time is over as expired; returns how many."""
        now = timezone.now()
        return self.filter(state=Share.State.LIVE, expires_at__lte=now).update(
            state=Share.State.EXPIRED, ended_at=now
        )


class Share(models.Model):
    class State(models.TextChoices):
        LIVE = "live"
        EXPIRED = "expired"
        EXHAUSTED = "exhausted"
        REVOKED = "revoked"
        # Its server process was found gone (killed hard, machine crashed)
        # by `pasla list`, `stop`, or the admin.
        DEAD = "dead"
        # The shared file was deleted (found by a request): nothing to serve.
        GONE = "gone", "file gone"
        # Its row no longer matched its seal (edited outside pasla): refused for good.
        BROKEN = "broken"

    class Kind(models.TextChoices):
        FILE = "file"
        DIRECTORY = "directory"
        # End-to-end encrypted (a file or a directory): the row holds no
        # path or name, the key record does (shares/e2e/keys.py).
        E2E = "e2e", "end-to-end encrypted"

    id = models.CharField(primary_key=True, max_length=16, editable=False)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(max_length=255)
    path = models.TextField(help_text="Absolute path on the operator's machine.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FILE)
    archive_format = models.CharField(max_length=8, blank=True)
    # The served file's identity, pinned at creation and re-checked on every
    # request: a replaced, truncated or grown file is never served.
    size = models.BigIntegerField()
    device = models.BigIntegerField(default=0)
    inode = models.BigIntegerField(default=0)
    mtime_ns = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.LIVE, db_index=True)
    max_downloads = models.PositiveIntegerField(default=UNLIMITED, help_text="0 means unlimited.")
    slots_used = models.PositiveIntegerField(default=0)
    bytes_served = models.BigIntegerField(default=0)

    # Who serves it: the foreground/detached process that owns it alone. A
    # share served by a shared server leaves pid empty: `list` then never
    # judges it dead, and `stop`/the admin only write the row (never signal
    # a process that serves other shares too).
    pid = models.IntegerField(null=True, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    # Tells the recorded pid from a later process that got the same number
    # (see shares/operator/processes.py).
    process_stamp = models.CharField(max_length=80, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    scheme = models.CharField(max_length=5, default="http")
    cert_fingerprint = models.CharField(max_length=200, blank=True)
    options = models.JSONField(default=dict, blank=True)
    # HMAC of the serving facts under a key from SECRET_KEY (shares/download/row_seal.py).
    seal = models.CharField(max_length=64, blank=True, editable=False)

    objects = ShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(3)

    # --- the domain's questions -------------------------------------------

    @property
    def is_live(self) -> bool:
        return self.state == self.State.LIVE and timezone.now() < self.expires_at

    @property
    def is_capped(self) -> bool:
        return is_capped(self.max_downloads)

    @property
    def slots_left(self) -> int | None:
        if not self.is_capped:
            return None
        return max(0, self.max_downloads - self.slots_used)

    @property
    def time_left(self) -> timedelta:
        return max(self.expires_at - timezone.now(), timedelta(0))

    @property
    def effective_state(self) -> str:
        """The state a person would name now, even before the watchdog runs."""
        if self.state == self.State.LIVE and timezone.now() >= self.expires_at:
            return self.State.EXPIRED
        return self.state

    # --- the domain's actions ---------------------------------------------

    def end(self, state: str) -> bool:
        """Move a live share to an end state; False if it had already ended."""
        now = timezone.now()
        changed = Share.objects.filter(pk=self.pk, state=self.State.LIVE).update(state=state, ended_at=now)
        if changed:
            self.state, self.ended_at = state, now
        return bool(changed)


class Slot(models.Model):
    """One download slot: one client identity, one representation, one delivery.

    Range requests from the same identity for the same validator continue
    the slot while they fetch bytes it has not covered yet (see
    shares/download/coverage.py for the rule and its bound).
    """

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="slots")
    client_ip = models.GenericIPAddressField()
    validator = models.CharField(max_length=80, help_text="The ETag the slot was claimed for.")
    covered = models.JSONField(default=list, help_text="Delivered byte ranges, [start, end) pairs.")
    sent = models.BigIntegerField(default=0, help_text="Bytes sent under this slot, re-sends included.")
    complete = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The worker ("host:pid") sending under this slot right now, if any.
    # Another worker may not continue it meanwhile: the live byte account
    # of a slot is in one process's memory (shares/download/slot_ledger.py).
    worker = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # With the id last, "this client's newest slot" is one step down the
        # index, however many slots the client has had.
        indexes = [
            models.Index(fields=["share", "client_ip", "validator", "id"], name="slot_identity_newest")
        ]

    def __str__(self) -> str:
        return f"{self.share_id} {self.client_ip} {'complete' if self.complete else 'partial'}"


class Download(models.Model):
    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETE = "complete"
        ABORTED = "aborted"
        FAILED = "failed"
        INTERRUPTED = "interrupted"
        # Cut by the minimum transfer speed (PASLA_MIN_SPEED); resumable like an abort.
        TOO_SLOW = "too_slow"
        # Ended at its client's PASLA_CLIENT_BYTES_PER_HOUR; resumable like an abort.
        OVER_BUDGET = "over_budget"

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="downloads")
    slot = models.ForeignKey(Slot, on_delete=models.SET_NULL, related_name="downloads", null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    client_ip = models.GenericIPAddressField()
    user_agent = models.CharField(max_length=200, blank=True)
    status = models.PositiveSmallIntegerField()
    range_start = models.BigIntegerField()
    range_end = models.BigIntegerField(help_text="Inclusive; -1 for an empty body.")
    bytes_sent = models.BigIntegerField(default=0)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.IN_PROGRESS, db_index=True
    )
    # Which process served it: after a worker dies, its supervisor closes
    # the rows it left in progress (only its own host's, by pid).
    pid = models.IntegerField(null=True, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    client_cert_sha256 = models.CharField(
        max_length=95,
        null=True,
        blank=True,
        help_text="SHA-256 fingerprint of the client's TLS certificate (mutual TLS only).",
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.share_id} {self.client_ip} {self.outcome}"

    @property
    def planned_bytes(self) -> int:
        return self.range_end - self.range_start + 1


class Ban(models.Model):
    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="bans", null=True, blank=True)
    ip = models.GenericIPAddressField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.CharField(max_length=100, default="wrong token guesses")
    strikes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["share", "ip"], name="one_ban_per_share_ip")]

    def __str__(self) -> str:
        return f"{self.ip} ({self.share_id or 'all shares'})"


class WorkerLease(models.Model):
    """A serving process's word that it is alive, renewed while it runs.

    History rows and slots name the process sending under them. On its own
    host a dead process is noticed by pid (its supervisor, or `bury`); a
    whole host that dies leaves nobody there to notice, so every serving
    process renews its lease and reaps the leases of others that stopped
    renewing and, on this host, whose process is gone (shares/operator/leases.py).
    """

    worker = models.CharField(max_length=300, primary_key=True, help_text='"host:pid", as Slot.worker.')
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    # On its own host a lease is judged by its process, not by the clock
    # (a suspended laptop renews nothing): see shares/operator/processes.py.
    stamp = models.CharField(max_length=80, blank=True, db_default="")
    renewed_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.worker


class AdminLoginCount(models.Model):
    """Refused admin passwords from one address in one fixed window (shares/gates/login_throttle.py).

    In the database, not the cache: every process serving the admin (each
    one-share server, each `serve` worker) reads the same count.
    """

    ip = models.GenericIPAddressField()
    window = models.BigIntegerField(help_text="Window index: start time // window length.")
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ip", "window"], name="one_login_count_per_window")]
        indexes = [models.Index(fields=["window"], name="login_count_window")]

    def __str__(self) -> str:
        return f"{self.ip} ({self.count})"


class Chore(models.Model):
    """A periodic job every server on the database shares: when it last ran (shares/operator/chores.py)."""

    name = models.CharField(max_length=40, primary_key=True)
    ran_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.ran_at:%Y-%m-%d %H:%M}"


# --- `pasla relay` (docs/relay.md): who may send through it, which share paths each owns.


class RelaySender(models.Model):
    """A sender allowed to register shares: its key is kept as a SHA-256 digest only."""

    name = models.CharField(max_length=64, unique=True)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class RelayRoute(models.Model):
    """A share path a sender registered: the token's digest, never the token.

    Kept while the sender is away (the relay then answers 502, not 404) until
    `expires_at`; deleted with its sender.
    """

    digest = models.CharField(primary_key=True, max_length=64)
    sender = models.ForeignKey(RelaySender, on_delete=models.CASCADE, related_name="routes")
    expires_at = models.DateTimeField(db_index=True)
