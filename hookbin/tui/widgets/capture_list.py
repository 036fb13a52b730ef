"""CaptureList: the live list of requests, one line per capture, bounded to the newest rows.

It draws with Textual's Line API: `render_line(y)` builds the one line asked for from the row
at that height, so a redraw costs the rows on screen, whatever the list holds. Each row's line
(`render.row_line`, made of `textsafe`-escaped text on the store's writer thread) is turned into
segments once, when it is first drawn. Rows are appended at the bottom and dropped at the top:
each row has a position that never changes while it is listed, so appending N rows, and
trimming N to make room, costs O(N), not O(rows listed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from hookbin.summaries import CaptureSummary
from hookbin.tui import render
from hookbin.tui.messages import CaptureHighlighted, CaptureOpened, FollowingStopped

ListedRow = tuple[CaptureSummary, Text]
"""A row of the list and its line, drawn by `render.row_line` (off the event loop)."""

MAX_ROWS = 1000
"""Rows kept in the list widget: the newest; older captures stay in the store (use the filter
to find them)."""

HEADER_LINES = 1
"""The column header line above the rows; it does not scroll."""


class CaptureList(ScrollView, can_focus=True):
    """The live list of requests, one row per capture, keyed by capture id.

    It keeps a `CaptureSummary` per row, never a body, for the newest `max_rows` captures.
    `following` is True while the cursor stays on the newest row as rows arrive. A move of the
    user's that leaves the cursor off the newest row (up, page up, home, a click) turns it off at
    once (here, not after a message round trip, so a burst arriving in between cannot drag the
    cursor back down) and says so with `FollowingStopped`. Its highlighted and chosen rows are
    posted as `CaptureHighlighted` and `CaptureOpened`, which only this list sends.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "Oldest", show=False),
        Binding("end,ctrl+end", "last", "Newest", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "capture-list--header",
        "capture-list--cursor",
        "capture-list--hover",
        "capture-list--even-row",
        "capture-list--odd-row",
    }

    # The look of Textual's DataTable (which this list replaced), zebra stripes and all.
    DEFAULT_CSS = """
    CaptureList {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .capture-list--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .capture-list--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .capture-list--even-row {
            background: $surface-darken-1 40%;
        }
        & > .capture-list--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .capture-list--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .capture-list--odd-row {
        }
        & > .capture-list--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .capture-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .capture-list--hover {
            background: $block-hover-background;
        }
    }
    """

    following = True

    def __init__(self, *, max_rows: int = MAX_ROWS, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_rows = max_rows
        self.summaries: dict[str, CaptureSummary] = {}
        """The rows shown, by capture id, oldest first."""
        self._lines: dict[str, Text] = {}
        self._segments: dict[str, list[Segment]] = {}  # a line turned into segments, once drawn
        self._position: dict[str, int] = {}
        # Ids by position: `_order[p - _base]` is at position p; those before `_first` were dropped.
        self._order: list[str] = []
        self._base = 0
        self._first = 0
        self._cursor = 0  # the cursor's position (not index): trimming leaves it on its row
        self._hover: int | None = None  # the position under the mouse, while it moves over the list
        self._highlighted: str | None = None  # the id last posted as highlighted
        self._header = Text(render.ROW_HEADER)
        self._width = self._header.cell_len  # the widest line listed since the list was emptied
        self._styles: _LineStyles | None = None

    # -- rows --------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """How many rows are listed."""
        return len(self.summaries)

    @property
    def cursor_row(self) -> int:
        """The index of the cursor's row (0: the oldest listed)."""
        return self._cursor - self._first

    @property
    def newest(self) -> CaptureSummary | None:
        """The bottom row, if any."""
        return next(reversed(self.summaries.values()), None)

    def get_row(self, capture_id: str) -> list[Text]:
        """The cells of the row of `capture_id`: its one line (KeyError if it is not listed)."""
        return [self._lines[capture_id]]

    def get_row_at(self, index: int) -> list[Text]:
        """The cells of the row at `index`: its one line (IndexError if there is none)."""
        if not 0 <= index < self.row_count:
            raise IndexError(index)
        return [self._lines[self._id_at(self._first + index)]]

    def _id_at(self, position: int) -> str:
        return self._order[position - self._base]

    def append(self, rows: Iterable[ListedRow]) -> bool:
        """Add the rows not shown yet, dropping the oldest beyond `max_rows`.

        Once the list is full it stays exactly full: its height does not change, so rows
        arriving redraw the list alone, not the layout of the whole screen.

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
        if self.row_count + len(fresh) > self.max_rows:
            self._drop_oldest(self.row_count + len(fresh) - self.max_rows)
        was_empty = not self.summaries
        for row, line in fresh:
            self._position[row.id] = self._base + len(self._order)
            self._order.append(row.id)
            self.summaries[row.id] = row
            self._lines[row.id] = line
            self._width = max(self._width, line.cell_len)
        if was_empty:
            self._cursor = self._first
        self._resized()
        self.follow()
        self._cursor_moved()  # not following, a flood may have trimmed the row the cursor was on
        return True

    def _drop_oldest(self, count: int) -> None:
        """Remove the `count` oldest rows: O(count), the positions of the rows kept stay as they are."""
        count = min(count, self.row_count)
        for position in range(self._first, self._first + count):
            key = self._id_at(position)
            del self.summaries[key], self._lines[key], self._position[key]
            self._segments.pop(key, None)
        self._first += count
        if self._first - self._base > len(self._order) // 2:
            # The dropped ids are at least half the list: letting go of them costs as much as
            # the drops that made them so many, once.
            del self._order[: self._first - self._base]
            self._base = self._first
        self._cursor = max(self._cursor, self._first)
        if self._hover is not None and self._hover < self._first:
            self._hover = None
        # The rows on screen stay where they are, unless the rows they scrolled past are gone.
        self.scroll_to(y=max(0, self.scroll_y - count), animate=False, force=True)

    def replace(self, row: CaptureSummary) -> None:
        """Show `row` anew (what became of its answer is known), if it is shown."""
        if row.id in self.summaries:
            self.summaries[row.id] = row
            line = self._lines[row.id] = render.row_line(row)
            self._segments.pop(row.id, None)
            if line.cell_len > self._width:
                self._width = line.cell_len
                self._resized()
            self._redraw(self._position[row.id])

    def remove_all(self) -> None:
        """Remove every row."""
        self.summaries.clear()
        self._lines.clear()
        self._segments.clear()
        self._position.clear()
        self._order.clear()
        self._base = self._first = self._cursor = 0
        self._hover = self._highlighted = None
        self._width = self._header.cell_len
        self._resized()
        self.scroll_to(x=0, y=0, animate=False, force=True)
        self.refresh()

    def _resized(self) -> None:
        self.virtual_size = Size(self._width + 2, self.row_count + HEADER_LINES)

    # -- the cursor ------------------------------------------------------------------------------

    def follow(self) -> None:
        """Put the cursor on the newest row, if following, and say so if it moved to another capture."""
        if self.following and self.row_count:
            self._move_to(self._first + self.row_count - 1)
            self._cursor_moved()

    def _move_to(self, position: int) -> None:
        """Put the cursor on the row at `position` (within the rows listed) and scroll it into view."""
        if not self.row_count:
            return
        position = min(max(position, self._first), self._first + self.row_count - 1)
        if position != self._cursor:
            old, self._cursor = self._cursor, position
            self._redraw(old)
            self._redraw(position)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        index, rows_seen = self.cursor_row, self._rows_seen()
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, force=True)
        elif index >= top + rows_seen:
            self.scroll_to(y=index - rows_seen + 1, animate=False, force=True)

    def _rows_seen(self) -> int:
        """How many rows fit under the header."""
        return max(1, self.scrollable_content_region.height - HEADER_LINES)

    def _cursor_moved(self) -> None:
        """Say which row is highlighted, when that changed."""
        if not self.row_count:
            return
        key = self._id_at(self._cursor)
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(CaptureHighlighted(self.summaries[key]))

    def _user_moved(self, position: int) -> None:
        """The user moved the cursor: off the newest row, following stops."""
        self._hover = None
        self._move_to(position)
        if self.following and self.row_count and self._cursor != self._first + self.row_count - 1:
            self.following = False
            self.post_message(FollowingStopped())
        self._cursor_moved()

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def action_cursor_up(self) -> None:
        self._user_moved(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._user_moved(self._cursor + 1)

    def action_page_up(self) -> None:
        self._user_moved(self._cursor - self._rows_seen())

    def action_page_down(self) -> None:
        self._user_moved(self._cursor + self._rows_seen())

    def action_first(self) -> None:
        self._user_moved(self._first)

    def action_last(self) -> None:
        self._user_moved(self._first + self.row_count - 1)

    def action_open(self) -> None:
        if self.row_count:
            self.post_message(CaptureOpened(self.summaries[self._id_at(self._cursor)]))

    # -- the mouse ---------------------------------------------------------------------------

    def _position_at(self, event: events.MouseEvent) -> int | None:
        """The position of the row under the mouse, if there is one."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER_LINES:
            return None
        index = offset.y - HEADER_LINES + round(self.scroll_y)
        return self._first + index if index < self.row_count else None

    def on_click(self, event: events.Click) -> None:
        position = self._position_at(event)
        if position is None:
            return
        event.stop()
        if position == self._cursor:
            self.action_open()  # a click on the highlighted row opens it, as enter does
        else:
            self._user_moved(position)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._position_at(event))

    def on_leave(self, _: events.Leave) -> None:
        self._set_hover(None)

    def _set_hover(self, position: int | None) -> None:
        if position != self._hover:
            for old_or_new in (self._hover, position):
                if old_or_new is not None:
                    self._redraw(old_or_new)
            self._hover = position

    # -- drawing -------------------------------------------------------------------------------

    def _redraw(self, position: int) -> None:
        """Redraw the line of the row at `position`, if it is on screen."""
        y = position - self._first - round(self.scroll_y) + HEADER_LINES
        if HEADER_LINES <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def render_lines(self, crop: Region) -> list[Strip]:
        # Read once per redraw, not per line: they follow focus, the theme and the CSS.
        self._styles = _LineStyles.of(self)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        styles = self._styles or _LineStyles.of(self)
        width = self.size.width
        scroll_x = round(self.scroll_x)
        if y < HEADER_LINES:
            segments = self._padded(list(self._header.render(self.app.console)), styles.header, Style())
            segments.append(Segment(" " * max(0, width - self._width - 2), styles.header))
        else:
            index = y - HEADER_LINES + round(self.scroll_y)
            if index >= self.row_count:
                return Strip.blank(width, styles.base)
            position = self._first + index
            key = self._id_at(position)
            row = styles.odd if position % 2 else styles.even
            marked = styles.cursor if position == self._cursor else Style()
            if position == self._hover:
                marked = styles.hover + marked
            segments = self._padded(self._segments_of(key), row + marked, Style.from_color(marked.color))
            segments.append(Segment(" " * max(0, width - self._width - 2), row + marked))
        return Strip(segments).crop(scroll_x, scroll_x + width).adjust_cell_length(width, styles.base).simplify()

    def _segments_of(self, key: str) -> list[Segment]:
        segments = self._segments.get(key)
        if segments is None:
            segments = self._segments[key] = list(self._lines[key].render(self.app.console))
        return segments

    def _padded(self, segments: list[Segment], style: Style, over: Style) -> list[Segment]:
        """`segments` as a cell of the list's width: a space either side, `style` under its own
        styles and `over` on top of them (the cursor's colour wins over the line's)."""
        fill = self._width - Segment.get_line_length(segments)
        cell = [Segment(" "), *segments, Segment(" " * (fill + 1))]
        return list(Segment.apply_style(cell, style, over))


class _LineStyles:
    """The styles the list draws with, read from its CSS once per change of style, not per line."""

    __slots__ = ("base", "cursor", "even", "header", "hover", "odd")

    def __init__(self, base: Style, header: Style, even: Style, odd: Style, cursor: Style, hover: Style) -> None:
        self.base, self.header, self.even, self.odd, self.cursor, self.hover = base, header, even, odd, cursor, hover

    @classmethod
    def of(cls, widget: CaptureList) -> _LineStyles:
        return cls(
            widget.rich_style,
            widget.get_component_styles("capture-list--header").rich_style,
            widget.get_component_styles("capture-list--even-row").rich_style,
            widget.get_component_styles("capture-list--odd-row").rich_style,
            widget.get_component_rich_style("capture-list--cursor"),
            widget.get_component_rich_style("capture-list--hover"),
        )
