"""Jobs that every server runs from its background task, but only one of them at a time.

Any number of one-share servers and `pasla serve` workers, on one host or
several, may share a database. Each asks `claim()` when it wants to run a
chore; one conditional UPDATE on the chore's row decides, so the chore runs
at most once per interval whoever asks, with no lock held while it runs.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from shares.models import Chore
from shares.operator import actions

log = logging.getLogger("pasla")

PURGE = "purge"
PURGE_EVERY = timedelta(hours=1)
# How often each server asks; claim() keeps the purge itself to PURGE_EVERY.
PURGE_ASK_SECONDS = 600.0
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def claim(name: str, every: timedelta, now: datetime | None = None) -> bool:
    """True for the one caller that may run chore `name` now (at most once per `every`)."""
    now = now or timezone.now()
    Chore.objects.get_or_create(name=name, defaults={"ran_at": _NEVER})
    return bool(Chore.objects.filter(name=name, ran_at__lte=now - every).update(ran_at=now))


def purge_if_due(after_days: float) -> int | None:
    """Delete shares that ended more than `after_days` ago, if no server did within the hour.

    Returns how many went, or None when it was not this process's turn.
    """
    if after_days <= 0:
        return None
    if not claim(PURGE, PURGE_EVERY):
        log.debug("purge not due: a server ran it within the hour")
        return None
    purged = actions.purge(after_days)
    if purged:
        log.info("purged %d share(s) that ended over %g day(s) ago, with their history", purged, after_days)
    return purged
