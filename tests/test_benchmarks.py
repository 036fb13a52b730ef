"""The benchmarks run end to end in a tiny mode, so that they cannot rot: real servers, real
load (wrk where it is installed, else the aiohttp client), hookbin's TUI in real tmux. They
measure, they do not judge: no figure is asserted, only that every one is there and the run's
checks (every request answered 200 and stored, clean exits) passed."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ["wrk", "aiohttp"] if shutil.which("wrk") else ["aiohttp"]
"""The aiohttp client stands in for wrk where wrk is missing: the benchmark still runs."""
HAVE_TMUX = shutil.which("tmux") is not None
ON_LINUX = sys.platform.startswith("linux")


def run_benchmark(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args, "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.timeout(300)
@pytest.mark.parametrize("tool", TOOLS)
def test_throughput_reports_every_contender_of_one_run(tool: str) -> None:
    # With wrk, everything: both baselines, headless hookbin, the TUI in tmux, start-up. The
    # client-bound aiohttp mode is run lighter where wrk is there too, so both stay working.
    full = tool == TOOLS[0]
    tui = full and HAVE_TMUX
    args = ["--tool", tool, "--rounds", "1", "--duration", "1", "--warmup", "0", "--connections", "8"]
    args += ["--startups", "1" if full else "0"] + ([] if tui else ["--no-tui"])
    report = run_benchmark("throughput.py", *args)

    assert report["ok"] is True
    assert report["tool"] == tool
    assert report["client_bound"] is (tool == "aiohttp")
    expected = {"bare_asyncio", "headless"} | ({"tui"} if tui else set())
    if importlib.util.find_spec("uvloop"):
        expected.add("bare_uvloop")
    assert set(report["servers"]) == expected
    for figures in report["servers"].values():
        assert figures["rps_median"] > 0 and len(figures["rps_rounds"]) == 1
        assert figures["p99_ms_median"] >= figures["p50_ms_median"] > 0
        assert figures["ratio"] > 0 and figures["p99_ratio"] > 0
    assert report["best_baseline"] in report["servers"]
    assert report["servers"][report["best_baseline"]]["ratio"] == 1.0
    assert report["ratio_headless"] == report["servers"]["headless"]["ratio"]

    # Every request headless hookbin answered is in its database.
    stored = report["stored"]["headless"]
    assert stored["all"] and stored["at_most"] >= stored["rows"] >= stored["answered"] > 0
    assert stored["answered"] == report["servers"]["headless"]["answered"]
    assert report["failed_requests"] == 0
    assert set(report["exits"].values()) == {0}
    if ON_LINUX:
        assert report["peak_rss_mib"]["headless"] > 0
    if full:
        assert len(report["startup_seconds"]) == 1 and report["startup_median"] > 0
    if tui:
        assert report["ratio_tui"] > 0 and report["stored"]["tui"]["all"]
        assert report["tui"]["exit"] == 0 and report["tui"]["help_seconds"] is not None
        assert set(report["tui"]["list_states"]) == {"round 1"}
    else:
        assert report["tui"] is None and report["ratio_tui"] is None


@pytest.mark.timeout(300)
@pytest.mark.skipif(not (HAVE_TMUX and ON_LINUX), reason="needs tmux (.ci/run installs it) and Linux's /proc")
def test_memory_reports_the_tui_with_large_and_with_many_captures() -> None:
    report = run_benchmark("memory.py", "--big", "2", "--big-size", "64k", "--small", "2000")

    assert report["ok"] is True
    cases = report["cases"]
    assert set(cases) == {"live", "reopened", "many"}
    assert cases["live"]["captures"] == 2 and cases["many"]["captures"] == 2000
    assert cases["live"]["body_bytes"] > 60_000 and 900 < cases["many"]["body_bytes"] < 1100
    for case in cases.values():
        assert case["peak_mib"] >= case["resident_mib"] > 0
        assert case["exit"] == 0 and case["target_mib"] > 0


@pytest.mark.timeout(300)
@pytest.mark.skipif(not shutil.which("wrk"), reason="forwarding.py loads with wrk")
def test_forwarding_reports_both_hookbins_and_the_app_alone(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "hookbin", tmp_path / "hookbin")  # the baseline: here, this same hookbin
    args = ["--baseline-src", str(tmp_path), "--rounds", "1", "--duration", "1", "--warmup", "0", "--connections", "8"]
    report = run_benchmark("forwarding.py", *args)
    assert set(report) == {"app alone", "forward, baseline", "forward, this tree"}
    assert report["app alone"]["x_app_alone"] == 1.0
    for figures in report.values():
        assert figures["rps"] > 0 and figures["p99_ms"] >= figures["p50_ms"] > 0
