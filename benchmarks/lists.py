"""Time and peak memory of the commands that read many captures, against a baseline in the same run.

Fills a store with `fill_store.py` (100,000 captures of ~1 KB Segmanta bodies by default), then
runs each command as a user does, `python -m hookbin … --db DB`, in a process of its own, and
reads its wall time, CPU time (user + system) and peak resident memory from the kernel
(`os.wait4`). With `--baseline-src DIR` (the `hookbin/` of another version, e.g. `git archive
main hookbin | tar -x -C /tmp/old`) the store is filled by that version, the same commands run
on both (rounds alternate: baseline, this tree, baseline, …), and their outputs are compared
byte for byte; this tree then first migrates its own copy of the store, and that is timed too.

    python benchmarks/lists.py [--captures 100000] [--rounds 3] [--baseline-src /tmp/old] [--only report]

Figures are medians over the rounds. On a busy machine, compare the two columns of one run
(and the CPU times more than the wall times), not runs with each other.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent

COMMANDS = (
    ("ls --json", ["ls", "--all-runs", "-n", "1000000", "--json"]),
    ("ls", ["ls", "--all-runs", "-n", "1000000"]),
    ("export ndjson", ["export", "-f", "ndjson"]),
    ("report", ["report", "--all-runs"]),
    ("deliveries", ["deliveries", "--all-runs"]),
    ("deliveries --json", ["deliveries", "--all-runs", "--json"]),
    ("report (last run)", ["report"]),
)


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mib: float
    digest: str


def _environment(src: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HOOKBIN_")}
    env["PYTHONPATH"] = str(src)
    env["TZ"] = "UTC"  # both sides print the same local times
    return env


def measure(argv: list[str], src: Path, out: Path) -> Run:
    """Run `argv` with the hookbin in `src`; its stdout goes to `out`."""
    with out.open("wb") as sink:
        began = time.perf_counter()
        # In a directory of no hookbin: `python -m` puts the working directory first on the path.
        child = subprocess.Popen(
            argv, stdout=sink, stderr=subprocess.DEVNULL, env=_environment(src), cwd=tempfile.gettempdir()
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # report exits 1 for unmet expectations only
        sys.exit(f"lists: {' '.join(argv)} exited {child.returncode}")
    digest = hashlib.sha256()
    with out.open("rb") as written:  # a chunk at a time: a child's peak counts this process's too
        while chunk := written.read(1 << 20):
            digest.update(chunk)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, digest.hexdigest())


def hookbin(src: Path, db: Path, args: list[str], out: Path) -> Run:
    return measure([sys.executable, "-m", "hookbin", *args, "--db", str(db)], src, out)


def fill(src: Path, db: Path, count: int) -> None:
    print(f"filling {db} with {count} captures…", file=sys.stderr)
    argv = [sys.executable, str(HERE / "fill_store.py"), "--db", str(db), "--captures", str(count)]
    subprocess.run(argv, check=True, env=_environment(src), cwd=tempfile.gettempdir())


def _median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.peak_mib for r in runs),
        runs[0].digest,
    )


def _cell(run: Run) -> str:
    return f"{run.wall:6.2f} s {run.cpu:6.2f} s {run.peak_mib:6.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-src", type=Path, default=None, help="a directory holding another hookbin/")
    parser.add_argument("--work", type=Path, default=None, help="keep the databases here (default: a temp dir)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[label for label, _ in COMMANDS],
        help="time this command only (repeat for several); default: all",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="hookbin-lists-"))
    work.mkdir(parents=True, exist_ok=True)
    sides: list[tuple[str, Path, Path]] = []
    db = work / "captures.db"
    if args.baseline_src is not None:
        base = work / "baseline.db"
        if not base.exists():
            fill(args.baseline_src, base, args.captures)
        shutil.copyfile(base, db)
        opening = "import sys; from hookbin.store import open_store; open_store(sys.argv[1]).close()"
        migration = measure([sys.executable, "-c", opening, str(db)], TREE, work / "migrate.out")
        print(
            f"this tree migrated the baseline's store in {migration.wall:.1f} s "
            f"(CPU {migration.cpu:.1f} s, peak {migration.peak_mib:.0f} MiB)"
        )
        sides.append(("baseline", args.baseline_src, base))
    elif not db.exists():
        fill(TREE, db, args.captures)
    sides.append(("this tree", TREE, db))

    header = f"{'command':<20}" + "".join(f" | {name + ': wall, CPU, peak memory':<36}" for name, _, _ in sides)
    print(header + (" | same output" if len(sides) > 1 else ""))
    for label, command in COMMANDS:
        if args.only and label not in args.only:
            continue
        results: dict[str, list[Run]] = {name: [] for name, _, _ in sides}
        for _ in range(args.rounds):
            for name, src, path in sides:
                results[name].append(hookbin(src, path, command, work / f"{name}.out"))
        medians = [_median(results[name]) for name, _, _ in sides]
        line = f"{label:<20}" + "".join(f" | {_cell(run):<36}" for run in medians)
        if len(sides) > 1:
            line += " | " + ("yes" if len({run.digest for run in medians}) == 1 else "NO")
        print(line, flush=True)
    print(f"(databases in {work})", file=sys.stderr)


if __name__ == "__main__":
    main()
