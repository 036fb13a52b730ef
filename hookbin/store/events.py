"""The store's change events and the shape of a subscriber.

Subscribers are plain callables that receive `CapturesAdded` (one per committed batch),
`OutcomeRecorded` (what became of an answer, or of a forward, once known), `StoreCleared` and `CapturesDeleted`
events, and `StoreFailed`/`StoreRecovered` when writing stops and starts working again (a full
disk, a read-only or locked file); a UI turns them into its own messages. The two trouble events
carry the one line to show, so the log and the TUI say the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from hookbin.model import Capture, Forwarded, ResponseGiven
from hookbin.summaries import CaptureSummary


@dataclass(frozen=True, slots=True)
class CapturesAdded:
    """Captures were committed to the store, in arrival order (one event per batch)."""

    captures: tuple[Capture, ...]
    summaries: tuple[CaptureSummary, ...]
    """Their summaries as the store wrote them, in the same order (a list row needs no parse)."""


@dataclass(frozen=True, slots=True)
class OutcomeRecorded:
    """What became of a stored capture was recorded: whether its answer was delivered or when the
    sender hung up, and what the app answered its forwarded copy (`serve --forward-mode mirror`)."""

    capture: Capture
    """The capture as it is now stored."""
    previous: ResponseGiven | None
    """Its answer as stored before (so that running counts can move it from one counter to another)."""

    @classmethod
    def of(cls, capture: Capture, response: ResponseGiven | None, forward: Forwarded | None = None) -> OutcomeRecorded:
        """`capture` (the latest handed to the store) now with `response` and `forward`; either
        left None stays as `capture` has it."""
        updated = replace(capture, response=response or capture.response, forward=forward or capture.forward)
        return cls(updated, capture.response)


@dataclass(frozen=True, slots=True)
class StoreCleared:
    """Every capture was deleted."""


@dataclass(frozen=True, slots=True)
class CapturesDeleted:
    """Some captures were deleted: the oldest beyond `--max-captures`, or those a filter chose."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoreFailed:
    """Captures could not be written. Said once per cause: more failures for the same cause
    are counted, and reported by the `StoreRecovered` that ends them."""

    cause: str
    """Why, in words: "the disk is full (database or disk is full)"."""
    count: int
    """How many captures this failed batch held."""

    @property
    def line(self) -> str:
        return (
            f"could not store {self.count} request(s): {self.cause}; senders get 500 until it is fixed, "
            "and hookbin keeps trying"
        )


@dataclass(frozen=True, slots=True)
class StoreRecovered:
    """Writing works again after `StoreFailed`."""

    lost: int
    """Captures that could not be stored meanwhile (their senders got 500)."""

    @property
    def line(self) -> str:
        return f"storing again; {self.lost} request(s) could not be stored meanwhile and were answered 500"


StoreEvent = CapturesAdded | OutcomeRecorded | StoreCleared | CapturesDeleted | StoreFailed | StoreRecovered
Subscriber = Callable[[StoreEvent], None]
