"""The store's schema migrations: named functions in an ordered registry, and `migrate`.

A database's `PRAGMA user_version` counts the migrations it has had, so version N means the
first N functions of `MIGRATIONS` ran. Each runs in its own transaction with the version
bump. Never edit or reorder a migration that has shipped: append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from hookbin.store.errors import StoreError
from hookbin.store.rows import blob_of, pack_fields, summary_of_row, text_of

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


_M006_TYPES = {
    "fault": "BLOB",
    "delay_ms": "REAL NOT NULL DEFAULT 0",
    "drip_ms": "REAL NOT NULL DEFAULT 0",
    "delivered": "INTEGER",
    "sender_gone_ms": "REAL",
    "bytes_sent": "INTEGER",
    "answer_size": "INTEGER NOT NULL DEFAULT 0",
    "retry_after": "BLOB",
    "survey": "BLOB",
    "invalid_json": "INTEGER NOT NULL DEFAULT 0",
    "user_agent": "BLOB",
    "body_digest": "BLOB NOT NULL DEFAULT x''",
    "group_key": "BLOB NOT NULL DEFAULT x''",
    "group_source": "BLOB NOT NULL DEFAULT x''",
}
"""The summary's columns as m006 made them, one per field (m007 packs all but group_key)."""


def m006_values(row: sqlite3.Row) -> tuple[Any, ...]:
    """The values of `_M006_TYPES` for a stored capture (see `summary_of_row`)."""
    summary = summary_of_row(row)
    _, fault, delay_ms, drip_ms, delivered, gone, sent, size, retry_after = summary.answer
    return (
        *(blob_of(fault), delay_ms, drip_ms, None if delivered is None else int(delivered), gone, sent, size),
        *(blob_of(retry_after), blob_of(summary.survey), int(summary.invalid_json), blob_of(summary.user_agent)),
        *(summary.body_digest, blob_of(summary.group_key), blob_of(summary.group_source)),
    )


@migration
def m006_summaries(conn: sqlite3.Connection) -> None:
    # Lists (`ls`, the TUI's rows, `deliveries`, the report) read a summary of each capture
    # from columns of its own, written with it, and never its body (see store/rows.py). Existing
    # captures get theirs here. The table is rebuilt with headers and body last in each row:
    # SQLite then reads a row's other columns without walking the overflow pages of a large body.
    # Every column an earlier migration made is carried over as it is.
    select = "rowid, id, received_at, method, path, headers, body, response, delivery_key, delivery_source"
    _rebuild(conn, select, m006_values, _M006_TYPES, ())


@migration
def m007_packed_summary(conn: sqlite3.Connection) -> None:
    # The summary's fields that only Python reads, a column each since m006, become one JSON
    # array (`rows.pack`): one value per INSERT rather than twelve, which made it 40% slower.
    # group_key keeps its column (SQL groups by it). Rebuilt again, headers and body last.
    packed = [name for name in _M006_TYPES if name != "group_key"]

    def values(row: sqlite3.Row) -> tuple[Any, ...]:
        fault, delay, drip, delivered, gone, sent, size, retry_after, survey, invalid, agent, digest, source = row[1:]
        delivered = None if delivered is None else bool(delivered)
        answer = (None, text_of(fault), delay, drip, delivered, gone, sent, size, text_of(retry_after))
        return (pack_fields(answer, text_of(survey), bool(invalid), text_of(agent), digest, text_of(source) or ""),)

    _rebuild(conn, f"rowid, {', '.join(packed)}", values, {"summary": "TEXT NOT NULL DEFAULT '[]'"}, tuple(packed))


def _rebuild(
    conn: sqlite3.Connection,
    select: str,
    values: Callable[[sqlite3.Row], tuple[Any, ...]],
    added: dict[str, str],
    dropped: tuple[str, ...],
) -> None:
    """Rebuild `captures` without the `dropped` columns, with the `added` ones (name: declaration)
    before headers and body, which come last. `values` gives each row's added values from the
    columns `select` names (rowid first), a row at a time; every other column is kept as it is,
    and so are the indexes."""
    conn.execute(f"CREATE TEMP TABLE migrated (rid INTEGER PRIMARY KEY, {', '.join(added)})")
    insert = f"INSERT INTO temp.migrated VALUES (?, {', '.join('?' * len(added))})"
    batch: list[tuple[object, ...]] = []
    for row in conn.execute(f"SELECT {select} FROM captures"):
        batch.append((row[0], *values(row)))
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
        if name not in ("headers", "body", *dropped)
    ]
    indexes = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'captures' AND sql IS NOT NULL"
        )
    ]
    declarations = [declaration for _, declaration in kept] + [f"{name} {kind}" for name, kind in added.items()]
    conn.execute(f"CREATE TABLE captures_new ({', '.join(declarations)}, headers TEXT NOT NULL, body BLOB NOT NULL)")
    names = [name for name, _ in kept]
    conn.execute(
        f"INSERT INTO captures_new ({', '.join([*names, *added, 'headers', 'body'])}) "
        f"SELECT {', '.join([*(f'c.{n}' for n in names), *(f'm.{n}' for n in added), 'c.headers', 'c.body'])} "
        "FROM captures c JOIN temp.migrated m ON m.rid = c.rowid ORDER BY c.rowid"
    )
    conn.execute("DROP TABLE captures")
    conn.execute("ALTER TABLE captures_new RENAME TO captures")
    for sql in indexes:
        conn.execute(sql)
    conn.execute("DROP TABLE temp.migrated")


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
