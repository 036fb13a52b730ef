"""What every benchmark here needs around the servers it measures: subprocess servers, free
ports, the tools it runs (installing them when it can), resident memory, and the row count.

Nothing here measures anything: `throughput.py` and `memory.py` do, with these parts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
BODY = HERE / "segmanta_body.json"
"""The load's body: a ~1.4 KB Segmanta survey webhook, the same for every request and tool."""
PATH = "/segmanta/csat"
"""The path every load posts to."""

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0


class BenchmarkError(Exception):
    """Something that makes the measurement meaningless; one line for the user."""


def log(message: str) -> None:
    """Progress, on stderr: stdout is for the result."""
    print(message, file=sys.stderr, flush=True)


def clean_env() -> dict[str, str]:
    """This environment without HOOKBIN_* settings (every run serves the defaults) and outside
    any tmux the benchmark itself may run in."""
    return {name: value for name, value in os.environ.items() if not name.startswith("HOOKBIN_") and name != "TMUX"}


def free_port() -> int:
    """A port nobody listens on right now, for a server that must be probed before it says its port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------------- the tools

HOW_TO_INSTALL = {
    "wrk": "sudo apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)",
    "tmux": "sudo apt-get install tmux (Debian, Ubuntu) or brew install tmux (macOS)",
}


def ensure_tool(name: str, instead: str) -> None:
    """Make sure `name` is on PATH: installed with apt-get when it is missing and we are root,
    else a one-line error saying how to install it, or `instead` (another option) to do without."""
    if shutil.which(name):
        return
    if not (shutil.which("apt-get") and os.geteuid() == 0):
        raise BenchmarkError(f"{name} is missing: {HOW_TO_INSTALL[name]}; {instead}")
    log(f"{name} is not installed: apt-get install -y {name}")
    # A fresh machine may have no package lists yet: update once, only if the first try fails.
    for update_first in (False, True):
        if update_first:
            subprocess.run(["apt-get", "update", "-qq"], stdin=subprocess.DEVNULL, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", name], stdin=subprocess.DEVNULL, capture_output=True)
        if shutil.which(name):
            return
    raise BenchmarkError(f"{name} is missing and apt-get could not install it; {instead}")


# ------------------------------------------------------------------------------------ servers


def hookbin_command(db: Path, port: int = 0, *, tui: bool = False) -> list[str]:
    """hookbin as a user starts it, on `db`: headless (port 0: it picks one and says which), or
    with its TUI, which needs a terminal and says its port only on the screen."""
    mode = [] if tui else ["--no-tui"]
    return [sys.executable, "-m", "hookbin", "serve", *mode, "--port", str(port), "--db", str(db), "--admin-port", "0"]


def baseline_command(loop: str) -> list[str]:
    """The bare aiohttp catch-all on the event loop `loop` (`asyncio` or `uvloop`)."""
    return [sys.executable, str(HERE / "bare_server.py"), "--port", "0", "--loop", loop]


class Server:
    """A server subprocess whose stderr names its port; stdout and stderr go to files.

    Files, not pipes: hookbin writes a line per request, and a pipe nobody reads would fill
    and block it.
    """

    def __init__(self, name: str, command: list[str], workdir: Path) -> None:
        self.name = name
        self.command = command
        self.stdout_path = workdir / f"{name}.out".replace(" ", "-")
        self.stderr_path = workdir / f"{name}.err".replace(" ", "-")
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> Server:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=clean_env()
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


def schedule(contenders: list[T], rounds: int, duration: int, warmup: int) -> list[tuple[str, list[T], int]]:
    """The turns of a run: (label, contenders in order, seconds). A warm-up of each (unless
    `warmup` is 0), then `rounds` rounds, each starting one contender further on, so that none
    always follows the same one and a spell of other work on the machine falls on different
    contenders in different rounds."""
    turns = [("warm-up", contenders, warmup)] if warmup else []
    for number in range(1, rounds + 1):
        shift = (number - 1) % len(contenders)
        turns.append((f"round {number}", contenders[shift:] + contenders[:shift], duration))
    return turns


# ------------------------------------------------------------------------------------- checks


def memory_mib(pid: int) -> tuple[float, float] | None:
    """(peak, current) resident memory of process `pid` in MiB, as the kernel counts it
    (VmHWM, VmRSS); None where /proc does not say (not Linux, or the process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M))
    if len(fields) < 2:
        return None
    return int(fields["VmHWM"]) / 1024, int(fields["VmRSS"]) / 1024


def count_rows(db: Path) -> int:
    """Rows in `captures`, read with the stdlib (hookbin may still be serving it)."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM captures").fetchone()[0])
    except sqlite3.Error as exc:
        raise BenchmarkError(f"cannot count the captures in {db}: {exc}") from None
