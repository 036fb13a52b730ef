"""How a capture maps to a row of the `captures` table, and back; and how a row's list columns
map to a `CaptureSummary`.

Method, path and query may hold bytes that are not UTF-8 (kept in the model as surrogate
escapes): they are stored as the exact bytes, typed TEXT, and read back with a
surrogateescape text factory (see `SQLiteStore._connect`).

Each row also keeps its capture's summary (`summary_of`), written with it (its answer's part
again with its outcome), so that lists read no body: the delivery it is grouped under as a
column of its own (kept, like a delivery key, as UTF-8 that keeps any lone surrogate), the rest
as one JSON array (`pack`).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from datetime import datetime
from typing import Any

from hookbin.model import (
    AnswerFields,
    Capture,
    Forwarded,
    Headers,
    ResponseGiven,
    answer_fields,
)
from hookbin.summaries import CaptureSummary

try:
    import orjson
except ImportError:  # pragma: no cover - the fast extra is not installed
    orjson = None  # type: ignore[assignment]
from hookbin.signatures.check import SignatureCheck
from hookbin.summaries import summary_of

_KEYS_AS_BLOBS = "CAST(delivery_key AS BLOB) AS delivery_key, CAST(delivery_source AS BLOB) AS delivery_source"
COLUMNS = (
    "id, received_at, method, path, query_string, headers, body, body_size, truncated, "
    "remote, status, response, delivery_key, delivery_source, attempt, "
    "signature_scheme, signature_valid, signature_reason, run, "
    "forward_url, forward_status, forward_ms, forward_error, forward_size"
)
SUMMARY_TYPES = {"group_key": "BLOB NOT NULL DEFAULT x''", "summary": "TEXT NOT NULL DEFAULT '[]'"}
"""The summary's own columns and their declarations, in the order `_summary_values` gives
their values. The delivery a capture is grouped under is a column of its own, which SQL groups
by (see `queries.newest_deliveries`); the rest, which only Python reads, is one JSON array
(`pack`): one value to write rather than a dozen, which made each INSERT 40% slower."""
# Method, path and query may hold bytes that are not UTF-8 (kept as surrogate escapes):
# they are stored as the exact bytes, typed TEXT, and read back with a surrogateescape factory.
# A delivery key (and its source) may hold any lone surrogate, from a header byte that is not
# UTF-8 or a JSON escape: it is stored typed TEXT as `blob_of` encodes it (as the filters bind
# it) and read back as a BLOB, exactly.
INSERT = (
    f"INSERT INTO captures ({COLUMNS}, {', '.join(SUMMARY_TYPES)}) VALUES "
    "(?, ?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT), "
    + ", ".join("?" * (10 + len(SUMMARY_TYPES)))
    + ")"
)
CAPTURE_SELECT = COLUMNS.replace("delivery_key, delivery_source", _KEYS_AS_BLOBS)
"""What a `Capture` is read from (see `capture_from_row`)."""
_FORWARD_COLUMNS = ("forward_url", "forward_status", "forward_ms", "forward_error", "forward_size")
_ANSWER_PACKED = 8
"""The answer's fields come first in the packed summary: fault to retry_after (see `pack`)."""
OUTCOME = (
    f"UPDATE captures SET response = ?, {', '.join(f'{c} = ?' for c in _FORWARD_COLUMNS)}, status = ?, "
    "summary = json_set(summary, " + ", ".join(f"'$[{i}]', json(?)" for i in range(_ANSWER_PACKED)) + ") WHERE id = ?"
)
"""What a capture may learn after it is stored: what became of its answer (and the summary's
fields of it), and its forward result."""
SUMMARY_COLUMNS = (
    "id, received_at, CAST(method AS BLOB), CAST(path AS BLOB), CAST(query_string AS BLOB), body_size, truncated, "
    f"status, {_KEYS_AS_BLOBS}, attempt, signature_scheme, signature_valid, signature_reason, run, "
    f"{', '.join(_FORWARD_COLUMNS)}, group_key, summary"
)
"""What a `CaptureSummary` is read from: no headers, no body. Text that may not be UTF-8 is read
as BLOB, so that the store can read the rest with SQLite's UTF-8 decoder (see `_plain_query`)."""
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


def blob_of(text: str | None) -> bytes | None:
    """Text as the summary's BLOB columns hold it (see the module docstring)."""
    return None if text is None else text.encode("utf-8", "surrogatepass")


def text_of(blob: bytes | None) -> str | None:
    """The text a summary's BLOB column holds."""
    return None if blob is None else blob.decode("utf-8", "surrogatepass")


def _packed_answer(fields: AnswerFields) -> list[Any]:
    """The answer's part of `pack`: `answer_fields` but the status (a column of its own)."""
    _, fault, delay_ms, drip_ms, delivered, gone, sent, size, retry_after = fields
    return [fault, delay_ms, drip_ms, None if delivered is None else int(delivered), gone, sent, size, retry_after]


def pack(summary: CaptureSummary) -> str:
    """The summary's `summary` column: its answer but the status (a column of its own), then
    survey, invalid_json, user_agent, body_digest (hex) and group_source, as a JSON array
    (`json_text`: a lone surrogate is written as its escape, and read back as itself)."""
    return pack_fields(
        summary.answer,
        summary.survey,
        summary.invalid_json,
        summary.user_agent,
        summary.body_digest,
        summary.group_source,
    )


def pack_fields(
    answer: AnswerFields,
    survey: str | None,
    invalid: bool,
    agent: str | None,
    digest: bytes,
    source: str,
) -> str:
    """`pack`, from the fields themselves (m007 packs what m006 kept in columns)."""
    return json_text([*_packed_answer(answer), survey, int(invalid), agent, digest.hex(), source])


def _unpack(packed: str) -> list[Any]:
    if orjson is not None:
        try:
            unpacked: list[Any] = orjson.loads(packed)
            return unpacked
        except orjson.JSONDecodeError:  # a lone surrogate: json reads it
            pass
    unpacked = json.loads(packed)
    return unpacked


def capture_row(capture: Capture, summary: CaptureSummary | None = None) -> tuple[Any, ...]:
    """The values for `INSERT`: the capture's columns, then those of its summary (`summary_of`,
    unless given)."""
    response = capture.response
    return (
        capture.id,
        capture.received_at.isoformat(timespec="microseconds"),
        _raw(capture.method),
        _raw(capture.path),
        _raw(capture.query_string),
        # orjson refuses the lone surrogates that stand for bytes that are not UTF-8; json then
        # writes them as escapes. Both forms read back the same, and search the same (filters).
        json_text(capture.headers),
        capture.body,
        capture.body_size,
        int(capture.truncated),
        capture.remote,
        response.status if response else None,
        response_column(response) if response else None,
        blob_of(capture.delivery_key),
        blob_of(capture.delivery_source),
        capture.attempt,
        *_signature_row(capture.signature),
        capture.run,
        *forward_row(capture.forward),
        *_summary_values(summary or summary_of(capture)),
    )


def response_column(response: ResponseGiven) -> str:
    """The response column: the answer's JSON form (`ResponseGiven.to_dict`), as `json_text` writes it."""
    return json_text(response.to_dict())


def json_text(data: Any) -> str:
    """`data` as JSON text for a column: by orjson when it is installed (the `fast` extra), a few
    microseconds less per capture on the writer thread; by json where orjson refuses (a lone
    surrogate, say in a header set by the user). Readers parse either the same."""
    if orjson is not None:
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            pass
    return json.dumps(data)


def _summary_values(summary: CaptureSummary) -> tuple[Any, ...]:
    """The values of the summary's own columns (`SUMMARY_TYPES`, in `INSERT`'s order)."""
    return blob_of(summary.group_key), pack(summary)


def summary_of_row(row: sqlite3.Row | tuple[Any, ...]) -> CaptureSummary:
    """`summary_of` a stored capture, from its rowid, id, received_at, method, path, headers,
    body, response, delivery_key and delivery_source (for captures stored before the summary
    columns were)."""
    _, capture_id, received_at, method, path, headers, body, response, key, source = row
    capture = Capture(
        id=capture_id,
        received_at=datetime.fromisoformat(received_at),
        method=method,
        path=path,
        headers=headers_column(headers),
        body=bytes(body),
        response=ResponseGiven.from_dict(json.loads(response)) if response else None,
        delivery_key=key,
        delivery_source=source,
    )
    return summary_of(capture)


def _signature_row(check: SignatureCheck | None) -> tuple[str | None, int | None, str | None]:
    """The three signature columns: all NULL when no signature was checked."""
    if check is None:
        return None, None, None
    return check.scheme, int(check.valid), check.reason


def _signature(scheme: str | None, valid: int | None, reason: str | None) -> SignatureCheck | None:
    """The verdict from its three columns: None when no signature was checked."""
    if valid is None:
        return None
    return SignatureCheck(scheme or "", bool(valid), reason or "")


def update_outcome(conn: sqlite3.Connection, capture: Capture) -> bool:
    """Store what `capture` learnt after it was stored (its answer, and the summary's columns of
    it; its forward result); False when it is no longer in the store."""
    answer = response_column(capture.response) if capture.response else None
    fields = answer_fields(capture.response)
    packed = [json.dumps(value) for value in _packed_answer(fields)]
    return bool(conn.execute(OUTCOME, (answer, *forward_row(capture.forward), fields[0], *packed, capture.id)).rowcount)


def forward_row(forward: Forwarded | None) -> tuple[Any, ...]:
    """The five forward columns: all NULL when the capture was not forwarded."""
    if forward is None:
        return (None,) * len(_FORWARD_COLUMNS)
    return forward.url, forward.status, forward.latency_ms, forward.error, forward.size


def _forward(
    url: str | None, status: int | None, ms: float | None, error: str | None, size: int | None
) -> Forwarded | None:
    """The forward result from its five columns: None when the capture was not forwarded."""
    if url is None:
        return None
    return Forwarded(url=url, status=status, latency_ms=ms or 0.0, error=error, size=size)


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
        delivery_key=text_of(row["delivery_key"]),
        delivery_source=text_of(row["delivery_source"]),
        attempt=row["attempt"],
        signature=_signature(row["signature_scheme"], row["signature_valid"], row["signature_reason"]),
        run=row["run"],
        forward=_forward(*(row[name] for name in _FORWARD_COLUMNS)),
    )


def summary_from_row(row: tuple[Any, ...]) -> CaptureSummary:
    """A `CaptureSummary` from a row of `SUMMARY_COLUMNS` (lists make a hundred thousand: no
    call that can be spared)."""
    (
        capture_id,
        received_at,
        method,
        path,
        query_string,
        body_size,
        truncated,
        status,
        key,
        source,
        attempt,
        scheme,
        valid,
        reason,
        run,
        forward_url,
        forward_status,
        forward_ms,
        forward_error,
        forward_size,
        group_key,
        packed,
    ) = row
    fault, delay_ms, drip_ms, delivered, gone, sent, size, retry_after, survey, invalid, agent, digest, group_source = (
        _unpack(packed)
    )
    return CaptureSummary(
        capture_id,
        datetime.fromisoformat(received_at),
        method.decode("utf-8", "surrogateescape"),
        path.decode("utf-8", "surrogateescape"),
        query_string.decode("utf-8", "surrogateescape"),
        body_size,
        truncated == 1,
        status,
        fault,
        float(delay_ms),  # JSON writes 0.0 as it is, but an integer that came in as one too
        float(drip_ms),
        None if delivered is None else delivered == 1,
        None if gone is None else float(gone),
        sent,
        size,
        retry_after,
        None if key is None else key.decode("utf-8", "surrogatepass"),
        None if source is None else source.decode("utf-8", "surrogatepass"),
        attempt,
        None if valid is None else _signature(scheme, valid, reason),
        run,
        None if forward_url is None else _forward(forward_url, forward_status, forward_ms, forward_error, forward_size),
        survey,
        invalid == 1,
        agent,
        bytes.fromhex(digest),
        group_key.decode("utf-8", "surrogatepass"),
        group_source,
    )
