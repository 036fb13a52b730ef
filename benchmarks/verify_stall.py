"""What `--verify` costs on a large body: the check itself, and the longest pause of hookbin's event loop.

1. The check alone, in this process: `check_all` on a body of `--size` bytes (default 10 MiB)
   for two schemes, against one bare `hashlib.sha256` pass over the same bytes (the floor: a
   signature cannot be checked without hashing the body once).
2. A real hookbin (`hookbin serve --no-tui`, `--max-body` large enough) receives `--posts`
   signed bodies of that size one after another. It runs with asyncio's debug mode reporting
   every event-loop step longer than 5 ms; the longest steps of the request handler are
   reported. Three hookbins: without `--verify` (the baseline: reading and storing the big
   body costs the same), with `--verify standard:…` as shipped (bodies over
   `VERIFY_ON_LOOP_BYTES` checked in a worker thread), and with the check forced onto the loop
   (what the worker thread saves). Debug mode slows every step a little: compare the rows.

    python benchmarks/verify_stall.py [--size 10m] [--posts 5] [--json]

Exit status: 0 for a complete measurement (whatever the figures); 1 if a request failed or a
signature was not stored as valid.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from hookbin.durations import parse_size
from hookbin.signatures import check_all, parse_verifier, sign

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)/")
SLOW_STEP = re.compile(r"Executing <.*?RequestHandler\._handle_request.*? took ([0-9.]+) seconds")
# hookbin with every loop step over 5 ms logged; with argv[1] == "loop", the on-loop threshold
# is raised past any body, so the check runs on the loop.
WRAPPER = """
import sys, asyncio.base_events as base
init = base.BaseEventLoop.__init__
def debug_init(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.set_debug(True)
    self.slow_callback_duration = 0.005
base.BaseEventLoop.__init__ = debug_init
import hookbin.server.catcher as catcher
if sys.argv.pop(1) == "loop":
    catcher.VERIFY_ON_LOOP_BYTES = 1 << 62
from hookbin.cli import main
sys.argv[0] = "hookbin"
main()
"""


def check_alone(body: bytes, rounds: int = 5) -> dict[str, float]:
    """Median milliseconds of one check per scheme, and of one bare SHA-256 pass."""
    now = int(time.time())
    github = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
    cases = {
        "sha256 (floor)": None,
        "standard": (
            f"standard:{SECRET}",
            [("webhook-id", "m"), ("webhook-timestamp", str(now)), ("webhook-signature", sign(SECRET, "m", now, body))],
        ),
        "github": ("github:s", [("X-Hub-Signature-256", github)]),
    }
    out: dict[str, float] = {}
    for name, case in cases.items():
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            if case is None:
                hashlib.sha256(body).digest()
            else:
                result = check_all([parse_verifier(case[0])], case[1], body, now)
                if result is None or not result.valid:
                    raise SystemExit(f"{name}: the signature did not verify: {result}")
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times) * 1000
    return out


def serve_and_post(size: int, posts: int, mode: str) -> list[float]:
    """Post `posts` signed bodies to a hookbin run in `mode`; the handler's loop steps over 5 ms."""
    body = json.dumps({"blob": "x" * (size - 12)}).encode()
    verify = [] if mode == "none" else ["--verify", "standard:" + SECRET]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRAPPER,
                mode,
                "serve",
                "--no-tui",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--db",
                str(db),
                "--max-body",
                str(size * 2),
                *verify,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("HOOKBIN_")},
        )
        assert proc.stderr is not None
        seen: list[str] = []
        while not (match := LISTENING.search(seen[-1] if seen else "")):
            seen.append(proc.stderr.readline())  # debug lines may come first
            if not seen[-1]:
                raise SystemExit(f"hookbin did not start: {''.join(seen)}")
        try:
            for number in range(posts):
                now = int(time.time())
                headers = {
                    "Content-Type": "application/json",
                    "webhook-id": f"msg_{number}",
                    "webhook-timestamp": str(now),
                    "webhook-signature": sign(SECRET, f"msg_{number}", now, body),
                }
                request = urllib.request.Request(match.group(1) + "/big", data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=120) as answer:
                    if answer.status != 200:
                        raise SystemExit(f"{mode}: a big body was answered {answer.status}")
        finally:
            proc.terminate()
            log = "".join(seen) + proc.communicate(timeout=30)[1]
        if verify:
            with sqlite3.connect(db) as conn:
                verdicts = conn.execute("SELECT signature_valid FROM captures").fetchall()
            if verdicts != [(1,)] * posts:
                raise SystemExit(f"{mode}: not every big body was stored as valid: {verdicts}")
    return sorted((float(took) * 1000 for took in SLOW_STEP.findall(log)), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10m", help="body size (default 10m)")
    parser.add_argument("--posts", type=int, default=5, help="big bodies per hookbin (default 5)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    size = parse_size(args.size)
    alone = check_alone(os.urandom(size))
    modes = {"none": "no --verify", "thread": "--verify (worker thread)", "loop": "--verify (forced on the loop)"}
    steps = {mode: serve_and_post(size, args.posts, mode) for mode in modes}
    if args.json:
        print(json.dumps({"size": size, "posts": args.posts, "check_ms": alone, "slow_steps_ms": steps}))
        return
    print(f"one check of a {size / 2**20:g} MiB body (median of 5):")
    for name, ms in alone.items():
        print(f"  {name:<16} {ms:8.2f} ms")
    print(f"request-handler loop steps over 5 ms while {args.posts} signed {size / 2**20:g} MiB bodies arrive:")
    for mode, label in modes.items():
        longest = ", ".join(f"{ms:.0f}" for ms in steps[mode][:5]) or "none"
        print(f"  {label:<30} {len(steps[mode]):3d} steps; longest (ms): {longest}")


if __name__ == "__main__":
    main()
