"""`serve --forward` under load: hookbin in front of a bare aiohttp app, against another hookbin.

Contenders, each a process of its own, all up for the whole run:

* `app alone`: `bare_server.py` (asyncio), the app every hookbin forwards to, loaded directly:
  the most the pair could do;
* `forward, this tree`: `python -m hookbin serve --no-tui --forward APP`, this tree's hookbin;
* `forward, baseline`: the same with `--baseline-src DIR` (the `hookbin/` of another version,
  e.g. `git archive main hookbin | tar -x -C /tmp/old`), when given.

wrk `-t2 -c50` POSTs the Segmanta body (`post.lua`) to each in turn: a warm-up, then `--rounds`
rounds of `--duration` seconds, each round starting one contender further on; medians are
reported. Every answer must be a 200 (the app's, passed on) and each hookbin must have stored a
row for every request it answered.

    python benchmarks/forwarding.py [--baseline-src /tmp/old] [--rounds 5] [--duration 5] [--json]

On a busy machine compare the rows of one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for the modules beside it when run as `python benchmarks/forwarding.py`

from harness import BenchmarkError, Server, baseline_command, count_rows, ensure_tool, log, schedule  # noqa: E402
from load import Load, drive_wrk  # noqa: E402

TREE = HERE.parent


def forwarding_command(src: Path, db: Path, app_url: str) -> list[str]:
    """hookbin from `src` (a directory holding `hookbin/`), headless, forwarding to `app_url`.

    `-P`: `python -m` would otherwise look in the current directory first, and run this tree's
    hookbin whatever PYTHONPATH says when the benchmark runs from the repository."""
    hookbin = [sys.executable, "-P", "-m", "hookbin", "serve", "--no-tui", "--port", "0", "--admin-port", "0"]
    return ["env", f"PYTHONPATH={src}", *hookbin, "--db", str(db), "--forward", app_url]


def take_turns(contenders: list[Server], args: argparse.Namespace) -> dict[str, list[Load]]:
    loads: dict[str, list[Load]] = {server.name: [] for server in contenders}
    for label, order, seconds in schedule(contenders, args.rounds, args.duration, args.warmup):
        for server in order:
            load = drive_wrk(server.name, label, server.url, seconds, args.threads, args.connections)
            problems = f", {load.failed} NOT 200: {'; '.join(load.errors)}" if load.failed else ""
            log(f"  {server.name:<20} {label:<8} {load.rps:7.0f} req/s, p99 {load.p99_ms:6.1f} ms{problems}")
            if load.failed:
                raise BenchmarkError(f"{server.name}: {load.failed} request(s) not answered 200 in {label}")
            if label != "warm-up":
                loads[server.name].append(load)
    return loads


def measure(args: argparse.Namespace, work: Path) -> dict[str, dict[str, float]]:
    ensure_tool("wrk", "this benchmark needs wrk")
    with Server("app alone", baseline_command("asyncio"), work) as app:
        sides = [("forward, this tree", TREE)]
        if args.baseline_src is not None:
            sides.insert(0, ("forward, baseline", args.baseline_src.resolve()))
        dbs = {name: work / f"{name.split()[-1]}.db" for name, _ in sides}
        hookbins = [Server(name, forwarding_command(src, dbs[name], app.url), work) for name, src in sides]
        for hookbin in hookbins:
            hookbin.__enter__()
        try:
            loads = take_turns([app, *hookbins], args)
            answered = {h.name: sum(load.answered for load in loads[h.name]) for h in hookbins}
            for hookbin in hookbins:
                if hookbin.stop() != 0:
                    raise BenchmarkError(f"{hookbin.name} did not exit 0 on SIGTERM: {hookbin.stderr_tail()}")
                rows = count_rows(dbs[hookbin.name])
                if rows < answered[hookbin.name]:
                    raise BenchmarkError(f"{hookbin.name} stored {rows} rows for {answered[hookbin.name]} answers")
        finally:
            for hookbin in hookbins:
                hookbin.__exit__()
    alone = statistics.median(load.rps for load in loads[app.name])
    return {
        name: {
            "rps": statistics.median(load.rps for load in runs),
            "p50_ms": statistics.median(load.p50_ms for load in runs),
            "p99_ms": statistics.median(load.p99_ms for load in runs),
            "x_app_alone": statistics.median(load.rps for load in runs) / alone,
        }
        for name, runs in loads.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, default=None, help="a directory holding another hookbin/")
    parser.add_argument("--threads", "-t", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", "-c", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("--duration", "-d", type=int, default=5, help="seconds per round and contender (5)")
    parser.add_argument("--rounds", "-r", type=int, default=5, help="measured rounds (5); medians")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per contender (2); 0: none")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hookbin-forwarding-"))
    try:
        figures = measure(args, work)
    except BenchmarkError as exc:
        print(f"forwarding.py: {exc}", file=sys.stderr)
        sys.exit(1)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"wrk -t{args.threads} -c{args.connections}, medians of {args.rounds} rounds of {args.duration} s")
    print(f"{'contender':<20} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | x app alone")
    for name, row in figures.items():
        cells = f"{row['rps']:7.0f} | {row['p50_ms']:7.1f} | {row['p99_ms']:7.1f} | {row['x_app_alone']:.2f}"
        print(f"{name:<20} | {cells}")


if __name__ == "__main__":
    main()
