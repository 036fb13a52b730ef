"""How a capture maps to a row of the `captures` table, and back.

Method, path and query may hold bytes that are not UTF-8 (kept in the model as surrogate
escapes): they are stored as the exact bytes, typed TEXT, and read back with a
surrogateescape text factory (see `SQLiteStore._connect`).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from datetime import datetime
from typing import Any

from hookbin.model import Capture, Forwarded, Headers, ResponseGiven

try:
    import orjson
except ImportError:  # pragma: no cover - the fast extra is not installed
    orjson = None  # type: ignore[assignment]
from hookbin.signatures.check import SignatureCheck

COLUMNS = (
    "id, received_at, method, path, query_string, headers, body, body_size, truncated, "
    "remote, status, response, delivery_key, delivery_source, attempt, "
    "signature_scheme, signature_valid, signature_reason, run, "
    "forward_url, forward_status, forward_ms, forward_error, forward_size"
)
# Method, path and query may hold bytes that are not UTF-8 (kept as surrogate escapes):
# they are stored as the exact bytes, typed TEXT, and read back with a surrogateescape factory.
INSERT = (
    f"INSERT INTO captures ({COLUMNS}) VALUES "
    "(?, ?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FORWARD_COLUMNS = ("forward_url", "forward_status", "forward_ms", "forward_error", "forward_size")
OUTCOME = f"UPDATE captures SET response = ?, {', '.join(f'{c} = ?' for c in _FORWARD_COLUMNS)} WHERE id = ?"
"""What a capture may learn after it is stored: what became of its answer, and its forward result."""
_INSERT_HEAD, _, _INSERT_VALUES = INSERT.partition(" VALUES ")
_MAX_ROWS = 64
"""Rows one INSERT statement takes at most."""


def rows_per_insert(conn: sqlite3.Connection) -> int:
    """The most rows `insert_rows` puts in one statement on `conn`: at most `_MAX_ROWS`, within
    SQLite's limit on parameters (999 before SQLite 3.32)."""
    fit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _INSERT_VALUES.count("?")
    return max(1, min(_MAX_ROWS, fit))


def insert_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], most: int) -> None:
    """Insert `capture_row` rows, up to `most` per statement: one statement for a batch that fits.

    SQLite runs a statement in one step, and the writer thread lets go of the GIL for every
    step: under load, taking it back meant waiting for the event loop's thread to let go, up
    to Python's switch interval (5 ms), once per row with executemany.
    """
    for start in range(0, len(rows), most):
        chunk = rows[start : start + most]
        conn.execute(_insert_statement(len(chunk)), [value for row in chunk for value in row])


@functools.lru_cache(maxsize=_MAX_ROWS)
def _insert_statement(count: int) -> str:
    return f"{_INSERT_HEAD} VALUES " + ", ".join([_INSERT_VALUES] * count)


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def capture_row(capture: Capture) -> tuple[Any, ...]:
    response = capture.response
    return (
        capture.id,
        capture.received_at.isoformat(timespec="microseconds"),
        _raw(capture.method),
        _raw(capture.path),
        _raw(capture.query_string),
        json.dumps(capture.headers),  # ensure_ascii keeps surrogate escapes intact
        capture.body,
        capture.body_size,
        int(capture.truncated),
        capture.remote,
        response.status if response else None,
        response_column(response) if response else None,
        capture.delivery_key,
        capture.delivery_source,
        capture.attempt,
        *_signature_row(capture.signature),
        capture.run,
        *forward_row(capture.forward),
    )


def response_column(response: ResponseGiven) -> str:
    """The response column: the answer's JSON form (`ResponseGiven.to_dict`).

    Written by orjson when it is installed (the `fast` extra), a few microseconds less per
    capture on the writer thread; by json where orjson refuses (a lone surrogate in a header
    set by the user). Readers parse either the same.
    """
    data = response.to_dict()
    if orjson is not None:
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            pass
    return json.dumps(data)


def _signature_row(check: SignatureCheck | None) -> tuple[str | None, int | None, str | None]:
    """The three signature columns: all NULL when no signature was checked."""
    if check is None:
        return None, None, None
    return check.scheme, int(check.valid), check.reason


def _signature(row: sqlite3.Row) -> SignatureCheck | None:
    if row["signature_valid"] is None:
        return None
    return SignatureCheck(row["signature_scheme"] or "", bool(row["signature_valid"]), row["signature_reason"] or "")


def update_outcome(conn: sqlite3.Connection, capture: Capture) -> bool:
    """Store what `capture` learnt after it was stored (its answer, its forward result); False
    when it is no longer in the store."""
    answer = response_column(capture.response) if capture.response else None
    return bool(conn.execute(OUTCOME, (answer, *forward_row(capture.forward), capture.id)).rowcount)


def forward_row(forward: Forwarded | None) -> tuple[Any, ...]:
    """The five forward columns: all NULL when the capture was not forwarded."""
    if forward is None:
        return (None,) * len(_FORWARD_COLUMNS)
    return forward.url, forward.status, forward.latency_ms, forward.error, forward.size


def _forward(row: sqlite3.Row) -> Forwarded | None:
    if row["forward_url"] is None:
        return None
    return Forwarded(
        url=row["forward_url"],
        status=row["forward_status"],
        latency_ms=row["forward_ms"] or 0.0,
        error=row["forward_error"],
        size=row["forward_size"],
    )


def text_column(stored: bytes) -> str:
    """A stored text column as the model holds it: bytes that are not UTF-8 as surrogate escapes."""
    return stored.decode("utf-8", "surrogateescape")


def headers_column(stored: str) -> Headers:
    """The headers column (JSON pairs) back as the model's pairs."""
    return tuple((name, value) for name, value in json.loads(stored))


def capture_from_row(row: sqlite3.Row) -> Capture:
    return Capture(
        id=row["id"],
        received_at=datetime.fromisoformat(row["received_at"]),
        method=row["method"],
        path=row["path"],
        query_string=row["query_string"],
        headers=headers_column(row["headers"]),
        body=bytes(row["body"]),
        body_size=row["body_size"],
        truncated=bool(row["truncated"]),
        remote=row["remote"],
        response=ResponseGiven.from_dict(json.loads(row["response"])) if row["response"] else None,
        delivery_key=row["delivery_key"],
        delivery_source=row["delivery_source"],
        attempt=row["attempt"],
        signature=_signature(row),
        run=row["run"],
        forward=_forward(row),
    )
