"""The load the benchmarks send, from a process of its own: wrk (the default), or the aiohttp
client, which is client-bound; both report one `Load`.

wrk runs `post.lua` (`-t2 -c50` by default): the ~1.4 KB `segmanta_body.json` POSTed to
`/segmanta/csat` on every connection, for a number of seconds. `loadgen.py` sends the same body
at the same concurrency.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from harness import BODY, HERE, PATH, BenchmarkError, clean_env

LOAD_TIMEOUT = 600.0
WRK_TIMEOUT = "30s"
"""How long wrk waits for an answer before counting a timeout."""


@dataclass
class Load:
    """One turn of load against one server, as the load generator reports it."""

    server: str
    label: str
    answered: int
    ok: int
    failed: int
    """Answers other than 200 (wrk: 400 or more), plus requests that got no answer (socket errors, timeouts)."""
    in_flight: int
    """Requests that may have reached the server unanswered when the turn stopped: 0 for the
    aiohttp client (it waits for them), up to one per connection for wrk."""
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: list[str] = field(default_factory=list)
    client_busy: float | None = None
    """Share of one core the load generator used while timed (aiohttp client only)."""

    @property
    def rps(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0


def _run_json(command: list[str], what: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `command`; the JSON object on the last line of its stdout."""
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=LOAD_TIMEOUT,
            env=env or clean_env(),
        )
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"{what} took more than {LOAD_TIMEOUT:.0f} s") from None
    lines = done.stdout.strip().splitlines()
    try:
        if done.returncode != 0 or not lines:
            raise ValueError
        result = json.loads(lines[-1])
    except ValueError:
        raise BenchmarkError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}") from None
    if not isinstance(result, dict):
        raise BenchmarkError(f"{what} printed no summary: {lines[-1][:200]}")
    return result


def drive_wrk(server: str, label: str, url: str, seconds: int, threads: int, connections: int) -> Load:
    """wrk with `post.lua` against `url` for `seconds`.

    wrk runs for a time and stops with a request in flight on each busy connection: the server
    may or may not have read it, and nobody reads its answer (hence `in_flight`).
    """
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(HERE / "post.lua"),
        url + PATH,
    ]
    result = _run_json(command, "wrk", {**clean_env(), "BODY": str(BODY)})
    socket_errors = int(result["socket_errors"])
    not_ok = int(result["error_status"])
    answered = int(result["answered"])
    errors = []
    if socket_errors:
        errors.append(f"{socket_errors} socket error(s) or timeout(s)")
    if not_ok:
        errors.append(f"{not_ok} answer(s) with a status of 400 or more")
    return Load(
        server,
        label,
        answered=answered,
        ok=answered - not_ok,
        failed=not_ok + socket_errors,
        in_flight=connections,
        seconds=float(result["seconds"]),
        p50_ms=float(result["p50_ms"]),
        p99_ms=float(result["p99_ms"]),
        errors=errors,
    )


def drive_aiohttp(server: str, label: str, url: str, seconds: int, connections: int) -> Load:
    """`loadgen.py` (the aiohttp client, client-bound) against `url` for `seconds`."""
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        url + PATH,
        "--duration",
        str(seconds),
        "--concurrency",
        str(connections),
    ]
    result = _run_json(command, "the aiohttp load generator")
    seconds_taken = float(result["seconds"])
    return Load(
        server,
        label,
        answered=int(result["answered"]),
        ok=int(result["ok"]),
        failed=int(result["failed"]),
        in_flight=0,
        seconds=seconds_taken,
        p50_ms=float(result["p50_ms"]),
        p99_ms=float(result["p99_ms"]),
        errors=list(result["errors"]),
        client_busy=float(result["cpu_seconds"]) / seconds_taken if seconds_taken else None,
    )
