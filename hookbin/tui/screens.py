"""Modal screens of the TUI: enter a spec or a delay, confirm clearing, the help page, deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static
from textual.worker import get_current_worker

from hookbin.deliveries import Delivery
from hookbin.textout import local_time, short_key
from hookbin.textsafe import safe
from hookbin.tui.messages import DeliveriesLoaded

KEYS: list[tuple[str, str, str]] = [
    ("Answer", "o", "answer 200 OK"),
    ("Answer", "e", "cycle errors: 500, 503, 429 (Retry-After 30), 404, 410"),
    ("Answer", "d", "answer after a delay (asks how long; 65s outlasts most senders)"),
    ("Answer", "f", "cycle connection faults: close, reset, slow drip"),
    ("Answer", "s", "type any response spec, e.g. 500,500,200"),
    ("Answer", "n", "new run: the same answer, attempt numbers and sequences start over"),
    ("Navigate", "↑ ↓  j k", "move in the list (moving up pauses following)"),
    ("Navigate", "enter", "open the selected request's details"),
    ("Navigate", "tab / shift+tab", "move between the list, the tabs and the detail"),
    ("Navigate", "1 … 6", "Summary, Headers, Body, Query, Response, Raw tab"),
    ("Navigate", "/", "filter: text, method:POST, path:/seg*, status:5xx, sig:invalid, run:3 (esc clears)"),
    ("Navigate", "7", "Delivery tab: every attempt of the selected request's delivery"),
    ("Navigate", "D", "this run's deliveries, one row each; enter shows its attempts in the list"),
    ("Act", "c", "copy the request as curl (clipboard and a file)"),
    ("Act", "y", "copy a text body (control characters escaped)"),
    ("Act", "r", "replay the request to your receiver (asks where the first time) and show its answer"),
    ("Act", "R", "replay to another receiver (asks again)"),
    ("Act", "space", "pause / resume following new requests"),
    ("Act", "ctrl+l", "clear every capture (asks first)"),
    ("Act", "ctrl+p", "command palette: every action by name"),
    ("Act", "?", "this help"),
    ("Act", "q", "quit (the server stops, everything is already stored)"),
]


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text; `check` returns an error message or None when it is valid."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 72; height: auto; padding: 1 2; border: thick $accent; background: $surface;
    }
    PromptScreen #prompt-error { color: $error; height: auto; }
    PromptScreen #prompt-hint { color: $text-muted; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str, hint: str, check: Callable[[str], str | None]) -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._hint = hint
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title, style="bold"))
            yield Input(value=self._value, id="prompt-input", select_on_focus=True)
            yield Static(Text(self._hint), id="prompt-hint")
            yield Static("", id="prompt-error")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        error = self._check(event.value)
        if error:
            self.query_one("#prompt-error", Static).update(Text(safe(error)))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; `y` or enter confirms, `n` or escape cancels."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 60; height: auto; padding: 1 2; border: thick $error; background: $surface;
    }
    ConfirmScreen Button { margin: 1 1 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._question))
            yield Button("Yes (y)", variant="error", id="yes")
            yield Button("No (n)", id="no")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class HelpScreen(ModalScreen[None]):
    """Every key, grouped; any of escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; height: auto; max-height: 90%; padding: 1 2; border: thick $accent;
        background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss_help", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="dim")
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for group, key, what in KEYS:
            table.add_row(group, key, what)
        with VerticalScroll():
            yield Static(Text("hookbin keys", style="bold"))
            yield Static(table)
            yield Static(
                Text(
                    "\nResponse specs: 200 · 503 · 429 retry-after=30 · 200 delay=65s · close · reset · "
                    "200 drip=30s · 500,500,200 (per delivery) · global: 503,200 · 30% 503 "
                    "(every word: hookbin help specs)",
                    style="dim",
                )
            )

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


DELIVERY_COLUMNS = ("delivery", "first seen", "attempts", "gaps", "answers", "outcome", "sender")
"""The Deliveries screen's columns, each row drawn as one line (see `delivery_lines`)."""


class DeliveriesScreen(ModalScreen[str | None]):
    """One row per delivery of one run (newest last); enter returns its key so the list can show its attempts.

    `load` reads and groups them in a worker thread (a store query: too slow for the loop the
    catcher answers from), which also draws each row as one line (`delivery_lines`): the table
    then measures and renders one cell per row rather than seven, half the work left on the
    loop for thousands of rows. The screen says "loading…" meanwhile.
    """

    DEFAULT_CSS = """
    DeliveriesScreen { align: center middle; }
    DeliveriesScreen > Vertical {
        width: 95%; height: 85%; padding: 0 1; border: thick $accent; background: $surface;
    }
    DeliveriesScreen DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, load: Callable[[], list[Delivery]], *, run: int | None = None) -> None:
        super().__init__()
        self._load = load
        self._name = f"Deliveries in run {run}" if run is not None else "Deliveries"
        self._title = Label(Text(f"{self._name}: loading…", style="bold"))
        self._table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self._title
            yield self._table

    def on_mount(self) -> None:
        self._table.focus()
        self._read()

    @work(thread=True, exclusive=True, group="deliveries")
    def _read(self) -> None:
        try:
            deliveries = self._load()
            header, lines = delivery_lines(deliveries)
            loaded = DeliveriesLoaded(
                [(d.key, [line]) for d, line in zip(deliveries, lines, strict=True)], header=header
            )
        except Exception as exc:  # a store error, or a bug met by one odd capture: one line
            loaded = DeliveriesLoaded([], safe(f"could not read the deliveries: {exc}", limit=300))
        if not get_current_worker().is_cancelled:
            self.post_message(loaded)

    @on(DeliveriesLoaded)
    async def _loaded(self, message: DeliveriesLoaded) -> None:
        message.stop()
        if message.error is not None:
            self._title.update(Text(message.error, style="bold red"))
            return
        self._table.add_column(message.header or Text("  ".join(DELIVERY_COLUMNS)), key="delivery")
        rows = message.rows
        # Thousands of rows at once would hold up the catcher (it answers from this loop): a
        # hundred at a time, letting it answer in between.
        for start in range(0, len(rows), 100):
            for key, cells in rows[start : start + 100]:
                self._table.add_row(*cells, key=key)
            await asyncio.sleep(0)
        self._title.update(Text(f"{self._name} ({len(rows)}): enter shows one's attempts, esc closes", style="bold"))
        if rows:
            self._table.move_cursor(row=len(rows) - 1)

    @on(DataTable.RowSelected)
    def chosen(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)

    def action_close(self) -> None:
        self.dismiss(None)


def _delivery_cells(delivery: Delivery) -> list[Text]:
    """The cells of one delivery's row on the Deliveries screen."""
    gaps = " ".join(
        f"+{a.since_previous.total_seconds():.1f}s" for a in delivery.attempts if a.since_previous is not None
    )
    answers = " ".join(attempt.outcome for attempt in delivery.attempts)
    outcome = (
        Text(f"accepted #{delivery.accepted_at_attempt}", style="green")
        if delivery.accepted
        else Text("not accepted", style="red")
    )
    return [
        Text(short_key(delivery.key)),
        Text(local_time(delivery.first_at)),
        Text(str(len(delivery.attempts))),
        Text(safe(gaps, limit=40)),
        Text(safe(answers, limit=40)),
        outcome,
        Text(safe(delivery.sender, limit=40)),
    ]


def delivery_lines(deliveries: list[Delivery]) -> tuple[Text, list[Text]]:
    """The Deliveries screen's header and one line per delivery, its cells in columns as wide
    as their widest (off the event loop: this measures every cell)."""
    rows = [_delivery_cells(delivery) for delivery in deliveries]
    widths = [len(title) for title in DELIVERY_COLUMNS]
    for cells in rows:
        widths = [max(width, cell.cell_len) for width, cell in zip(widths, cells, strict=True)]
    gap = Text("  ")

    def line(cells: list[Text]) -> Text:
        padded = [cell.copy() for cell in cells]
        for cell, width in zip(padded[:-1], widths, strict=False):
            cell.pad_right(width - cell.cell_len)
        return gap.join(padded)

    header = line([Text(title) for title in DELIVERY_COLUMNS])
    return header, [line(cells) for cells in rows]
