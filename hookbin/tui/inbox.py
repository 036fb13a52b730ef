"""Inbox: new captures and answers' outcomes, on their way from the store's writer thread to the list.

The store calls its subscribers on its writer thread, once per committed batch. Whatever the list
needs of a new capture is worked out there, off the event loop that the catcher answers from: its
`CaptureSummary` (the store's, from the event: no body is read again), its line on screen, and whether the
list's filter keeps it (which may search the body). The app's loop then only files rows, at most
a few times a second, and no body outlives the next drain.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

from rich.text import Text

from hookbin.model import Capture
from hookbin.store import CapturesAdded, Filter, OutcomeRecorded, capture_matches
from hookbin.summaries import CaptureSummary
from hookbin.tui.render import row_line

__all__ = ["Arrival", "Inbox"]


@dataclass(frozen=True, slots=True)
class Arrival:
    """A capture the store committed, with its row made and its filter applied."""

    capture: Capture
    """The whole capture: for the counters, and to apply a filter set since it arrived."""
    row: CaptureSummary
    line: Text
    """The row as the list draws it."""
    filter: Filter | None
    """The filter `shown` was decided by."""
    shown: bool
    """Whether `filter` keeps it."""

    @classmethod
    def of(cls, capture: Capture, flt: Filter | None, row: CaptureSummary) -> Arrival:
        """`capture` arriving, with its row as the store wrote it."""
        return cls(capture, row, row_line(row), flt, capture_matches(capture, flt))

    @classmethod
    def all_of(cls, event: CapturesAdded, flt: Filter | None) -> list[Arrival]:
        """The captures of `event`, with the rows the store wrote for them (no body read again)."""
        return [cls.of(capture, flt, row) for capture, row in zip(event.captures, event.summaries, strict=True)]

    def shown_by(self, flt: Filter | None) -> bool:
        """Whether `flt` keeps it (searching the body again only for a filter set since it arrived)."""
        return self.shown if flt is self.filter else capture_matches(self.capture, flt)


class Inbox:
    """Arrivals and outcomes in the order the store committed them; thread-safe."""

    def __init__(self) -> None:
        self._items: collections.deque[Arrival | OutcomeRecorded] = collections.deque()
        self._lock = threading.Lock()
        self._told = False

    def put(self, items: list[Arrival] | list[OutcomeRecorded]) -> bool:
        """Queue `items`; True when the app must be told, False while it was told and has not taken them."""
        with self._lock:
            # An outcome queues behind its capture, so the row exists by the time it is drawn.
            self._items.extend(items)
            if self._told:
                return False
            self._told = True
            return True

    def take(self) -> list[Arrival | OutcomeRecorded]:
        """Everything queued, oldest first; the next `put` tells the app again."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._told = False
            return items
