"""hookbin with its terminal UI running, under load, against bare aiohttp: requests/s in one run.

Starts three servers, each in a subprocess of its own:

* the baseline, `benchmarks/bare_server.py` (as `throughput.py` does);
* headless hookbin, `python -m hookbin serve --no-tui --port 0 --db <tmp>/headless.db --admin-port 0`
  (leave it out with `--no-headless`);
* hookbin **with its TUI**, `python -m hookbin serve --port P --db <tmp>/bench.db --admin-port 0`,
  in a pseudo-terminal of 120x40 with `TERM=xterm-256color`. A thread drains the pty all the
  time (a full pty buffer would stall the app) and keeps the last 200 KB of what it drew.

It waits until the TUI hookbin answers a GET on P and has drawn its header, then drives all of
them with the same load as `throughput.py` (`loadgen.py`, or `wrk` with `--tool wrk`): a warm-up
each, then rounds in turn (baseline, headless, tui, baseline, ...), and reports the median
requests/s of each and the ratios tui / baseline and headless / baseline.

After each of the TUI's turns it reads from the screen whether the list still follows new requests
(`▶ following`) or has paused (`⏸ paused`: it then draws no new rows, which costs far less, so
the figures of such turns are flagged). No key is pressed during the load.

After the load it checks the UI still answers keys: it writes `?` to the pty and waits (5 s at
most) for the help screen's title `hookbin keys` in the output, ANSI escapes stripped; then
Escape, and `q`. hookbin must exit 0 within 15 s of the `q` (else SIGTERM, and a failure).
Finally `captures` in its database, read with the stdlib `sqlite3`, must hold one row per
request it was sent: warm-up and the readiness GET(s) included.

    python benchmarks/tui_load.py [--requests 3000] [--concurrency 32] [--rounds 3] [--json]

Exit status: 0 for a complete measurement, whatever the ratios; 1 if a request failed, a request
was not stored, hookbin did not exit 0 on `q`, or the UI did not open its help after the load.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for `throughput` and `loadgen` when run as `python benchmarks/tui_load.py`

import throughput  # noqa: E402
from throughput import (  # noqa: E402
    BenchmarkError,
    Load,
    LoadSummary,
    Server,
    Stored,
    baseline_command,
    count_rows,
    drive,
    hookbin_command,
    log,
)

TARGET = 0.3
"""The hookbin-with-TUI / baseline ratio hookbin aims for."""

COLUMNS, ROWS = 120, 40
KEEP_OUTPUT = 200_000
"""Bytes of the TUI's output kept (the newest) for the checks."""
READY_TIMEOUT = 30.0
HELP_TIMEOUT = 5.0
HELP_TITLE = "hookbin keys"
QUIT_TIMEOUT = 15.0
TERM_TIMEOUT = 10.0
ESCAPE_PAUSE = 0.5
READY_PATH = "/bench/ready"
FOLLOWING, PAUSED = "▶ following", "⏸ paused"
"""The list's state as the TUI's status line shows it; it pauses when the cursor leaves the bottom."""
SETTLE = 0.3
"""Seconds given to the TUI after a round, before its list's state is read."""

ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, colours, modes
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: title, clipboard, hyperlinks
    r"|\x1b[P^_][^\x1b]*\x1b\\"  # DCS, PM, APC
    r"|\x1b[()][0-9A-Za-z]"  # character set selection
    r"|\x1b[@-Z\\-_=>78]"  # the remaining two-character escapes
)


def strip_ansi(data: bytes) -> str:
    return ANSI.sub("", data.decode("utf-8", errors="replace"))


def free_port() -> int:
    """A port nobody listens on right now (the TUI does not print its port on a line of its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _make_controlling_terminal() -> None:
    """In the child, after setsid: make the pty on fd 0 its controlling terminal, as a shell would."""
    try:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    except OSError:
        pass


@dataclass
class Quit:
    """How the TUI hookbin ended."""

    exit: int | None
    by: str
    """"q" (it quit on the key, as it should), "SIGTERM" or "SIGKILL" (it did not)."""
    seconds: float

    @property
    def ok(self) -> bool:
        return self.by == "q" and self.exit == 0


class TuiHookbin:
    """hookbin serving with its terminal UI in a pseudo-terminal, and a thread draining the pty."""

    name = "tui"

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.master = -1
        self._output = bytearray()  # the newest KEEP_OUTPUT bytes the TUI wrote
        self._total = 0  # every byte the TUI wrote
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self.probes_sent = 0
        self.probes_answered = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "hookbin",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
            "--admin-port",
            "0",
        ]

    def _env(self) -> dict[str, str]:
        env = throughput._clean_env()
        for name in list(env):
            if name.startswith("TEXTUAL") or name in ("COLUMNS", "LINES", "NO_COLOR", "TMUX"):
                del env[name]
        env["TERM"] = "xterm-256color"
        return env

    # -- start ----------------------------------------------------------------------------

    def __enter__(self) -> TuiHookbin:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        try:
            # No thread of ours runs yet, so preexec_fn is safe here.
            self.process = subprocess.Popen(
                self.command(),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self._env(),
                start_new_session=True,
                preexec_fn=_make_controlling_terminal,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # only the child holds it now: reads fail with EIO once it exits
        self.master = master
        self._reader = threading.Thread(target=self._drain, name="pty-drain", daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    continue
                chunk = os.read(self.master, 65536)
            except (OSError, ValueError):
                return  # EIO: the child and every holder of the slave are gone
            if not chunk:
                return
            with self._lock:
                self._output += chunk
                self._total += len(chunk)
                if len(self._output) > KEEP_OUTPUT:
                    del self._output[: len(self._output) - KEEP_OUTPUT]

    def _probe(self) -> bool:
        """One GET on the catcher port; True once hookbin answers (any status). It is a capture too."""
        try:
            with urllib.request.urlopen(self.url + READY_PATH, timeout=5) as response:
                response.read()
        except urllib.error.HTTPError:
            pass  # an answer all the same
        except (urllib.error.URLError, OSError) as exc:
            if not isinstance(getattr(exc, "reason", exc), ConnectionRefusedError):
                self.probes_sent += 1  # it reached hookbin, unanswered: it may be stored or not
            return False  # refused: hookbin does not listen yet, and nothing reached it
        self.probes_sent += 1
        self.probes_answered += 1
        return True

    def _wait_ready(self) -> None:
        """Until hookbin answers HTTP on its port and the TUI has drawn its header."""
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        answered = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchmarkError(
                    f"the TUI hookbin exited with {self.process.returncode} before it was ready: {self.screen_tail()}"
                )
            if not answered:
                answered = self._probe()
            if answered and "listening on" in self.text_since(0):
                return
            time.sleep(0.1)
        what = "draw its header" if answered else f"answer HTTP on port {self.port}"
        raise BenchmarkError(f"the TUI hookbin did not {what} within {READY_TIMEOUT:.0f} s: {self.screen_tail()}")

    # -- the terminal ---------------------------------------------------------------------

    @property
    def bytes_written(self) -> int:
        with self._lock:
            return self._total

    def text_since(self, mark: int) -> str:
        """What the TUI wrote since byte `mark` (as far as it is kept), ANSI escapes stripped."""
        with self._lock:
            kept = min(self._total - mark, len(self._output))
            data = bytes(self._output[len(self._output) - kept :])
        return strip_ansi(data)

    def list_state(self) -> str:
        """ "following" or "paused": the newest state the status line shows ("unknown" if none kept)."""
        text = self.text_since(0)
        following, paused = text.rfind(FOLLOWING), text.rfind(PAUSED)
        if following == paused == -1:
            return "unknown"
        return "following" if following > paused else "paused"

    def screen_tail(self, chars: int = 300) -> str:
        text = re.sub(r"\s+", " ", self.text_since(0)).strip()
        return text[-chars:] or "(no output)"

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def help_opens(self) -> float | None:
        """Press `?`; seconds until the help screen's title shows, or None after HELP_TIMEOUT."""
        mark = self.bytes_written
        started = time.monotonic()
        self.press(b"?")
        while time.monotonic() - started < HELP_TIMEOUT:
            if HELP_TITLE in self.text_since(mark):
                return time.monotonic() - started
            time.sleep(0.02)
        return None

    # -- stop -----------------------------------------------------------------------------

    def quit(self) -> Quit:
        """Close the help with Escape, then `q`: hookbin must exit 0 within QUIT_TIMEOUT."""
        assert self.process is not None
        self.press(b"\x1b")
        time.sleep(ESCAPE_PAUSE)
        started = time.monotonic()
        self.press(b"q")
        try:
            code: int | None = self.process.wait(QUIT_TIMEOUT)
            by = "q"
        except subprocess.TimeoutExpired:
            log(f"  the TUI hookbin did not exit within {QUIT_TIMEOUT:.0f} s of `q`: SIGTERM")
            self.process.send_signal(signal.SIGTERM)
            try:
                code, by = self.process.wait(TERM_TIMEOUT), "SIGTERM"
            except subprocess.TimeoutExpired:
                self.process.kill()
                code, by = self.process.wait(), "SIGKILL"
        seconds = time.monotonic() - started
        self._join()
        return Quit(code, by, seconds)

    def _join(self) -> None:
        if self._reader is not None:
            self._reader.join(5)  # it ends on EIO once the child is gone
            self._stop.set()
            self._reader.join(1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stop.set()
        self._join()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


# ------------------------------------------------------------------------------------- report


@dataclass
class Report(LoadSummary):
    args: argparse.Namespace
    servers: list[str]
    loads: list[Load]
    tui_stored: Stored
    headless_stored: Stored | None
    help_seconds: float | None
    quit: Quit
    headless_exit: int | None
    baseline_exit: int
    tui_output_bytes: int
    list_states: dict[str, str]
    """The TUI list's state after each of its turns, by label: "following" unless something is off."""

    def ratio(self, server: str) -> float | None:
        if server not in self.servers:
            return None
        baseline = self.median_rps("baseline")
        return self.median_rps(server) / baseline if baseline else 0.0

    @property
    def responsive(self) -> bool:
        return self.help_seconds is not None

    @property
    def followed(self) -> bool:
        return all(state == "following" for state in self.list_states.values())

    def paused_since(self) -> str | None:
        return next((label for label, state in self.list_states.items() if state != "following"), None)

    @property
    def ok(self) -> bool:
        headless_ok = self.headless_stored is None or (self.headless_stored.all and self.headless_exit == 0)
        return (
            self.failed == 0
            and self.tui_stored.all
            and self.quit.ok
            and self.responsive
            and headless_ok
            and self.baseline_exit == 0
        )

    def summary_line(self) -> str:
        headless = self.ratio("headless")
        stored = "yes" if self.tui_stored.all else "NO"
        responsive = f"yes ({self.help_seconds:.2f} s to open help)" if self.responsive else "NO"
        return (
            f"hookbin TUI/baseline = {self.ratio('tui'):.2f} (target >= {TARGET}); "
            + (f"headless/baseline = {headless:.2f}; " if headless is not None else "")
            + f"every request stored: {stored} ({self.tui_stored.text()}); UI responsive after load: {responsive}"
            + (
                "; list followed the load: yes"
                if self.followed
                else f"; list followed the load: NO (stopped by itself, {self.paused_since()})"
            )
        )

    def table(self) -> str:
        rows = [
            f"req/s at concurrency {self.args.concurrency}, {self.round_size()} a round, "
            f"load from {self.args.tool}; TUI in a {COLUMNS}x{ROWS} pty",
            self.table_head() + f"{'ratio':>8}",
        ]
        for server in self.servers:
            ratio = self.ratio(server)
            rows.append(
                self.server_row(server)
                + (f"{ratio:>8.2f}" if server != "baseline" and ratio is not None else f"{'':>8}")
            )
        quit = f"; it quit {self.quit.seconds:.1f} s after `q`" if self.quit.by == "q" else ""
        rows.append(f"the TUI wrote {self.tui_output_bytes / 1e6:.1f} MB to its terminal{quit}")
        rows.append(
            "the TUI's list after each turn: "
            + ", ".join(f"{label} {state}" for label, state in self.list_states.items())
        )
        note = self.client_bound_note("the ratios read high")
        if note:
            rows.append(note)
        if not self.followed:
            rows.append(
                f"WARNING: the TUI's list stopped following new requests by itself ({self.paused_since()}; no\n"
                "      key was pressed): from then on it draws no new rows, which costs far less. The tui\n"
                "      figures of those turns are not those of a TUI showing the load; run again to compare."
            )
        if self.failed:
            rows.append(f"FAILED: {self.failed} request(s) did not get a 200")
        if not self.tui_stored.all:
            rows.append(f"FAILED: the TUI hookbin stored {self.tui_stored.text()}")
        if not self.responsive:
            rows.append(f"FAILED: the help screen ('{HELP_TITLE}') did not show within {HELP_TIMEOUT:.0f} s of `?`")
        if not self.quit.ok:
            rows.append(
                f"FAILED: the TUI hookbin did not exit 0 on `q` within {QUIT_TIMEOUT:.0f} s "
                f"(stopped by {self.quit.by}, exit {self.quit.exit})"
            )
        if self.headless_stored is not None and not self.headless_stored.all:
            rows.append(f"FAILED: headless hookbin stored {self.headless_stored.text()}")
        if self.headless_exit not in (None, 0):
            rows.append(f"FAILED: headless hookbin exited with {self.headless_exit} on SIGTERM (expected 0)")
        if self.baseline_exit != 0:
            rows.append(f"FAILED: the baseline exited with {self.baseline_exit} on SIGTERM")
        rows.append(self.summary_line())
        return "\n".join(rows)

    def as_json(self) -> dict[str, Any]:
        def side(server: str) -> dict[str, Any] | None:
            return self.server_json(server) if server in self.servers else None

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            **self.load_json(),
            "terminal": f"{COLUMNS}x{ROWS}",
            "baseline": side("baseline"),
            "headless": side("headless"),
            "tui": side("tui"),
            "ratio_tui": rounded(self.ratio("tui")),
            "ratio_headless": rounded(self.ratio("headless")),
            "target": TARGET,
            "failed_requests": self.failed,
            "stored": self.tui_stored.as_json(),
            "headless_stored": None if self.headless_stored is None else self.headless_stored.as_json(),
            "ui_responsive": self.responsive,
            "help_seconds": rounded(self.help_seconds),
            "tui_exit": self.quit.exit,
            "tui_stopped_by": self.quit.by,
            "tui_quit_seconds": round(self.quit.seconds, 2),
            "tui_output_bytes": self.tui_output_bytes,
            "tui_list_states": self.list_states,
            "tui_list_followed": self.followed,
            "headless_exit": self.headless_exit,
            "baseline_exit": self.baseline_exit,
            "ok": self.ok,
        }


# --------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = throughput.load_parser(
        "Requests/s of hookbin with its terminal UI running, against bare aiohttp and headless hookbin.", 3000
    )
    parser.add_argument(
        "--no-headless",
        dest="headless",
        action="store_false",
        help="leave out headless hookbin (baseline and TUI only: a shorter run)",
    )
    args = parser.parse_args(argv)
    throughput.check_tool(parser, args)
    if min(args.requests, args.concurrency, args.rounds, args.duration) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency, --rounds and --duration must be at least 1, --warmup at least 0")
    return args


def alternate(
    servers: list[Any], tui: TuiHookbin, args: argparse.Namespace, workdir: Path, states: dict[str, str]
) -> list[Load]:
    """A warm-up on each server, then R rounds of each in turn; the TUI's list state after each of its turns.

    As `throughput.alternate`, with more than two servers and the list's state read after each
    TUI turn (into `states`, by label): a paused list draws no new rows, and costs far less.
    """
    loads: list[Load] = []
    first_id = 0  # respondent numbers never repeat, so every body in the run is different
    labels = (["warm-up"] if args.warmup > 0 else []) + [f"round {n}" for n in range(1, args.rounds + 1)]
    for label in labels:
        for server in servers:
            load = drive(server, label, args, first_id, workdir)
            loads.append(load)
            first_id += load.sent
            if server is tui:
                time.sleep(SETTLE)
                states[label] = tui.list_state()
                if states[label] != "following":
                    the = "the " if label == "warm-up" else ""
                    log(f"  tui      the list is {states[label]} after {the}{label} (no key was pressed)")
    return loads


def measure(args: argparse.Namespace) -> Report:
    with tempfile.TemporaryDirectory(prefix="hookbin-tui-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        baseline = stack.enter_context(Server("baseline", baseline_command(), workdir))
        contenders: list[Any] = [baseline]
        headless = None
        if args.headless:
            headless = stack.enter_context(Server("headless", hookbin_command(workdir / "headless.db"), workdir))
            contenders.append(headless)
        tui = stack.enter_context(TuiHookbin(workdir / "bench.db"))
        contenders.append(tui)
        log(
            f"baseline on {baseline.url}, "
            + (f"headless hookbin on {headless.url}, " if headless else "")
            + f"TUI hookbin on {tui.url} (pty {COLUMNS}x{ROWS}, db {tui.db}); load from {args.tool}"
        )
        states: dict[str, str] = {}
        loads = alternate(contenders, tui, args, workdir, states)

        help_seconds = tui.help_opens()
        if help_seconds is None:
            log(f"  no '{HELP_TITLE}' on the screen {HELP_TIMEOUT:.0f} s after `?`; last output: {tui.screen_tail()}")
        else:
            log(f"  tui      help screen shown {help_seconds:.2f} s after `?`")
        quit = tui.quit()
        if quit.ok:
            log(f"  tui      exited 0 {quit.seconds:.1f} s after `q`")
        else:
            log(f"  tui      stopped by {quit.by}, exit {quit.exit}: {tui.screen_tail()}")
        tui_stored = Stored.of("tui", loads, count_rows(tui.db), tui.probes_sent, tui.probes_answered)
        output_bytes = tui.bytes_written

        headless_exit = headless_stored = None
        if headless is not None:
            headless_exit = headless.stop()
            if headless_exit != 0:
                log(f"headless hookbin exited with {headless_exit}: {headless.stderr_tail()}")
            headless_stored = Stored.of("headless", loads, count_rows(workdir / "headless.db"))
        baseline_exit = baseline.stop()
    servers = [server.name for server in contenders]
    return Report(
        args,
        servers,
        loads,
        tui_stored,
        headless_stored,
        help_seconds,
        quit,
        headless_exit,
        baseline_exit,
        output_bytes,
        states,
    )


def main(argv: list[str] | None = None) -> int:
    return throughput.run("tui_load", parse_args, measure, argv)


if __name__ == "__main__":
    sys.exit(main())
