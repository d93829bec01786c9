"""The station index counter, read once per search as cheaply as each database allows."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from time import monotonic as time_monotonic

from django.db import DEFAULT_DB_ALIAS, connections

from nuanxin.stations.models import StationIndexVersion


def _version_sql(db) -> str:
    table = db.ops.quote_name(StationIndexVersion._meta.db_table)
    return f"SELECT version FROM {table} WHERE id = 1"  # noqa: S608 - a model's own table


class _SqliteVersionReader(threading.local):
    """A small read-only SQLite connection per thread, kept open, for the version check.

    On SQLite Django opens and closes a connection per request (CONN_MAX_AGE=0), which
    costs more than the whole search; a public nearby request needs nothing else from the
    database, so it reads the counter here (autocommit: every read sees the last commit).
    """

    connection: sqlite3.Connection | None = None
    key: tuple | None = None
    sql: str = ""
    path: str = ""
    checked_at: float = -1.0

    def read(self, db) -> int | None:
        path = db.settings_dict["NAME"]
        now = time_monotonic()
        if path != self.path or now - self.checked_at > 1.0:
            # Is it still the same file (not deleted and created anew)? Once a second.
            try:
                st = os.stat(path)
            except (OSError, TypeError, ValueError):
                return None
            key = (os.getpid(), path, st.st_dev, st.st_ino)
            self.path, self.checked_at = path, now
        else:
            key = self.key
        try:
            if self.key != key:
                if self.connection is not None:
                    self.connection.close()
                self.connection = self.key = None
                if db.is_in_memory_db():
                    return None
                self.sql = _version_sql(db)
                self.connection = sqlite3.connect(path, timeout=20, isolation_level=None,
                                                  check_same_thread=False)
                self.connection.execute("PRAGMA query_only=ON")
                self.key = key
            # fetchall steps the statement to its end, so no read transaction stays open.
            rows = self.connection.execute(self.sql).fetchall()
        except sqlite3.Error:
            self.connection = self.key = None
            self.path = ""
            return None
        return rows[0][0] if rows else 0


_sqlite_version = _SqliteVersionReader()


def _postgresql_version(db) -> int | None:
    """The counter read straight through libpq on Django's (persistent) connection: a
    Django cursor costs ~10x the CPU of the query itself. Outside a transaction it runs as
    a statement prepared once per connection (planned once: half the server's work), where
    a failure (say, a pooler that forgot it) aborts nothing and the plain query follows. In
    a transaction the plain query is part of it. Anything unusual (an aborted transaction,
    an error) returns None and the caller takes the ordinary path, which raises as Django
    does."""
    db.ensure_connection()
    pgconn = getattr(db.connection, "pgconn", None)
    if pgconn is None:
        return None
    sql = _PG_VERSION_SQL.get(db.alias)
    if sql is None:
        sql = _PG_VERSION_SQL[db.alias] = _version_sql(db).encode()
    if pgconn.transaction_status == _PG_IDLE:
        if (_pg_prepared.get(db) is not pgconn
                and pgconn.prepare(_PG_STATEMENT, sql).status == _COMMAND_OK):
            _pg_prepared[db] = pgconn
        if _pg_prepared.get(db) is pgconn:
            result = pgconn.exec_prepared(_PG_STATEMENT, [])
            if result.status == _TUPLES_OK:
                return int(result.get_value(0, 0)) if result.ntuples else 0
            _pg_prepared.pop(db, None)
    result = pgconn.exec_(sql)
    if result.status != _TUPLES_OK:
        return None
    return int(result.get_value(0, 0)) if result.ntuples else 0


_PG_VERSION_SQL: dict[str, bytes] = {}
_PG_STATEMENT = b"nuanxin_station_index_version"
_pg_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # db -> pgconn
try:
    from psycopg.pq import ExecStatus, TransactionStatus

    _TUPLES_OK, _COMMAND_OK = ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK
    _PG_IDLE = TransactionStatus.IDLE
except ImportError:  # no psycopg: no PostgreSQL either
    _TUPLES_OK = _COMMAND_OK = _PG_IDLE = None


def current_index_version(db=None) -> int:
    """The station index counter, as committed (or as written by this thread's open
    transaction). `db`: the connection to use, default the default database's."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor == "sqlite" and db.connection is None and not db.in_atomic_block:
        version = _sqlite_version.read(db)
        if version is not None:
            return version
    if db.vendor == "postgresql":
        version = _postgresql_version(db)
        if version is not None:
            return version
    # A raw cursor: one primary-key read per search, without the ORM's query building.
    with db.cursor() as cursor:
        cursor.execute(_version_sql(db))
        row = cursor.fetchone()
    return row[0] if row else 0



def epoch_of(version: int) -> int:
    return version >> 32
