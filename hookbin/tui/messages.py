"""The Textual messages of the TUI: what happened, named as past-tense nouns.

`CapturesArrived`, `StoreCleared` and `AnswerChanged` are posted by the app's bridge from the
store's writer thread and the responder (`post_message` is thread-safe); `NoticeGiven` by
`HookbinApp.notice`, for whoever hands the app lines to show. The row messages come from the
capture list, so the app reacts to the list and not to any other table (the Deliveries screen
has one too). The last ones carry a worker thread's results back to the widget (or the app)
that started it, and go no further.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.strip import Strip

from hookbin.model import Capture
from hookbin.summaries import CaptureSummary

if TYPE_CHECKING:
    from hookbin.tui.widgets.detail import DetailViews


class CapturesArrived(Message):
    """New captures, or outcomes of their answers, are waiting in the app's inbox (one message
    covers a whole burst)."""


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

    def __init__(self, row: CaptureSummary | None) -> None:
        super().__init__()
        self.row = row
        """That row (None only if the row is gone)."""


class CaptureHighlighted(CaptureRowMessage):
    """The capture list's cursor moved to a row."""


class CaptureOpened(CaptureRowMessage):
    """The user opened a capture from the list (enter, or a click on its highlighted row)."""


class DetailBuilt(Message):
    """The detail pane's worker read the capture it was given and built every tab's view."""

    bubble = False

    def __init__(self, generation: int, capture: Capture | None, built: DetailViews) -> None:
        super().__init__()
        self.generation = generation
        """Which load of the pane this belongs to (older ones are dropped)."""
        self.capture = capture
        """The whole capture, as read from the store (None if it could not be)."""
        self.built = built
        """The views."""


class DetailRendered(Message):
    """The detail pane's worker rendered tabs into lines."""

    bubble = False

    def __init__(self, generation: int, tabs: dict[str, list[Strip]], width: int) -> None:
        super().__init__()
        self.generation = generation
        """Which load of the pane this belongs to (older ones are dropped)."""
        self.tabs = tabs
        """The lines of each tab rendered, by tab name."""
        self.width = width
        """The width they were rendered for."""


class DeliveriesLoaded(Message):
    """The Deliveries screen's worker read the deliveries (or failed to)."""

    bubble = False

    def __init__(
        self, rows: list[tuple[str, list[Text]]], error: str | None = None, *, header: Text | None = None
    ) -> None:
        super().__init__()
        self.rows = rows
        """One row per delivery, oldest first: its key and its cells."""
        self.error = error
        """Why none could be read, as one line; None when they were."""
        self.header = header
        """The columns' titles, laid out as the cells are; None to keep the table's."""


class RowsLoaded(Message):
    """The app's worker read the list's rows from the store (or failed to)."""

    def __init__(self, generation: int, rows: list[tuple[CaptureSummary, Text]], error: str | None = None) -> None:
        super().__init__()
        self.generation = generation
        """Which reload of the list this belongs to (older ones are dropped)."""
        self.rows = rows
        """The rows and their lines, oldest first."""
        self.error = error
        """Why none could be read, as one line; None when they were."""
