"""The store's schema migrations: named functions in an ordered registry, and `migrate`.

A database's `PRAGMA user_version` counts the migrations it has had, so version N means the
first N functions of `MIGRATIONS` ran. Each runs in its own transaction with the version
bump. Never edit or reorder a migration that has shipped: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from hookbin.store.errors import StoreError
from hookbin.store.rows import SUMMARY_TYPES, summary_values

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []


def migration(function: Migration) -> Migration:
    """Register `function` as the next migration."""
    MIGRATIONS.append(function)
    return function


@migration
def m001_captures(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE captures (
            id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            query_string TEXT NOT NULL,
            headers TEXT NOT NULL,
            body BLOB NOT NULL,
            body_size INTEGER NOT NULL,
            truncated INTEGER NOT NULL,
            remote TEXT NOT NULL,
            status INTEGER,
            response TEXT,
            delivery_key TEXT,
            delivery_source TEXT,
            attempt INTEGER,
            extra TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    conn.execute("CREATE INDEX captures_delivery ON captures(delivery_key, id)")


@migration
def m002_drop_extra(conn: sqlite3.Connection) -> None:
    # `extra` was never written with anything but `{}`. The table is rebuilt rather than
    # altered with DROP COLUMN, which SQLite before 3.35 (still in some distributions) lacks.
    columns = (
        "id, received_at, method, path, query_string, headers, body, body_size, truncated, "
        "remote, status, response, delivery_key, delivery_source, attempt"
    )
    conn.execute(
        """
        CREATE TABLE captures_new (
            id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            query_string TEXT NOT NULL,
            headers TEXT NOT NULL,
            body BLOB NOT NULL,
            body_size INTEGER NOT NULL,
            truncated INTEGER NOT NULL,
            remote TEXT NOT NULL,
            status INTEGER,
            response TEXT,
            delivery_key TEXT,
            delivery_source TEXT,
            attempt INTEGER
        )
        """
    )
    conn.execute(f"INSERT INTO captures_new ({columns}) SELECT {columns} FROM captures")
    conn.execute("DROP TABLE captures")
    conn.execute("ALTER TABLE captures_new RENAME TO captures")
    conn.execute("CREATE INDEX captures_delivery ON captures(delivery_key, id)")


@migration
def m003_signature(conn: sqlite3.Connection) -> None:
    # The `--verify` verdict, one column per field so that `sig:valid` and `sig:invalid` are
    # plain SQL. All NULL for captures taken without --verify (and for every older capture).
    for column in ("signature_scheme TEXT", "signature_valid INTEGER", "signature_reason TEXT"):
        conn.execute(f"ALTER TABLE captures ADD COLUMN {column}")


@migration
def m004_runs(conn: sqlite3.Connection) -> None:
    # Captures from before runs existed were one experiment: they become run 1 (recorded
    # without an answer, which was not kept), so the next serve starts run 2.
    conn.execute("ALTER TABLE captures ADD COLUMN run INTEGER")
    conn.execute("UPDATE captures SET run = 1")
    conn.execute("CREATE INDEX captures_run ON captures(run, id)")
    conn.execute(
        """
        CREATE TABLE runs (
            run INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            spec TEXT,
            rules TEXT NOT NULL DEFAULT '[]'
        )
        """
    )
    conn.execute("INSERT INTO runs (run, started_at) SELECT 1, min(received_at) FROM captures HAVING count(*) > 0")


@migration
def m005_forward(conn: sqlite3.Connection) -> None:
    # What the app said when the capture was forwarded (`serve --forward`): all NULL for
    # captures that were not. In mirror mode they are filled in by a later UPDATE (see
    # `SQLiteStore.record_outcome`), since the app answers after hookbin has stored the capture.
    for column in (
        "forward_url TEXT",
        "forward_status INTEGER",
        "forward_ms REAL",
        "forward_error TEXT",
        "forward_size INTEGER",
    ):
        conn.execute(f"ALTER TABLE captures ADD COLUMN {column}")


@migration
def m006_summaries(conn: sqlite3.Connection) -> None:
    # Lists (`ls`, the TUI's rows, `deliveries`, the report) read a summary of each capture
    # from columns of its own, written with it, and never its body (see store/rows.py). Existing
    # captures get theirs here. The table is rebuilt with headers and body last in each row:
    # SQLite then reads a row's other columns without walking the overflow pages of a large body.
    # Every column an earlier migration made is carried over as it is.
    added = list(SUMMARY_TYPES)
    conn.execute(f"CREATE TEMP TABLE m006_summaries (rid INTEGER PRIMARY KEY, {', '.join(added)})")
    insert = f"INSERT INTO temp.m006_summaries VALUES (?, {', '.join('?' * len(added))})"
    batch: list[tuple[object, ...]] = []
    for row in conn.execute(
        "SELECT rowid, id, received_at, method, path, headers, body, response, delivery_key, delivery_source "
        "FROM captures"
    ):
        batch.append((row[0], *summary_values(row)))
        if len(batch) >= _BACKFILL_BATCH:
            conn.executemany(insert, batch)
            batch.clear()
    conn.executemany(insert, batch)
    kept = [
        (
            name,
            f"{name} {kind}"
            + " PRIMARY KEY" * bool(pk)
            + " NOT NULL" * bool(notnull)
            + ("" if default is None else f" DEFAULT {default}"),
        )
        for _, name, kind, notnull, default, pk in conn.execute("PRAGMA table_info(captures)")
        if name not in ("headers", "body")
    ]
    indexes = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'captures' AND sql IS NOT NULL"
        )
    ]
    declarations = [declaration for _, declaration in kept] + [f"{name} {SUMMARY_TYPES[name]}" for name in added]
    conn.execute(f"CREATE TABLE captures_new ({', '.join(declarations)}, headers TEXT NOT NULL, body BLOB NOT NULL)")
    names = [name for name, _ in kept]
    conn.execute(
        f"INSERT INTO captures_new ({', '.join([*names, *added, 'headers', 'body'])}) "
        f"SELECT {', '.join([*(f'c.{n}' for n in names), *(f's.{n}' for n in added), 'c.headers', 'c.body'])} "
        "FROM captures c JOIN temp.m006_summaries s ON s.rid = c.rowid ORDER BY c.rowid"
    )
    conn.execute("DROP TABLE captures")
    conn.execute("ALTER TABLE captures_new RENAME TO captures")
    for sql in indexes:
        conn.execute(sql)
    conn.execute("DROP TABLE temp.m006_summaries")


_BACKFILL_BATCH = 500

SCHEMA_VERSION = len(MIGRATIONS)
"""The version a database has once every migration ran."""


def migrate(conn: sqlite3.Connection) -> None:
    """Run the migrations `conn`'s database has not had yet, each in its own transaction.

    `conn` must be in autocommit mode (`isolation_level=None`).

    Raises:
        StoreError: when the database is newer than this hookbin.
    """
    while _version(conn) != SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = _version(conn)
            if version < SCHEMA_VERSION:
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"database schema {version} is newer than this hookbin understands ({SCHEMA_VERSION})")
    return version
