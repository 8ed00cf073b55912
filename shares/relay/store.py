"""The relay's database work: senders and their routes (sync ORM, run off the loop)."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from shares.models import RelayRoute, RelaySender
from shares.relay import keys
from shares.relay.framing import Route

# No route outlives the longest share (a year), whatever a sender claims.
ROUTE_MAX_SECONDS = 366 * 24 * 3600


class SenderError(ValueError):
    pass


def add_sender(name: str) -> str:
    """Record a new sender; returns its key, which is not kept anywhere."""
    if not keys.valid_name(name):
        raise SenderError(f"invalid sender name {name!r} (letters, digits, '.', '_', '-'; at most 64)")
    key = keys.mint()
    try:
        RelaySender.objects.create(name=name, key_digest=keys.digest(key))
    except IntegrityError:
        raise SenderError(f"a sender named {name!r} exists already") from None
    return key


def remove_sender(name: str) -> bool:
    deleted, _ = RelaySender.objects.filter(name=name).delete()
    return deleted > 0


def senders() -> list[dict]:
    rows = RelaySender.objects.order_by("name")
    return [
        {"name": s.name, "created_at": s.created_at.isoformat(), "routes": s.routes.count()} for s in rows
    ]


def sender_for_key(key: str | None) -> tuple[int, str] | None:
    """(id, name) of the sender holding this key, found by digest and checked in constant time."""
    if not keys.looks_like_key(key):
        return None
    wanted = keys.digest(key)
    row = RelaySender.objects.filter(key_digest=wanted).values_list("id", "name", "key_digest").first()
    if row is None or not keys.matches(key, row[2]):
        return None
    return row[0], row[1]


def sender_ids() -> set[int]:
    return set(RelaySender.objects.values_list("id", flat=True))


def claim_routes(sender_id: int, routes: list[Route]) -> bool:
    """Record routes for a sender; False if another sender owns any of them (nothing changes then)."""
    now = timezone.now()
    ceiling = now + dt.timedelta(seconds=ROUTE_MAX_SECONDS)
    with transaction.atomic():
        RelayRoute.objects.filter(expires_at__lte=now).delete()
        digests = [r.digest for r in routes]
        owners = set(RelayRoute.objects.filter(digest__in=digests).values_list("sender_id", flat=True))
        if owners - {sender_id}:
            return False
        for route in routes:
            expires = min(ceiling, dt.datetime.fromtimestamp(route.expires, dt.UTC))
            RelayRoute.objects.update_or_create(
                digest=route.digest, defaults={"sender_id": sender_id, "expires_at": expires}
            )
    return True


def release_routes(sender_id: int, digests: list[str]) -> None:
    RelayRoute.objects.filter(sender_id=sender_id, digest__in=digests).delete()


def registered(digest: str) -> bool:
    """Whether a live route holds this digest (its sender may be away)."""
    return RelayRoute.objects.filter(digest=digest, expires_at__gt=timezone.now()).exists()
