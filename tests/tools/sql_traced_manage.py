"""manage.py, with every SQLite statement the process runs appended to $PASLA_TEST_SQL_LOG.

The trace is set on the driver's own connection, so it sees the statements
pasla runs on the raw cursor as well as the ORM's.
"""

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import manage

_log_path = os.environ["PASLA_TEST_SQL_LOG"]
_lock = threading.Lock()


def _trace(statement: str) -> None:
    with _lock, open(_log_path, "a") as log:
        log.write(" ".join(statement.split()) + "\n")


def _on_connect(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.set_trace_callback(_trace)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasla_site.settings")
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_connect)
    manage.main()
