"""HeaderBar: where hookbin listens, what it answers, and the counters and list state line."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from hookbin.spec import Spec
from hookbin.textsafe import safe
from hookbin.tui import render


class HeaderBar(Vertical):
    """The top of the screen: the URLs (`#urls`), the answer badge (`#badge`) and `#status`."""

    DEFAULT_CSS = """
    HeaderBar {
        height: auto;
        padding: 0 1;
        background: $boost;
    }
    HeaderBar #topline {
        height: auto;
    }
    HeaderBar #urls {
        width: 1fr;
        height: auto;
    }
    HeaderBar #badge {
        width: auto;
        height: auto;
        min-width: 20;
        content-align: right middle;
    }
    HeaderBar #status {
        height: 1;
    }
    """

    def __init__(self, *, url: str, admin_url: str | None, public_url: str | None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.url = url
        """Where the catcher listens."""
        self.admin_url = admin_url
        """The control API's URL, if it runs."""
        self.public_url = public_url
        """The public (tunnel) URL a sender is given, if any: untrusted, the user typed it."""
        self._urls = Static(id="urls")
        self._badge = Static(id="badge")
        self._status = Static(id="status")

    def compose(self) -> ComposeResult:
        with Horizontal(id="topline"):
            yield self._urls
            yield self._badge
        yield self._status

    def on_mount(self) -> None:
        text = Text()
        text.append("hookbin ", style="bold")
        text.append("listening on ")
        text.append(self.url + "/", style="bold underline")
        if self.admin_url:
            text.append(f"   control {self.admin_url}", style="dim")
        if self.public_url:  # with --token, the token is in it
            text.append("\npaste into Segmanta: ", style="bold")
            text.append(safe(self.public_url), style="bold green")
        self._urls.update(text)

    def show_answer(self, spec: Spec, run: int | None = None, answered_by: str | None = None) -> None:
        """Show what hookbin answers now (or who does: `answered_by`), and in which run."""
        self._badge.update(render.answer_badge(spec, run, answered_by))

    def show_status(
        self,
        counts: Counter[str],
        *,
        following: bool,
        held: int,
        filter_text: str | None,
        shown: int,
        rejected: int = 0,
        refused: int = 0,
    ) -> None:
        """Show the counters, whether the list follows new requests, the filter and how many rows are shown."""
        line = render.count_line(counts, rejected=rejected, refused=refused)
        if following:
            line.append("   ▶ following", style="green")
        else:
            line.append("   ⏸ paused", style="yellow")
            if held:
                line.append(f" ({held} new, space to show)", style="yellow")
        if filter_text is not None:
            line.append(f"   filter: {safe(filter_text)}", style="cyan")
        line.append(f"   {shown} shown", style="dim")
        # One line high whatever it says: redraw it alone, not the layout of the whole screen
        # (this runs with every burst of requests).
        self._status.update(line, layout=False)
