"""/healthz and /metrics, for monitoring (behind the admin's network gate).

Clients outside loopback and PASLA_ADMIN_ALLOW get exactly what an unknown
path gets (the admin gate, AdminGateMiddleware).
"""

import logging

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpResponse, JsonResponse

from shares.handling.counters import counters
from shares.telemetry import metrics

log = logging.getLogger("pasla")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return False
    finally:
        connection.close_if_unusable_or_obsolete()


def _cache_ok() -> bool:
    cache = counters()
    try:
        cache.set("pasla:healthz", 1, timeout=10)
        return cache.get("pasla:healthz") == 1
    except Exception as exc:
        log.warning("health check: cache unreachable: %s", type(exc).__name__)
        return False


async def healthz(request):
    database = await sync_to_async(_database_ok, thread_sensitive=False)()
    cache = await sync_to_async(_cache_ok, thread_sensitive=False)()
    healthy = database and cache
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if database else "unreachable",
        "cache": "ok" if cache else "unreachable",
    }
    return JsonResponse(body, status=200 if healthy else 503)


async def metrics_view(request):
    body, content_type = await sync_to_async(metrics.exposition, thread_sensitive=False)()
    return HttpResponse(body, content_type=content_type)
