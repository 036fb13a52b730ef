"""The TUI's answer keys: `o` `e` `d` `f` `s` set what hookbin answers, `n` starts a new run.

`e` and `f` cycle through the common errors and connection faults; `d` and `s` ask for a line
(a delay, a spec) and refuse it while it does not parse. Every change goes to the responder,
as the control API's would, and is said in a notification; the app redraws its header badge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from textual.app import App, SystemCommand

from hookbin.durations import parse_duration
from hookbin.responder import Responder
from hookbin.spec import SpecError, parse_spec
from hookbin.textsafe import safe
from hookbin.tui.screens import PromptScreen

__all__ = ["ERROR_CYCLE", "FAULT_CYCLE", "AnswerKeys"]

ERROR_CYCLE = ["500", "503", "429 retry-after=30", "404", "410"]
FAULT_CYCLE = ["close", "reset", "200 drip=30s"]


class AnswerKeys:
    """Sets the answer of `responder` for `app`'s keys, and calls `changed` after each change.

    Args:
        app: the app to notify and prompt on.
        responder: the responder whose answer the keys set.
        changed: redraws whatever shows the answer (the header's badge).
        answered_by: who answers instead (`serve --forward` in app mode): the keys that set an
            answer then say so rather than set one that no sender would get.
    """

    def __init__(
        self, app: App[Any], responder: Responder, changed: Callable[[], None], *, answered_by: str | None = None
    ) -> None:
        self.app = app
        self.responder = responder
        self._changed = changed
        self._answered_by = answered_by
        self._error_index = -1
        self._fault_index = -1

    def press(self, key: str) -> None:
        """Act on one answer key by name: `ok`, `error`, `delay`, `fault`, `spec` or `new_run`."""
        if self._answered_by is not None and key != "new_run":
            self.app.notify(
                f"{safe(self._answered_by, limit=80)}: hookbin's answer keys apply with --forward-mode mirror",
                severity="warning",
            )
            return
        {
            "ok": self.ok,
            "error": self.error,
            "delay": self.delay,
            "fault": self.fault,
            "spec": self.spec,
            "new_run": self.new_run,
        }[key]()

    def commands(self) -> Iterator[SystemCommand]:
        """The answer keys for the command palette."""
        # Through `press`, as the keys go: in app mode the palette does not set an answer either.
        yield SystemCommand("Answer 200 OK", "Every request gets 200", partial(self.press, "ok"))
        yield SystemCommand("Answer an error", "Cycle 500, 503, 429, 404, 410", partial(self.press, "error"))
        yield SystemCommand("Answer after a delay", "Wait before answering", partial(self.press, "delay"))
        yield SystemCommand("Answer with a connection fault", "Cycle close, reset, drip", partial(self.press, "fault"))
        yield SystemCommand("Enter a response spec", "Any spec, e.g. 500,500,200", partial(self.press, "spec"))
        yield SystemCommand(
            "Start a new run", "Same answer; attempts and sequences start over", partial(self.press, "new_run")
        )

    def set_spec(self, text: str) -> None:
        """Answer with spec `text`, or say why it cannot be (the answer then stays)."""
        try:
            self.responder.set_spec(text)
        except SpecError as exc:
            self.app.notify(safe(str(exc)), severity="error", markup=False)
            return
        self._changed()
        self.app.notify(f"run {self.responder.run}: now answering {self.responder.spec.text}", markup=False)

    def new_run(self) -> None:
        """Repeat the experiment: the same answer, with attempt numbers and sequences starting over."""
        run = self.responder.new_run()
        self.app.notify(f"run {run}: the same answer, attempts and sequences start over", markup=False)
        self._changed()

    def ok(self) -> None:
        self.set_spec("200")

    def error(self) -> None:
        self._error_index = (self._error_index + 1) % len(ERROR_CYCLE)
        self.set_spec(ERROR_CYCLE[self._error_index])

    def fault(self) -> None:
        self._fault_index = (self._fault_index + 1) % len(FAULT_CYCLE)
        self.set_spec(FAULT_CYCLE[self._fault_index])

    def delay(self) -> None:
        self._ask(
            "Answer 200 after a delay of",
            "65s",
            "e.g. 2s, 250ms, 65s (longer than most senders wait), 10m",
            parse_duration,
            lambda value: f"200 delay={value.strip()}",
        )

    def spec(self) -> None:
        self._ask(
            "Response spec",
            self.responder.spec.text,
            "e.g. 503 · 500,500,200 · 429 retry-after=30 · 200 delay=65s · close · 30% 503",
            parse_spec,
            lambda value: value,
        )

    def _ask(
        self, title: str, value: str, hint: str, parse: Callable[[str], object], to_spec: Callable[[str], str]
    ) -> None:
        """Prompt for a line, refuse it while `parse` raises, then answer with `to_spec(line)`."""

        def check(line: str) -> str | None:
            try:
                parse(line)
            except ValueError as exc:  # SpecError is a ValueError too
                return str(exc)
            return None

        def chosen(line: str | None) -> None:
            if line:
                self.set_spec(to_spec(line))

        self.app.push_screen(PromptScreen(title, value, hint, check), chosen)
