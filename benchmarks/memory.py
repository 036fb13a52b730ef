"""What hookbin with its TUI holds in memory: peak resident memory with many large captures,
and with very many small ones, hookbin running in tmux as a user runs it.

Three cases, each a fresh `hookbin serve` in tmux (`tmux_tui.py`), its memory read from /proc:

* **live**: `--big` requests of `--big-size` (300 of 1 MB) POSTed to it one after another, as
  a sender would: the list shows them as they arrive, the detail pane follows the newest;
* **reopened**: hookbin started again on that database: the list loads the newest rows at start;
* **many**: `--small` captures of `--small-size` (100,000 of 1 KB) written straight into a new
  database through hookbin's store (no HTTP), then hookbin started on it.

In each, once the list is drawn, the cursor moves up through a few rows (each opens its capture
in the detail pane); in **many** a `/` filter then searches every capture for the newest one's
CRM id, and is cleared. The memory is read after a pause: the peak (VmHWM) and what is resident
then (VmRSS). hookbin must then exit 0 on `q`. Linux only (/proc).

    python benchmarks/memory.py [--big 300] [--big-size 1m] [--small 100000] [--small-size 1k] [--json]

Exit status: 0 for a complete measurement, whatever the figures; 1 if something broke (a
request not answered 200 or not stored, hookbin not exiting 0, tmux missing and not installable).
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for the modules beside it when run as `python benchmarks/memory.py`

from harness import BODY, PATH, BenchmarkError, count_rows, ensure_tool, log, memory_mib  # noqa: E402
from tmux_tui import TmuxHookbin  # noqa: E402

from hookbin.deliveries import delivery_key  # noqa: E402
from hookbin.durations import parse_size  # noqa: E402
from hookbin.model import Capture, ResponseGiven, Run, new_id  # noqa: E402
from hookbin.store import open_store  # noqa: E402

TARGETS = {"live": 300.0, "reopened": 300.0, "many": 250.0}
"""Peak resident MiB hookbin with its TUI aims to stay under (issue 11)."""
SETTLE = 1.0
"""Seconds given to the TUI after the list is drawn, and after the cursor moves, before reading."""
ROWS_VISITED = 5
FILTER_BOX = "filter: text"
"""The start of the filter box's placeholder."""
ONE_SHOWN = " 1 shown"
"""The TUI's status line once a filter matches one capture."""
FILL_CHUNK = 5000
STORE_TIMEOUT = 60.0
HEADERS = (("Content-Type", "application/json"), ("User-Agent", "Segmanta-Webhooks/1.0 (benchmark)"))


CRM_ID = "CUST-#"
"""Where each body's respondent number goes."""


@functools.cache
def _survey_of_size(size: int) -> tuple[bytes, bytes]:
    """`segmanta_body.json` with fewer of its results, or with them repeated, to come as near
    `size` bytes as whole results allow: the bytes before and after its CRM id."""
    document = json.loads(BODY.read_bytes())
    document["custom_params"]["crm_id"] = CRM_ID
    results = list(document["results"])
    while len(document["results"]) > 1 and len(json.dumps(document)) > size:
        document["results"].pop()
    average = len(json.dumps(results)) / len(results)
    missing = int((size - len(json.dumps(document))) / average)
    document["results"] += [results[index % len(results)] for index in range(max(0, missing))]
    before, after = json.dumps(document).encode().split(CRM_ID.encode())
    return before, after


def survey_body(number: int, size: int) -> bytes:
    """A Segmanta survey webhook of about `size` bytes from respondent `number` (a CRM id of its own)."""
    before, after = _survey_of_size(size)
    return b"%sCUST-%d%s" % (before, number, after)


@dataclass
class Case:
    """One measurement: how many captures of what size, and hookbin's memory with them."""

    name: str
    captures: int
    body_bytes: int
    peak_mib: float
    resident_mib: float
    target_mib: float
    exit: int | None
    fill_seconds: float | None
    """How long sending (live) or writing (many) the captures took; None when reopened."""

    @property
    def ok(self) -> bool:
        return self.exit == 0


def _post(port: int, body: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", PATH, body=body, headers=dict(HEADERS))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wait_rows(db: Path, rows: int) -> None:
    deadline = time.monotonic() + STORE_TIMEOUT
    while count_rows(db) < rows:
        if time.monotonic() > deadline:
            raise BenchmarkError(f"{db.name} holds {count_rows(db)} captures, not {rows}, {STORE_TIMEOUT:.0f} s on")
        time.sleep(0.1)


def fill(db: Path, count: int, size: int) -> None:
    """Write `count` captures of about `size` bytes into `db` through hookbin's store, as if
    they had arrived one a second over the last `count` seconds, each a delivery of its own."""
    started = datetime.now(UTC) - timedelta(seconds=count)
    response = ResponseGiven(status=200, body=b'{"ok": true}', delivered=True)
    with open_store(db, writer=True) as store:
        store.record_run(Run(1, started, "200"))
        for first in range(0, count, FILL_CHUNK):
            chunk = []
            for number in range(first, min(count, first + FILL_CHUNK)):
                body = survey_body(number, size)
                at = started + timedelta(seconds=number)
                key, source = delivery_key("POST", PATH, HEADERS, body)
                chunk.append(
                    Capture(
                        id=new_id(int(at.timestamp() * 1000)),
                        received_at=at,
                        method="POST",
                        path=PATH,
                        headers=HEADERS,
                        body=body,
                        body_size=len(body),
                        remote="127.0.0.1:50000",
                        response=response,
                        delivery_key=key,
                        delivery_source=source,
                        attempt=1,
                        run=1,
                    )
                )
            store.import_captures(chunk)


def look_around(tui: TmuxHookbin, search: str | None) -> tuple[float, float]:
    """Let the list settle, open a few captures with the cursor, and with `search` filter the
    store for the one capture holding that text, then clear the filter; (peak, resident) MiB then."""
    time.sleep(SETTLE)
    for _ in range(ROWS_VISITED):
        tui.press("Up")
        time.sleep(0.2)
    if search is not None:
        tui.press("/")
        # Keys sent before the box has the focus would go to the list (and `2` is a tab's key).
        if tui.wait_for(FILTER_BOX, STORE_TIMEOUT) is None:
            raise BenchmarkError(f"the TUI's filter box did not open on `/`: {tui.screen_tail()}")
        time.sleep(0.2)
        tui.press("-l", search)
        tui.press("Enter")
        if tui.wait_for(ONE_SHOWN, STORE_TIMEOUT) is None:
            raise BenchmarkError(f"the TUI's filter {search!r} did not show {ONE_SHOWN!r}: {tui.screen_tail()}")
        tui.press("Escape")
        tui.wait_for(ONE_SHOWN, STORE_TIMEOUT, gone=True)
    time.sleep(SETTLE)
    figures = memory_mib(tui.pid)
    if figures is None:
        raise BenchmarkError("cannot read hookbin's memory from /proc (Linux only)")
    return figures


def case(
    name: str, db: Path, workdir: Path, captures: int, size: int, post: int = 0, search: str | None = None
) -> Case:
    """hookbin with its TUI on `db`, `post` requests of `size` bytes sent to it; its memory
    once it has looked around (`look_around`)."""
    with TmuxHookbin("tui", db, workdir) as tui:
        started = time.monotonic()
        for number in range(post):
            status = _post(tui.port, survey_body(number, size))
            if status != 200:
                raise BenchmarkError(f"request {number + 1} of {post} got {status}, not 200")
        if post:
            _wait_rows(db, post + tui.probes_answered)
        filled = time.monotonic() - started if post else None
        peak, resident = look_around(tui, search)
        exit_status, _ = tui.quit()
    result = Case(name, captures, size, peak, resident, TARGETS[name], exit_status, filled)
    log(f"  {name:<9} {captures} x {size:,} B: peak {peak:.0f} MiB, resident {resident:.0f} MiB, exit {exit_status}")
    return result


def measure(args: argparse.Namespace, workdir: Path) -> list[Case]:
    ensure_tool("tmux", "it runs hookbin's TUI")
    big_db, small_db = workdir / "big.db", workdir / "many.db"
    big_size = len(survey_body(0, args.big_size))
    small_size = len(survey_body(0, args.small_size))
    log(f"live: {args.big} requests of {big_size:,} bytes to hookbin with its TUI")
    cases = [case("live", big_db, workdir, args.big, big_size, post=args.big)]
    cases.append(case("reopened", big_db, workdir, count_rows(big_db), big_size))
    started = time.monotonic()
    fill(small_db, args.small, args.small_size)
    filled = time.monotonic() - started
    log(f"many: {args.small} captures of {small_size:,} bytes written to the store in {filled:.1f} s")
    # The newest capture's CRM id: no other holds it, not even as the start of a longer one.
    many = case("many", small_db, workdir, args.small, small_size, search=f"CUST-{args.small - 1}")
    many.fill_seconds = filled
    return [*cases, many]


def table(cases: list[Case]) -> str:
    lines = [f"{'':<10}{'captures':>9}{'body bytes':>12}{'peak MiB':>10}{'now MiB':>9}{'target':>8}  exit"]
    for one in cases:
        lines.append(
            f"{one.name:<10}{one.captures:>9}{one.body_bytes:>12,}{one.peak_mib:>10.0f}{one.resident_mib:>9.0f}"
            f"{f'< {one.target_mib:.0f}':>8}  {one.exit}"
        )
    lines.append(
        "peak resident memory of hookbin with its TUI in tmux: "
        + "; ".join(
            f"{one.name} {one.peak_mib:.0f} MiB ({'under' if one.peak_mib < one.target_mib else 'OVER'} "
            f"the target of {one.target_mib:.0f})"
            for one in cases
        )
    )
    return "\n".join(lines + [f"FAILED: {one.name}: hookbin exited {one.exit} on `q`" for one in cases if not one.ok])


def as_json(cases: list[Case]) -> dict[str, Any]:
    return {
        "cases": {
            one.name: {
                **asdict(one),
                "peak_mib": round(one.peak_mib, 1),
                "resident_mib": round(one.resident_mib, 1),
                "fill_seconds": None if one.fill_seconds is None else round(one.fill_seconds, 2),
                "under_target": one.peak_mib < one.target_mib,
            }
            for one in cases
        },
        "ok": all(one.ok for one in cases),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Peak resident memory of hookbin with its TUI, in tmux.")
    parser.add_argument("--big", type=int, default=300, help="large requests sent live (300)")
    parser.add_argument("--big-size", type=parse_size, default="1m", help="their size (1m)")
    parser.add_argument("--small", type=int, default=100_000, help="small captures written to the store (100000)")
    parser.add_argument("--small-size", type=parse_size, default="1k", help="their size (1k)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    if min(args.big, args.small) < 1:
        parser.error("--big and --small must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="hookbin-memory-") as tmp:
            cases = measure(args, Path(tmp))
    except BenchmarkError as exc:
        log(f"memory: error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("memory: interrupted")
        return 130
    print(json.dumps(as_json(cases)) if args.json else table(cases))
    return 0 if all(one.ok for one in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
