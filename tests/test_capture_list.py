"""The capture list on its own, in a real Textual app under `run_test`: what it draws, where its
cursor goes (keys, the mouse, rows arriving and being trimmed), and what it tells the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from textual import on
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.message import Message
from textual.pilot import Pilot

from hookbin.summaries import summary_of
from hookbin.tui import render
from hookbin.tui.messages import CaptureHighlighted, CaptureOpened, FollowingStopped
from hookbin.tui.widgets.capture_list import CaptureList, ListedRow
from tests.factories import tcapture

pytestmark = pytest.mark.usefixtures("utc")  # times on screen are local: make them UTC

HEIGHT = 12
"""The list's height in the test app: its header and 11 rows."""


def rows(first: int, last: int, path: str = "/hook/{n}") -> list[ListedRow]:
    """The rows of captures `first` to `last`, as the app hands them to the list."""
    listed = []
    for n in range(first, last + 1):
        row = summary_of(tcapture(seq=n, path=path.format(n=n)))
        listed.append((row, render.row_line(row)))
    return listed


class ListApp(App[None]):
    """The list alone, with a height of HEIGHT; it keeps every message the list posts."""

    CSS = f"CaptureList {{ height: {HEIGHT}; }}"

    def __init__(self, max_rows: int = 1000) -> None:
        super().__init__()
        self.list = CaptureList(max_rows=max_rows)
        self.told: list[Message] = []

    def compose(self) -> ComposeResult:
        yield self.list

    @on(CaptureHighlighted)
    @on(CaptureOpened)
    @on(FollowingStopped)
    def _told(self, message: Message) -> None:
        self.told.append(message)

    def said(self, kind: type[Message]) -> list[str | None]:
        """The paths of the rows the list posted `kind` for (None for a message with no row)."""
        found = [m for m in self.told if isinstance(m, kind)]
        return [getattr(getattr(m, "row", None), "path", None) for m in found]


@asynccontextmanager
async def listing(listed: list[ListedRow], max_rows: int = 1000) -> AsyncIterator[tuple[ListApp, Pilot[None]]]:
    """The list app running, `listed` appended, and its pilot."""
    app = ListApp(max_rows)
    async with app.run_test(size=(100, 20)) as pilot:
        app.list.append(listed)
        await pilot.pause()
        yield app, pilot


def screen_lines(widget: CaptureList) -> list[str]:
    """The list's lines as drawn, top to bottom."""
    width, height = widget.size
    return [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, width, height))]


def shown_paths(widget: CaptureList) -> list[str]:
    return [line.split()[-1] for line in screen_lines(widget)[1:] if line]


async def test_it_draws_the_header_and_follows_the_newest_rows():
    async with listing([]) as (app, pilot):
        widget = app.list
        assert screen_lines(widget)[0].split() == ["time", "method", "status", "size", "try", "path"]
        widget.append(rows(1, 3))
        await pilot.pause()
        assert shown_paths(widget) == ["/hook/1", "/hook/2", "/hook/3"]
        assert widget.cursor_row == 2 and app.said(CaptureHighlighted)[-1] == "/hook/3"
        widget.append(rows(4, 40))
        await pilot.pause()
        # Following: the newest is highlighted and the list scrolled to show it at the bottom.
        assert shown_paths(widget) == [f"/hook/{n}" for n in range(30, 41)]
        assert app.said(CaptureHighlighted)[-1] == "/hook/40"
        assert app.said(FollowingStopped) == []


async def test_keys_move_the_cursor_and_moving_up_stops_following():
    async with listing(rows(1, 40)) as (app, pilot):
        widget = app.list
        widget.focus()
        await pilot.pause()
        await pilot.press("pageup")
        assert not widget.following and app.said(FollowingStopped) == [None]
        assert widget.cursor_row == 39 - (HEIGHT - 1)
        await pilot.press("home")
        await pilot.pause()
        assert widget.cursor_row == 0 and shown_paths(widget)[0] == "/hook/1"
        await pilot.press("pagedown", "j", "down")
        assert widget.cursor_row == (HEIGHT - 1) + 2
        await pilot.press("k")
        assert widget.cursor_row == HEIGHT
        assert app.said(CaptureHighlighted)[-1] == f"/hook/{HEIGHT + 1}"
        await pilot.press("end")
        await pilot.pause()
        assert widget.cursor_row == 39 and shown_paths(widget)[-1] == "/hook/40"
        await pilot.press("enter")
        assert app.said(CaptureOpened) == ["/hook/40"]
        # New rows while not following leave the cursor where the user put it.
        await pilot.press("up")
        widget.append(rows(41, 45))
        await pilot.pause()
        assert app.said(CaptureHighlighted)[-1] == "/hook/39" and widget.cursor_row == 38
        assert app.said(FollowingStopped) == [None]  # said once


async def test_a_click_highlights_a_row_and_a_second_click_opens_it():
    async with listing(rows(1, 5)) as (app, pilot):
        widget = app.list
        assert await pilot.click(CaptureList, offset=(5, 2))  # the header, then /hook/1, /hook/2
        assert app.said(CaptureHighlighted)[-1] == "/hook/2"
        assert not widget.following and app.said(FollowingStopped) == [None]
        assert app.said(CaptureOpened) == []
        await pilot.click(CaptureList, offset=(60, 2))
        assert app.said(CaptureOpened) == ["/hook/2"]
        await pilot.click(CaptureList, offset=(5, 0))  # the header: nothing happens
        await pilot.click(CaptureList, offset=(5, 9))  # below the last row: nothing either
        assert app.said(CaptureOpened) == ["/hook/2"] and widget.cursor_row == 1


async def test_trimming_keeps_the_row_the_user_looks_at_and_its_place_on_screen():
    async with listing(rows(1, 30), max_rows=30) as (app, pilot):
        widget = app.list
        widget.focus()
        await pilot.pause()
        await pilot.press("up", "up")
        before = shown_paths(widget)
        assert app.said(CaptureHighlighted)[-1] == "/hook/28"
        widget.append(rows(31, 46))  # 46 rows: the newest 30 stay
        await pilot.pause()
        assert widget.row_count == 30 and next(iter(widget.summaries.values())).path == "/hook/17"
        assert app.said(CaptureHighlighted)[-1] == "/hook/28"  # no new highlight: the same row
        assert widget.get_row_at(widget.cursor_row)[0].plain.endswith("/hook/28")
        assert shown_paths(widget) == before
        # A flood larger than the list keeps only the newest rows, and the cursor on the oldest kept.
        widget.append(rows(100, 160))
        await pilot.pause()
        assert widget.row_count == 30 and widget.cursor_row == 0
        assert app.said(CaptureHighlighted)[-1] == "/hook/131"


async def test_hostile_paths_stay_escaped_on_screen_when_a_row_is_redrawn():
    async with listing(rows(1, 1, path="/\x1b]52;c;aGk=\x07[bold]x\u202e")) as (app, pilot):
        widget = app.list
        line = screen_lines(widget)[1]
        assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
        assert "\\x1b]52;c;aGk=" in line and "[bold]x" in line
        # What became of the answer is known: the row is drawn anew, as escaped as before.
        widget.replace(next(iter(widget.summaries.values()))._replace(status=None, sender_gone_ms=1.5))
        await pilot.pause()
        assert " gone " in screen_lines(widget)[1] and "\\x1b]52" in screen_lines(widget)[1]


async def test_removing_every_row_empties_the_screen_and_the_next_rows_are_highlighted():
    async with listing(rows(1, 30)) as (app, pilot):
        widget = app.list
        widget.remove_all()
        await pilot.pause()
        assert widget.row_count == 0 and shown_paths(widget) == []
        widget.append(rows(30, 31))
        await pilot.pause()
        assert shown_paths(widget) == ["/hook/30", "/hook/31"]
        assert app.said(CaptureHighlighted)[-1] == "/hook/31"
