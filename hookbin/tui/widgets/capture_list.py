"""CaptureList: the live list of requests, one row per capture, bounded to the newest rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowKey

from hookbin.summaries import CaptureSummary
from hookbin.tui import render
from hookbin.tui.messages import CaptureHighlighted, CaptureOpened, FollowingStopped

ListedRow = tuple[CaptureSummary, Text]
"""A row of the list and its line, drawn by `render.row_line` (off the event loop)."""
COLUMN = "request"
"""The list's one column: each row is one line (see `render.row_line`)."""

MAX_ROWS = 1000
"""Rows kept in the list widget (it grows to 1.5x, then is trimmed back to the newest MAX_ROWS);
older captures stay in the store (use the filter to find them)."""


class CaptureList(DataTable[Text]):
    """The live list of requests, one row per capture, keyed by capture id.

    It keeps a `CaptureSummary` per row, never a body (and never more than 1.5 x `max_rows`). `following` is
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
        self.summaries: dict[str, CaptureSummary] = {}
        """The rows shown, by capture id, oldest first."""

    def on_mount(self) -> None:
        self.add_column(render.ROW_HEADER, key=COLUMN)

    @property
    def newest(self) -> CaptureSummary | None:
        """The bottom row, if any."""
        return next(reversed(self.summaries.values()), None)

    def append(self, rows: Iterable[ListedRow]) -> bool:
        """Add the rows not shown yet, dropping the oldest beyond 1.5 x `max_rows` (back to `max_rows`).

        Each row comes with its line (`render.row_line`), drawn off the event loop.

        Returns:
            Whether any row was added.
        """
        added: dict[str, ListedRow] = {}
        for listed in rows:
            if listed[0].id not in self.summaries:
                added.setdefault(listed[0].id, listed)
        if not added:
            return False
        fresh = list(added.values())[-self.max_rows :]  # a flood: only the newest can stay
        if len(self.summaries) + len(fresh) > self.max_rows + self.max_rows // 2:
            self._drop_oldest(len(self.summaries) + len(fresh) - self.max_rows)
        for row, line in fresh:
            self.summaries[row.id] = row
            self.add_row(line, key=row.id)
        self.follow()
        return True

    def _drop_oldest(self, count: int) -> None:
        """Remove the `count` oldest rows in one pass.

        `DataTable.remove_row` re-indexes every row for each row it removes, and rebuilding
        the table re-adds (and re-measures) every row kept: under a flood either was most of
        what the TUI did on the loop the catcher answers from. This is `remove_row` for many
        rows at once, on the same state of Textual's DataTable (pinned to 8.x).
        """
        if count >= len(self.summaries):
            self.remove_all()
            return
        dropped = list(self.summaries)[:count]
        for key in dropped:
            del self.summaries[key]
            del self.rows[key]  # type: ignore[arg-type]  # a RowKey equals its string
            del self._data[key]  # type: ignore[arg-type]
            self._updated_cells.discard(CellKey(RowKey(key), ColumnKey(COLUMN)))
        self._row_locations = TwoWayDict({RowKey(key): index for index, key in enumerate(self.summaries)})
        row, column = self.cursor_coordinate
        self.cursor_coordinate = Coordinate(max(0, row - count), column)
        self._require_update_dimensions = True
        self._update_count += 1
        self.check_idle()
        self.refresh(layout=True)

    def replace(self, row: CaptureSummary) -> None:
        """Show `row` anew (what became of its answer is known), if it is shown."""
        if row.id in self.summaries:
            self.summaries[row.id] = row
            self.update_cell(row.id, COLUMN, render.row_line(row))

    def remove_all(self) -> None:
        """Remove every row."""
        self.clear()
        self.summaries.clear()

    def follow(self) -> None:
        """Put the cursor on the newest row, if following."""
        if self.following and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.post_message(CaptureHighlighted(self.summaries.get(event.row_key.value or "")))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(CaptureOpened(self.summaries.get(event.row_key.value or "")))

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
