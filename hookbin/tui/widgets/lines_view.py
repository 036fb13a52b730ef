"""LinesView: a scrolling view of lines rendered elsewhere, and `render_lines`, which renders them.

A `Static` lays out its whole renderable on the event loop, and the loop is the one the catcher
answers from: a 256 K-character body took seconds there. So a view's renderable is turned into
lines by `render_lines` in a worker thread, and `LinesView` only draws the lines on screen,
whatever their number (Textual's line API: each frame crops the visible lines, nothing more).
"""

from __future__ import annotations

import functools
import io

from rich.console import Console, RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

LOADING = Text("loading…", style="dim")
"""What a view shows until its lines arrive."""


def render_lines(renderable: RenderableType, width: int) -> list[Strip]:
    """`renderable` laid out `width` cells wide, as the lines a `LinesView` draws.

    Safe to call from any thread: each call has its own Rich console, and nothing here
    touches Textual's state.
    """
    console = Console(
        width=width,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        markup=False,
        emoji=False,
        highlight=False,
    )
    lines = console.render_lines(renderable, console.options.update(width=width, highlight=False), pad=False)
    return [Strip(line) for line in lines]


@functools.cache
def _loading() -> list[Strip]:
    return render_lines(LOADING, 20)


class LinesView(ScrollView, can_focus=True):
    """Shows lines rendered for one width; the arrow keys and page keys scroll them."""

    DEFAULT_CSS = """
    LinesView {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.content: RenderableType = LOADING
        """The renderable whose lines are shown, or are on their way."""
        self.lines_width = 0
        """The width the lines were rendered for; 0 while they are on their way."""
        self._lines = _loading()

    def on_mount(self) -> None:
        self.virtual_size = Size(20, len(self._lines))

    @property
    def text_width(self) -> int:
        """The width lines should be rendered for: the view less its scrollbar gutter."""
        return self.scrollable_content_region.width

    def wait(self, content: RenderableType = LOADING) -> None:
        """Show "loading…" from the top until the lines of `content` arrive."""
        self.content = content
        self.lines_width = 0
        self._set_lines(_loading(), 20)
        self.scroll_home(animate=False, immediate=True)

    def show_lines(self, lines: list[Strip], width: int) -> None:
        """Show the lines of `content` rendered for `width` (the scroll position stays)."""
        self.lines_width = width
        self._set_lines(lines, width)

    def show_now(self, content: Text) -> None:
        """Show a short text at once, rendered here on the loop (a few lines, never a body)."""
        self.wait(content)
        width = self.text_width or 80
        self.show_lines(render_lines(content, width), width)

    def _set_lines(self, lines: list[Strip], width: int) -> None:
        self._lines = lines
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def rendered_text(self) -> str:
        """The lines as plain text, as they are drawn (for tests and the curious)."""
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self.rich_style
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(width, style)
        strip = self._lines[index].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
        return strip.apply_offsets(scroll_x, index)
