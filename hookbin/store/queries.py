"""The store's reads: a capture in full, captures and their summaries a page at a time, counts, runs.

`Queries` is mixed into `SQLiteStore`, which gives it `_query`, one read on the store's reading
connection. Streaming reads take it for one page at a time, so a long listing holds up neither
the writer nor another reader, and memory stays flat however many captures there are. Lists read
`CaptureSummary` rows, which hold no headers and no body; `get` is the one way to read a whole
capture.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from hookbin.model import Capture, Run
from hookbin.store.errors import StoreError
from hookbin.store.filters import Filter, compile_filter
from hookbin.store.rows import CAPTURE_SELECT, SUMMARY_COLUMNS, capture_from_row, summary_from_row, text_of
from hookbin.summaries import CaptureSummary

ID_PAGE = 256
"""Ids read at a time when streaming whole captures (see `iter_captures`)."""
CAPTURE_BYTES = 4 * 1024 * 1024
"""Headers and bodies read at a time when streaming whole captures, at most (or one capture)."""
SUMMARY_PAGE = 1000
"""Summaries read at a time (a few hundred bytes each)."""


IN_CHUNK = 500  # values per `IN (...)`: SQLite allows at least 999 parameters
UTC_TEXT = "hookbin_utc"
"""The name under which the store registers `utc_text` on its connection."""
# An arrival time that sorts as text as the times sort: hookbin writes them in UTC, to the
# microsecond, so only a capture written in another zone (by a test, say) needs Python.
ARRIVAL = f"CASE WHEN received_at LIKE '%+00:00' THEN received_at ELSE {UTC_TEXT}(received_at) END"


def utc_text(stored: str) -> str:
    """A stored arrival time (ISO 8601, any zone) as ISO text in UTC, to the microsecond."""
    return datetime.fromisoformat(stored).astimezone(UTC).isoformat(timespec="microseconds")


class Queries:
    """The reading half of `SQLiteStore` (see the module docstring)."""

    path: str

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run one read on the store's reading connection (`SQLiteStore` provides it)."""
        raise NotImplementedError

    def _plain_query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """`_query` for many rows, as tuples of UTF-8 text (`SQLiteStore` provides it)."""
        raise NotImplementedError

    def get(self, capture_id: str) -> Capture | None:
        """The capture with this id, or the only one whose id starts or ends with it.

        Raises:
            StoreError: when a partial id matches several captures.
        """
        rows = self._query(f"SELECT {CAPTURE_SELECT} FROM captures WHERE id = ?", (capture_id,))
        if not rows and len(capture_id) >= 3 and capture_id.isalnum():
            rows = self._query(
                f"SELECT {CAPTURE_SELECT} FROM captures WHERE id LIKE ? OR id LIKE ? LIMIT 2",
                (capture_id.lower() + "%", "%" + capture_id.lower()),
            )
            if len(rows) > 1:
                raise StoreError(f"id {capture_id!r} matches several captures; give more of it")
        return capture_from_row(rows[0]) if rows else None

    def list_captures(self, limit: int = 50, offset: int = 0, flt: Filter | None = None) -> list[Capture]:
        """Captures newest first.

        Raises:
            StoreError: for a bad status in `flt`.
        """
        compiled = compile_filter(flt)
        rows = self._query(
            f"SELECT {CAPTURE_SELECT} FROM captures{compiled.where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*compiled.args, limit, offset],
        )
        return [capture_from_row(row) for row in rows]

    def list_oldest_first(self, flt: Filter | None = None, limit: int = -1) -> list[Capture]:
        """Captures oldest first, all in memory at once (`iter_captures` streams them)."""
        compiled = compile_filter(flt)
        rows = self._query(
            f"SELECT {CAPTURE_SELECT} FROM captures{compiled.where} ORDER BY id LIMIT ?", [*compiled.args, limit]
        )
        return [capture_from_row(row) for row in rows]

    def iter_captures(
        self, flt: Filter | None = None, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> Iterator[Capture]:
        """Whole captures oldest (or newest) first, read a few at a time: memory stays flat however
        many there are and however large their bodies.

        Args:
            flt: which captures.
            newest_first: newest first, as `ls` lists them.
            limit: at most this many (None: all).
            offset: skip this many first.
        """
        # Ids (and sizes) a page at a time; then the captures themselves by the handful, as many
        # as make CAPTURE_BYTES of headers and body (one at least, however large).
        columns = "id, length(body) + length(headers)"
        for page in self._pages(columns, flt, newest_first, limit, offset, ID_PAGE, self._plain_query):
            chunk: list[str] = []
            size = 0
            for capture_id, length in page:
                chunk.append(capture_id)
                size += length
                if size >= CAPTURE_BYTES or len(chunk) >= IN_CHUNK:
                    yield from self._whole(chunk)
                    chunk, size = [], 0
            yield from self._whole(chunk)

    def _whole(self, ids: list[str]) -> Iterator[Capture]:
        """The captures `ids` name, in that order (those deleted meanwhile left out)."""
        if not ids:
            return
        rows = self._query(f"SELECT {CAPTURE_SELECT} FROM captures WHERE id IN ({', '.join('?' * len(ids))})", ids)
        found = {row["id"]: row for row in rows}
        for capture_id in ids:
            if capture_id in found:
                yield capture_from_row(found.pop(capture_id))

    def iter_oldest_first(self, flt: Filter | None = None) -> Iterator[Capture]:
        """Whole captures oldest first, one at a time (see `iter_captures`)."""
        return self.iter_captures(flt)

    def iter_summaries(
        self, flt: Filter | None = None, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> Iterator[CaptureSummary]:
        """What lists show of each capture (see `CaptureSummary`), oldest (or newest) first, read
        a page at a time without headers or bodies. Arguments as for `iter_captures`."""
        for page in self._pages(SUMMARY_COLUMNS, flt, newest_first, limit, offset, SUMMARY_PAGE, self._plain_query):
            yield from map(summary_from_row, page)

    def list_summaries(self, limit: int = 50, offset: int = 0, flt: Filter | None = None) -> list[CaptureSummary]:
        """Summaries newest first, as `list_captures` lists captures (the TUI's rows)."""
        return list(self.iter_summaries(flt, newest_first=True, limit=limit, offset=offset))

    def _pages(
        self,
        columns: str,
        flt: Filter | None,
        newest_first: bool,
        limit: int | None,
        offset: int,
        size: int,
        query: Callable[[str, list[Any]], list[tuple[Any, ...]]],
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of `columns` (the first being `id`) a page at a time, each page after the last
        id of the one before: a capture added or deleted meanwhile moves no other."""
        compiled = compile_filter(flt)
        order, beyond = ("DESC", "<") if newest_first else ("", ">")
        condition = f"({compiled.condition}) AND " if compiled.condition else ""
        remaining = limit
        last: str | None = None
        while remaining is None or remaining > 0:
            want = size if remaining is None else min(size, remaining)
            if last is None:
                sql = f"SELECT {columns} FROM captures{compiled.where} ORDER BY id {order} LIMIT ? OFFSET ?"
                rows = query(sql, [*compiled.args, want, offset])
            else:
                sql = f"SELECT {columns} FROM captures WHERE {condition}id {beyond} ? ORDER BY id {order} LIMIT ?"
                rows = query(sql, [*compiled.args, last, want])
            if rows:
                yield rows
            if len(rows) < want:
                return
            last = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def newest_deliveries(self, flt: Filter | None, limit: int) -> tuple[int, list[CaptureSummary]]:
        """How many deliveries the captures `flt` selects make, and the summaries of the newest
        `limit` of them, for `group_deliveries` (`hookbin deliveries`): SQLite finds them, so
        only their attempts are read.

        A delivery is a (run, group key) as `group_deliveries` groups them, and the newest are
        those whose first attempt, by (arrival, attempt, id), came last, as it sorts them.
        """
        compiled = compile_filter(flt)
        total: int = self._query(
            f"SELECT count(*) FROM (SELECT 1 FROM captures{compiled.where} GROUP BY run, group_key)", compiled.args
        )[0][0]
        if total <= limit:
            return total, list(self.iter_summaries(flt))
        firsts = (
            f"SELECT run, group_key, {ARRIVAL} AS arrival, id, row_number() OVER "
            f"(PARTITION BY run, group_key ORDER BY {ARRIVAL}, coalesce(attempt, 0), id) AS position "
            f"FROM captures{compiled.where}"
        )
        found = self._plain_query(
            f"SELECT run, group_key FROM ({firsts}) WHERE position = 1 ORDER BY arrival DESC, id DESC LIMIT ?",
            [*compiled.args, limit],
        )
        chosen = {(run, text_of(key)) for run, key in found}
        keys = sorted({key for _, key in found})
        summaries: list[CaptureSummary] = []
        condition = f"({compiled.condition}) AND " if compiled.condition else ""
        for start in range(0, len(keys), IN_CHUNK):
            chunk = keys[start : start + IN_CHUNK]
            rows = self._plain_query(
                f"SELECT {SUMMARY_COLUMNS} FROM captures WHERE {condition}group_key IN ({', '.join('?' * len(chunk))}) "
                "ORDER BY id",
                [*compiled.args, *chunk],
            )
            summaries += [s for s in map(summary_from_row, rows) if (s.run, s.group_key) in chosen]
        summaries.sort(key=lambda s: s.id)
        return total, summaries

    def count(self, flt: Filter | None = None) -> int:
        """How many captures pass `flt`."""
        compiled = compile_filter(flt)
        count: int = self._query(f"SELECT count(*) FROM captures{compiled.where}", compiled.args)[0][0]
        return count

    # -- runs ------------------------------------------------------------------------------

    def last_run(self) -> int:
        """The newest run's number (0 when none was ever started)."""
        row = self._query("SELECT max(coalesce((SELECT max(run) FROM runs), 0), coalesce(max(run), 0)) FROM captures")
        return int(row[0][0])

    def get_run(self, number: int) -> Run | None:
        """Run `number` as recorded, or None."""
        rows = self._query("SELECT run, started_at, spec, rules FROM runs WHERE run = ?", (number,))
        if not rows:
            return None
        row = rows[0]
        return Run(row[0], datetime.fromisoformat(row[1]), row[2], tuple(json.loads(row[3])))
