"""The relay's own rows: who may send through it, and which share paths each one owns.

Imported by shares/models.py so that Django (and its migrations) see them.
"""

from django.db import models
from django.utils import timezone


class RelaySender(models.Model):
    """A sender allowed to register shares: its key is kept as a SHA-256 digest only."""

    name = models.CharField(max_length=64, unique=True)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "shares"

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

    class Meta:
        app_label = "shares"
