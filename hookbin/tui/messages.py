"""The Textual messages of the TUI: what happened, named as past-tense nouns.

`CapturesArrived`, `StoreCleared` and `AnswerChanged` are posted by the app's bridge from the
store's writer thread and the responder (`post_message` is thread-safe); `NoticeGiven` by
`HookbinApp.notice`, for whoever hands the app lines to show. The others come from
the capture list, so the app reacts to the list and not to any other table (the Deliveries
screen has one too).
"""

from __future__ import annotations

from textual.message import Message

from hookbin.model import Capture


class CapturesArrived(Message):
    """New captures are waiting in the app's inbox (one message covers a whole burst)."""


class StoreCleared(Message):
    """Every capture was deleted from the store."""


class AnswerChanged(Message):
    """The responder's spec, rules, body or headers changed (from any thread)."""


class NoticeGiven(Message):
    """A line from outside the app to show: a refused connection, a rejected request, a warning."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line
        """Untrusted: it may quote a sender's path."""


class FollowingStopped(Message):
    """The user moved away from the newest row of the capture list: following stopped."""


class CaptureRowMessage(Message):
    """Something happened to a row of the capture list."""

    def __init__(self, capture: Capture | None) -> None:
        super().__init__()
        self.capture = capture
        """The capture on that row (None only if the row is gone)."""


class CaptureHighlighted(CaptureRowMessage):
    """The capture list's cursor moved to a row."""


class CaptureOpened(CaptureRowMessage):
    """The user opened a capture from the list (enter, or a click on its highlighted row)."""
