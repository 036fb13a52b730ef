"""Refusals: counters of rejected requests and refused connections, said in at most one line a second.

A catcher behind a public tunnel meets probes and slow or hostile clients. Each one is counted,
but a flood of them must not flood the log or the screen (asyncio once wrote 179 MB of
tracebacks in 25 s): the first refusal in a second is said in full, the ones after it are
counted by reason and summed up in one line once the second is over.

Pure: the caller supplies where lines go and how to run something later (the event loop's
`call_later`), so this knows nothing of asyncio, aiohttp or Textual.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

Emit = Callable[[str], None]
Schedule = Callable[[float, Callable[[], None]], object]

INTERVAL = 1.0
"""Seconds between two lines at most once a second."""


class Refusals:
    """Counts what the catcher turned away and reports it without flooding.

    `rejected` counts requests refused for want of the secret token or the right credentials
    (404/401); `refused` counts requests and connections turned away by a limit (431, 503 over the
    connection cap, 408 for headers that never completed, requests that are not valid HTTP).
    """

    def __init__(self, emit: Emit | None, schedule: Schedule, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.emit = emit
        """Where lines go; None keeps counting silently (replace it once a screen exists)."""
        self.rejected = 0
        """Requests answered 404 (no token) or 401 (no or wrong credentials)."""
        self.refused = 0
        """Requests or connections turned away by a limit."""
        self._schedule = schedule
        self._clock = clock
        self._quiet_until = float("-inf")
        self._held: Counter[str] = Counter()
        self._flush_pending = False

    def reject(self, reason: str, line: str) -> None:
        """A request without the token or credentials: count it, and say `line` unless one was said this second."""
        self.rejected += 1
        self._say(reason, line)

    def refuse(self, reason: str, line: str) -> None:
        """A request or connection turned away by a limit: count it, and say `line` unless one was said this second."""
        self.refused += 1
        self._say(reason, line)

    def flush(self) -> None:
        """Say the held count now (at the end of the second, and when hookbin stops)."""
        self._flush_pending = False
        if not self._held:
            return
        total = sum(self._held.values())
        reasons = ", ".join(f"{count} {reason}" for reason, count in self._held.most_common())
        self._held.clear()
        self._emit(f"{total} more turned away in the last second: {reasons}")

    def _say(self, reason: str, line: str) -> None:
        now = self._clock()
        if now >= self._quiet_until and not self._held:
            self._emit(line)
            return
        self._held[reason] += 1
        if not self._flush_pending:
            self._flush_pending = True
            self._schedule(max(0.0, self._quiet_until - now), self.flush)

    def _emit(self, line: str) -> None:
        self._quiet_until = self._clock() + INTERVAL
        if self.emit is None:
            return
        try:
            self.emit(line)
        except Exception:  # a notice must never break the server that reports it
            pass
