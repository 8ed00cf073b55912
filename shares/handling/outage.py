"""The database and the cache as services that can be away.

At start a configured database or cache that cannot be reached is one line
and exit 1 (`require`). While serving, a request that meets one that went
away gets 503 with Retry-After (shares/web/views.py, server_error), and the
outage is logged once when it begins and once when it ends, never per
request: any client could otherwise flood the log. The server's periodic
probe (shares/server/runner.py) notices the end.
"""

import logging
import threading

from django.db import DatabaseError, InterfaceError, OperationalError

log = logging.getLogger("pasla")

DATABASE = "database"
CACHE = "cache"
# Seconds a client is asked to wait: about the probe's interval, a few times.
RETRY_AFTER = 5


class Unavailable(Exception):
    """A configured database or cache cannot be reached (message is one line)."""


def _redis_errors() -> tuple:
    try:
        # redis is needed only where a Redis cache is configured.
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:
        return ()
    return (RedisConnectionError, RedisTimeoutError)


def failure_kind(exc: BaseException | None) -> str | None:
    """DATABASE or CACHE when `exc` (or what caused it) says that service is away."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OperationalError | InterfaceError):
            return DATABASE
        if isinstance(exc, _redis_errors()):
            return CACHE
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def reason(exc: BaseException) -> str:
    """The first line of an error, for a one-line message."""
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def describe_database() -> str:
    """Which database, without its password: "postgresql at 127.0.0.1:5432"."""
    # settings.py imports this module, before Django is configured.
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite file {settings['NAME']}"
    where = settings.get("HOST") or "local socket"
    if settings.get("PORT"):
        where += f":{settings['PORT']}"
    return f"{connection.vendor} at {where}"


def describe_cache() -> str:
    # settings.py imports this module, before Django is configured.
    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION") or ""
    location = location[0] if isinstance(location, list | tuple) else location.split(",")[0]
    # redis://user:password@host:port/db -> host:port/db
    return "redis at " + location.split("://", 1)[-1].rsplit("@", 1)[-1]


def check_database() -> None:
    # settings.py imports this module, before Django is configured.
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        raise Unavailable(f"cannot reach the database ({describe_database()}): {reason(exc)}") from None
    finally:
        connection.close_if_unusable_or_obsolete()


def check_cache() -> None:
    # settings.py imports this module, before Django is configured.
    from shares.handling.counters import cache_is_local, counters

    if cache_is_local():
        return
    try:
        counters().get("pasla:probe")
    except Exception as exc:
        if failure_kind(exc) is None:
            raise
        raise Unavailable(f"cannot reach the cache ({describe_cache()}): {reason(exc)}") from None


def require() -> None:
    """Both configured services answer; Unavailable (one line) otherwise."""
    check_database()
    check_cache()


PROBES = {DATABASE: check_database, CACHE: check_cache}


class Outages:
    """Which services are away now; logs each outage's start and end once."""

    def __init__(self, logger=log):
        self.log = logger
        self._lock = threading.Lock()
        self._down: dict[str, str] = {}

    def noticed(self, kind: str, exc: BaseException) -> None:
        with self._lock:
            if kind in self._down:
                return
            self._down[kind] = reason(exc)
        self.log.error("the %s is unreachable (%s): answering 503 until it is back", kind, reason(exc))

    def recovered(self, kind: str) -> None:
        with self._lock:
            if self._down.pop(kind, None) is None:
                return
        self.log.warning("the %s is reachable again", kind)

    def down(self) -> list[str]:
        with self._lock:
            return list(self._down)

    def probe(self) -> None:
        """Ask each service that is away whether it is back (blocking: off the loop)."""
        for kind in self.down():
            try:
                PROBES[kind]()
            except Unavailable:
                continue
            self.recovered(kind)


outages = Outages()


def note_failure(exc: BaseException | None) -> bool:
    """If `exc` means a service is away, record the outage (logged once); True if so."""
    kind = failure_kind(exc)
    if kind is None:
        return False
    outages.noticed(kind, exc)
    return True


class HideOutageTracebacks(logging.Filter):
    """Django logs every 5xx with its traceback; an outage is logged once by Outages."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return failure_kind(exc) is None
