"""The TUI's replay keys: `r` sends the selected request to your receiver again, `R` changes where.

The receiver's URL is asked once and remembered for the session (prefilled from
`serve --replay-to`). The whole capture is read (the list's rows hold no bodies) and the
request goes out in a worker on the app's loop, and the answer
(status, latency, a body preview, all through `textsafe`) comes back as a notification.
The TUI imports no network code: `hookbin serve`, the composition root, hands the app the
replay client's function, and this module only calls it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel

from hookbin.model import Capture
from hookbin.outgoing import Answer, RequestError, check_url
from hookbin.textout import answer_preview
from hookbin.textsafe import safe
from hookbin.tui.screens import PromptScreen

__all__ = ["Replay", "Replayer"]

Replay = Callable[[Capture, str], Awaitable[Answer]]
"""Sends a capture to a URL (its path and query appended) and returns the answer."""

SUGGESTED = "http://127.0.0.1:3000"
HINT = "your receiver; the request's path and query are appended (e.g. http://127.0.0.1:3000/api)"
SHOWN_FOR = 20.0
"""Seconds an answer stays on screen: long enough to read a body preview."""


def _url_problem(line: str) -> str | None:
    try:
        check_url(line.strip())
    except RequestError as exc:
        return str(exc)
    return None


class Replayer:
    """Replays the selected capture for `app` with `replay`, to a target asked for once.

    Args:
        app: the app to notify and prompt on.
        replay: the replay client's function (from `serve`); without it, `r` says replay is
            not available here.
        target: where replays go until `R` changes it; without it the first `r` asks.
        selected: reads the whole capture the app has selected, if any.
    """

    def __init__(
        self,
        app: App[Any],
        replay: Replay | None,
        target: str | None,
        selected: Callable[[], Awaitable[Capture | None]],
    ) -> None:
        self.app = app
        self._replay = replay
        self._selected = selected
        self.target = target
        """Where replays go, remembered for the session; None until asked."""

    def replay(self, *, ask: bool = False) -> None:
        """`r`: replay the selected capture, asking for the target first if none was given yet;
        `R` (`ask`): ask again, prefilled with the current target."""
        if self._replay is None:
            self.app.notify("replay is not available here", severity="warning", markup=False)
            return
        self.app.run_worker(self._replay_selected(ask), group="replay", exit_on_error=False)

    async def _replay_selected(self, ask: bool) -> None:
        capture = await self._selected()
        if capture is None:
            self.app.notify("select a request first", severity="warning", markup=False)
            return
        if self.target is not None and not ask:
            self._start(capture, self.target)
            return

        def chosen(line: str | None) -> None:
            if line:
                self.target = line.strip()
                self._start(capture, self.target)

        self.app.push_screen(PromptScreen("Replay to", self.target or SUGGESTED, HINT, _url_problem), chosen)

    def commands(self) -> Iterator[SystemCommand]:
        """The replay keys for the command palette."""
        yield SystemCommand("Replay", "Send the selected request to your receiver again", self.replay)
        yield SystemCommand("Replay to…", "Choose where replays go, then replay", lambda: self.replay(ask=True))

    def _start(self, capture: Capture, target: str) -> None:
        self.app.run_worker(self._send(capture, target), group="replay", exit_on_error=False)

    async def _send(self, capture: Capture, target: str) -> None:
        assert self._replay is not None  # replay checked it
        title = f"{safe(capture.method, limit=10)} {safe(capture.url_path, limit=60)} → {safe(target, limit=60)}"
        try:
            answer = await self._replay(capture, target)
        except RequestError as exc:  # a captured header that cannot be written as a request
            self.app.notify(safe(str(exc)), title=title, severity="error", markup=False)
            return
        # Decoding the body (gzip, JSON) is work for a thread, not for the loop the catcher answers on.
        preview = await asyncio.to_thread(answer_preview, answer)
        severity: SeverityLevel
        if answer.status is None:
            severity = "error"
        elif answer.status >= 400:
            severity = "warning"
        else:
            severity = "information"
        self.app.notify(preview, title=title, severity=severity, timeout=SHOWN_FOR, markup=False)
