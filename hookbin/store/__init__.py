"""The capture store: its interface, change events, and the SQLite implementation.

The store knows nothing of aiohttp or Textual. Writers hand it captures with `submit()`, which
returns a `concurrent.futures.Future` resolved once the capture is committed, or with
`submit_many()`, which calls back once per batch; the catcher waits for that before answering,
so a sender that saw an answer has its request on disk.
Subscribers are plain callables that receive `CapturesAdded` (one per committed batch) and
`StoreCleared` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Callable, Union

from hookbin.model import Capture


@dataclass(frozen=True, slots=True)
class CapturesAdded:
    """Captures were committed to the store, in arrival order (one event per batch)."""

    captures: tuple[Capture, ...]


@dataclass(frozen=True, slots=True)
class StoreCleared:
    """Every capture was deleted."""


StoreEvent = Union[CapturesAdded, StoreCleared]
Subscriber = Callable[[StoreEvent], None]


@dataclass(frozen=True, slots=True)
class Filter:
    """Which captures to list or count; every field left None matches everything."""

    method: str | None = None
    """Exact method, case-insensitive."""
    path: str | None = None
    """A glob over the path (`*` also matches `/`), e.g. `/segmanta/*`."""
    status: str | None = None
    """A status answered (`503`) or a class (`5xx`)."""
    text: str | None = None
    """Substring of the path, query, headers or body (ASCII letters match either case)."""
    since: datetime | None = None
    """Only captures received at or after this time."""
    delivery_key: str | None = None
    """Only the attempts of this delivery."""


def parse_filter(text: str) -> Filter:
    """Parse a filter typed by a user: `method:POST path:/seg* status:5xx delivery:KEY` plus free text.

    Words without a known `name:` prefix are joined as the text to search for.
    Raises StoreError for a bad status word.
    """
    fields: dict[str, str] = {}
    words: list[str] = []
    for word in text.split():
        name, sep, value = word.partition(":")
        if sep and name.lower() in ("method", "path", "status", "delivery") and value:
            fields[name.lower()] = value
        else:
            words.append(word)
    status = fields.get("status")
    if status is not None and not _status_matcher(status):
        raise StoreError(f"bad status filter {status!r}: use e.g. 503 or 5xx")
    return Filter(
        method=fields.get("method"),
        path=fields.get("path"),
        status=status,
        text=" ".join(words) or None,
        delivery_key=fields.get("delivery"),
    )


def _status_matcher(status: str) -> tuple[int, int] | None:
    status = status.strip().lower()
    if len(status) == 3 and status[0].isdigit() and status[1:] == "xx":
        return int(status[0]) * 100, int(status[0]) * 100 + 99
    if status.isdigit():
        return int(status), int(status)
    return None


def capture_matches(capture: Capture, flt: Filter | None) -> bool:
    """The same test as the store's SQL filter, for captures already in memory."""
    if flt is None:
        return True
    if flt.method and capture.method.upper() != flt.method.upper():
        return False
    if flt.path and not fnmatchcase(capture.path, flt.path):
        return False
    if flt.status:
        bounds = _status_matcher(flt.status)
        status = capture.response.status if capture.response else None
        if bounds is None or status is None or not bounds[0] <= status <= bounds[1]:
            return False
    if flt.since and capture.received_at < flt.since:
        return False
    if flt.delivery_key and capture.delivery_key != flt.delivery_key:
        return False
    if flt.text:
        needle = flt.text.lower()
        haystacks = [capture.path, capture.query_string, *(f"{k}: {v}" for k, v in capture.headers)]
        if not any(needle in h.lower() for h in haystacks) and needle.encode() not in capture.body.lower():
            return False
    return True


class StoreError(Exception):
    """A store problem worth one line to the user (unreadable file, corrupt database, ...)."""


from hookbin.store.sqlite import SQLiteStore, open_store  # noqa: E402  (needs the names above)

__all__ = [
    "CapturesAdded",
    "Filter",
    "SQLiteStore",
    "StoreCleared",
    "StoreError",
    "capture_matches",
    "parse_filter",
    "StoreEvent",
    "Subscriber",
    "open_store",
]
