"""The Textual app: watch captures stream in, inspect one, and change what hookbin answers.

The app never binds a socket. It is handed the store, the responder and the URLs to show;
it subscribes to store events (the only bridge from the store's writer thread into Textual
messages) and drives the responder directly, exactly as the control API does. It composes
the widgets (`tui/widgets/`), holds the keys, and tells each widget what to show; the widgets
report back with messages (`tui/messages.py`). The answer, copy and replay keys act through
helpers of their own (`tui/answers.py`, `tui/copying.py`, `tui/replay.py`).

The loop here is the one the catcher answers from, so store reads, decoding, laying out a
capture, grouping deliveries and filtering run in worker threads (see the detail pane, the
Deliveries screen and `_read_rows`), and their results are applied here, unless something
newer was asked for meanwhile. The list's rows hold no bodies (`tui/rows.py`); what a row
needs of a new capture is worked out on the store's writer thread (`tui/inbox.py`).
An error nothing caught ends the app, as in any Textual app, but is kept in `crash` so that
`hookbin serve` can write its traceback to a file and exit non-zero.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input

from hookbin.deliveries import Delivery, group_deliveries
from hookbin.model import Capture, ResponseGiven, counter_of
from hookbin.notices import Refusals
from hookbin.responder import Responder
from hookbin.store import (
    CapturesAdded,
    Filter,
    OutcomeRecorded,
    SQLiteStore,
    StoreError,
    StoreEvent,
    StoreFailed,
    StoreRecovered,
    parse_filter,
)
from hookbin.store.events import StoreCleared as StoreEventCleared
from hookbin.summaries import CaptureSummary, settled
from hookbin.textsafe import safe
from hookbin.tui import render
from hookbin.tui.answers import AnswerKeys
from hookbin.tui.copying import Copier
from hookbin.tui.inbox import Arrival, Inbox
from hookbin.tui.messages import (
    AnswerChanged,
    CaptureHighlighted,
    CaptureOpened,
    CapturesArrived,
    FollowingStopped,
    NoticeGiven,
    RowsLoaded,
    StoreCleared,
)
from hookbin.tui.replay import Replay, Replayer
from hookbin.tui.rows import newest_rows
from hookbin.tui.screens import ConfirmScreen, DeliveriesScreen, HelpScreen
from hookbin.tui.widgets.capture_list import MAX_ROWS, CaptureList, ListedRow
from hookbin.tui.widgets.detail import TABS, DetailPane
from hookbin.tui.widgets.header import HeaderBar

__all__ = ["CaptureList", "HookbinApp"]

DELIVERY_ATTEMPTS = 200
"""Most attempts of one delivery loaded for the Delivery tab."""
DELIVERIES_SCANNED = 5000
"""Captures grouped for the deliveries screen (the newest ones; their summaries, no body)."""
DRAIN_INTERVAL = 0.2
"""New captures reach the list at most this often (seconds): a burst is one update, not many."""
FLOOD = 100
"""Captures in one drain that make it a flood: the next drain then waits FLOOD_INTERVAL."""
FLOOD_INTERVAL = 0.5
"""How often a flood reaches the list (seconds): each update redraws the screen, which under a
flood cost the catcher more than anything else the TUI does."""
ROWS_AT_ONCE = 100
"""Rows read from the store that are added to the list in one step of the event loop."""
DETAIL_INTERVAL = 1.0
"""While following a burst, the detail pane is redrawn at most this often (seconds)."""


class HookbinApp(App[None]):
    """hookbin's terminal UI."""

    TITLE = "hookbin"
    CSS_PATH = "hookbin.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "answer('ok')", "200 OK"),
        Binding("e", "answer('error')", "Error"),
        Binding("d", "answer('delay')", "Delay"),
        Binding("f", "answer('fault')", "Fault"),
        Binding("s", "answer('spec')", "Spec"),
        Binding("n", "answer('new_run')", "New run"),
        Binding("slash", "filter", "Filter"),
        Binding("D", "deliveries", "Deliveries"),
        Binding("c", "copy('curl')", "Curl"),
        Binding("y", "copy('body')", "Copy body"),
        Binding("r", "replay", "Replay"),
        Binding("R", "replay(True)", "Replay to…", show=False),
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
        refusals: Refusals | None = None,
        replay: Replay | None = None,
        replay_to: str | None = None,
        answered_by: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.responder = responder
        self.url = url
        self.admin_url = admin_url
        self.public_url = public_url
        self.refusals = refusals
        """What the catcher turned away (rejected requests, refused connections), for the header;
        the server says when it changes through `notice`, at most once a second."""
        self.max_rows = max_rows
        # The keys' actions live in modules of their own (tui/answers.py, copying.py, replay.py).
        self.answered_by = answered_by
        """Who answers senders instead of the responder (`serve --forward` in app mode), or None."""
        self.answers = AnswerKeys(self, responder, self._render_badge, answered_by=answered_by)
        self.copier = Copier(self, url, export_dir or Path.cwd(), self._selected_capture)
        self.replayer = Replayer(self, replay, replay_to, self._selected_capture)
        self.filter: Filter | None = None
        self.counts = collections.Counter[str]()
        self._inbox = Inbox()
        self._drained_at = 0.0
        self._drain_interval = DRAIN_INTERVAL
        self._drain_timer: Timer | None = None
        self._held = 0  # captures that arrived while paused (they are in the store)
        self._reload = 0  # bumped by each reload of the list: rows read for an older one are dropped
        # While the list reloads, the rows of new captures wait here, to be added after the rows read.
        self._arrived_while_loading: list[ListedRow] | None = None
        self._detail_at = 0.0  # when the detail pane was last drawn (time.monotonic)
        self._detail_pending: CaptureSummary | None = None
        self._detail_timer: Timer | None = None
        self._unsubscribe_store: Callable[[], None] | None = None
        self._unsubscribe_responder: Callable[[], None] | None = None
        self.crash: BaseException | None = None
        """The error that ended the app, if one did."""
        # The widgets, made in compose. Held, not queried: a message still queued while the app
        # shuts down is handled after the screen's widgets are gone, where a query would raise.
        self._header: HeaderBar
        self._filter_box: Input
        self._list: CaptureList
        self._detail: DetailPane

    @property
    def following(self) -> bool:
        """Whether the list jumps to each new request (the list widget holds the state)."""
        return self._list.following

    @following.setter
    def following(self, value: bool) -> None:
        self._list.following = value

    @property
    def _rows(self) -> dict[str, CaptureSummary]:
        """The rows the list shows, by capture id, oldest first (the list widget holds them)."""
        return self._list.summaries

    @property
    def selected(self) -> CaptureSummary | None:
        """The row whose capture the detail pane shows, while it is in the list."""
        shown = self._detail.row
        return self._rows.get(shown.id) if shown else None

    async def _selected_capture(self) -> Capture | None:
        """The whole capture the detail pane shows: as it read it, or read now in a thread."""
        row = self.selected
        if row is None:
            return None
        loaded = self._detail.capture
        if loaded is not None and loaded.id == row.id:
            return loaded
        return await asyncio.to_thread(self.store.get, row.id)

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self._header = HeaderBar(url=self.url, admin_url=self.admin_url, public_url=self.public_url, id="top")
        self._filter_box = Input(
            placeholder=(
                "filter: text  method:POST  path:/seg*  status:5xx  sig:invalid  run:3  (enter applies, esc clears)"
            ),
            id="filter",
        )
        self._list = CaptureList(max_rows=self.max_rows, id="captures")
        self._detail = DetailPane(url=self.url, read=self.store.get, delivery_of=self._delivery_of, id="detail")
        yield self._header
        yield self._filter_box
        yield self._list
        yield self._detail
        yield Footer()

    def on_mount(self) -> None:
        self._filter_box.display = False
        self._render_badge()
        # Subscribed first: a capture committed while the rows are read is kept for after them.
        self._unsubscribe_store = self.store.subscribe(self._on_store_event)
        self._load_rows()
        self._render_status()
        self._unsubscribe_responder = self.responder.subscribe(self._answer_set)
        self._list.focus()

    def on_unmount(self) -> None:
        if self._unsubscribe_store:
            self._unsubscribe_store()
        if self._unsubscribe_responder:
            self._unsubscribe_responder()

    # -- the bridge from the store's thread --------------------------------------------------

    def _on_store_event(self, event: StoreEvent) -> None:
        """Runs on the store's writer thread: queue, and post at most one message per burst."""
        if isinstance(event, CapturesAdded | OutcomeRecorded):
            flt = self.filter
            items = Arrival.all_of(event, flt) if isinstance(event, CapturesAdded) else [event]
            if self._inbox.put(items):
                self.post_message(CapturesArrived())
        elif isinstance(event, (StoreFailed, StoreRecovered)):
            # notify only posts a message, so it is safe from this thread.
            failed = isinstance(event, StoreFailed)
            self.notify(
                safe(event.line),
                severity="error" if failed else "information",
                markup=False,
                timeout=30 if failed else 10,
            )
        elif isinstance(event, StoreEventCleared):  # deleted captures stay listed until the next reload
            self.post_message(StoreCleared())

    def _answer_set(self) -> None:
        """Runs on whichever thread changed the responder."""
        self.post_message(AnswerChanged())

    @on(CapturesArrived)
    def _captures_arrived(self) -> None:
        wait = self._drain_interval - (time.monotonic() - self._drained_at)
        if wait > 0:
            # Until the drain, the writer thread keeps queueing without posting more messages.
            if self._drain_timer is None:
                self._drain_timer = self.set_timer(wait, self._drain_inbox)
            return
        self._drain_inbox()

    def _drain_inbox(self) -> None:
        self._drain_timer = None
        self._drained_at = time.monotonic()
        items = self._inbox.take()
        self._drain_interval = FLOOD_INTERVAL if len(items) >= FLOOD else DRAIN_INTERVAL
        shown: list[ListedRow] = []
        for item in items:
            if isinstance(item, Arrival):
                self.counts["received"] += 1
                self._count(item.capture.response, 1)
                if item.shown_by(self.filter):
                    shown.append((item.row, item.line))
            else:
                self._count(item.previous, -1)
                self._count(item.capture.response, 1)
        if self._arrived_while_loading is not None:
            self._arrived_while_loading.extend(shown)
        elif self.following:
            self._append_rows(shown)
        else:
            self._held += len(shown)
        self._settle_rows([item.capture for item in items if isinstance(item, OutcomeRecorded)])
        self._render_status()

    @on(StoreCleared)
    def _store_cleared(self) -> None:
        self.counts.clear()
        self._held = 0
        self._load_rows()
        self._render_status()

    @on(AnswerChanged)
    def _answer_changed(self) -> None:
        self._render_badge()

    def _count(self, response: ResponseGiven | None, change: int) -> None:
        counter = counter_of(response)
        if counter is not None:
            self.counts[counter] += change

    def _settle_rows(self, captures: list[Capture]) -> None:
        """Redraw the rows, and the detail, of captures whose answers' outcomes are now known."""
        waiting = self._arrived_while_loading
        if waiting:  # rows not in the list yet: they are added once it has reloaded
            answers = {capture.id: capture for capture in captures}
            for index, (listed, _) in enumerate(waiting):
                if listed.id in answers:
                    redrawn = settled(listed, answers[listed.id])
                    waiting[index] = (redrawn, render.row_line(redrawn))
        for capture in captures:
            row = self._rows.get(capture.id)
            if row is None:
                continue
            row = settled(row, capture)
            self._list.replace(row)
            if self._detail_pending is not None and self._detail_pending.id == capture.id:
                self._detail_pending = row  # still waiting to be drawn: drawn as now stored
            shown = self._detail.row
            if shown is not None and shown.id == capture.id:
                # Following a burst, every capture shown gets its outcome soon after: redraw it
                # at the pace of following, not once more per capture.
                if self.following:
                    self._follow_detail(row)
                else:
                    self._show_detail(row)

    # -- rows ------------------------------------------------------------------------------

    def _append_rows(self, rows: Iterable[ListedRow]) -> None:
        self._list.append(rows)  # following, it moves the cursor and says which row it is on

    def _load_rows(self) -> None:
        """Fill the list from the store: the newest matching captures, oldest at the top.

        They are read in a thread; the rows shown stay until they arrive, and captures that
        arrive meanwhile are added after them.
        """
        self._reload += 1
        self._arrived_while_loading = []
        self._read_rows(self.filter, self._reload)

    @work(thread=True, exclusive=True, group="rows")
    def _read_rows(self, flt: Filter | None, generation: int) -> None:
        try:
            rows = newest_rows(self.store, self.max_rows, flt)
            self.post_message(RowsLoaded(generation, [(row, render.row_line(row)) for row in rows]))
        except StoreError as exc:
            self.post_message(RowsLoaded(generation, [], safe(str(exc))))

    @on(RowsLoaded)
    async def _rows_loaded(self, message: RowsLoaded) -> None:
        if message.generation != self._reload:
            return  # read for a filter no longer set
        if message.error is not None:
            self.notify(message.error, severity="error", markup=False)
        self._list.remove_all()
        # A thousand rows at once would hold up the catcher: a few at a time, letting it answer.
        for start in range(0, len(message.rows), ROWS_AT_ONCE):
            self._list.append(message.rows[start : start + ROWS_AT_ONCE])
            await asyncio.sleep(0)
            if message.generation != self._reload:
                return  # a newer reload started meanwhile: it fills the list
        arrived, self._arrived_while_loading = self._arrived_while_loading or [], None
        self._list.append(arrived)
        if not self._rows:
            self._show_detail(None)
        self._render_status()

    @on(CaptureHighlighted)
    def _capture_highlighted(self, event: CaptureHighlighted) -> None:
        # The row may have been trimmed away since the message was posted.
        row = event.row if event.row and event.row.id in self._rows else None
        shown = self._detail.row
        if (row.id if row else None) == (shown.id if shown else None):
            self._detail_pending = None  # the newest highlight wins over one still waiting to be drawn
            return
        if self.following and row is not None:
            self._follow_detail(row)
        else:
            self._show_detail(row)

    @on(FollowingStopped)
    def _following_stopped(self) -> None:
        self._render_status()

    def _follow_detail(self, row: CaptureSummary) -> None:
        """Show the newest capture, but redraw the detail at most every DETAIL_INTERVAL.

        A burst would otherwise read, decode and highlight a body per batch; a single request
        still shows at once.
        """
        self._detail_pending = row
        if self._detail_timer is not None:
            return
        wait = DETAIL_INTERVAL - (time.monotonic() - self._detail_at)
        if wait <= 0:
            self._flush_detail()
        else:
            self._detail_timer = self.set_timer(wait, self._flush_detail)

    def _flush_detail(self) -> None:
        self._detail_timer = None
        row, self._detail_pending = self._detail_pending, None
        if row is not None and self.following and row.id in self._rows:
            self._show_detail(row)

    @on(CaptureOpened)
    def _capture_opened(self, event: CaptureOpened) -> None:
        shown = self._detail.row
        if event.row is not None and (shown is None or shown.id != event.row.id):
            self._show_detail(event.row)  # a redraw may still be waiting while following
        self._detail.focus_view()

    # -- detail ----------------------------------------------------------------------------

    def _show_detail(self, row: CaptureSummary | None) -> None:
        self._detail_at = time.monotonic()
        self._detail_pending = None
        self._detail.show(row)

    def _delivery_of(self, capture: Capture) -> Delivery | None:
        """The delivery `capture` belongs to (runs in the detail pane's worker thread)."""
        if not capture.delivery_key:
            return None
        try:
            flt = Filter(delivery_key=capture.delivery_key, run=capture.run)  # a delivery is one run's
            attempts = self.store.list_captures(DELIVERY_ATTEMPTS, flt=flt)
        except StoreError:
            return None
        if capture.id not in {c.id for c in attempts}:
            attempts.append(capture)  # not committed yet when shown from the store's event
        grouped = group_deliveries(attempts)
        return grouped[0] if grouped else None

    # -- header ----------------------------------------------------------------------------

    def _render_badge(self) -> None:
        self._header.show_answer(self.responder.spec, self.responder.run, self.answered_by)

    def _render_status(self) -> None:
        self._header.show_status(
            self.counts,
            following=self.following,
            held=self._held,
            filter_text=self._filter_box.value if self.filter else None,
            shown=len(self._rows),
            rejected=self.refusals.rejected if self.refusals else 0,
            refused=self.refusals.refused if self.refusals else 0,
        )

    # -- answer actions ----------------------------------------------------------------------

    def action_answer(self, key: str) -> None:
        self.answers.press(key)

    # -- list actions ------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        if self.following:
            held, self._held = self._held, 0
            if held:
                self._load_rows()
            self._list.follow()
        self._render_status()

    def action_filter(self) -> None:
        box = self._filter_box
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
        self._list.focus()

    def action_clear_filter(self) -> None:
        box = self._filter_box
        if not box.display and self.filter is None:
            return
        box.value = ""
        box.display = False
        self.filter = None
        self._load_rows()
        self._render_status()
        self._list.focus()

    def _deliveries(self, run: int) -> list[Delivery]:
        """The deliveries of `run` among the newest captures (runs in the Deliveries screen's worker
        thread). Grouped from summaries: the screen shows no diff, so no header or body is read,
        and the thread holds the GIL, which the catcher's loop needs, a third as long."""
        return group_deliveries(self.store.list_summaries(DELIVERIES_SCANNED, flt=Filter(run=run)))

    def action_deliveries(self) -> None:
        run = self.responder.run  # this run's, as `hookbin deliveries` shows the latest run

        def chosen(key: str | None) -> None:
            if key:
                box = self._filter_box
                box.value = f"run:{run} delivery:{key}"
                box.display = True
                self.filter = Filter(delivery_key=key, run=run)
                self._load_rows()
                self._render_status()

        self.push_screen(DeliveriesScreen(lambda: self._deliveries(run), run=run), chosen)

    def action_show_tab(self, tab: str) -> None:
        self._detail.active = tab

    def action_clear(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._clear_store()

        self.push_screen(ConfirmScreen("Delete every capture from the store?"), answered)

    @work(exclusive=True, group="store")
    async def _clear_store(self) -> None:
        deleted = await asyncio.to_thread(self.store.clear)
        self.notify(f"deleted {deleted} capture(s)", markup=False)

    def action_copy(self, what: str) -> None:
        if what == "curl":
            self.copier.curl()
        else:
            self.copier.body()

    def action_replay(self, ask: bool = False) -> None:
        self.replayer.replay(ask=ask)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _handle_exception(self, error: Exception) -> None:
        # Textual's one way in for an error nothing caught (it then ends the app); keep the
        # first for `hookbin serve`, which writes its traceback to a file.
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)

    def notice(self, line: str) -> None:
        """Show a one-line notice from elsewhere (a refused connection, a rejected request, a
        warning); callable from any thread, and before the app runs."""
        self.post_message(NoticeGiven(line))

    @on(NoticeGiven)
    def _notice_given(self, message: NoticeGiven) -> None:
        self.notify(safe(message.line), severity="warning", markup=False)
        self._render_status()  # a refusal line means the counters moved

    # -- command palette ---------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from self.answers.commands()
        yield SystemCommand("Filter requests", "By text, method, path, status, signature, run", self.action_filter)
        yield from self.copier.commands()
        yield from self.replayer.commands()
        yield SystemCommand(
            "Pause or resume following", "Stop or restart jumping to new requests", self.action_toggle_follow
        )
        yield SystemCommand("Clear captures", "Delete every capture (asks first)", self.action_clear)
        yield SystemCommand("Show deliveries", "Every delivery with its attempts", self.action_deliveries)
        yield SystemCommand("Show keys", "The help screen", self.action_help)
