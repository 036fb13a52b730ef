"""DetailPane: one capture in tabs (summary, headers, body, query, response, raw, delivery)."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane

from hookbin.bodies import decode_capture
from hookbin.deliveries import Delivery
from hookbin.model import Capture
from hookbin.tui import render
from hookbin.tui.widgets.json_tree import JsonTree

TABS = ["summary", "headers", "body", "query", "response", "raw", "delivery"]
"""The detail tabs in order; each is a pane id, and its number (1…7) is the key that shows it."""
TREE_THRESHOLD = 50_000
"""Pretty JSON longer than this (characters) is shown as a tree instead of highlighted text."""


class DetailPane(TabbedContent):
    """The tabs that show one capture; each tab scrolls a view (`#<tab>-view` in `#<tab>-scroll`).

    The body tab swaps its highlighted text for a `JsonTree` when the document is large.
    """

    DEFAULT_CSS = """
    DetailPane .view {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, url: str, id: str | None = None) -> None:
        super().__init__(initial=TABS[0], id=id)
        self.url = url
        """The catcher's URL, shown while there is nothing to show."""
        self.capture: Capture | None = None
        """The capture shown, or None while waiting."""
        self._views = {tab: Static(id=f"{tab}-view", classes="view") for tab in TABS}
        self._scrolls = {tab: VerticalScroll(self._views[tab], id=f"{tab}-scroll") for tab in TABS}
        self._body_scroll = self._scrolls["body"]
        self._tree = JsonTree("body", id="body-tree")
        self._tree.display = False
        for tab in TABS:
            children: list[Widget] = [self._scrolls[tab], *([self._tree] if tab == "body" else [])]
            self.compose_add_child(TabPane(tab.title(), *children, id=tab))

    def focus_view(self) -> None:
        """Focus what the active tab shows, so the arrow keys scroll it (or walk the tree)."""
        if self.active == "body" and self._tree.display:
            self._tree.focus()
        elif self.active in self._scrolls:
            self._scrolls[self.active].focus()

    def show(self, capture: Capture | None, delivery: Delivery | None = None) -> None:
        """Show `capture` (with the delivery it belongs to) in every tab, or the waiting line."""
        self.capture = capture
        views, tree = self._views, self._tree
        if capture is None:
            tree.display = False
            self._body_scroll.display = True
            for view in views.values():
                view.update(Text(f"Waiting for requests on {self.url}/ …", style="dim"))
            return
        body = decode_capture(capture)
        views["summary"].update(render.summary_view(capture, body))
        views["headers"].update(render.headers_view(capture))
        large = body.kind == "json" and len(body.pretty) > TREE_THRESHOLD
        self._body_scroll.display = not large
        tree.display = large
        if large:
            tree.show(body.json, f"{body.summary}: a large document; enter or space opens a branch")
        else:
            views["body"].update(render.body_view(capture, body))
        views["query"].update(render.query_view(capture))
        views["response"].update(render.response_view(capture))
        views["raw"].update(render.raw_view(capture))
        views["delivery"].update(render.delivery_view(delivery, capture.id))
