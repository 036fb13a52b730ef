"""What `throughput.py` measured, added up: medians, ratios to the faster baseline, the checks,
and the two ways of saying it (a table for people, one JSON object for scripts)."""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from typing import Any

from harness import BODY
from load import Load

TARGETS = {"headless_ratio": 0.7, "headless_p99_ratio": 3.0, "tui_ratio": 0.3, "startup_seconds": 0.5}
"""What hookbin aims for (issue 11): share of the faster baseline's req/s, p99 as a multiple of
its p99, seconds from launch to the first answer."""
LABELS = {
    "bare asyncio": "bare aiohttp (asyncio)",
    "bare uvloop": "bare aiohttp (uvloop)",
    "headless": "hookbin headless",
    "tui": "hookbin TUI (tmux)",
}
CLIENT_BOUND = 0.9
"""A load generator this busy (share of a core) is what limits the rate, not the server."""
SPREAD = 0.15
"""Rounds of one contender further apart than this (of their median) are worth a note."""


@dataclass
class Stored:
    """Rows in one hookbin's store against what it answered and what may have reached it."""

    rows: int
    answered: int
    most: int
    """Answered plus what may have reached it unanswered (wrk's requests in flight when it stopped)."""

    @classmethod
    def of(cls, server: str, loads: list[Load], rows: int, probes_answered: int = 0, probes_sent: int = 0) -> Stored:
        """The rows counted for `server`, against every load (warm-up included) sent to it, and
        the readiness probes that reached it (answered or not)."""
        mine = [load for load in loads if load.server == server]
        answered = sum(load.answered for load in mine) + probes_answered
        unanswered = sum(load.in_flight for load in mine) + probes_sent - probes_answered
        return cls(rows, answered, answered + unanswered)

    @property
    def all(self) -> bool:
        """Every request answered is stored, and nothing that was not sent."""
        return self.answered <= self.rows <= self.most

    def text(self) -> str:
        if self.answered == self.most:
            return f"{self.rows} rows for {self.answered} requests"
        return f"{self.rows} rows for {self.answered} answered (+ up to {self.most - self.answered} in flight)"

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "answered": self.answered, "at_most": self.most, "all": self.all}


@dataclass
class TuiFigures:
    """How hookbin with its TUI came through: its list, its keys, its exit, its rows."""

    list_states: dict[str, str]
    """The list's state after each of the TUI's turns, by label: "following" unless something is off."""
    help_seconds: float | None
    """Seconds from `?` after the load to the help screen; None if it did not open."""
    exit: int | None
    quit_seconds: float
    stored: Stored

    @property
    def followed(self) -> bool:
        return all(state == "following" for state in self.list_states.values())

    @property
    def ok(self) -> bool:
        return self.help_seconds is not None and self.exit == 0 and self.stored.all


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


@dataclass
class Report:
    """The loads run and the checks made, and what they add up to."""

    args: argparse.Namespace
    names: list[str]
    loads: list[Load]
    startup: list[float]
    memory: dict[str, float]
    """Peak resident MiB by contender, read once the load is over."""
    headless_stored: Stored
    tui: TuiFigures | None
    exits: dict[str, int]

    # -- figures --------------------------------------------------------------------------

    def measured(self, server: str) -> list[Load]:
        return [load for load in self.loads if load.server == server and load.label != "warm-up"]

    def rps(self, server: str) -> float:
        return _median([load.rps for load in self.measured(server)])

    def p50(self, server: str) -> float:
        return _median([load.p50_ms for load in self.measured(server)])

    def p99(self, server: str) -> float:
        return _median([load.p99_ms for load in self.measured(server)])

    @property
    def best(self) -> str:
        """The faster baseline, which every ratio is against."""
        return max((name for name in self.names if name.startswith("bare")), key=self.rps)

    def ratio(self, server: str) -> float | None:
        if server not in self.names:
            return None
        best = self.rps(self.best)
        return self.rps(server) / best if best else 0.0

    def p99_ratio(self, server: str) -> float | None:
        if server not in self.names:
            return None
        best = self.p99(self.best)
        return self.p99(server) / best if best else 0.0

    def spread(self, server: str) -> float:
        """How far apart the rounds of `server` are, as a share of their median."""
        rates = [load.rps for load in self.measured(server)]
        median = _median(rates)
        return (max(rates) - min(rates)) / median if median and len(rates) > 1 else 0.0

    def client_busy(self) -> float | None:
        shares = [load.client_busy for load in self.loads if load.client_busy is not None and load.label != "warm-up"]
        return max(shares) if shares else None

    @property
    def client_bound(self) -> bool:
        return bool(self.args.tool == "aiohttp")

    @property
    def failed(self) -> int:
        return sum(load.failed for load in self.loads)

    @property
    def ok(self) -> bool:
        return (
            self.failed == 0
            and self.headless_stored.all
            and all(code == 0 for code in self.exits.values())
            and (self.tui is None or self.tui.ok)
        )

    # -- the table ------------------------------------------------------------------------

    def load_line(self) -> str:
        tool = (
            f"wrk -t{self.args.threads} -c{self.args.connections}"
            if self.args.tool == "wrk"
            else f"the aiohttp client, {self.args.connections} at a time (CLIENT-BOUND: its ratios read high)"
        )
        warmup = f" after {self.args.warmup} s of warm-up" if self.args.warmup else ""
        return (
            f"load: {tool}; {self.args.rounds} round(s) of {self.args.duration} s per server{warmup}, medians; "
            f"POST /segmanta/csat, {BODY.stat().st_size:,}-byte Segmanta JSON body"
        )

    def rows(self) -> list[str]:
        rounds = self.args.rounds
        head = f"{'':<23}" + "".join(f"{f'round {n}':>9}" for n in range(1, rounds + 1))
        lines = [head + f"{'median':>9}{'p50 ms':>8}{'p99 ms':>8}{'x bare':>8}{'p99 x':>7}"]
        for name in self.names:
            lines.append(
                f"{LABELS[name]:<23}"
                + "".join(f"{load.rps:>9.0f}" for load in self.measured(name))
                + f"{self.rps(name):>9.0f}{self.p50(name):>8.1f}{self.p99(name):>8.1f}"
                + f"{self.ratio(name):>8.2f}{self.p99_ratio(name):>7.1f}"
            )
        return lines

    def notes(self) -> list[str]:
        notes = []
        busy = self.client_busy()
        if self.client_bound and busy is not None and busy >= CLIENT_BOUND:
            notes.append(
                f"note: the aiohttp client used up to {busy:.0%} of a core: it, not aiohttp, set the baseline's pace"
            )
        spread = [f"{LABELS[name]} {self.spread(name):.0%}" for name in self.names if self.spread(name) > SPREAD]
        if spread:
            notes.append(
                f"note: rounds further apart than {SPREAD:.0%} of their median: {', '.join(spread)}; something\n"
                "      else kept the machine busy: compare the medians of this run only"
            )
        if self.tui is not None and not self.tui.followed:
            paused = next(label for label, state in self.tui.list_states.items() if state != "following")
            notes.append(
                f"WARNING: the TUI's list stopped following new requests by itself ({paused}, no key was pressed):\n"
                "      a list that does not follow draws no new rows and costs far less; run again to compare"
            )
        return notes

    def failures(self) -> list[str]:
        lines = []
        if self.failed:
            lines.append(f"FAILED: {self.failed} request(s) did not get a 200")
        if not self.headless_stored.all:
            lines.append(f"FAILED: headless hookbin stored {self.headless_stored.text()}")
        for name, code in self.exits.items():
            if code != 0:
                lines.append(f"FAILED: {LABELS[name]} exited with {code} on SIGTERM (expected 0)")
        tui = self.tui
        if tui is not None:
            if not tui.stored.all:
                lines.append(f"FAILED: hookbin with the TUI stored {tui.stored.text()}")
            if tui.help_seconds is None:
                lines.append("FAILED: the TUI did not open its help on `?` after the load")
            if tui.exit != 0:
                lines.append(f"FAILED: the TUI did not exit 0 on `q` (exit {tui.exit})")
        return lines

    def summary(self) -> str:
        parts = [
            f"headless {self.ratio('headless'):.2f} x bare (target >= {TARGETS['headless_ratio']}), "
            f"p99 {self.p99_ratio('headless'):.1f} x (target <= {TARGETS['headless_p99_ratio']:g})"
        ]
        if self.tui is not None:
            parts.append(f"TUI {self.ratio('tui'):.2f} x (target >= {TARGETS['tui_ratio']})")
        if self.startup:
            parts.append(f"start-up {_median(self.startup):.2f} s (target < {TARGETS['startup_seconds']} s)")
        stored = self.headless_stored.all and (self.tui is None or self.tui.stored.all)
        parts.append(f"every request stored: {'yes' if stored else 'NO'}")
        return "; ".join(parts)

    def table(self) -> str:
        lines = [self.load_line(), *self.rows(), f"ratios are against the faster baseline: {LABELS[self.best]}"]
        if self.startup:
            lines.append(
                f"start-up, launch to first answer (headless, {len(self.startup)} launch(es)): "
                f"median {_median(self.startup):.3f} s, slowest {max(self.startup):.3f} s"
            )
        if self.memory:
            lines.append(
                "peak resident memory after the load: "
                + ", ".join(f"{LABELS[name]} {mib:.0f} MiB" for name, mib in self.memory.items())
            )
        lines.append(f"stored: headless {self.headless_stored.text()}: {'yes' if self.headless_stored.all else 'NO'}")
        tui = self.tui
        if tui is not None:
            lines.append(f"stored: TUI {tui.stored.text()}: {'yes' if tui.stored.all else 'NO'}")
            lines.append(
                f"the TUI: its list followed the load: {'yes' if tui.followed else 'NO'}; "
                + (f"help opened {tui.help_seconds:.2f} s after `?`; " if tui.help_seconds is not None else "")
                + (f"exited 0 {tui.quit_seconds:.1f} s after `q`" if tui.exit == 0 else f"exit {tui.exit} on `q`")
            )
        return "\n".join([*lines, *self.notes(), *self.failures(), self.summary()])

    # -- JSON -----------------------------------------------------------------------------

    def server_json(self, name: str) -> dict[str, Any]:
        loads = self.measured(name)
        ratio, p99_ratio = self.ratio(name), self.p99_ratio(name)
        busy = [load.client_busy for load in loads if load.client_busy is not None]
        return {
            "label": LABELS[name],
            "rps_median": round(self.rps(name), 1),
            "rps_rounds": [round(load.rps, 1) for load in loads],
            "p50_ms_median": round(self.p50(name), 2),
            "p99_ms_median": round(self.p99(name), 2),
            "ratio": None if ratio is None else round(ratio, 3),
            "p99_ratio": None if p99_ratio is None else round(p99_ratio, 2),
            "spread": round(self.spread(name), 3),
            "answered": sum(load.answered for load in self.loads if load.server == name),
            "peak_rss_mib": None if name not in self.memory else round(self.memory[name], 1),
            "client_busy_median": round(_median(busy), 3) if busy else None,
        }

    def as_json(self) -> dict[str, Any]:
        tui = self.tui
        return {
            "tool": self.args.tool,
            "client_bound": self.client_bound,
            "threads": self.args.threads if self.args.tool == "wrk" else None,
            "connections": self.args.connections,
            "duration": self.args.duration,
            "rounds": self.args.rounds,
            "warmup": self.args.warmup,
            "body_bytes": BODY.stat().st_size,
            "servers": {name.replace(" ", "_"): self.server_json(name) for name in self.names},
            "best_baseline": self.best.replace(" ", "_"),
            "ratio_headless": round(self.ratio("headless") or 0.0, 3),
            "p99_ratio_headless": round(self.p99_ratio("headless") or 0.0, 2),
            "ratio_tui": None if tui is None else round(self.ratio("tui") or 0.0, 3),
            "p99_ratio_tui": None if tui is None else round(self.p99_ratio("tui") or 0.0, 2),
            "startup_seconds": [round(seconds, 4) for seconds in self.startup],
            "startup_median": round(_median(self.startup), 4) if self.startup else None,
            "peak_rss_mib": {name: round(mib, 1) for name, mib in self.memory.items()},
            "stored": {"headless": self.headless_stored.as_json()}
            | ({"tui": tui.stored.as_json()} if tui is not None else {}),
            "tui": None
            if tui is None
            else {
                "list_states": tui.list_states,
                "list_followed": tui.followed,
                "help_seconds": None if tui.help_seconds is None else round(tui.help_seconds, 3),
                "exit": tui.exit,
                "quit_seconds": round(tui.quit_seconds, 2),
            },
            "exits": {name.replace(" ", "_"): code for name, code in self.exits.items()},
            "targets": TARGETS,
            "failed_requests": self.failed,
            "ok": self.ok,
        }
