"""The capture store: its interface, change events, and the SQLite implementation.

The store knows nothing of aiohttp or Textual. Writers hand it captures with `submit()`, which
returns a `concurrent.futures.Future` resolved once the capture is committed; the catcher
awaits it before answering, so a sender that saw an answer has its request on disk.
Subscribers are plain callables that receive `CaptureAdded` / `StoreCleared` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Union

from hookbin.model import Capture


@dataclass(frozen=True, slots=True)
class CaptureAdded:
    """A capture was committed to the store."""

    capture: Capture


@dataclass(frozen=True, slots=True)
class StoreCleared:
    """Every capture was deleted."""


StoreEvent = Union[CaptureAdded, StoreCleared]
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


class StoreError(Exception):
    """A store problem worth one line to the user (unreadable file, corrupt database, ...)."""


from hookbin.store.sqlite import SQLiteStore, open_store  # noqa: E402  (needs the names above)

__all__ = [
    "CaptureAdded",
    "Filter",
    "SQLiteStore",
    "StoreCleared",
    "StoreError",
    "StoreEvent",
    "Subscriber",
    "open_store",
]
