"""Which of Django's per-request thread hops have no work worth a thread.

Django's async handler runs two sync calls on a thread for every request:
`log_response` for any answer of 400 or more, and `response.close()` after
the last byte. Each hop costs the event loop a submit, a wake-up and a
callback, plus a thread competing for the GIL with the next request. Both exist
because the work *may* block; these predicates say when it cannot, and the
handler (pasla_site/asgi.py) runs it inline then.
"""

import logging
import weakref

from django.core import signals
from django.core.cache import caches, close_caches
from django.core.cache.backends.base import BaseCache
from django.core.handlers.base import reset_urlconf
from django.http.response import HttpResponseBase

request_logger = logging.getLogger("django.request")
# close_caches calls each cache's close (checked below); reset_urlconf
# clears a context-local.
_IN_MEMORY_RECEIVERS = (close_caches, reset_urlconf)


def log_is_dropped(response) -> bool:
    """`log_response` would emit nothing: django.request drops this level.

    Settings set that logger to ERROR, so every 4xx answer qualifies; a 5xx
    is still logged, on a thread, as Django does it.
    """
    level = logging.ERROR if response.status_code >= 500 else logging.WARNING
    return not request_logger.isEnabledFor(level)


def _finishing_is_trivial() -> bool:
    """request_finished runs only Django's own in-memory receivers, and every
    cache's close is a no-op."""
    for _key, receiver, _is_async in signals.request_finished.receivers:
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        if receiver not in _IN_MEMORY_RECEIVERS:
            return False
    return all(type(cache).close is BaseCache.close for cache in caches.all(initialized_only=True))


def close_is_quick(response) -> bool:
    """response.close() only releases memory and sends a trivial signal.

    A response may say so itself (`close_may_block`, e.g. a download body
    that has already settled); otherwise only a plain, non-streaming
    response qualifies: a streamed body's close may run a generator's
    cleanup.
    """
    may_block = getattr(response, "close_may_block", None)
    if may_block is None:
        may_block = response.streaming or type(response).close is not HttpResponseBase.close
    return not may_block and _finishing_is_trivial()
