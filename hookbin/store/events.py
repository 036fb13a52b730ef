"""The store's change events and the shape of a subscriber.

Subscribers are plain callables that receive `CapturesAdded` (one per committed batch),
`StoreCleared` and `CapturesDeleted` events; a UI turns them into its own messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hookbin.model import Capture


@dataclass(frozen=True, slots=True)
class CapturesAdded:
    """Captures were committed to the store, in arrival order (one event per batch)."""

    captures: tuple[Capture, ...]


@dataclass(frozen=True, slots=True)
class StoreCleared:
    """Every capture was deleted."""


@dataclass(frozen=True, slots=True)
class CapturesDeleted:
    """Some captures were deleted: the oldest beyond `--max-captures`, or those a filter chose."""

    ids: tuple[str, ...]


StoreEvent = CapturesAdded | StoreCleared | CapturesDeleted
Subscriber = Callable[[StoreEvent], None]
