"""Fixtures for the command tests that need a real process: `hookbin serve` and `hookbin CMD`."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from hookbin.store import SQLiteStore, open_store

HOOKBIN = [sys.executable, "-m", "hookbin"]


def _run(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HOOKBIN, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


class Served:
    """A `hookbin serve` subprocess and the URLs it printed.

    `quiet=True` sends its stdout (a line per request) to /dev/null: under a burst nobody reads
    the pipe until `stop`, and a full pipe would stall hookbin's log and with it its store.
    """

    def __init__(self, *args: str, env: dict | None = None, quiet: bool = False) -> None:
        self.proc = subprocess.Popen(
            [*HOOKBIN, "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        line = self.proc.stderr.readline()
        self.banner = line
        """The start line: the URL, the run and what answers."""
        match = re.search(r"listening on (http://\S+?)/ ", line)
        assert match, line + self.proc.stderr.read()
        self.url = match.group(1)
        admin = re.search(r"control API (http://\S+)", line)
        self.admin = admin.group(1) if admin else None
        # The rest of stderr is read as it comes: `communicate()` would read the pipe itself
        # and miss what `readline()` had already buffered, so lines would go missing at random.
        self._err = [line]
        self._err_lines: queue.Queue[str] = queue.Queue()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self._err.append(line)
            self._err_lines.put(line)

    def err_line(self, timeout: float = 60) -> str:
        """The next line serve writes to stderr after the start line."""
        return self._err_lines.get(timeout=timeout)

    def post(self, path: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=body, headers=headers or {}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def send_raw(self, request: bytes) -> bytes:
        """Send bytes as they are (no client tidies them up) and return the start of the answer."""
        with socket.create_connection(("127.0.0.1", int(self.url.rsplit(":", 1)[1]))) as sock:
            sock.sendall(request)
            return sock.recv(1000)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out: list[str] = []
        stdout = self.proc.stdout  # None when quiet
        out_reader = threading.Thread(target=lambda: out.append(stdout.read() if stdout else ""), daemon=True)
        out_reader.start()
        self.proc.wait(timeout=20)
        out_reader.join(timeout=20)
        self._err_reader.join(timeout=20)
        return self.proc.returncode, "".join(out), "".join(self._err)


def stored(db: Path, condition: Callable[[SQLiteStore], bool], timeout: float = 60) -> None:
    """Wait until `condition` holds of what a running hookbin has stored in `db`."""
    deadline = time.monotonic() + timeout
    while True:
        with open_store(db) as store:
            if condition(store):
                return
        assert time.monotonic() < deadline, f"{db} never came to hold what the test waits for"
        time.sleep(0.05)


def peak_rss_mib(args: list[str]) -> float:
    """Run `args` from a fresh parent and return the child's peak resident memory, in MiB."""
    measure = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run([sys.executable, "-c", measure, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stdout) / 1024


def pty_output(primary: int) -> bytes:
    """Everything written to a pseudo-terminal until its other end closed (then reading fails)."""
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            return seen
        if not chunk:
            return seen
        seen += chunk


@pytest.fixture
def hookbin():
    """Run `python -m hookbin ARGS` as a process; returns the CompletedProcess (text)."""
    return _run


@pytest.fixture
def serve():
    """Start `hookbin serve --port 0 ARGS` as a process (a `Served`); any left running are killed."""
    started: list[Served] = []

    def start(*args: str, env: dict | None = None, quiet: bool = False) -> Served:
        served = Served(*args, env=env, quiet=quiet)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.communicate()
