"""The Textual messages of the TUI: what happened, named as past-tense nouns.

`CapturesArrived`, `StoreCleared` and `AnswerChanged` are posted by the app's bridge from the
store's writer thread and the responder (`post_message` is thread-safe).
"""

from __future__ import annotations

from textual.message import Message


class CapturesArrived(Message):
    """New captures are waiting in the app's inbox (one message covers a whole burst)."""


class StoreCleared(Message):
    """Every capture was deleted from the store."""


class AnswerChanged(Message):
    """The responder's spec, rules, body or headers changed (from any thread)."""


class FollowingStopped(Message):
    """The user moved away from the newest row of the capture list: following stopped."""
