"""The database's schema, created or upgraded on first use."""

import fcntl

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def ensure_database() -> None:
    """Create or upgrade the schema on first use, so no separate step is needed.

    A lock keeps two `pasla` processes started at once from both migrating
    a fresh database: a file lock in the data directory for SQLite, an
    advisory lock in PostgreSQL itself (the processes may sit on other hosts).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
            try:
                _migrate_if_needed()
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
        return
    lock_path = settings.DATA_DIR / "migrate.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _migrate_if_needed()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# Any fixed 64-bit number: pasla's one advisory lock.
MIGRATE_LOCK_KEY = 0x7061736C61


def _migrate_if_needed() -> None:
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    if executor.migration_plan(targets):
        call_command("migrate", verbosity=0, interactive=False)
