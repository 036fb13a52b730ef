"""The SQLite capture store: WAL mode, migrations, and a writer thread that commits in batches.

One connection serves the writer thread and readers under a lock; batching keeps commits
cheap under load (one commit for every request that arrived while the previous commit ran),
and the event loop never waits on disk: it awaits a future instead.

The database file is made 0600 before SQLite opens it (SQLite gives the `-wal` and `-shm`
files it creates later the database file's mode), and a directory made for it is 0700.
When writing fails (a full disk, a read-only or locked file) every waiting writer hears the
cause in words, subscribers hear it once (`StoreFailed`), and the next batch simply tries
again: once space returns, storing resumes (`StoreRecovered`).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hookbin.model import Capture, Forwarded, ResponseGiven, Run
from hookbin.private import private_dir, private_file
from hookbin.store.errors import StoreError, cause, read_only
from hookbin.store.events import (
    CapturesAdded,
    CapturesDeleted,
    OutcomeRecorded,
    StoreCleared,
    StoreEvent,
    StoreFailed,
    StoreRecovered,
    Subscriber,
)
from hookbin.store.filters import Filter, compile_filter, sql_functions
from hookbin.store.lock import WriterLock
from hookbin.store.migrations import migrate
from hookbin.store.queries import IN_CHUNK, UTC_TEXT, Queries, utc_text
from hookbin.store.reporting import Reporting
from hookbin.store.rows import (
    capture_row,
    headers_column,
    insert_rows,
    rows_per_insert,
    text_column,
    update_outcome,
)
from hookbin.summaries import CaptureSummary, summary_of

log = logging.getLogger(__name__)

MEMORY = ":memory:"
Done = Callable[["BaseException | None"], object]
# (captures to add, outcomes to record, done callback, the captures' bodies as already read)
_Item = tuple[tuple[Capture, ...], tuple[OutcomeRecorded, ...], Done, tuple[dict[str, Any] | None, ...]]
_BATCH = 512
_SQLITE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database, private like it."""


def _resolving(capture: Capture) -> tuple[concurrent.futures.Future[Capture], Done]:
    """A future for `capture`, and the writer's callback that resolves it (or fails it)."""
    future: concurrent.futures.Future[Capture] = concurrent.futures.Future()

    def done(error: BaseException | None) -> None:
        if error is None:
            future.set_result(capture)
        else:
            future.set_exception(error)

    return future, done


class SQLiteStore(Queries, Reporting):
    """Captures kept in one SQLite file (or in memory with `:memory:`).

    Args:
        writer: open as the one process that writes captures (`hookbin serve`): take the
            file's `WriterLock` first, so a second writer is refused (`StoreBusy`) before it
            changes anything. Readers open without it.
    """

    def __init__(self, path: str | os.PathLike[str] = MEMORY, *, writer: bool = False) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        # Items are (captures, outcomes, done callback); empty tuples just flush; None stops.
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._closed = False
        self._max_captures: int | None = None
        # Retention counts rows without a count(*) per commit: the count after our last write,
        # trusted while `PRAGMA data_version` says no other connection has changed the file.
        self._known_count: int | None = None
        self._data_version: int | None = None
        self._failing: str | None = None
        """The cause of the failure writing is in, if it is in one (writer thread only)."""
        self._lost = 0
        self._writer_lock: WriterLock | None = None
        if writer and self.path != MEMORY:
            self._make_private()
            # Where the database cannot be written, no lock file can be made beside it either:
            # say what is read-only rather than that the lock file could not be opened.
            self.check_writable()
            self._writer_lock = WriterLock(self.path)
            self._writer_lock.acquire()
        try:
            self._conn = self._connect()
            # Reads on a connection of their own (WAL): a long one never holds up the commits answers wait for.
            self._reader = self._conn if self.path == MEMORY else self._connect()
            self._read_lock = self._lock if self.path == MEMORY else threading.Lock()
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise
        self._chunk = rows_per_insert(self._conn)
        self._writer = threading.Thread(target=self._write_loop, name="hookbin-store", daemon=True)
        self._writer.start()

    # -- opening ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path != MEMORY:
            self._make_private()
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.path}: {cause(exc, self.path)}") from None
        conn.row_factory = sqlite3.Row
        conn.text_factory = text_column
        # The filters' SQL form calls these (see hookbin.store.filters).
        for name, function in sql_functions(text_column, headers_column).items():
            conn.create_function(name, 2, function, deterministic=True)
        conn.create_function(UTC_TEXT, 1, utc_text, deterministic=True)
        try:
            if self.path != MEMORY:
                conn.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL survives a crash or kill of hookbin (not a power cut).
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot use database {self.path}: {cause(exc, self.path)}") from None
        except StoreError:
            conn.close()
            raise
        return conn

    def _make_private(self) -> None:
        """Create the database's directory (0700) if missing, and the file 0600 before SQLite
        opens it; tighten the files an older hookbin left readable."""
        file = Path(self.path).expanduser()
        parent = file.resolve().parent
        try:
            private_dir(parent, tighten=False)
        except OSError as exc:
            raise StoreError(f"cannot create {parent}: {exc.strerror or exc}") from None
        try:
            private_file(file)
            for suffix in _SQLITE_FILES:
                private_file(file.with_name(file.name + suffix), create=False)
        except OSError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc.strerror or exc}") from None

    def check_writable(self) -> None:
        """Refuse a database hookbin could never write to (a read-only file, directory or file system).

        Raises:
            StoreError: naming what is read-only.
        """
        why = read_only(self.path)
        if why:
            raise StoreError(f"cannot store captures in {self.path}: {why}")

    def announce(self, **info: Any) -> None:
        """Say in the lock file where this writer listens (`url=`, `admin_url=`), for a
        second writer's refusal to name; nothing for a reader or `:memory:`."""
        if self._writer_lock is not None:
            self._writer_lock.announce(**info)

    @property
    def schema_version(self) -> int:
        with self._lock:
            version: int = self._conn.execute("PRAGMA user_version").fetchone()[0]
        return version

    # -- writing ---------------------------------------------------------------------------

    def submit_many(
        self,
        captures: Sequence[Capture],
        done: Done,
        outcomes: Sequence[tuple[Capture, ResponseGiven]] = (),
        documents: Sequence[dict[str, Any] | None] = (),
    ) -> None:
        """Queue `captures` for writing; `done(None)` is called once they are committed.

        `done(error)` is called instead if they could not be written. Either way it runs on
        the writer thread, once per call: a caller on an event loop wakes its loop once per
        batch instead of once per capture. `outcomes` are recorded in the same commit, as
        `record_outcome` records one: (an already committed capture, its answer as now known).
        `documents`, if given, holds for each capture its body's JSON object as orjson read it
        already, or None (see `summary_of`): the summary need not parse the body again.
        """
        if self._closed:
            raise StoreError("the store is closed")
        self._queue.put(
            (
                tuple(captures),
                tuple(OutcomeRecorded.of(capture, response) for capture, response in outcomes),
                done,
                tuple(documents),
            )
        )

    def submit(self, capture: Capture) -> concurrent.futures.Future[Capture]:
        """Queue `capture` for writing; the future resolves once it is committed."""
        future, done = _resolving(capture)
        self.submit_many((capture,), done)
        return future

    def record_outcome(
        self, capture: Capture, response: ResponseGiven | None = None, *, forward: Forwarded | None = None
    ) -> concurrent.futures.Future[Capture]:
        """Store what became of `capture` since it was stored: its answer, now saying whether it
        reached the sender (`delivered`, `sender_gone_ms`, `bytes_sent`), and its forward result
        once the app answered a copy (`serve --forward-mode mirror`). Either left None stays as
        `capture` has it, so `capture` must be the latest one handed to the store. The future
        resolves to the capture as now stored.

        The one change a stored capture gets, and only through the writer thread, after the
        capture's own commit: subscribers then receive `OutcomeRecorded`.
        """
        if self._closed:
            raise StoreError("the store is closed")
        outcome = OutcomeRecorded.of(capture, response, forward)
        future, done = _resolving(outcome.capture)
        self._queue.put(((), (outcome,), done, ()))
        return future

    def add(self, capture: Capture) -> Capture:
        """Write `capture` and wait until it is committed."""
        return self.submit(capture).result()

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            size = len(item[0]) + len(item[1])
            stop = False
            while size < _BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
                size += len(more[0]) + len(more[1])
            self._commit(batch)
            # Let go of what was committed before waiting for more: a capture's body would stay
            # in memory as long as the writer waits (the TUI's list holds no body, and neither may this).
            batch.clear()
            item = more = None
            if stop:
                return

    def _commit(self, batch: list[_Item]) -> None:
        captures = tuple(capture for captures, _, _, _ in batch for capture in captures)
        outcomes = [outcome for _, outcomes, _, _ in batch for outcome in outcomes]
        documents = [
            document
            for added, _, _, read in batch
            for document in (read if len(read) == len(added) else (None,) * len(added))
        ]
        recorded: list[OutcomeRecorded] = []
        pruned: tuple[str, ...] = ()
        error, reason = None, None
        summaries: tuple[CaptureSummary, ...] = ()
        try:
            summaries = tuple(
                summary_of(capture, document=document) for capture, document in zip(captures, documents, strict=True)
            )
            rows = list(map(capture_row, captures, summaries))
            with self._lock:
                if len(rows) <= self._chunk and not outcomes and self._max_captures is None:
                    # One INSERT is a transaction of its own: one step of SQLite, not three (each
                    # step gives up the GIL, and taking it back can wait on the loop's thread).
                    insert_rows(self._conn, rows, self._chunk)
                else:
                    pruned, recorded = self._transaction(rows, outcomes)
        except Exception as exc:  # disk full, read-only, locked...: each writer hears about it
            reason = cause(exc, self.path)
            error = StoreError(f"could not store the capture: {reason}")
        for _, _, done, _ in batch:
            try:
                done(error)
            except Exception:  # a broken callback must not stop the writer
                log.exception("store callback failed")
        if captures:
            self._note_outcome(reason, len(captures))
        if error is None and captures:
            self._emit(CapturesAdded(captures, summaries))
            if pruned:
                self._emit(CapturesDeleted(pruned))
        if error is None:
            for outcome in recorded:
                self._emit(outcome)

    def _transaction(self, rows: list[Any], outcomes: list[OutcomeRecorded]) -> tuple[tuple[str, ...], list[Any]]:
        """Insert `rows`, prune, record `outcomes`, in one transaction (the lock held): the ids
        pruned, and the outcomes recorded (not those of captures deleted meanwhile)."""
        self._conn.execute("BEGIN")
        try:
            insert_rows(self._conn, rows, self._chunk)
            pruned = self._prune(len(rows))
            recorded = [outcome for outcome in outcomes if update_outcome(self._conn, outcome.capture)]
            self._conn.execute("COMMIT")
        except BaseException:
            self._known_count = None
            self._rollback()
            raise
        return pruned, recorded

    def _note_outcome(self, reason: str | None, count: int) -> None:
        """Tell subscribers once when writing starts failing (again for a new cause), and once
        when it works again, rather than once per failed batch."""
        if reason is not None:
            self._lost += count
            if reason != self._failing:
                self._failing = reason
                self._emit(StoreFailed(cause=reason, count=count))
        elif self._failing is not None:
            lost, self._failing, self._lost = self._lost, None, 0
            self._emit(StoreRecovered(lost=lost))

    def _rollback(self) -> None:
        """Roll back the transaction, if there still is one: after some errors (a full disk)
        SQLite has rolled back already, and rolling back again would only replace the real
        cause with "cannot rollback - no transaction is active"."""
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    # -- retention -------------------------------------------------------------------------

    def keep_at_most(self, limit: int | None) -> None:
        """Keep at most `limit` captures (None: no limit): each commit from now on deletes the
        oldest beyond it, in the same transaction (a `CapturesDeleted` event follows)."""
        with self._lock:
            self._max_captures = limit
            self._known_count = None

    def _prune(self, added: int) -> tuple[str, ...]:
        """In a write transaction, after `added` inserts: delete the oldest captures beyond the
        limit and return their ids."""
        if self._max_captures is None:
            return ()
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if self._known_count is None or version != self._data_version:
            self._known_count = self._conn.execute("SELECT count(*) FROM captures").fetchone()[0]
            self._data_version = version
        else:
            self._known_count += added
        excess = self._known_count - self._max_captures
        if excess <= 0:
            return ()
        oldest = "SELECT id FROM captures ORDER BY id LIMIT ?"
        ids = tuple(row[0] for row in self._conn.execute(oldest, (excess,)))
        self._conn.execute(f"DELETE FROM captures WHERE id IN ({oldest})", (excess,))
        self._known_count -= len(ids)
        return ids

    def _write(self, work: Callable[[], Any]) -> Any:
        """Run `work` in a write transaction on the caller's thread (the lock held); a database
        error is a StoreError. Changes made here are counted again by retention."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = work()
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to {self.path}: {cause(exc, self.path)}") from None
        finally:
            self._known_count = None
        return result

    # -- importing and deleting ------------------------------------------------------------

    def import_captures(self, captures: Sequence[Capture]) -> tuple[int, int]:
        """Write `captures` as they are (ids and times kept), skipping any whose id is already
        in the store or earlier in `captures`: nothing is overwritten.

        Returns:
            How many were added, and how many skipped.
        """

        def insert() -> tuple[list[Capture], list[CaptureSummary]]:
            ids = list(dict.fromkeys(capture.id for capture in captures))
            seen: set[str] = set()
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                marks = ", ".join("?" * len(chunk))
                seen.update(
                    row[0] for row in self._conn.execute(f"SELECT id FROM captures WHERE id IN ({marks})", chunk)
                )
            fresh = []
            for capture in captures:
                if capture.id not in seen:
                    seen.add(capture.id)
                    fresh.append(capture)
            summaries = list(map(summary_of, fresh))
            insert_rows(self._conn, list(map(capture_row, fresh, summaries)), self._chunk)
            return fresh, summaries

        with self._lock:
            added, summaries = self._write(insert)
        if added:
            self._emit(CapturesAdded(tuple(added), tuple(summaries)))
        return len(added), len(captures) - len(added)

    def delete(self, flt: Filter | None = None) -> int:
        """Delete the captures `flt` selects (every one without a filter); returns how many."""
        compiled = compile_filter(flt)
        if not compiled.condition:
            return self.clear()
        self.flush()

        def remove() -> tuple[str, ...]:
            # The same condition twice in one transaction: the ids are exactly the rows deleted.
            ids = tuple(row[0] for row in self._conn.execute(f"SELECT id FROM captures{compiled.where}", compiled.args))
            self._conn.execute(f"DELETE FROM captures{compiled.where}", compiled.args)
            return ids

        with self._lock:
            deleted: tuple[str, ...] = self._write(remove)
        if deleted:
            self._emit(CapturesDeleted(deleted))
        return len(deleted)

    # -- events ----------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(event)` after each change; returns a function that unsubscribes.

        Callbacks run on the store's writer thread (or the thread that called `clear`), so a
        UI must hand events to its own thread (Textual's `post_message` is thread-safe).
        """
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _emit(self, event: StoreEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not stop the writer
                log.exception("store subscriber failed")

    # -- reading (the queries themselves are in store/queries.py) ----------------------------

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            with self._read_lock:
                return self._reader.execute(sql, tuple(args)).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot read {self.path}: {cause(exc, self.path)}") from None

    def _plain_query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._reading() as cursor:
            return cursor.execute(sql, tuple(args)).fetchall()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        """The reading connection, to itself, for one statement or several in a row; rows are
        plain tuples of UTF-8 text, and a failure is a `StoreError`."""
        # Text is made by SQLite's own UTF-8 decoder rather than our surrogateescape factory,
        # which costs a Python call per value: several times faster for the thousands of rows
        # lists read. So a query may select only text columns that were bound as Python str
        # (always valid UTF-8), and must cast the others to BLOB (see rows.SUMMARY_COLUMNS).
        try:
            with self._read_lock:
                self._reader.text_factory = str
                try:
                    cursor = self._reader.cursor()
                    cursor.row_factory = None
                    yield cursor
                finally:
                    self._reader.text_factory = text_column
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot read {self.path}: {cause(exc, self.path)}") from None

    # -- runs ------------------------------------------------------------------------------

    def record_run(self, run: Run) -> None:
        """Write down that `run` started (again, if its number was recorded before)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO runs (run, started_at, spec, rules) VALUES (?, ?, ?, ?)",
                (run.number, run.started_at.isoformat(timespec="microseconds"), run.spec, json.dumps(run.rules)),
            )

    def clear(self) -> int:
        """Delete every capture; returns how many there were."""
        self.flush()
        try:
            with self._lock:
                deleted = self._conn.execute("DELETE FROM captures").rowcount
                self._known_count = None
        except sqlite3.OperationalError as exc:
            raise StoreError(f"could not delete the captures: {cause(exc, self.path)}") from None
        self._emit(StoreCleared())
        return deleted

    def flush(self) -> None:
        """Wait until every capture submitted so far is committed."""
        if self._closed:
            return
        flushed = threading.Event()
        self.submit_many((), lambda error: flushed.set())
        flushed.wait()

    def close(self) -> None:
        """Commit everything still queued, stop the writer and close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        if self._reader is not self._conn:
            with self._read_lock:
                self._reader.close()
        with self._lock:
            if self.path != MEMORY:
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass
            self._conn.close()
        if self._writer_lock is not None:
            self._writer_lock.release()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: str | os.PathLike[str], *, writer: bool = False) -> SQLiteStore:
    """Open (creating and migrating if needed) the store at `path`, or `:memory:`.

    `writer=True` for the one process that writes (see `SQLiteStore`).
    """
    return SQLiteStore(path, writer=writer)
