"""How long hookbin's answers wait while its terminal UI does something slow: the worst answer delay.

The TUI and the catcher share one event loop, so anything slow the TUI does on it delays the
answers senders are waiting for. This benchmark runs hookbin with its TUI in tmux
(`tmux_tui.TmuxHookbin`, as the other benchmarks do) over a database made beforehand: 100,000 captures of about 1 KB
and, among the newest, one JSON body of 5,000,000 bytes. A probe thread POSTs a small body on a
kept-alive connection every 10 ms and times each answer. Five windows, in this order:

1. `body`: `k` moves the cursor onto the 5 MB capture, until its summary shows (+2 s);
2. `idle`: nothing pressed, the list following the probes (the floor on this machine);
3. `deliveries`: after 5,000 more captures (2,500 deliveries of two attempts each) are sent
   into this run, `D` opens the Deliveries screen, until it lists them (+1 s);
4. `filter`: `/` and a text that no capture holds, applied with enter over every capture in the
   store, until the list says `0 shown` (+1 s);
5. `unfilter`: esc clears the filter and the list reloads the newest rows (+1 s).

For each window it prints the probes sent, their median and their worst answer time: the worst
is how long a sender waited behind the TUI. The goal is under 0.2 s in every window.

    python benchmarks/tui_stall.py [--captures 100000] [--json]

On a busy machine the figures vary from run to run: compare the windows of one run (`idle` is
the floor). Exit status: 0 for a complete measurement, whatever the figures; 1 if a probe was
not answered 200, a window's marker never showed, or hookbin did not quit 0 on `q`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for `tmux_tui` when run as `python benchmarks/tui_stall.py`

from harness import log  # noqa: E402
from tmux_tui import TmuxHookbin  # noqa: E402

from hookbin.model import Capture, new_id  # noqa: E402
from hookbin.store import open_store  # noqa: E402

GOAL = 0.2
"""Seconds an answer may wait behind the TUI, at worst."""
BIG = 5_000_000
BIG_PATH = "/big/five-megabytes"
BIG_MARKER = f"{BIG:,} bytes"  # the detail's summary line: `JSON object, 3 keys, 5,000,000 bytes`
PROBE_EVERY = 0.01
MARKER_TIMEOUT = 30.0
DELIVERIES = 2500
NO_MATCH = "zzzxxzzz"
"""Held by no capture; z and x are no keys of the TUI, should the filter box not have the focus."""
JSON_TYPE = (("Content-Type", "application/json"),)


# ------------------------------------------------------------------------------ the database


def small_body(n: int) -> bytes:
    """About 1 KB of Segmanta-like JSON, different for every `n`."""
    results = [{"question_id": q, "answer": f"answer {q} of respondent {n}", "tag": "csat"} for q in range(12)]
    return json.dumps({"survey_id": 1234, "respondent": n, "results": results}).encode()


def big_body() -> bytes:
    """A JSON object of exactly BIG bytes: many small records, as a large export would be."""
    records = [{"id": n, "name": f"record {n}", "score": n % 10} for n in range(BIG // 60)]
    body = json.dumps({"survey_id": 1, "records": records, "pad": ""}).encode()
    if len(body) > BIG:
        raise SystemExit("the big body came out over its size")
    return body[:-2] + b"x" * (BIG - len(body)) + body[-2:]


def fill(db: Path, count: int) -> None:
    """`count` captures of about 1 KB in an earlier run, then the big one and one small one."""
    start = datetime.now(UTC) - timedelta(hours=1)
    ms = int(start.timestamp() * 1000)

    def capture(n: int, path: str, body: bytes) -> Capture:
        return Capture(
            id=new_id(ms + n),
            received_at=start + timedelta(milliseconds=n),
            method="POST",
            path=path,
            headers=JSON_TYPE,
            body=body,
            body_size=len(body),
            run=1,
        )

    with open_store(db, writer=True) as store:
        for first in range(0, count, 5000):
            store.import_captures(
                [capture(n, "/segmanta/csat", small_body(n)) for n in range(first, min(count, first + 5000))]
            )
        store.import_captures([capture(count, BIG_PATH, big_body()), capture(count + 1, "/after/big", small_body(-1))])


# ---------------------------------------------------------------------------------- probing


@dataclass
class Probe:
    """A thread that POSTs a small body every PROBE_EVERY seconds and times each answer."""

    port: int
    answers: list[tuple[float, float]] = field(default_factory=list)
    """(when sent, seconds to the answer), by time.monotonic."""
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Probe:
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        body = b'{"probe": true}'
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                conn.request("POST", "/probe", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.answers.append((sent, time.monotonic() - sent))
            self.failed += not ok
            self._stop.wait(PROBE_EVERY)
        conn.close()

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for sent, seconds in self.answers if start <= sent <= end]

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)


@dataclass
class Window:
    name: str
    seconds: list[float]
    shown: bool
    """Whether the marker of the action's end showed on the screen."""

    @property
    def worst(self) -> float:
        return max(self.seconds, default=0.0)

    def row(self) -> str:
        median = statistics.median(self.seconds) if self.seconds else 0.0
        flag = "" if self.shown else "   (its marker never showed)"
        return f"{self.name:<12}{len(self.seconds):>7}{median * 1000:>10.1f}{self.worst * 1000:>10.0f}{flag}"


def until_shown(tui: TmuxHookbin, marker: str) -> bool:
    return tui.wait_for(marker, MARKER_TIMEOUT) is not None


def window(tui: TmuxHookbin, probe: Probe, name: str, keys: list[str], marker: str | None, after: float) -> Window:
    """Press `keys`, wait for `marker` on the screen, then `after` seconds: the answers meanwhile."""
    start = time.monotonic()
    for key in keys:
        tui.press(key)
        time.sleep(0.05)
    shown = until_shown(tui, marker) if marker else True
    if not shown:
        log(f"  no {marker!r} on the screen; its last output: {tui.screen_tail(1500)}")
    time.sleep(after)
    window = Window(name, probe.between(start, time.monotonic()), shown)
    log(f"  {window.row()}")
    return window


def send_deliveries(port: int) -> None:
    """DELIVERIES deliveries of two attempts each (the same body twice), from 8 connections."""

    def send(chunk: range) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in chunk:
            body = small_body(1_000_000 + n // 2)
            conn.request("POST", "/segmanta/csat", body, {"Content-Type": "application/json"})
            conn.getresponse().read()
        conn.close()

    total = DELIVERIES * 2
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, [range(first, total, 8) for first in range(8)]))


# ------------------------------------------------------------------------------------- main


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hookbin-stall-") as tmp:
        db = Path(tmp) / "stall.db"
        started = time.monotonic()
        fill(db, args.captures)
        log(f"{args.captures} captures of ~1 KB and one of {BIG:,} bytes stored in {time.monotonic() - started:.0f} s")
        windows: list[Window] = []
        with TmuxHookbin("tui", db, Path(tmp)) as tui:
            # Up from the newest row (the readiness GET) stops following, before any probe
            # arrives to move the cursor: one more `k` is the 5 MB capture.
            if not until_shown(tui, "/bench/ready"):
                raise SystemExit(f"the readiness GET never showed in the list: {tui.screen_tail()}")
            tui.press("k")
            time.sleep(1.0)
            probe = Probe(tui.port).__enter__()
            log(f"{'window':<12}{'probes':>7}{'p50 ms':>10}{'max ms':>10}")
            windows.append(window(tui, probe, "body", ["k"], BIG_MARKER, 2.0))
            tui.press("Space")  # follow new requests again
            time.sleep(1.0)
            windows.append(window(tui, probe, "idle", [], None, 3.0))
            send_deliveries(tui.port)
            time.sleep(1.0)
            windows.append(window(tui, probe, "deliveries", ["D"], "enter shows one's attempts", 1.0))
            tui.press("Escape")
            time.sleep(1.5)
            tui.press("/")
            if not until_shown(tui, "enter applies"):
                raise SystemExit(f"the filter box did not open: {tui.screen_tail()}")
            tui.press("-l", NO_MATCH)
            time.sleep(0.3)
            windows.append(window(tui, probe, "filter", ["Enter"], "0 shown", 1.0))
            windows.append(window(tui, probe, "unfilter", ["Escape"], "1000 shown", 1.0))
            probe.__exit__()
            status, _ = tui.quit()
        failed = probe.failed
    return {
        "captures": args.captures,
        "windows": {
            w.name: {"probes": len(w.seconds), "worst_s": round(w.worst, 3), "shown": w.shown} for w in windows
        },
        "goal_s": GOAL,
        "failed_probes": failed,
        "exit": status,
        "ok": failed == 0 and status == 0 and all(w.shown for w in windows),
        "_windows": windows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=100_000, help="captures of ~1 KB in the database")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout instead of the table")
    args = parser.parse_args(argv)
    result = measure(args)
    windows: list[Window] = result.pop("_windows")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"answer times while the TUI works, {args.captures} captures stored (probe every 10 ms)")
        print(f"{'window':<12}{'probes':>7}{'p50 ms':>10}{'max ms':>10}")
        for w in windows:
            print(w.row())
        worst = max(windows, key=lambda w: w.worst)
        print(
            f"worst answer {worst.worst:.2f} s ({worst.name}; goal < {GOAL} s in every window); "
            f"failed probes: {result['failed_probes']}; exit status on `q`: {result['exit']}"
        )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
