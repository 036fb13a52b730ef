"""How close hookbin comes to bare aiohttp: requests per second under the same load, in one run.

Starts two servers, each in a subprocess of its own:

* the baseline, `benchmarks/bare_server.py`: a catch-all aiohttp server that reads each body and
  answers 200 with a small JSON body, storing nothing;
* hookbin, started exactly as a user does:
  `python -m hookbin serve --no-tui --port 0 --db <tmp>/bench.db --admin-port 0`.

Then drives both with the same load: N POSTs of a ~1.2 KB Segmanta-like survey payload at
concurrency C, from a third process: `benchmarks/loadgen.py`, an aiohttp client (the default),
or `wrk` with `--tool wrk` when it is on PATH (wrk runs each round for `--duration` seconds
instead of N requests). After one warm-up each, rounds alternate (baseline, hookbin, baseline,
hookbin, ...) and the median requests/s of each and their ratio are reported.

Finally hookbin is stopped with SIGTERM (it must exit 0) and its database is opened with the
stdlib `sqlite3`: `captures` must hold one row per request hookbin was sent, warm-up included.
(wrk stops with requests in flight, whose connections it closes: there the rows must number
at least the requests answered and at most those sent.)

    python benchmarks/throughput.py [--requests 5000] [--concurrency 32] [--rounds 3] [--json]

Exit status: 0 for a complete measurement, whatever the ratio (it is a measurement, not a
test); 1 if a request failed, a request was not stored, or a server misbehaved.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for `loadgen` when run as `python benchmarks/throughput.py`

import loadgen  # noqa: E402

TARGET = 0.6
"""The hookbin/baseline ratio hookbin aims for."""

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
LOAD_TIMEOUT = 600.0


class BenchmarkError(Exception):
    """Something that makes the measurement meaningless; one line for the user."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ servers


def _clean_env() -> dict[str, str]:
    """This environment without HOOKBIN_* settings, so every run serves the defaults."""
    return {name: value for name, value in os.environ.items() if not name.startswith("HOOKBIN_")}


class Server:
    """A server subprocess whose stderr names its port; stdout and stderr go to files.

    Files, not pipes: hookbin writes a line per request, and a pipe nobody reads would fill
    and block it.
    """

    def __init__(self, name: str, command: list[str], workdir: Path) -> None:
        self.name = name
        self.command = command
        self.stdout_path = workdir / f"{name}.out"
        self.stderr_path = workdir / f"{name}.err"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=_clean_env()
            )
        try:
            self.port = self._wait_for_port()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_for_port(self) -> int:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = LISTENING.search(self.stderr_path.read_text(errors="replace"))
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                raise BenchmarkError(
                    f"{self.name} exited with {self.process.returncode} before listening: {self.stderr_tail()}"
                )
            time.sleep(0.05)
        raise BenchmarkError(f"{self.name} did not print its port within {START_TIMEOUT:.0f} s")

    def stderr_tail(self, lines: int = 5) -> str:
        return " | ".join(self.stderr_path.read_text(errors="replace").strip().splitlines()[-lines:])

    def stop(self) -> int:
        """SIGTERM, then wait for the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise BenchmarkError(f"{self.name} did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM") from None
        return self.process.returncode

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def baseline_command() -> list[str]:
    return [sys.executable, str(HERE / "bare_server.py"), "--port", "0"]


def hookbin_command(db: Path) -> list[str]:
    return [sys.executable, "-m", "hookbin", "serve", "--no-tui", "--port", "0", "--db", str(db), "--admin-port", "0"]


# --------------------------------------------------------------------------------------- load


@dataclass
class Load:
    """One batch of requests against one server, as the load generator reports it."""

    server: str
    label: str
    sent: int
    answered: int
    ok: int
    failed: int
    """Answers other than 200, plus requests that got no answer (connection errors, timeouts)."""
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: list[str] = field(default_factory=list)
    client_busy: float | None = None
    """Share of one core the load generator used while timed (aiohttp client only)."""

    @property
    def rps(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0


def _run_json(command: list[str], what: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=LOAD_TIMEOUT, env=_clean_env()
        )
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"{what} took more than {LOAD_TIMEOUT:.0f} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchmarkError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


def drive_aiohttp(url: str, requests: int, concurrency: int, first_id: int) -> dict[str, Any]:
    """Run `loadgen.py` in its own process; its summary, with `answered` added."""
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        url,
        "--requests",
        str(requests),
        "--concurrency",
        str(concurrency),
        "--first-id",
        str(first_id),
    ]
    result = _run_json(command, "the load generator")
    result["answered"] = sum(result["statuses"].values())
    return result


WRK_SCRIPT = r"""
-- Written by benchmarks/throughput.py: POST survey bodies with distinct respondents, count 200s.
local template = [==[%(template)s]==]
local headers = {["Content-Type"] = "application/json", ["User-Agent"] = "%(agent)s"}
local first = 0
sent, answered, ok = 0, 0, 0

function init(args)
  first = tonumber(args[1])
end

function request()
  local id = first + sent
  sent = sent + 1
  return wrk.format("POST", "%(path)s", headers, string.format(template, 100000 + id, id))
end

function response(status)
  answered = answered + 1
  if status == 200 then ok = ok + 1 end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format(
    '{"sent": %%d, "answered": %%d, "ok": %%d, "seconds": %%f, "p50_ms": %%f, "p99_ms": %%f, ' ..
    '"socket_errors": %%d}\n',
    t:get("sent"), t:get("answered"), t:get("ok"), summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout))
end
"""
WRK_WARMUP_SECONDS = 1


def wrk_template() -> str:
    """The survey payload as a Lua format string: respondent id and CRM id vary."""
    body = loadgen.survey_payload(0).decode("utf-8").replace("%", "%%")
    return body.replace("CUST-100000", "CUST-%d").replace("r-00000000", "r-%08d")


def drive_wrk(url: str, seconds: int, concurrency: int, first_id: int, workdir: Path) -> dict[str, Any]:
    """Run wrk (one thread, C connections) for `seconds`; the same summary as loadgen's.

    wrk runs for a duration, not a count. `sent` counts every request written, including those
    in flight when wrk stops and closes its connections: the server may or may not get to read
    them, and nobody reads their answers.
    """
    script = workdir / "survey.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "template": wrk_template(),
            "path": loadgen.PATH,
            "agent": loadgen.HEADERS["User-Agent"],
        }
    )
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url + loadgen.PATH,
        "--",
        str(first_id),
    ]
    result = _run_json(command, "wrk")
    errors = result["socket_errors"]
    result["failed"] = result["answered"] - result["ok"] + errors
    result["errors"] = [f"{errors} socket error(s) or timeout(s)"] if errors else []
    return result


def drive(server: Server, label: str, args: argparse.Namespace, first_id: int, workdir: Path) -> Load:
    """One warm-up or round against `server`, with the tool chosen."""
    warmup = label == "warm-up"
    if args.tool == "wrk":
        seconds = WRK_WARMUP_SECONDS if warmup else args.duration
        result = drive_wrk(server.url, seconds, args.concurrency, first_id, workdir)
    else:
        requests = args.warmup if warmup else args.requests
        result = drive_aiohttp(server.url, requests, args.concurrency, first_id)
    busy = result["cpu_seconds"] / result["seconds"] if "cpu_seconds" in result and result["seconds"] else None
    load = Load(
        server.name,
        label,
        result["sent"],
        result["answered"],
        result["ok"],
        result["failed"],
        result["seconds"],
        result["p50_ms"],
        result["p99_ms"],
        result["errors"],
        busy,
    )
    problems = f", {load.failed} NOT 200: {'; '.join(load.errors)}" if load.failed else ""
    log(
        f"  {server.name:<8} {label:<8} {load.answered:>6} answers in {load.seconds:6.2f} s = "
        f"{load.rps:8.0f} req/s{problems}"
    )
    return load


def alternate(baseline: Server, hookbin: Server, args: argparse.Namespace, workdir: Path) -> list[Load]:
    """A warm-up on each, then R rounds of baseline-then-hookbin."""
    loads: list[Load] = []
    first_id = 0  # respondent numbers never repeat, so every body in the run is different
    labels = (["warm-up"] if args.warmup > 0 else []) + [f"round {n}" for n in range(1, args.rounds + 1)]
    for label in labels:
        for server in (baseline, hookbin):
            load = drive(server, label, args, first_id, workdir)
            loads.append(load)
            first_id += load.sent
    return loads


# ------------------------------------------------------------------------------------- checks


def count_rows(db: Path) -> int:
    """Rows in `captures`, read with the stdlib after hookbin has stopped."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM captures").fetchone()[0]
    except sqlite3.Error as exc:
        raise BenchmarkError(f"cannot count the captures in {db}: {exc}") from None


CLIENT_BOUND = 0.9
"""A load generator this busy (share of a core) is what limits the rate, not the server."""


@dataclass
class Stored:
    """Rows in one hookbin's store against what it was sent."""

    rows: int
    answered: int
    sent: int

    @classmethod
    def of(cls, server: str, loads: list[Load], rows: int, extra_sent: int = 0, extra_answered: int = 0) -> Stored:
        """The rows counted for `server`, against every load (warm-up included) sent to it."""
        mine = [load for load in loads if load.server == server]
        return cls(
            rows, sum(load.answered for load in mine) + extra_answered, sum(load.sent for load in mine) + extra_sent
        )

    @property
    def all(self) -> bool:
        """Every request hookbin answered is stored, and nothing it was not sent.

        With the aiohttp client every request is answered, so this is rows == requests sent.
        wrk stops with requests in flight: those may be stored or not (a connection closed
        before hookbin read the request is no request), hence a range there.
        """
        return self.answered <= self.rows <= self.sent

    def text(self) -> str:
        if self.answered == self.sent:
            return f"{self.rows}/{self.sent}"
        return f"{self.rows} rows for {self.answered} answered of {self.sent} sent"

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "answered": self.answered, "sent": self.sent, "all": self.all}


class LoadSummary:
    """Figures over the measured rounds, shared by the benchmarks' reports (which hold `args`, `loads`)."""

    args: argparse.Namespace
    loads: list[Load]

    def measured(self, server: str) -> list[Load]:
        return [load for load in self.loads if load.server == server and load.label != "warm-up"]

    def median_rps(self, server: str) -> float:
        return statistics.median(load.rps for load in self.measured(server))

    def client_busy(self, server: str) -> float | None:
        shares = [load.client_busy for load in self.measured(server) if load.client_busy is not None]
        return statistics.median(shares) if shares else None

    @property
    def failed(self) -> int:
        return sum(load.failed for load in self.loads)

    def round_size(self) -> str:
        return f"{self.args.duration} s" if self.args.tool == "wrk" else f"{self.args.requests} requests"

    def table_head(self) -> str:
        head = f"{'':<10}" + "".join(f"{f'round {n}':>10}" for n in range(1, self.args.rounds + 1))
        return head + f"{'median':>10}{'p50 ms':>9}{'p99 ms':>9}"

    def server_row(self, server: str) -> str:
        loads = self.measured(server)
        return (
            f"{server:<10}"
            + "".join(f"{load.rps:>10.0f}" for load in loads)
            + f"{self.median_rps(server):>10.0f}"
            + f"{statistics.median(load.p50_ms for load in loads):>9.1f}"
            + f"{statistics.median(load.p99_ms for load in loads):>9.1f}"
        )

    def server_json(self, server: str) -> dict[str, Any]:
        loads = self.measured(server)
        busy = self.client_busy(server)
        return {
            "rps_median": round(self.median_rps(server), 1),
            "rps_rounds": [round(load.rps, 1) for load in loads],
            "p50_ms_median": round(statistics.median(load.p50_ms for load in loads), 2),
            "p99_ms_median": round(statistics.median(load.p99_ms for load in loads), 2),
            "client_busy_median": None if busy is None else round(busy, 3),
        }

    def client_bound_note(self, ratio_words: str) -> str | None:
        """A warning when the load generator, not aiohttp, set the baseline's pace."""
        busy = self.client_busy("baseline")
        if busy is None or busy < CLIENT_BOUND:
            return None
        return (
            f"note: the load generator used {busy:.0%} of a core in the baseline rounds: the client,\n"
            f"      not aiohttp, set the baseline's pace, so {ratio_words} (try --tool wrk)"
        )

    def load_json(self) -> dict[str, Any]:
        """The load settings, as both reports' JSON starts."""
        return {
            "tool": self.args.tool,
            "requests": self.args.requests if self.args.tool == "aiohttp" else None,
            "duration": self.args.duration if self.args.tool == "wrk" else None,
            "concurrency": self.args.concurrency,
            "rounds": self.args.rounds,
            "warmup": self.args.warmup,
        }


@dataclass
class Report(LoadSummary):
    """The loads run, hookbin's exit and row count, and what they add up to."""

    args: argparse.Namespace
    loads: list[Load]
    hookbin_exit: int
    baseline_exit: int
    stored: int

    @property
    def ratio(self) -> float:
        baseline = self.median_rps("baseline")
        return self.median_rps("hookbin") / baseline if baseline else 0.0

    @property
    def hookbin_stored(self) -> Stored:
        return Stored.of("hookbin", self.loads, self.stored)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.hookbin_stored.all and self.hookbin_exit == 0 and self.baseline_exit == 0

    def summary_line(self) -> str:
        stored = self.hookbin_stored
        return (
            f"hookbin/baseline = {self.ratio:.2f} (target >= {TARGET}), every request stored: "
            f"{'yes' if stored.all else 'NO'} ({stored.text()})"
        )

    def table(self) -> str:
        rows = [
            f"req/s at concurrency {self.args.concurrency}, {self.round_size()} a round, load from {self.args.tool}",
            self.table_head(),
        ]
        rows += [self.server_row(server) for server in ("baseline", "hookbin")]
        note = self.client_bound_note("the ratio reads high")
        if note:
            rows.append(note)
        if self.failed:
            rows.append(f"FAILED: {self.failed} request(s) did not get a 200")
        if self.hookbin_exit != 0:
            rows.append(f"FAILED: hookbin exited with {self.hookbin_exit} on SIGTERM (expected 0)")
        if self.baseline_exit != 0:
            rows.append(f"FAILED: the baseline exited with {self.baseline_exit} on SIGTERM")
        rows.append(self.summary_line())
        return "\n".join(rows)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.load_json(),
            "baseline": self.server_json("baseline"),
            "hookbin": self.server_json("hookbin"),
            "ratio": round(self.ratio, 3),
            "target": TARGET,
            "failed_requests": self.failed,
            "stored": self.hookbin_stored.as_json(),
            "hookbin_exit": self.hookbin_exit,
            "baseline_exit": self.baseline_exit,
            "ok": self.ok,
        }


# --------------------------------------------------------------------------------------- main


def load_parser(description: str, requests: int) -> argparse.ArgumentParser:
    """The options every benchmark here shares: load size, rounds, tool, output."""
    tools = ["aiohttp"] + (["wrk"] if shutil.which("wrk") else [])
    parser = argparse.ArgumentParser(description=description, epilog=f"Load tools available here: {', '.join(tools)}.")
    parser.add_argument("--requests", "-n", type=int, default=requests, help=f"requests per round ({requests})")
    parser.add_argument("--concurrency", "-c", type=int, default=32, help="requests in flight (32)")
    parser.add_argument("--rounds", "-r", type=int, default=3, help="measured rounds per server (3)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1000,
        help=f"warm-up requests per server (1000; wrk warms up {WRK_WARMUP_SECONDS} s); 0: none",
    )
    parser.add_argument(
        "--tool",
        choices=["aiohttp", "wrk"],
        default="aiohttp",
        help="load generator: the aiohttp client (default) or wrk, if on PATH",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=5,
        help="with --tool wrk: seconds per round (5); wrk runs for a time, not a count",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return parser


def check_tool(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.tool == "wrk" and not shutil.which("wrk"):
        parser.error("--tool wrk needs `wrk` on PATH (e.g. apt-get install wrk)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = load_parser("Requests/s of hookbin against a bare aiohttp server under the same load.", 5000)
    args = parser.parse_args(argv)
    check_tool(parser, args)
    if min(args.requests, args.concurrency, args.rounds, args.duration) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency, --rounds and --duration must be at least 1, --warmup at least 0")
    return args


def measure(args: argparse.Namespace) -> Report:
    with tempfile.TemporaryDirectory(prefix="hookbin-bench-") as tmp, ExitStack() as servers:
        workdir = Path(tmp)
        db = workdir / "bench.db"
        baseline = servers.enter_context(Server("baseline", baseline_command(), workdir))
        hookbin = servers.enter_context(Server("hookbin", hookbin_command(db), workdir))
        log(f"baseline on {baseline.url}, hookbin on {hookbin.url} (db {db}); load from {args.tool}")
        loads = alternate(baseline, hookbin, args, workdir)
        hookbin_exit = hookbin.stop()
        if hookbin_exit != 0:
            log(f"hookbin exited with {hookbin_exit}: {hookbin.stderr_tail()}")
        stored = count_rows(db)
        baseline_exit = baseline.stop()
    return Report(args, loads, hookbin_exit, baseline_exit, stored)


def run(
    name: str,
    parse: Callable[[list[str] | None], argparse.Namespace],
    measure_with: Callable[[argparse.Namespace], Any],
    argv: list[str] | None = None,
) -> int:
    """Parse, measure, print the table (or JSON); the exit status every benchmark here uses."""
    args = parse(argv)
    try:
        report = measure_with(args)
    except BenchmarkError as exc:
        log(f"{name}: error: {exc}")
        return 1
    except KeyboardInterrupt:
        log(f"{name}: interrupted")
        return 130
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        print(report.table())
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    return run("throughput", parse_args, measure, argv)


if __name__ == "__main__":
    sys.exit(main())
