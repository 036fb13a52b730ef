"""How close hookbin comes to bare aiohttp under the same load, headless and with its TUI live,
in one run: requests/s, p50/p99 latency, ratios, start-up time and peak memory.

Contenders, each a process of its own, all up for the whole run:

* the baseline, `bare_server.py`: a catch-all aiohttp server that reads each body and answers
  200, storing nothing; on asyncio, and on uvloop too when uvloop is installed. hookbin is held
  against the faster of the two;
* hookbin headless as a user starts it: `python -m hookbin serve --no-tui --db <tmp>/headless.db`;
* hookbin with its TUI live in tmux (`tmux_tui.py`): `python -m hookbin serve --db <tmp>/tui.db`.

The load comes from a process of its own (`load.py`): wrk `-t2 -c50` with `post.lua`, or with
`--tool aiohttp` the aiohttp client, whose figures are client-bound. After a warm-up of each,
rounds of `--duration` seconds go round the contenders (the first contender of each round moves
on by one), and the medians are reported. Before all that, headless hookbin is launched
`--startups` times and timed from launch to its first answered request.

Checks: every answer is a 200; each hookbin's `captures` holds a row per request it answered
(and at most one more per connection of each turn: wrk stops with requests in flight); the
baselines and headless hookbin exit 0 on SIGTERM; the TUI's list followed the load, it opens its
help on `?` after the load and exits 0 on `q`.

    python benchmarks/throughput.py [--duration 5] [--rounds 5] [--tool wrk|aiohttp] [--json]

Exit status: 0 for a complete measurement, whatever the ratios (it is a measurement, not a
test); 1 if something broke: a request failed or was not stored, a server misbehaved, a tool
was missing and could not be installed.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for the modules beside it when run as `python benchmarks/throughput.py`

from figures import Report, Stored, TuiFigures  # noqa: E402
from harness import (  # noqa: E402
    START_TIMEOUT,
    STOP_TIMEOUT,
    BenchmarkError,
    Server,
    baseline_command,
    clean_env,
    count_rows,
    ensure_tool,
    free_port,
    hookbin_command,
    log,
    memory_mib,
    schedule,
)
from load import Load, drive_aiohttp, drive_wrk  # noqa: E402
from tmux_tui import TmuxHookbin  # noqa: E402

SETTLE = 0.3
"""Seconds given to the TUI after its turn before its list's state is read."""
STARTUP_POLL = 0.005


# ----------------------------------------------------------------------------------- start-up


def startup_seconds(db: Path, workdir: Path) -> float:
    """Launch headless hookbin on a free port; seconds until it first answers a request.

    The clock starts before the process is created, so interpreter start, imports, opening the
    store and binding all count, as they do for a user who types the command.
    """
    port = free_port()
    with open(workdir / "startup.err", "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            hookbin_command(db, port), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=clean_env()
        )
    try:
        while True:
            if process.poll() is not None:
                raise BenchmarkError(f"hookbin exited with {process.returncode} at start-up")
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=START_TIMEOUT)
            try:
                connection.request("GET", "/bench/startup")
                connection.getresponse().read()
                return time.perf_counter() - started
            except (OSError, http.client.HTTPException):  # refused until it listens
                if time.perf_counter() - started > START_TIMEOUT:
                    raise BenchmarkError(f"hookbin did not answer within {START_TIMEOUT:.0f} s of launch") from None
                time.sleep(STARTUP_POLL)
            finally:
                connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        if code != 0:
            raise BenchmarkError(f"hookbin did not exit 0 on SIGTERM after its start-up (exit {code})")


def compile_hookbin() -> None:
    """Compile hookbin's modules to bytecode before the launches, as installing it does.

    Python reads cached bytecode even under PYTHONDONTWRITEBYTECODE (set in some containers and
    CI images) but never writes it then: every launch of a source tree would compile every
    hookbin module again, about a fifth of the CPU a launch takes, which no installed hookbin pays.
    """
    spec = importlib.util.find_spec("hookbin")
    if spec is None or spec.origin is None:
        raise BenchmarkError("cannot find the hookbin package to launch")
    package = Path(spec.origin).parent
    done = subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchmarkError(f"cannot compile {package}: {done.stdout.strip()[-300:]}")
    log(f"  start-up: {package} compiled to bytecode first, as an installed hookbin is")


def startups(args: argparse.Namespace, workdir: Path) -> list[float]:
    """`--startups` launches of headless hookbin, the first on a new database, then on the same."""
    compile_hookbin()
    times = []
    for number in range(1, args.startups + 1):
        seconds = startup_seconds(workdir / "startup.db", workdir)
        log(f"  start-up {number}: first answer {seconds:.3f} s after launch")
        times.append(seconds)
    return times


# --------------------------------------------------------------------------------------- load


def drive(server: Any, label: str, args: argparse.Namespace, seconds: int) -> Load:
    """One turn of load against `server` with the tool chosen, logged."""
    if args.tool == "wrk":
        load = drive_wrk(server.name, label, server.url, seconds, args.threads, args.connections)
    else:
        load = drive_aiohttp(server.name, label, server.url, seconds, args.connections)
    problems = f", {load.failed} NOT 200: {'; '.join(load.errors)}" if load.failed else ""
    log(
        f"  {server.name:<12} {label:<8} {load.answered:>7} answers in {load.seconds:5.2f} s = "
        f"{load.rps:7.0f} req/s, p99 {load.p99_ms:6.1f} ms{problems}"
    )
    return load


def take_turns(
    contenders: list[Any], tui: TmuxHookbin | None, args: argparse.Namespace
) -> tuple[list[Load], dict[str, str]]:
    """A warm-up of each contender, then `--rounds` rounds; the TUI's list state after each of its turns.

    Each round starts one contender further on, so that none always follows the same one (a
    TUI still drawing the last burst, say) and a spell of other work on the machine falls on
    different contenders in different rounds.
    """
    loads: list[Load] = []
    states: dict[str, str] = {}
    for label, order, seconds in schedule(contenders, args.rounds, args.duration, args.warmup):
        for server in order:
            loads.append(drive(server, label, args, seconds))
            if server is tui:
                time.sleep(SETTLE)
                states[label] = tui.list_state()
                if states[label] != "following":
                    log(f"  tui          the list is {states[label]} after {label} (no key was pressed)")
    return loads, states


# --------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="hookbin (headless and with its TUI) against bare aiohttp under the same load, in one run.",
        epilog="wrk is installed with apt-get when missing (as root), else the error says how.",
    )
    parser.add_argument(
        "--tool",
        choices=["wrk", "aiohttp"],
        default="wrk",
        help="load generator: wrk (default) or the aiohttp client (client-bound: its ratios read high)",
    )
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", "-c", type=int, default=50, help="connections, requests in flight (50)")
    parser.add_argument("--duration", "-d", type=int, default=5, help="seconds per round and server (5)")
    parser.add_argument("--rounds", "-r", type=int, default=5, help="measured rounds per server (5); medians")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server (2); 0: none")
    parser.add_argument("--startups", type=int, default=5, help="launches timed to the first answer (5); 0: none")
    parser.add_argument("--no-tui", dest="tui", action="store_false", help="leave out hookbin with its TUI (tmux)")
    parser.add_argument(
        "--no-uvloop", dest="uvloop", action="store_false", help="no uvloop baseline even when uvloop is installed"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    if min(args.threads, args.connections, args.duration, args.rounds) < 1 or min(args.warmup, args.startups) < 0:
        parser.error("--threads, --connections, --duration, --rounds: at least 1; --warmup, --startups: 0 or more")
    if args.tool == "wrk" and args.threads > args.connections:
        parser.error("wrk needs at least one connection per thread")
    return args


def measure(args: argparse.Namespace) -> Report:
    if args.tool == "wrk":
        ensure_tool("wrk", "or run with --tool aiohttp (client-bound)")
    if args.tui:
        ensure_tool("tmux", "or run with --no-tui")
    loops = ["asyncio"] + (["uvloop"] if args.uvloop and importlib.util.find_spec("uvloop") else [])
    if args.uvloop and len(loops) == 1:
        log("uvloop is not installed: the baseline and hookbin run on asyncio (pip install 'hookbin[fast]')")
    with tempfile.TemporaryDirectory(prefix="hookbin-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        startup = startups(args, workdir)
        bares = [stack.enter_context(Server(f"bare {loop}", baseline_command(loop), workdir)) for loop in loops]
        headless = stack.enter_context(Server("headless", hookbin_command(workdir / "headless.db"), workdir))
        tui = stack.enter_context(TmuxHookbin("tui", workdir / "tui.db", workdir)) if args.tui else None
        contenders: list[Any] = [*bares, headless] + ([tui] if tui else [])
        log("; ".join(f"{server.name} on {server.url}" for server in contenders) + f"; load from {args.tool}")
        loads, states = take_turns(contenders, tui, args)

        memory = {"headless": memory_mib(headless.pid)}
        tui_figures = None
        if tui is not None:
            memory["tui"] = memory_mib(tui.pid)
            help_seconds = tui.help_opens()
            exit_status, quit_seconds = tui.quit()
            shown = "never" if help_seconds is None else f"{help_seconds:.2f} s"
            log(f"  tui          after the load: help shown {shown} after `?`, exit {exit_status} on `q`")
            tui_figures = TuiFigures(
                states,
                help_seconds,
                exit_status,
                quit_seconds,
                Stored.of("tui", loads, count_rows(tui.db), tui.probes_answered, tui.probes_sent),
            )
        exits = {"headless": headless.stop()}
        if exits["headless"] != 0:
            log(f"headless hookbin exited with {exits['headless']}: {headless.stderr_tail()}")
        stored = Stored.of("headless", loads, count_rows(workdir / "headless.db"))
        exits.update({bare.name: bare.stop() for bare in bares})
    return Report(
        args=args,
        names=[server.name for server in contenders],
        loads=loads,
        startup=startup,
        memory={name: figures[0] for name, figures in memory.items() if figures is not None},
        headless_stored=stored,
        tui=tui_figures,
        exits=exits,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = measure(args)
    except BenchmarkError as exc:
        log(f"throughput: error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("throughput: interrupted")
        return 130
    print(json.dumps(report.as_json()) if args.json else report.table())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
