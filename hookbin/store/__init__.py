"""The capture store: change events, filters, and the SQLite implementation.

The store knows nothing of aiohttp or Textual. Writers hand it captures with `submit()`, which
returns a `concurrent.futures.Future` resolved once the capture is committed, or with
`submit_many()`, which calls back once per batch; the catcher waits for that before answering,
so a sender that saw an answer has its request on disk. Subscribers are plain callables that
receive `CapturesAdded` (one per committed batch), `OutcomeRecorded`, `StoreCleared`,
`CapturesDeleted`, `StoreFailed` and `StoreRecovered` events. What became of an answer
(delivered, or the sender hung up first) and, in `serve --forward-mode mirror`, what the app
answered its copy are known only after the capture is committed, so they are a second write:
`record_outcome()`.

Lists read `CaptureSummary` rows (`iter_summaries`, `list_summaries`), kept in columns
written with each capture, never bodies; `get(id)` reads a whole capture.

This package only gathers the public names: `events`, `filters`, `errors`, `migrations`,
`lock` (one writer per store), `rows` (a capture as a row), `queries` (the reads) and
`sqlite` hold the code.
"""

from __future__ import annotations

from hookbin.store.errors import StoreError
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
from hookbin.store.filters import Filter, capture_matches, parse_filter
from hookbin.store.lock import StoreBusy
from hookbin.store.sqlite import SQLiteStore, open_store

__all__ = [
    "CapturesAdded",
    "CapturesDeleted",
    "Filter",
    "OutcomeRecorded",
    "SQLiteStore",
    "StoreBusy",
    "StoreCleared",
    "StoreError",
    "StoreEvent",
    "StoreFailed",
    "StoreRecovered",
    "Subscriber",
    "capture_matches",
    "open_store",
    "parse_filter",
]
