"""The Textual app: watch captures stream in, inspect one, and change what hookbin answers.

The app never binds a socket. It is handed the store, the responder and the URLs to show;
it subscribes to store events (the only bridge from the store's writer thread into Textual
messages) and drives the responder directly, exactly as the control API does.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from hookbin.bodies import decode_capture
from hookbin.deliveries import Delivery, group_deliveries
from hookbin.durations import parse_duration
from hookbin.export import save_curl
from hookbin.model import Capture
from hookbin.responder import Responder
from hookbin.spec import SpecError, parse_spec
from hookbin.store import CapturesAdded, Filter, SQLiteStore, StoreError, StoreEvent, capture_matches, parse_filter
from hookbin.textsafe import safe
from hookbin.tui import render
from hookbin.tui.screens import ConfirmScreen, DeliveriesScreen, HelpScreen, PromptScreen

ERROR_CYCLE = ["500", "503", "429 retry-after=30", "404", "410"]
FAULT_CYCLE = ["close", "reset", "200 drip=30s"]
TABS = ["summary", "headers", "body", "query", "response", "raw", "delivery"]
DELIVERY_ATTEMPTS = 200
"""Most attempts of one delivery loaded for the Delivery tab."""
DELIVERIES_SCANNED = 5000
"""Captures grouped for the deliveries screen (the newest ones)."""
TREE_THRESHOLD = 50_000
"""Pretty JSON longer than this (characters) is shown as a tree instead of highlighted text."""
TREE_CHILDREN = 500
"""Most children listed under one tree branch."""
DRAIN_INTERVAL = 0.2
"""New captures reach the list at most this often (seconds): a burst is one update, not many."""
DETAIL_INTERVAL = 0.5
"""While following a burst, the detail pane is redrawn at most this often (seconds)."""
MAX_ROWS = 1000
"""Rows kept in the list widget (it grows to 1.5x, then is trimmed back to the newest MAX_ROWS);
older captures stay in the store (use the filter to find them)."""


class CapturesArrived(Message):
    """New captures are waiting in the app's inbox (one message covers a whole burst)."""


class StoreWasCleared(Message):
    """Every capture was deleted from the store."""


class AnswerChanged(Message):
    """The responder's spec, rules, body or headers changed (from any thread)."""


class JsonTree(Tree[Any]):
    """A large JSON document as a tree whose branches are filled in only when opened."""

    def show(self, document: Any, title: str) -> None:
        self.clear()
        self.root.set_label(Text(safe(title), style="bold"))
        self.root.data = document
        self._fill(self.root)
        self.root.expand()

    def _fill(self, node: TreeNode[Any]) -> None:
        value = node.data
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for key, child in items[:TREE_CHILDREN]:
            label = Text(safe(str(key) if isinstance(value, dict) else f"[{key}]", limit=80), style="cyan")
            if isinstance(child, (dict, list)) and child:
                size = f"{{{len(child)}}}" if isinstance(child, dict) else f"[{len(child)}]"
                label.append(f" {size}", style="dim")
                node.add(label, data=child)
            else:
                label.append(" = ")
                label.append(render.json_scalar(child))
                node.add_leaf(label)
        if len(items) > TREE_CHILDREN:
            node.add_leaf(Text(f"… {len(items) - TREE_CHILDREN} more (see hookbin show --json)", style="dim"))

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        if not event.node.children and event.node.data is not None:
            self._fill(event.node)


class CaptureList(DataTable):
    """The live list of requests, one row per capture, keyed by capture id.

    `following` is True while the cursor stays on the newest row as rows arrive. Moving up
    turns it off at once (here, not after a message round trip, so a burst arriving in
    between cannot drag the cursor back down) and tells the app with `TailLeft`.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    class TailLeft(Message):
        """The user moved away from the newest row: following stopped."""

    following = True

    def _leave_tail(self) -> None:
        if self.following:
            self.following = False
            self.post_message(self.TailLeft())

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

    def follow(self) -> None:
        """Put the cursor on the newest row, if following."""
        if self.following and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)


class HookbinApp(App[None]):
    """hookbin's terminal UI."""

    TITLE = "hookbin"
    CSS_PATH = "hookbin.tcss"
    BINDINGS = [
        Binding("o", "answer_ok", "200 OK"),
        Binding("e", "answer_error", "Error"),
        Binding("d", "answer_delay", "Delay"),
        Binding("f", "answer_fault", "Fault"),
        Binding("s", "answer_spec", "Spec"),
        Binding("slash", "filter", "Filter"),
        Binding("D", "deliveries", "Deliveries"),
        Binding("c", "copy_curl", "Curl"),
        Binding("y", "copy_body", "Copy body"),
        Binding("space", "toggle_follow", "Pause"),
        Binding("ctrl+l", "clear", "Clear"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        *[Binding(str(n), f"show_tab('{tab}')", tab.title(), show=False) for n, tab in enumerate(TABS, 1)],
    ]

    def __init__(
        self,
        store: SQLiteStore,
        responder: Responder,
        *,
        url: str,
        admin_url: str | None = None,
        public_url: str | None = None,
        export_dir: Path | None = None,
        max_rows: int = MAX_ROWS,
    ) -> None:
        super().__init__()
        self.store = store
        self.responder = responder
        self.url = url
        self.admin_url = admin_url
        self.public_url = public_url
        self.export_dir = export_dir or Path.cwd()
        self.max_rows = max_rows
        self.filter: Filter | None = None
        self.counts = collections.Counter[str]()
        self._inbox: collections.deque[Capture] = collections.deque()
        self._inbox_lock = threading.Lock()
        self._arrival_pending = False
        self._drained_at = 0.0
        self._drain_timer: Timer | None = None
        self._held = 0  # captures that arrived while paused (they are in the store)
        self._rows: dict[str, Capture] = {}
        self._selected: str | None = None
        self._detail_at = 0.0  # when the detail pane was last drawn (time.monotonic)
        self._detail_pending: Capture | None = None
        self._detail_timer: Timer | None = None
        self._error_index = -1
        self._fault_index = -1
        self._unsubscribe_store = None
        self._unsubscribe_responder = None

    @property
    def following(self) -> bool:
        """Whether the list jumps to each new request (the list widget holds the state)."""
        return self.query_one(CaptureList).following

    @following.setter
    def following(self, value: bool) -> None:
        self.query_one(CaptureList).following = value

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            with Horizontal(id="topline"):
                yield Static(id="urls")
                yield Static(id="badge")
            yield Static(id="status")
        yield Input(placeholder="filter: text  method:POST  path:/segmanta/*  status:5xx   (enter applies, esc clears)",
                    id="filter")
        table = CaptureList(id="captures", cursor_type="row", zebra_stripes=True)
        yield table
        with TabbedContent(id="detail", initial="summary"):
            for tab in TABS:
                with TabPane(tab.title(), id=tab):
                    with VerticalScroll(id=f"{tab}-scroll"):
                        yield Static(id=f"{tab}-view", classes="view")
                    if tab == "body":
                        yield JsonTree("body", id="body-tree")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(CaptureList)
        table.add_column(render.ROW_HEADER, key="request")
        self.query_one("#filter", Input).display = False
        self.query_one(JsonTree).display = False
        self._render_urls()
        self._render_badge()
        self._load_rows()
        self._render_status()
        self._unsubscribe_store = self.store.subscribe(self._on_store_event)
        self._unsubscribe_responder = self.responder.subscribe(lambda: self.post_message(AnswerChanged()))
        table.focus()

    def on_unmount(self) -> None:
        if self._unsubscribe_store:
            self._unsubscribe_store()
        if self._unsubscribe_responder:
            self._unsubscribe_responder()

    # -- the bridge from the store's thread --------------------------------------------------

    def _on_store_event(self, event: StoreEvent) -> None:
        """Runs on the store's writer thread: queue, and post at most one message per burst."""
        if isinstance(event, CapturesAdded):
            with self._inbox_lock:
                self._inbox.extend(event.captures)
                if self._arrival_pending:
                    return
                self._arrival_pending = True
            self.post_message(CapturesArrived())
        else:
            self.post_message(StoreWasCleared())

    @on(CapturesArrived)
    def _captures_arrived(self) -> None:
        wait = DRAIN_INTERVAL - (time.monotonic() - self._drained_at)
        if wait > 0:
            # Until the drain, the writer thread keeps queueing without posting more messages.
            if self._drain_timer is None:
                self._drain_timer = self.set_timer(wait, self._drain_inbox)
            return
        self._drain_inbox()

    def _drain_inbox(self) -> None:
        self._drain_timer = None
        self._drained_at = time.monotonic()
        with self._inbox_lock:
            arrived = list(self._inbox)
            self._inbox.clear()
            self._arrival_pending = False
        for capture in arrived:
            self._count(capture)
        shown = [c for c in arrived if capture_matches(c, self.filter)]
        if self.following:
            self._append_rows(shown)
        else:
            self._held += len(shown)
        self._render_status()

    @on(StoreWasCleared)
    def _store_cleared(self) -> None:
        self.counts.clear()
        self._held = 0
        self._load_rows()
        self._render_status()

    @on(AnswerChanged)
    def _answer_changed(self) -> None:
        self._render_badge()

    def _count(self, capture: Capture) -> None:
        self.counts["received"] += 1
        response = capture.response
        if response is None:
            return
        if response.fault in ("close", "reset"):
            self.counts["faults"] += 1
        elif response.status < 300:
            self.counts["ok"] += 1
        elif response.status >= 400:
            self.counts["errors"] += 1

    # -- rows ------------------------------------------------------------------------------

    def _append_rows(self, captures: Iterable[Capture]) -> None:
        table = self.query_one(CaptureList)
        fresh = [capture for capture in captures if capture.id not in self._rows]
        if not fresh:
            return
        for capture in fresh:
            self._rows[capture.id] = capture
        if len(self._rows) > self.max_rows + self.max_rows // 2:
            # Trim back to the newest max_rows by rebuilding: Textual's remove_row re-indexes
            # every row, so removing the oldest one at a time costs far more than one rebuild.
            keep = list(self._rows.values())[-self.max_rows :]
            self._rows = {capture.id: capture for capture in keep}
            table.clear()
            fresh = keep
        for capture in fresh:
            table.add_row(render.row_line(capture), key=capture.id)
        if self.following:
            table.follow()
            # A rebuild can leave the cursor's index unchanged, which posts no highlight event.
            newest = next(reversed(self._rows))
            if newest != self._selected:
                self._follow_detail(self._rows[newest])

    def _load_rows(self) -> None:
        """Fill the list from the store: the newest matching captures, oldest at the top."""
        table = self.query_one(CaptureList)
        table.clear()
        self._rows.clear()
        try:
            newest = self.store.list_captures(limit=self.max_rows, flt=self.filter)
        except StoreError as exc:
            self.notify(safe(str(exc)), severity="error", markup=False)
            newest = []
        self._append_rows(reversed(newest))
        if not newest:
            self._show_detail(None)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key == self._selected:
            return
        if self.following and key in self._rows:
            self._follow_detail(self._rows[key])
        else:
            self._show_detail(self._rows.get(key) if key else None)

    @on(CaptureList.TailLeft)
    def _tail_left(self) -> None:
        self._render_status()

    def _follow_detail(self, capture: Capture) -> None:
        """Show the newest capture, but redraw the detail at most every DETAIL_INTERVAL.

        A burst would otherwise decode and highlight a body per batch on the loop that also
        answers the webhooks; a single request still shows at once.
        """
        self._detail_pending = capture
        if self._detail_timer is not None:
            return
        wait = DETAIL_INTERVAL - (time.monotonic() - self._detail_at)
        if wait <= 0:
            self._flush_detail()
        else:
            self._detail_timer = self.set_timer(wait, self._flush_detail)

    def _flush_detail(self) -> None:
        self._detail_timer = None
        capture, self._detail_pending = self._detail_pending, None
        if capture is not None and self.following and capture.id in self._rows:
            self._show_detail(capture)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.query_one(TabbedContent).focus()

    # -- detail ----------------------------------------------------------------------------

    def _show_detail(self, capture: Capture | None) -> None:
        self._selected = capture.id if capture else None
        self._detail_at = time.monotonic()
        views = {tab: self.query_one(f"#{tab}-view", Static) for tab in TABS}
        if capture is None:
            self.query_one(JsonTree).display = False
            self.query_one("#body-scroll").display = True
            for view in views.values():
                view.update(Text(f"Waiting for requests on {self.url}/ …", style="dim"))
            return
        body = decode_capture(capture)
        views["summary"].update(render.summary_view(capture, body))
        views["headers"].update(render.headers_table(capture))
        tree = self.query_one(JsonTree)
        large = body.kind == "json" and len(body.pretty) > TREE_THRESHOLD
        self.query_one("#body-scroll").display = not large
        tree.display = large
        if large:
            tree.show(body.json, f"{body.summary}: a large document; enter or space opens a branch")
        else:
            views["body"].update(render.body_view(capture, body))
        views["query"].update(render.query_view(capture))
        views["response"].update(render.response_view(capture))
        views["raw"].update(render.raw_view(capture))
        views["delivery"].update(render.delivery_view(self._delivery_of(capture), capture.id))

    def _delivery_of(self, capture: Capture) -> Delivery | None:
        if not capture.delivery_key:
            return None
        try:
            attempts = self.store.list_captures(DELIVERY_ATTEMPTS, flt=Filter(delivery_key=capture.delivery_key))
        except StoreError:
            return None
        if capture.id not in {c.id for c in attempts}:
            attempts.append(capture)  # not committed yet when shown from the store's event
        grouped = group_deliveries(attempts)
        return grouped[0] if grouped else None

    @property
    def selected(self) -> Capture | None:
        return self._rows.get(self._selected) if self._selected else None

    # -- header ----------------------------------------------------------------------------

    def _render_urls(self) -> None:
        text = Text()
        text.append("hookbin ", style="bold")
        text.append("listening on ")
        text.append(self.url + "/", style="bold underline")
        if self.admin_url:
            text.append(f"   control {self.admin_url}", style="dim")
        if self.public_url:
            text.append("\npaste into Segmanta: ", style="bold")
            text.append(safe(self.public_url), style="bold green")
        self.query_one("#urls", Static).update(text)

    def _render_badge(self) -> None:
        self.query_one("#badge", Static).update(render.answer_badge(self.responder.spec))

    def _render_status(self) -> None:
        line = render.count_line(self.counts["received"], self.counts["ok"], self.counts["errors"],
                                 self.counts["faults"])
        if self.following:
            line.append("   ▶ following", style="green")
        else:
            line.append("   ⏸ paused", style="yellow")
            if self._held:
                line.append(f" ({self._held} new, space to show)", style="yellow")
        if self.filter:
            line.append(f"   filter: {safe(self.query_one('#filter', Input).value)}", style="cyan")
        line.append(f"   {len(self._rows)} shown", style="dim")
        self.query_one("#status", Static).update(line)

    # -- answer actions ----------------------------------------------------------------------

    def _set_spec(self, text: str) -> None:
        try:
            self.responder.set_spec(text)
        except SpecError as exc:
            self.notify(safe(str(exc)), severity="error", markup=False)
            return
        self._render_badge()
        self.notify(f"now answering {self.responder.spec.text}", markup=False)

    def action_answer_ok(self) -> None:
        self._set_spec("200")

    def action_answer_error(self) -> None:
        self._error_index = (self._error_index + 1) % len(ERROR_CYCLE)
        self._set_spec(ERROR_CYCLE[self._error_index])

    def action_answer_fault(self) -> None:
        self._fault_index = (self._fault_index + 1) % len(FAULT_CYCLE)
        self._set_spec(FAULT_CYCLE[self._fault_index])

    def action_answer_delay(self) -> None:
        self._ask_for_answer("Answer 200 after a delay of", "65s",
                             "e.g. 2s, 250ms, 65s (longer than most senders wait), 10m",
                             parse_duration, lambda value: f"200 delay={value.strip()}")

    def action_answer_spec(self) -> None:
        self._ask_for_answer("Response spec", self.responder.spec.text,
                             "e.g. 503 · 500,500,200 · 429 retry-after=30 · 200 delay=65s · close · 30% 503",
                             parse_spec, lambda value: value)

    def _ask_for_answer(self, title: str, value: str, hint: str, parse: Callable[[str], object],
                        to_spec: Callable[[str], str]) -> None:
        """Prompt for a line, refuse it while `parse` raises, then answer with `to_spec(line)`."""

        def check(line: str) -> str | None:
            try:
                parse(line)
            except ValueError as exc:  # SpecError is a ValueError too
                return str(exc)
            return None

        def chosen(line: str | None) -> None:
            if line:
                self._set_spec(to_spec(line))

        self.push_screen(PromptScreen(title, value, hint, check), chosen)

    # -- list actions ------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        if self.following:
            held, self._held = self._held, 0
            if held:
                self._load_rows()
            self.query_one(CaptureList).follow()
        self._render_status()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = parse_filter(event.value) if event.value.strip() else None
        except StoreError as exc:
            self.notify(safe(str(exc)), severity="error", markup=False)
            return
        if self.filter is None:
            event.input.display = False
        self.following = True
        self._held = 0
        self._load_rows()
        self._render_status()
        self.query_one(CaptureList).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.display and self.filter is None:
            return
        box.value = ""
        box.display = False
        self.filter = None
        self._load_rows()
        self._render_status()
        self.query_one(CaptureList).focus()

    def action_deliveries(self) -> None:
        try:
            captures = self.store.list_captures(DELIVERIES_SCANNED)
        except StoreError as exc:
            self.notify(safe(str(exc)), severity="error", markup=False)
            return

        def chosen(key: str | None) -> None:
            if key:
                box = self.query_one("#filter", Input)
                box.value = f"delivery:{key}"
                box.display = True
                self.filter = Filter(delivery_key=key)
                self._load_rows()
                self._render_status()

        self.push_screen(DeliveriesScreen(group_deliveries(captures)), chosen)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_clear(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._clear_store()

        self.push_screen(ConfirmScreen("Delete every capture from the store?"), answered)

    @work(exclusive=True, group="store")
    async def _clear_store(self) -> None:
        deleted = await asyncio.to_thread(self.store.clear)
        self.notify(f"deleted {deleted} capture(s)", markup=False)

    def action_copy_curl(self) -> None:
        capture = self.selected
        if capture is None:
            self.notify("select a request first", severity="warning", markup=False)
            return
        command, path = save_curl(capture, self.url, self.export_dir)
        self.copy_to_clipboard(command)
        self.notify(f"curl copied to the clipboard and saved to {path}", markup=False)

    def action_copy_body(self) -> None:
        capture = self.selected
        if capture is None:
            self.notify("select a request first", severity="warning", markup=False)
            return
        self.copy_to_clipboard(capture.body.decode("utf-8", "replace"))
        self.notify(f"body copied ({len(capture.body)} bytes)", markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def notice(self, line: str) -> None:
        """Show a one-line notice from elsewhere (e.g. a request the HTTP parser refused)."""
        self.notify(safe(line), severity="warning", markup=False)

    # -- command palette ---------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Answer 200 OK", "Every request gets 200", self.action_answer_ok)
        yield SystemCommand("Answer an error", "Cycle 500, 503, 429, 404, 410", self.action_answer_error)
        yield SystemCommand("Answer after a delay", "Wait before answering", self.action_answer_delay)
        yield SystemCommand("Answer with a connection fault", "Cycle close, reset, drip", self.action_answer_fault)
        yield SystemCommand("Enter a response spec", "Any spec, e.g. 500,500,200", self.action_answer_spec)
        yield SystemCommand("Filter requests", "By text, method, path, status", self.action_filter)
        yield SystemCommand("Copy as curl", "The selected request as a curl command", self.action_copy_curl)
        yield SystemCommand("Copy body", "The selected request's body", self.action_copy_body)
        yield SystemCommand("Pause or resume following", "Stop or restart jumping to new requests",
                            self.action_toggle_follow)
        yield SystemCommand("Clear captures", "Delete every capture (asks first)", self.action_clear)
        yield SystemCommand("Show deliveries", "Every delivery with its attempts", self.action_deliveries)
        yield SystemCommand("Show keys", "The help screen", self.action_help)
