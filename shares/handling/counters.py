"""The one cache client per process that holds the gates' counters and remembered answers."""

import functools

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.dispatch import receiver


@functools.cache
def counters():
    """The cache that holds the counters and remembered answers: one client per process.

    `django.core.cache.cache` is looked up per asyncio context, and every
    request runs in a fresh one, so each request built a new cache client:
    on Redis a new connection pool, and so a new TCP connection to Redis
    per request. Both Django's local-memory cache and its Redis client are
    safe to share between threads.
    """
    return caches["default"]


@receiver(setting_changed)
def _forget_counters(setting, **kwargs):
    if setting == "CACHES":
        counters.cache_clear()


def cache_is_local() -> bool:
    """Local-memory cache calls are microseconds: no thread hop needed."""
    return isinstance(counters(), LocMemCache)
