"""hookbin with its terminal UI live in tmux, as a user runs it, for the benchmarks: started on
a port chosen beforehand, probed until it answers, its screen read and its keys pressed through
tmux, its memory read from /proc, and its exit status kept by tmux once it quits.

tmux is the terminal: it reads and parses everything the TUI draws, as the user's terminal
would, so what drawing costs is in the figures. Each `TmuxHookbin` has a tmux server of its own
(`tmux -L NAME`, no user configuration) that ends with it.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import time
from pathlib import Path

from harness import BenchmarkError, clean_env, free_port, hookbin_command, log

COLUMNS, ROWS = 150, 45
"""The terminal's size, as peers.sh gives the TUIs it compares."""
READY_TIMEOUT = 30.0
HELP_TIMEOUT = 5.0
HELP_TITLE = "hookbin keys"
QUIT_TIMEOUT = 15.0
ESCAPE_PAUSE = 0.5
QUIT_AGAIN = 5.0
STOPPED = "hookbin: stopped;"
"""What hookbin writes as it exits, once the TUI has let go of the terminal."""
"""Seconds after which a `q` that did not stop hookbin is taken as lost and pressed again."""
"""A key right after ESC would read as alt+key: the pause between them."""
TMUX_CONF = """\
set -g remain-on-exit on
set -g default-terminal tmux-256color
set -g status off
"""
"""remain-on-exit keeps the pane after hookbin exits, so its exit status can be read."""
FOLLOWING, PAUSED = "▶ following", "⏸ paused"
"""The list's state as the TUI's header shows it; it pauses when the cursor leaves the bottom."""


def zombie_status(pid: int) -> int | None:
    """The exit status of process `pid` if it has exited and is not reaped yet (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields from the third on (the name before them may hold spaces): the state, then the
    # 52nd field, the status as waitpid(2) gives it.
    if fields[0] != "Z" or len(fields) < 50:
        return None
    return os.waitstatus_to_exitcode(int(fields[49]))


class TmuxHookbin:
    """`hookbin serve` with its TUI in a tmux pane of COLUMNS x ROWS."""

    def __init__(self, name: str, db: Path, workdir: Path) -> None:
        self.name = name
        self.db = db
        self.port = free_port()
        self.socket = f"hookbin-bench-{self.port}"
        self.conf = workdir / "tmux.conf"
        self.pid = 0
        self.probes_sent = 0
        """Readiness probes that reached hookbin (each may be a capture)."""
        self.probes_answered = 0
        self._started = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tmux(self, *args: str) -> str:
        """Run a tmux command on this hookbin's own tmux server; its stdout."""
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=clean_env(),
        )
        if done.returncode != 0:
            raise BenchmarkError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    # -- start ----------------------------------------------------------------------------

    def __enter__(self) -> TmuxHookbin:
        self.conf.write_text(TMUX_CONF)
        # More than one argument: tmux runs the command itself, no shell between, so the pane's
        # process is hookbin's and its memory and exit status are hookbin's.
        serve = hookbin_command(self.db, self.port, tui=True)
        self.tmux("new-session", "-d", "-s", "bench", "-x", str(COLUMNS), "-y", str(ROWS), *serve)
        self._started = True
        try:
            self.pid = int(self.tmux("display-message", "-p", "-t", "bench", "#{pane_pid}").strip())
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _probe(self) -> bool:
        """One GET to hookbin: True once it answers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/bench/ready")
            connection.getresponse().read()
        except ConnectionRefusedError:
            return False  # nothing listens yet, and nothing reached hookbin
        except (OSError, http.client.HTTPException):
            self.probes_sent += 1  # it reached hookbin unanswered: it may be stored or not
            return False
        finally:
            connection.close()
        self.probes_sent += 1
        self.probes_answered += 1
        return True

    def _wait_ready(self) -> None:
        """Until hookbin answers HTTP on its port and the TUI has drawn its header."""
        deadline = time.monotonic() + READY_TIMEOUT
        answered = False
        while time.monotonic() < deadline:
            if self.exit_status() is not None:
                raise BenchmarkError(f"the TUI hookbin exited before it was ready: {self.screen_tail()}")
            answered = answered or self._probe()
            if answered and "listening on" in self.screen():
                return
            time.sleep(0.1)
        what = "draw its header" if answered else f"answer HTTP on port {self.port}"
        raise BenchmarkError(f"the TUI hookbin did not {what} within {READY_TIMEOUT:.0f} s: {self.screen_tail()}")

    # -- the terminal ---------------------------------------------------------------------

    def screen(self) -> str:
        """What the pane shows now, as text."""
        return self.tmux("capture-pane", "-p", "-t", "bench")

    def screen_tail(self, chars: int = 300) -> str:
        try:
            text = " ".join(self.screen().split())
        except BenchmarkError as exc:
            return str(exc)
        return text[-chars:] or "(nothing on the screen)"

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "bench", *keys)

    def wait_for(self, text: str, timeout: float, gone: bool = False) -> float | None:
        """Seconds until `text` is on the screen (off it, with `gone`), or None after `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if (text in self.screen()) != gone:
                return time.monotonic() - started
            time.sleep(0.02)
        return None

    def list_state(self) -> str:
        """ "following" or "paused", as the header says now ("unknown" if it says neither)."""
        screen = self.screen()
        if FOLLOWING in screen:
            return "following"
        return "paused" if PAUSED in screen else "unknown"

    def help_opens(self) -> float | None:
        """Press `?`; seconds until the help screen's title shows, or None after HELP_TIMEOUT."""
        started = time.monotonic()
        self.press("?")
        if self.wait_for(HELP_TITLE, HELP_TIMEOUT) is None:
            return None
        return time.monotonic() - started

    # -- stop -----------------------------------------------------------------------------

    def exit_status(self) -> int | None:
        """hookbin's exit status once it has exited, else None.

        tmux keeps the dead pane and says the status, once it has reaped the process. Some
        tmux (3.3a, busy) leave it a zombie for good: its status is then read from /proc.
        """
        dead, _, status = self.tmux(
            "display-message", "-p", "-t", "bench", "#{pane_dead} #{pane_dead_status}"
        ).partition(" ")
        status = status.strip()
        if dead == "1" and status.lstrip("-").isdigit():
            return int(status)
        return zombie_status(self.pid)

    def quit(self) -> tuple[int | None, float]:
        """Close the help screen if it is open, then `q`: hookbin's exit status and the seconds
        it took to exit (None and QUIT_TIMEOUT if it did not within QUIT_TIMEOUT).

        An ESC and a key read together are alt+key. On a busy machine the app may not read the
        ESC before the `q` arrives, however long the pause: so ESC only when there is a screen
        to close, and `q` again if hookbin is still up after a while (the first was lost).
        """
        if HELP_TITLE in self.screen():
            self.press("Escape")
            self.wait_for(HELP_TITLE, HELP_TIMEOUT, gone=True)
            time.sleep(ESCAPE_PAUSE)
        started = last_q = time.monotonic()
        self.press("q")
        while time.monotonic() - started < QUIT_TIMEOUT:
            status = self.exit_status()
            if status is not None:
                return status, time.monotonic() - started
            if time.monotonic() - last_q > QUIT_AGAIN and STOPPED not in self.screen():
                log("  the TUI is still up: `q` again")
                self.press("q")
                last_q = time.monotonic()
            time.sleep(0.05)
        log(f"  the TUI hookbin did not exit within {QUIT_TIMEOUT:.0f} s of `q`: {self.screen_tail()}")
        return None, QUIT_TIMEOUT

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._started = False
            kill = ["tmux", "-L", self.socket, "kill-server"]
            subprocess.run(kill, stdin=subprocess.DEVNULL, capture_output=True, env=clean_env())
