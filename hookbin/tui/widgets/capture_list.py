"""CaptureList: the live list of requests, one row per capture, bounded to the newest rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from hookbin.model import Capture
from hookbin.tui import render
from hookbin.tui.messages import CaptureHighlighted, CaptureOpened, FollowingStopped

MAX_ROWS = 1000
"""Rows kept in the list widget (it grows to 1.5x, then is trimmed back to the newest MAX_ROWS);
older captures stay in the store (use the filter to find them)."""


class CaptureList(DataTable[Text]):
    """The live list of requests, one row per capture, keyed by capture id.

    It keeps the captures its rows show (never more than 1.5 x `max_rows`). `following` is
    True while the cursor stays on the newest row as rows arrive. Moving up turns it off at
    once (here, not after a message round trip, so a burst arriving in between cannot drag
    the cursor back down) and says so with `FollowingStopped`. Its highlighted and chosen
    rows are posted as `CaptureHighlighted` and `CaptureOpened`, which only this list sends.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    following = True

    def __init__(self, *, max_rows: int = MAX_ROWS, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.max_rows = max_rows
        self.captures: dict[str, Capture] = {}
        """The captures shown, by id, oldest first."""

    def on_mount(self) -> None:
        self.add_column(render.ROW_HEADER, key="request")

    @property
    def newest(self) -> Capture | None:
        """The capture in the bottom row, if any."""
        return next(reversed(self.captures.values()), None)

    def append(self, captures: Iterable[Capture]) -> bool:
        """Add rows for the captures not shown yet, trimming to the newest `max_rows` when full.

        Returns:
            Whether any row was added.
        """
        fresh = [capture for capture in captures if capture.id not in self.captures]
        if not fresh:
            return False
        for capture in fresh:
            self.captures[capture.id] = capture
        if len(self.captures) > self.max_rows + self.max_rows // 2:
            # Trim back to the newest max_rows by rebuilding: Textual's remove_row re-indexes
            # every row, so removing the oldest one at a time costs far more than one rebuild.
            keep = list(self.captures.values())[-self.max_rows :]
            self.captures = {capture.id: capture for capture in keep}
            self.clear()
            fresh = keep
        for capture in fresh:
            self.add_row(render.row_line(capture), key=capture.id)
        self.follow()
        return True

    def replace(self, capture: Capture) -> None:
        """Show `capture` anew in its row (what became of its answer is known), if it has one."""
        if capture.id in self.captures:
            self.captures[capture.id] = capture
            self.update_cell(capture.id, "request", render.row_line(capture))

    def remove_all(self) -> None:
        """Remove every row."""
        self.clear()
        self.captures.clear()

    def follow(self) -> None:
        """Put the cursor on the newest row, if following."""
        if self.following and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.post_message(CaptureHighlighted(self.captures.get(event.row_key.value or "")))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(CaptureOpened(self.captures.get(event.row_key.value or "")))

    def _leave_tail(self) -> None:
        if self.following:
            self.following = False
            self.post_message(FollowingStopped())

    def action_cursor_up(self) -> None:
        self._leave_tail()
        super().action_cursor_up()

    def action_page_up(self) -> None:
        self._leave_tail()
        super().action_page_up()

    def action_scroll_top(self) -> None:
        self._leave_tail()
        super().action_scroll_top()

    def action_scroll_home(self) -> None:
        self._leave_tail()
        super().action_scroll_home()
