"""DetailPane: one capture in tabs (summary, headers, body, query, response, raw, delivery).

Nothing about a capture is read, decoded or laid out on the event loop, which is the one the
catcher answers from. `show` is given a list row (which holds no body) and starts a worker
thread that reads the whole capture from the store, decodes the body, builds each tab's view,
finds the delivery, and renders each tab into lines (the active tab first); each tab says
"loading…" until its lines arrive. Results for a capture no longer shown, or for a width the
pane no longer has, are dropped. A view that fails shows "could not show this capture: …".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.css.query import NoMatches
from textual.events import Resize
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane
from textual.worker import get_current_worker

from hookbin.bodies import BodyView, decode_capture
from hookbin.deliveries import Delivery
from hookbin.model import Capture
from hookbin.summaries import CaptureSummary
from hookbin.textout import could_not_show
from hookbin.tui import render
from hookbin.tui.messages import DetailBuilt, DetailRendered
from hookbin.tui.widgets.json_tree import JsonTree
from hookbin.tui.widgets.lines_view import LinesView, render_lines

TABS = ["summary", "headers", "body", "query", "response", "raw", "delivery"]
"""The detail tabs in order; each is a pane id, and its number (1…7) is the key that shows it."""
TREE_THRESHOLD = 50_000
"""Pretty JSON longer than this (characters) is shown as a tree instead of highlighted text."""


@dataclass(frozen=True, slots=True)
class DetailViews:
    """Every tab's view of one capture, built off the loop."""

    views: dict[str, RenderableType]
    """The renderable of each tab, by tab name."""
    tree: tuple[Any, str] | None = None
    """A large JSON body (the document and the tree's title), shown as a tree instead of text."""


def _failed(exc: BaseException) -> Text:
    return Text(could_not_show(exc), style="red")


def _gone(capture_id: str) -> DetailViews:
    """What every tab says of a capture deleted from the store since its row was drawn."""
    gone = Text(f"capture {capture_id} is no longer in the store", style="red")
    return DetailViews(dict.fromkeys(TABS, gone))


def build_views(capture: Capture, delivery_of: Callable[[Capture], Delivery | None]) -> DetailViews:
    """Decode `capture` and build each tab's view (slow for large bodies: run it in a worker).

    Never raises: what fails is shown as "could not show this capture: …" in the tabs it touches.
    """
    try:
        body: BodyView | Exception = decode_capture(capture)
    except Exception as exc:
        body = exc
    try:
        delivery: Delivery | Exception | None = delivery_of(capture)
    except Exception as exc:
        delivery = exc
    views: dict[str, RenderableType] = {
        "headers": render.headers_view(capture),
        "query": render.query_view(capture),
        "response": render.response_view(capture),
        "raw": render.raw_view(capture),
        "delivery": _failed(delivery)
        if isinstance(delivery, Exception)
        else render.delivery_view(delivery, capture.id),
    }
    tree = None
    if isinstance(body, Exception):
        views["summary"] = views["body"] = _failed(body)
    else:
        views["summary"] = render.summary_view(capture, body)
        if body.kind == "json" and len(body.pretty) > TREE_THRESHOLD:
            tree = (body.json, f"{body.summary}: a large document; enter or space opens a branch")
            views["body"] = Text(body.summary)
        else:
            views["body"] = render.body_view(capture, body)
    return DetailViews(views, tree)


def _lines(view: RenderableType, width: int) -> list[Strip]:
    try:
        return render_lines(view, width)
    except Exception as exc:  # a renderable Rich cannot lay out: say so in its tab
        return render_lines(_failed(exc), width)


class DetailPane(TabbedContent):
    """The tabs that show one capture; each tab is a `LinesView` (`#<tab>-view`).

    The body tab swaps its text for a `JsonTree` when the document is large.
    """

    def __init__(
        self,
        *,
        url: str,
        read: Callable[[str], Capture | None],
        delivery_of: Callable[[Capture], Delivery | None] = lambda capture: None,
        id: str | None = None,
    ) -> None:
        """
        Args:
            url: the catcher's URL, shown while there is nothing to show.
            read: the whole capture with this id from the store (None if it is gone); called
                in a worker thread.
            delivery_of: the delivery a capture belongs to; called in a worker thread.
        """
        super().__init__(initial=TABS[0], id=id)
        self.url = url
        """The catcher's URL, shown while there is nothing to show."""
        self.row: CaptureSummary | None = None
        """The row of the capture shown (or loading), or None while waiting."""
        self.capture: Capture | None = None
        """The whole capture shown, once read from the store (None while it loads)."""
        self._read = read
        self._delivery_of = delivery_of
        self._views = {tab: LinesView(id=f"{tab}-view") for tab in TABS}
        self._tree = JsonTree("body", id="body-tree")
        self._tree.display = False
        self._built: DetailViews | None = None  # the views of `capture`, once the worker built them
        self._generation = 0  # bumped by each load: results of an older one are dropped
        self._width = 0  # the width the current load renders for
        self._tree_of: str | None = None  # the capture whose body the tree shows
        for tab in TABS:
            children: list[Widget] = [self._views[tab], *([self._tree] if tab == "body" else [])]
            self.compose_add_child(TabPane(tab.title(), *children, id=tab))

    @property
    def lines_pending(self) -> bool:
        """Whether some tab still says "loading…" for the capture shown."""
        return self.row is not None and any(view.lines_width == 0 for view in self._views.values())

    def focus_view(self) -> None:
        """Focus what the active tab shows, so the arrow keys scroll it (or walk the tree)."""
        if self.active == "body" and self._tree.display:
            self._tree.focus()
        elif self.active in self._views:
            self._views[self.active].focus()

    def show(self, row: CaptureSummary | None) -> None:
        """Show the capture of `row` in every tab (read and laid out in a worker thread), or
        the waiting line.

        Showing the capture already shown (say, now that its answer's outcome is known) reads
        it again, and keeps the tabs and their scroll positions until the new lines arrive.
        """
        again = row is not None and self.row is not None and row.id == self.row.id
        self.row = row
        self.capture = None
        self._built = None
        self._generation += 1
        if row is None:
            self._show_tree(None)
            waiting = Text(f"Waiting for requests on {self.url}/ …", style="dim")
            for view in self._views.values():
                view.show_now(waiting)
            return
        if not again:
            self._show_tree(None)
            for view in self._views.values():
                view.wait()
        self._start()

    def _text_width(self) -> int:
        """The width every tab's lines are rendered for (0 before the pane is laid out).

        Taken from the tab shown, which may be the JSON tree: hidden views have no size.
        """
        tab = self.active or TABS[0]
        try:
            pane = self.get_pane(tab)
        except NoMatches:  # the app is closing, and a message queued before still came
            return 0
        return max(0, pane.size.width - self._views[tab].styles.scrollbar_size_vertical)

    def _start(self) -> None:
        # Before the pane is laid out there is no width to render for: its first resize starts.
        self._width = self._text_width()
        if self.row is not None and self._width:
            self._load(self.row.id, self._built, self._width, self.active or TABS[0], self._generation)

    @work(thread=True, exclusive=True, group="detail")
    def _load(self, capture_id: str, built: DetailViews | None, width: int, first: str, generation: int) -> None:
        """Read the capture and build the views unless given, then render each tab, `first`
        first; runs in a thread."""
        worker = get_current_worker()
        if built is None:
            try:
                capture = self._read(capture_id)
            except Exception as exc:  # the store cannot be read: say so in every tab
                capture, built = None, DetailViews(dict.fromkeys(TABS, _failed(exc)))
            if worker.is_cancelled:
                return
            if built is None:
                built = _gone(capture_id) if capture is None else build_views(capture, self._delivery_of)
            if worker.is_cancelled:
                return
            self.post_message(DetailBuilt(generation, capture, built))
        # The tab on screen first; then the others in one message, so that they cost the
        # screen one redraw (one layout of the whole screen) instead of one each.
        self.post_message(DetailRendered(generation, {first: _lines(built.views[first], width)}, width))
        rest: dict[str, list[Strip]] = {}
        for tab in TABS:
            if worker.is_cancelled:
                return
            if tab != first:
                rest[tab] = _lines(built.views[tab], width)
        self.post_message(DetailRendered(generation, rest, width))

    @on(DetailBuilt)
    def _views_built(self, message: DetailBuilt) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # built for a capture no longer shown
        self.capture = message.capture
        built = self._built = message.built
        for tab, view in self._views.items():
            view.content = built.views[tab]
        self._show_tree(built.tree)

    @on(DetailRendered)
    def _tab_rendered(self, message: DetailRendered) -> None:
        message.stop()
        if message.generation == self._generation:
            for tab, lines in message.tabs.items():
                self._views[tab].show_lines(lines, message.width)

    def _show_tree(self, tree: tuple[Any, str] | None) -> None:
        """Show the body as `tree` (a large JSON document and a title), or as text when None."""
        body = self._views["body"]
        shown_for, self._tree_of = self._tree_of, self.row.id if tree is not None and self.row else None
        body.display = tree is None
        self._tree.display = tree is not None
        if tree is None or shown_for == self._tree_of:
            return  # the same document: keep the branches the user opened
        try:
            self._tree.show(*tree)
        except Exception as exc:
            self._tree.display, body.display = False, True
            body.show_now(_failed(exc))

    def on_resize(self, event: Resize) -> None:
        width = self._text_width()
        if not width or width == self._width:
            return
        if self.row is None:
            self.show(None)
        else:
            self._generation += 1  # lines for the old width are no use now
            self._start()
