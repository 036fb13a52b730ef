"""The TUI's copy keys: `c` copies the selected request as a curl command, `y` its text body.

Copies reach the clipboard by OSC 52, which some terminals ignore; hookbin cannot tell, so the
notification says so, and `c` always leaves the command in a file too (see `export.save_curl`).
The list's rows hold no bodies: each copy reads the whole capture (in a thread, unless the
detail pane has it already) and writes its files in a thread, off the catcher's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand

from hookbin.export import BinaryBodyError, copyable_body, save_curl
from hookbin.model import Capture
from hookbin.textsafe import safe

__all__ = ["CLIPBOARD_CAVEAT", "Copier"]

CLIPBOARD_CAVEAT = "by OSC 52, which some terminals ignore (then nothing was copied)"
"""How the copy keys reach the clipboard, said honestly: hookbin cannot tell whether it worked."""


class Copier:
    """Copies the capture `app` has selected, as curl (`c`) or as its body (`y`).

    Args:
        app: the app to notify and copy through.
        url: the catcher's URL, which the curl command sends to.
        export_dir: where `c` writes the command (and a body that needs a file).
        selected: reads the whole capture the app has selected, if any.
    """

    def __init__(
        self, app: App[Any], url: str, export_dir: Path, selected: Callable[[], Awaitable[Capture | None]]
    ) -> None:
        self.app = app
        self.url = url
        self.export_dir = export_dir
        self._selected = selected

    def commands(self) -> Iterator[SystemCommand]:
        """The copy keys for the command palette."""
        yield SystemCommand("Copy as curl", "The selected request as a curl command", self.curl)
        yield SystemCommand("Copy body", "The selected request's body", self.body)

    def curl(self) -> None:
        self._start(self._curl())

    def body(self) -> None:
        self._start(self._body())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        self.app.run_worker(work, group="copy", exit_on_error=False)

    async def _chosen(self) -> Capture | None:
        capture = await self._selected()
        if capture is None:
            self.app.notify("select a request first", severity="warning", markup=False)
        return capture

    async def _curl(self) -> None:
        capture = await self._chosen()
        if capture is None:
            return
        try:
            command, path = await asyncio.to_thread(save_curl, capture, self.url, self.export_dir)
        except OSError as exc:
            self.app.notify(
                safe(f"curl not copied: cannot write {self.export_dir}: {exc.strerror or exc}"),
                severity="error",
                markup=False,
            )
            return
        self.app.copy_to_clipboard(command)
        self.app.notify(
            f"curl command saved to {safe(str(path))} and sent to the clipboard {CLIPBOARD_CAVEAT}", markup=False
        )

    async def _body(self) -> None:
        capture = await self._chosen()
        if capture is None:
            return
        try:
            text = await asyncio.to_thread(copyable_body, capture)
        except BinaryBodyError as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(text)
        self.app.notify(
            f"body ({len(capture.body):,} bytes, control characters escaped) sent to the clipboard "
            f"{CLIPBOARD_CAVEAT}; `hookbin show {capture.id} --raw` prints it",
            markup=False,
        )
