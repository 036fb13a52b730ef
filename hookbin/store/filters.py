"""Which captures to show: `Filter`, `parse_filter`, and a filter compiled to SQL and to a predicate.

One description, two forms. `compile_filter` turns a `Filter` into a SQL condition, so the
store filters inside SQLite, and into a predicate, for captures the TUI receives live. Both
forms call the same Python functions (`fold`, `glob_match`, `headers_contain`, ...): the
predicate directly, the SQL through functions the store registers on its connection
(`sql_functions`). Where plain SQL gives the same answer for less (an ASCII needle, a status
range), the SQL form uses it and the comment there says why the answer is the same;
tests/test_filters.py checks on random captures and filters that the two forms agree.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from hookbin.model import Capture, Headers
from hookbin.store.errors import StoreError


@dataclass(frozen=True, slots=True)
class Filter:
    """Which captures to list or count; every field left None matches everything."""

    method: str | None = None
    """Exact method, in any case."""
    path: str | None = None
    """A glob over the path: `*` any text (`/` too), `?` one character, `[ab]`, `[!ab]`."""
    status: str | None = None
    """A status answered (`503`) or a class (`5xx`)."""
    text: str | None = None
    """Text in the path, query, a header line (`Name: value`) or the body, in any case."""
    since: datetime | None = None
    """Only captures received at or after this time."""
    before: datetime | None = None
    """Only captures received before this time."""
    delivery_key: str | None = None
    """Only the attempts of this delivery."""
    signature: str | None = None
    """`valid`, `invalid` (checked by `--verify` and not valid, a missing signature too) or `none` (not checked)."""
    run: int | None = None
    """Only captures of this run (see `model.Run`)."""


def parse_filter(text: str) -> Filter:
    """Parse a filter typed by a user: `method:POST path:/seg* status:5xx delivery:KEY sig:invalid
    run:3` plus free text.

    Words without a known `name:` prefix are joined as the text to search for.
    Raises StoreError for a bad status, signature word or run.
    """
    fields: dict[str, str] = {}
    words: list[str] = []
    for word in text.split():
        name, sep, value = word.partition(":")
        if sep and name.lower() in ("method", "path", "status", "delivery", "sig", "run") and value:
            fields[name.lower()] = value
        else:
            words.append(word)
    status = fields.get("status")
    if status is not None:
        status_bounds(status)
    signature = fields.get("sig")
    if signature is not None:
        signature = signature_state(signature)
    run = fields.get("run")
    return Filter(
        method=fields.get("method"),
        path=fields.get("path"),
        status=status,
        text=" ".join(words) or None,
        delivery_key=fields.get("delivery"),
        signature=signature,
        run=None if run is None else run_number(run),
    )


# -- what matching means: one definition of each test, for both forms ------------------------


def fold(text: str) -> str:
    """`text` with differences of case removed, for comparing: Unicode case folding
    (`ÉCLAIR` and `éclair` fold alike), except that a non-ASCII character whose folding
    contains ASCII (ß → ss, ſ → s, the Kelvin sign → k, ﬁ → fi) is kept as it is.

    The exception makes ASCII in the folded text come only from ASCII in `text`, one for one
    and lower-cased: so for an ASCII needle, SQLite's ASCII-only `lower()` finds exactly what
    `fold` finds, and the store needs no Python call per row.
    """
    if text.isascii():
        return text.lower()
    pieces = _kept_characters().split(text)
    pieces[::2] = [piece.casefold() for piece in pieces[::2]]
    return "".join(pieces)


@functools.cache
def _kept_characters() -> re.Pattern[str]:
    # Every character whose folding adds ASCII is in the Basic Multilingual Plane (a test
    # checks the other planes), and scanning it once takes milliseconds.
    kept = "".join(chr(code) for code in range(0x80, 0x10000) if _folds_to_ascii(chr(code)))
    return re.compile(f"([{kept}])")


def _folds_to_ascii(char: str) -> bool:
    folded = char.casefold()
    return folded != char and any(c.isascii() for c in folded)


def contains(haystack: str, needle: str) -> bool:
    """Whether folded `needle` is in `haystack`, in any case."""
    return needle in fold(haystack)


def body_contains(body: bytes, needle: str) -> bool:
    """Whether folded `needle` is in the body read as UTF-8 (other bytes kept as escapes)."""
    return contains(body.decode("utf-8", "surrogateescape"), needle)


def headers_contain(headers: Headers, needle: str) -> bool:
    """Whether folded `needle` is in one header line, `Name: value`."""
    return any(contains(f"{name}: {value}", needle) for name, value in headers)


def text_matches(capture: Capture, needle: str) -> bool:
    """Whether folded `needle` is in the capture's path, query, a header line or its body."""
    return (
        contains(capture.path, needle)
        or contains(capture.query_string, needle)
        or headers_contain(capture.headers, needle)
        or body_contains(capture.body, needle)
    )


def glob_match(path: str, pattern: str) -> bool:
    """The one glob: `*` any text (`/` too), `?` one character, `[ab]`, `[!ab]`; case counts."""
    return fnmatchcase(path, pattern)


def same_text(text: str, folded: str) -> bool:
    """Whether `text` equals folded `folded`, in any case."""
    return fold(text) == folded


def status_bounds(status: str) -> tuple[int, int]:
    """The statuses a status word stands for: `503` → (503, 503), `5xx` → (500, 599).

    Raises:
        StoreError: for anything else.
    """
    word = status.strip().lower()
    if len(word) == 3 and word[0].isdigit() and word[1:] == "xx":
        return int(word[0]) * 100, int(word[0]) * 100 + 99
    if word.isdigit():
        return int(word), int(word)
    raise StoreError(f"bad status filter {status!r}: use e.g. 503 or 5xx")


SIGNATURE_STATES = ("valid", "invalid", "none")
"""What `sig:` may ask for: a signature that passed `--verify`, one that did not, or no check."""


def signature_state(word: str) -> str:
    """`word` as one of `SIGNATURE_STATES`, in any case.

    Raises:
        StoreError: for anything else.
    """
    state = word.strip().lower()
    if state not in SIGNATURE_STATES:
        raise StoreError(f"bad signature filter {word!r}: use sig:valid, sig:invalid or sig:none")
    return state


def signature_is(capture: Capture, state: str) -> bool:
    """Whether the capture's `--verify` verdict is `state` (one of `SIGNATURE_STATES`)."""
    check = capture.signature
    if state == "none":
        return check is None
    return check is not None and check.valid == (state == "valid")


def run_number(text: str) -> int:
    """A run number typed by a user (`3`).

    Raises:
        StoreError: for anything but a whole number from 1.
    """
    word = text.strip()
    if not (word.isascii() and word.isdigit()) or int(word) < 1:
        raise StoreError(f"bad run {text!r}: use a run number such as 3")
    return int(word)


# -- the SQL form's functions ----------------------------------------------------------------

# Names under which the store registers `sql_functions` on its connection.
CONTAINS = "hookbin_contains"
HEADERS_CONTAIN = "hookbin_headers_contain"
GLOB = "hookbin_glob"
SAME_TEXT = "hookbin_same_text"
AT_OR_AFTER = "hookbin_at_or_after"


def _bind(text: str) -> bytes:
    """A filter's text as a SQL argument: bytes, since any str (lone surrogates too) encodes so."""
    return text.encode("utf-8", "surrogatepass")


def _unbind(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=16)
def _since(text: str) -> datetime:
    return datetime.fromisoformat(text)


def sql_functions(
    read_text: Callable[[bytes], str], read_headers: Callable[[str], Headers]
) -> dict[str, Callable[..., bool]]:
    """The functions the SQL form calls, by name, each of two arguments: a column, a filter's value.

    The store passes its own readers of a column, so the functions see what the predicate sees
    on a capture read back: `read_text` for the text columns and the body (handed over as
    BLOBs, since Python's sqlite3 refuses TEXT that is not valid UTF-8), `read_headers` for
    the headers column.
    """
    return {
        CONTAINS: lambda raw, needle: contains(read_text(raw), _unbind(needle)),
        HEADERS_CONTAIN: lambda raw, needle: headers_contain(read_headers(raw), _unbind(needle)),
        GLOB: lambda raw, pattern: glob_match(read_text(raw), _unbind(pattern)),
        SAME_TEXT: lambda raw, folded: same_text(read_text(raw), _unbind(folded)),
        AT_OR_AFTER: lambda raw, since: datetime.fromisoformat(raw) >= _since(since),
    }


# -- compiling ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Clause:
    sql: str
    args: tuple[Any, ...]
    test: Callable[[Capture], bool]


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A filter in its two forms: a SQL condition over `captures` and a predicate on a capture."""

    condition: str
    """A SQL boolean expression with `?` placeholders; empty when everything matches."""
    args: tuple[Any, ...]
    """The values for the placeholders, in order."""
    tests: tuple[Callable[[Capture], bool], ...]
    """The predicate, one test per condition."""

    @property
    def where(self) -> str:
        """` WHERE condition`, or nothing."""
        return f" WHERE {self.condition}" if self.condition else ""

    def matches(self, capture: Capture) -> bool:
        return all(test(capture) for test in self.tests)


@functools.lru_cache(maxsize=64)
def compile_filter(flt: Filter | None) -> CompiledFilter:
    """Both forms of `flt` (None matches everything).

    Raises:
        StoreError: for a bad status or signature word.
    """
    if flt is None:
        return CompiledFilter("", (), ())
    clauses: list[_Clause] = []
    if flt.method:
        clauses.append(_method_clause(fold(flt.method)))
    if flt.path:
        clauses.append(_path_clause(flt.path))
    if flt.status:
        low, high = status_bounds(flt.status)
        # The status column is written from `capture.response.status` (NULL without one).
        clauses.append(
            _Clause(
                "status BETWEEN ? AND ?",
                (low, high),
                lambda c: c.response is not None and low <= c.response.status <= high,
            )
        )
    if flt.text:
        clauses.append(_text_clause(fold(flt.text)))
    if flt.since:
        since = flt.since
        clauses.append(
            _Clause(f"{AT_OR_AFTER}(received_at, ?)", (since.isoformat(),), lambda c: c.received_at >= since)
        )
    if flt.before:
        before = flt.before
        clauses.append(
            _Clause(f"NOT {AT_OR_AFTER}(received_at, ?)", (before.isoformat(),), lambda c: c.received_at < before)
        )
    if flt.delivery_key:
        key = flt.delivery_key
        clauses.append(_Clause("delivery_key = CAST(? AS TEXT)", (_bind(key),), lambda c: c.delivery_key == key))
    if flt.signature:
        clauses.append(_signature_clause(signature_state(flt.signature)))
    if flt.run is not None:
        run = flt.run
        # NULL (a capture from before runs) equals no number in SQL, and None no int in Python.
        clauses.append(_Clause("run = ?", (run,), lambda c: c.run == run))
    return CompiledFilter(
        " AND ".join(f"({clause.sql})" for clause in clauses),
        tuple(arg for clause in clauses for arg in clause.args),
        tuple(clause.test for clause in clauses),
    )


def capture_matches(capture: Capture, flt: Filter | None) -> bool:
    """Whether `capture` passes `flt`: the same answer the store's SQL gives."""
    return compile_filter(flt).matches(capture)


def _signature_clause(state: str) -> _Clause:
    # The store writes signature_valid as NULL (not checked), 1 (valid) or 0 (invalid).
    sql = {"none": "signature_valid IS NULL", "valid": "signature_valid = 1", "invalid": "signature_valid = 0"}[state]
    return _Clause(sql, (), lambda c: signature_is(c, state))


def _method_clause(wanted: str) -> _Clause:
    if wanted.isascii():
        # fold(method) is ASCII only when the method is, and then it is the method with ASCII
        # letters lowered: what SQLite's lower() makes of the stored bytes.
        sql, args = "lower(method) = CAST(? AS TEXT)", (_bind(wanted),)
    else:
        sql, args = f"{SAME_TEXT}(CAST(method AS BLOB), ?)", (_bind(wanted),)
    return _Clause(sql, args, lambda c: same_text(c.method, wanted))


def _path_clause(pattern: str) -> _Clause:
    sql, args = f"{GLOB}(CAST(path AS BLOB), ?)", [_bind(pattern)]
    if pattern.isascii() and not any(char in pattern for char in "?[\x00"):
        # ASCII text and `*` alone: SQLite's GLOB reads ASCII bytes as themselves and never
        # makes ASCII of other bytes, so it matches what glob_match does on the decoded path,
        # unless the path holds a NUL, where GLOB stops reading.
        sql = f"CASE WHEN instr(path, char(0)) THEN {sql} ELSE path GLOB CAST(? AS TEXT) END"
        args.append(_bind(pattern))
    return _Clause(sql, tuple(args), lambda c: glob_match(c.path, pattern))


# Characters json.dumps (ensure_ascii) writes as themselves; the rest become escapes.
_JSON_LITERAL = frozenset(chr(code) for code in range(0x20, 0x7F)) - {'"', "\\"}


def _text_clause(needle: str) -> _Clause:
    """Text search: plain SQL where it is exact, else Python behind a cheap test in SQL."""
    parts: list[tuple[str, list[Any]]] = []
    for column in ("path", "query_string", "body"):
        lowered = f"lower(CAST({column} AS TEXT))"
        if needle.isascii():
            # fold() keeps ASCII one for one and lower-cased, and a stored text holds ASCII as
            # ASCII bytes, so an ASCII needle is in fold(text) exactly when it is in SQLite's
            # byte-wise lower() of the stored bytes.
            parts.append((f"instr({lowered}, ?)", [needle]))
        else:
            # For the same reason each ASCII run of the needle must be in those bytes.
            parts.append(_behind(lowered, _runs(needle, str.isascii), f"{CONTAINS}(CAST({column} AS BLOB), ?)", needle))
    # Headers are stored as JSON: a run of the needle's characters that JSON writes as they
    # are, and without ": " (so that it cannot span a name and its value), must be in it.
    json_runs = _runs(needle, lambda char: char in _JSON_LITERAL and char not in ": ")
    parts.append(_behind("lower(headers)", json_runs, f"{HEADERS_CONTAIN}(headers, ?)", needle))
    return _Clause(
        " OR ".join(f"({sql})" for sql, _ in parts),
        tuple(arg for _, args in parts for arg in args),
        lambda c: text_matches(c, needle),
    )


def _behind(lowered: str, runs: list[str], call: str, needle: str) -> tuple[str, list[Any]]:
    """`call` (exact, in Python) only where SQLite finds every one of `runs` in `lowered` (cheap)."""
    return " AND ".join([*(f"instr({lowered}, ?)" for _ in runs), call]), [*runs, _bind(needle)]


def _runs(text: str, keep: Callable[[str], bool]) -> list[str]:
    """The longest stretches of `text` whose characters all satisfy `keep`, without repeats."""
    runs: list[str] = []
    for kept, chars in itertools.groupby(text, keep):
        run = "".join(chars)
        if kept and run not in runs:
            runs.append(run)
    return runs
