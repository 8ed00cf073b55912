"""The rows every download reads and writes, in SQL written out once.

Each ORM query is compiled anew on every call, which costs far more Python
than running the statement itself on SQLite, and a download makes eight of
them before and after its bytes (find the share, lock it, find and lock the
client's newest slot, claim, insert the slot and the history row, settle).
The statements here are the same ones the ORM issued, with the same locks
and the same WHERE clauses (the cap's rule is still one conditional UPDATE),
on SQLite and PostgreSQL alike.

They run on the driver's own cursor, not Django's wrapper: the wrapper's
per-statement work (finding the thread's connection through asgiref's
Local, rewriting %s placeholders with a regex, the debug and execute
wrappers) cost more than the statements, and a RawQuerySet recomputed its
column converters on every call. Each statement's text is built once per
database vendor; the share's converters once per connection. Driver errors
still come out as Django's (IntegrityError, OperationalError), and the
statements join the caller's transaction.atomic() as before: it is the
same connection.

Only the hot path lives here; everything else keeps using the ORM.
"""

import json
import socket
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from shares.config import runtime
from shares.config.durations import UNLIMITED
from shares.models import Download, Share, Slot

# Asked once: every history row names the host that served it.
HOSTNAME = socket.gethostname()

# Statement templates. {share}, {slot}, {download}: quoted table names;
# {for_update}: the row lock where the database has one (SQLite has none:
# its IMMEDIATE transactions lock at BEGIN); {returning}: how an INSERT
# hands back its id. Placeholders are %s and become the driver's own.
_TEMPLATES = {
    "share_by_digest": "SELECT {share_columns} FROM {share} WHERE token_digest = %s",
    "lock_share": (
        "SELECT state = %s AND expires_at > %s, size, slots_used FROM {share} WHERE id = %s{for_update}"
    ),
    "share_size": "SELECT size FROM {share} WHERE id = %s{for_update}",
    "claim_slot": (
        "UPDATE {share} SET slots_used = slots_used + 1 "
        "WHERE id = %s AND state = %s AND expires_at > %s "
        "AND (max_downloads = {unlimited} OR slots_used < max_downloads)"
    ),
    "add_bytes": "UPDATE {share} SET bytes_served = bytes_served + %s WHERE id = %s",
    "lock_newest_slot": (
        "SELECT id, covered, sent, worker FROM {slot} "
        "WHERE share_id = %s AND client_ip = %s AND validator = %s "
        "ORDER BY id DESC LIMIT 1{for_update}"
    ),
    "lock_slot": "SELECT id, covered, sent, worker FROM {slot} WHERE id = %s{for_update}",
    "insert_slot": (
        "INSERT INTO {slot} "
        "(share_id, client_ip, validator, covered, sent, complete, created_at, updated_at, worker) "
        "VALUES (%s, %s, %s, %s, 0, %s, %s, %s, %s){returning}"
    ),
    "set_slot_worker": "UPDATE {slot} SET worker = %s WHERE id = %s",
    "store_slot": (
        "UPDATE {slot} SET covered = %s, sent = %s, complete = %s, updated_at = %s, worker = %s WHERE id = %s"
    ),
    "insert_download": (
        "INSERT INTO {download} "
        "(share_id, slot_id, started_at, client_ip, user_agent, status, range_start, range_end, "
        "bytes_sent, outcome, pid, hostname, client_cert_sha256) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s)"
        "{returning}"
    ),
    "close_download": "UPDATE {download} SET bytes_sent = %s, outcome = %s, finished_at = %s WHERE id = %s",
    "move_download": "UPDATE {download} SET slot_id = %s WHERE id = %s",
}

_SHARE_FIELDS = Share._meta.concrete_fields
_SHARE_ATTNAMES = [field.attname for field in _SHARE_FIELDS]
_statements: dict[str, dict[str, str]] = {}


def _build_statements(db) -> dict[str, str]:
    quote = db.ops.quote_name
    names = {
        "share": quote(Share._meta.db_table),
        "slot": quote(Slot._meta.db_table),
        "download": quote(Download._meta.db_table),
        "share_columns": ", ".join(quote(field.column) for field in _SHARE_FIELDS),
        "for_update": " FOR UPDATE" if db.features.has_select_for_update else "",
        "returning": " RETURNING id" if db.features.can_return_columns_from_insert else "",
        "unlimited": int(UNLIMITED),
    }
    built = {name: template.format(**names) for name, template in _TEMPLATES.items()}
    if db.vendor == "sqlite":
        # sqlite3's own placeholder; no statement here has a literal %.
        built = {name: sql.replace("%s", "?") for name, sql in built.items()}
    return built


class _Rows:
    """One call's access to the thread's connection: statements, adapters, a raw cursor."""

    __slots__ = ("db", "sql")

    def __init__(self):
        db = connections[DEFAULT_DB_ALIAS]
        db.ensure_connection()
        self.db = db
        sql = _statements.get(db.vendor)
        if sql is None:
            sql = _statements[db.vendor] = _build_statements(db)
        self.sql = sql

    def run(self, name: str, params):
        """Execute statement `name`; the cursor, for fetching."""
        cursor = self.db.connection.cursor()
        try:
            with self.db.wrap_database_errors:
                cursor.execute(self.sql[name], params)
        except BaseException:
            cursor.close()
            raise
        return cursor

    def one(self, name: str, params):
        cursor = self.run(name, params)
        try:
            with self.db.wrap_database_errors:
                return cursor.fetchone()
        finally:
            cursor.close()

    def count(self, name: str, params) -> int:
        cursor = self.run(name, params)
        count = cursor.rowcount
        cursor.close()
        return count

    def insert(self, name: str, params) -> int:
        """Run an INSERT and return the new row's id."""
        cursor = self.run(name, params)
        try:
            if self.db.features.can_return_columns_from_insert:
                with self.db.wrap_database_errors:
                    return cursor.fetchone()[0]
            return cursor.lastrowid
        finally:
            cursor.close()

    def now(self):
        return self.db.ops.adapt_datetimefield_value(timezone.now())

    def ip(self, address: str):
        return self.db.ops.adapt_ipaddressfield_value(address)

    def share_converters(self) -> list:
        """Per column of `share_by_digest`, the converters the ORM would apply
        (dates from text, booleans, JSON): worked out once per connection."""
        cached = self.db.__dict__.get("_pasla_share_converters")
        if cached is None:
            cached = []
            for field in _SHARE_FIELDS:
                column = field.get_col(Share._meta.db_table)
                found = self.db.ops.get_db_converters(column) + column.get_db_converters(self.db)
                cached.append((column, found))
            self.db.__dict__["_pasla_share_converters"] = cached
        return cached


def _json(value) -> list:
    # SQLite, and PostgreSQL as Django configures psycopg, hand JSON back as text.
    return json.loads(value) if isinstance(value, str | bytes) else value


def share_by_digest(digest: str) -> Share | None:
    """The share a token digest names (the whole row, as a model)."""
    rows = _Rows()
    row = rows.one("share_by_digest", [digest])
    if row is None:
        return None
    values = list(row)
    for index, (column, converters) in enumerate(rows.share_converters()):
        for converter in converters:
            values[index] = converter(values[index], column, rows.db)
    return Share.from_db(rows.db.alias, _SHARE_ATTNAMES, values)


@dataclass
class LockedShare:
    live: bool
    size: int
    slots_used: int


def lock_share(share_id: str) -> LockedShare | None:
    """Read what a slot decision needs, holding the share's row until commit."""
    rows = _Rows()
    row = rows.one("lock_share", [Share.State.LIVE, rows.now(), share_id])
    if row is None:
        return None
    return LockedShare(live=bool(row[0]), size=row[1], slots_used=row[2])


def share_size(share_id: str) -> int:
    """The payload's size, holding the share's row (the lock order is share, then slot)."""
    row = _Rows().one("share_size", [share_id])
    return row[0] if row else 0


def claim_slot(share_id: str) -> bool:
    """Take one download slot; the one conditional UPDATE carries the whole rule
    (live, in time, under the cap), so concurrent claimers never over-serve."""
    rows = _Rows()
    return rows.count("claim_slot", [share_id, Share.State.LIVE, rows.now()]) == 1


def add_bytes(share_id: str, count: int) -> None:
    if count:
        _Rows().count("add_bytes", [count, share_id])


@dataclass
class SlotRow:
    id: int
    covered: list
    sent: int
    worker: str


def _slot_row(row) -> SlotRow | None:
    if row is None:
        return None
    return SlotRow(id=row[0], covered=_json(row[1]) or [], sent=row[2], worker=row[3])


def lock_newest_slot(share_id: str, client_ip: str, validator: str) -> SlotRow | None:
    """The client's newest slot (the highest id) for this representation, locked until commit."""
    rows = _Rows()
    return _slot_row(rows.one("lock_newest_slot", [share_id, rows.ip(client_ip), validator]))


def lock_slot(slot_id: int) -> SlotRow | None:
    return _slot_row(_Rows().one("lock_slot", [slot_id]))


def insert_slot(
    share_id: str, *, client_ip: str, validator: str, covered: list, complete: bool, worker: str
) -> int:
    rows = _Rows()
    now = rows.now()
    return rows.insert(
        "insert_slot",
        [share_id, rows.ip(client_ip), validator, json.dumps(covered), complete, now, now, worker],
    )


def set_slot_worker(slot_id: int, worker: str) -> None:
    _Rows().count("set_slot_worker", [worker, slot_id])


def store_slot(slot_id: int, *, covered: list, sent: int, complete: bool, worker: str) -> None:
    rows = _Rows()
    rows.count("store_slot", [json.dumps(covered), sent, complete, rows.now(), worker, slot_id])


def insert_download(
    share_id: str,
    *,
    slot_id: int,
    client_ip: str,
    user_agent: str,
    status: int,
    range_start: int,
    range_end: int,
    pid: int,
    hostname: str,
    client_cert: str | None = None,
) -> int:
    rows = _Rows()
    return rows.insert(
        "insert_download",
        [
            share_id,
            slot_id,
            rows.now(),
            rows.ip(client_ip),
            user_agent,
            status,
            range_start,
            range_end,
            Download.Outcome.IN_PROGRESS,
            pid,
            hostname,
            client_cert,
        ],
    )


def close_download(download_id: int, *, sent: int, outcome: str) -> None:
    rows = _Rows()
    rows.count("close_download", [sent, outcome, rows.now(), download_id])


def move_download(download_id: int, slot_id: int) -> None:
    _Rows().count("move_download", [slot_id, download_id])


def close_worker_history(pid: int, hostname: str) -> int:
    """A worker died (SIGKILL, crash): close what it left open.

    Its in-progress history rows become "interrupted" (their bytes_sent is
    the last progress flushed, at most a second old; the slot keeps only
    what earlier requests recorded, so its owner can resume), and its slots
    are free for other workers.
    Returns the number of history rows closed.
    """
    closed = Download.objects.filter(pid=pid, hostname=hostname, outcome=Download.Outcome.IN_PROGRESS).update(
        outcome=Download.Outcome.INTERRUPTED, finished_at=timezone.now()
    )
    Slot.objects.filter(worker=runtime.worker_id(pid, hostname)).update(worker="")
    return closed
