"""The client-bound load generator, `--tool aiohttp`: an aiohttp client in a process of its own.

It POSTs `segmanta_body.json` (the body wrk sends) to one URL for a number of seconds at a fixed
concurrency: one aiohttp `ClientSession` whose connector holds at most C connections, and C
worker tasks sending one request after another. Workers start no request after the time is up
and finish the one they are in, so every request sent gets its answer (or its error).

This client is Python: on two cores it needs a whole core for about 10k requests/s, so it, not
the server, sets the pace of a fast server. Use it where wrk cannot be had; its ratios read high.

Prints one JSON object on stdout:
`{"sent", "answered", "ok", "failed", "statuses", "errors", "seconds", "cpu_seconds", "p50_ms",
"p99_ms"}`, `ok` counting the answers with status 200 and `cpu_seconds` the CPU this process
used while timed (near `seconds`: the client set the pace).

    python benchmarks/loadgen.py URL [--duration 5] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

BODY = Path(__file__).resolve().parent / "segmanta_body.json"
HEADERS = {"Content-Type": "application/json"}
MAX_ERRORS_KEPT = 5


@dataclass
class Tally:
    """What came back, filled in by the workers."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


async def _worker(session: aiohttp.ClientSession, url: str, body: bytes, until: float, tally: Tally) -> None:
    while time.perf_counter() < until:
        tally.sent += 1
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=HEADERS) as response:
                await response.read()
                tally.statuses[response.status] += 1
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            tally.errors[f"{type(exc).__name__}: {exc}"] += 1
            continue
        tally.latencies.append(time.perf_counter() - started)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def run(url: str, seconds: float, concurrency: int) -> dict[str, object]:
    """POST the survey body to `url` for `seconds`, `concurrency` at a time; the summary above."""
    body = BODY.read_bytes()
    tally = Tally()
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started, cpu_started = time.perf_counter(), time.process_time()
        until = started + seconds
        await asyncio.gather(*(_worker(session, url, body, until, tally) for _ in range(concurrency)))
        elapsed, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    latencies = sorted(tally.latencies)
    ok = tally.statuses.get(200, 0)
    return {
        "sent": tally.sent,
        "answered": sum(tally.statuses.values()),
        "ok": ok,
        "failed": tally.sent - ok,
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "errors": [f"{count} x {text}" for text, count in tally.errors.most_common(MAX_ERRORS_KEPT)],
        "seconds": elapsed,
        "cpu_seconds": cpu_seconds,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the URL to POST to, e.g. http://127.0.0.1:8080/segmanta/csat")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds (5)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (50)")
    args = parser.parse_args()
    summary = asyncio.run(run(args.url, args.duration, args.concurrency))
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
