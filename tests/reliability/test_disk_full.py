"""Running out of disk under load: every sender hears 500 naming the cause, the log says so in
one line (not one per request) and no traceback, and storing resumes by itself once there is
room again; what was stored before and after is whole.

Two ways to run out, both under a real `hookbin serve`: a real full disk (a small tmpfs, when
this test may mount one), and, for any user, the file size limit of the hookbin process
(`ulimit -f`, set on the running process with prlimit, as a quota would). In-process checks
of the same promise (SQLite's page limit, read-only and locked files, the TUI's notice) are
tests/test_store_errors.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hookbin.commands.common import ExitStatus
from hookbin.durations import format_size
from hookbin.store import open_store
from tests.disks import fill, small_disk
from tests.reliability.load import PADDING, integrity, marked_body, post_all, stored_by_marker

resource = pytest.importorskip("resource")

CONCURRENCY = 50
REFUSED = 200
"""Requests sent while there is no room: four for each connection."""
BIG = "y" * 50_000
"""Makes a body need new database pages wherever it lands."""


@dataclass
class Shortage:
    """A way for the database of a running hookbin to run out of room, and to get it back."""

    db: Path
    make_full: Callable[[int], str]
    """Given hookbin's pid, leave no room; returns the cause hookbin should name."""
    make_room: Callable[[int], None]


@pytest.fixture(params=["tmpfs", "ulimit-f"])
def shortage(request, tmp_path) -> Iterator[Shortage]:
    """Each way to run out; the tmpfs one skips where this process may not mount."""
    if request.param == "tmpfs":
        with small_disk(tmp_path / "small", "8m") as disk:

            def make_full(pid: int) -> str:
                fill(disk / "filler")
                return "the disk is full (database or disk is full)"

            yield Shortage(disk / "c.db", make_full, lambda pid: (disk / "filler").unlink())
        return
    db = tmp_path / "c.db"

    def limit_files(pid: int) -> str:
        # The size the database's files have now: the next frame SQLite appends is refused.
        largest = max(path.stat().st_size for path in tmp_path.glob("c.db*"))
        hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]  # kept: only root may raise it
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (largest, hard))
        return f"a database file reached the file size limit of {format_size(largest)} (ulimit -f) (disk I/O error)"

    def unlimit(pid: int) -> None:
        hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))

    yield Shortage(db, limit_files, unlimit)


def marked(marker: str, padding: str = PADDING) -> tuple[str, bytes, dict[str, str]]:
    return f"/segmanta/{marker}", marked_body(marker, padding), {"Content-Type": "application/json"}


async def test_a_full_disk_under_load_answers_500_says_so_once_and_recovers(serve, shortage):
    served = serve("--no-tui", "--db", str(shortage.db), quiet=True)
    pid = served.proc.pid
    try:
        before = await post_all(served.url, [marked("before")], 1)
        cause = shortage.make_full(pid)
        refused = await post_all(served.url, [marked(f"full{n}", BIG) for n in range(REFUSED)], CONCURRENCY)
        shortage.make_room(pid)
        later = [f"after{n}" for n in range(CONCURRENCY)]
        after = await post_all(served.url, [marked(marker, BIG) for marker in later], CONCURRENCY)
    finally:
        code, _, err = served.stop()
    assert code == 0, err

    assert [status for status, _ in before + after] == [200] * (1 + CONCURRENCY)
    assert {(status, json.loads(body)["error"]) for status, body in refused} == {
        (500, f"could not store the capture: {cause}")
    }
    assert "Traceback" not in err
    trouble = [line for line in err.splitlines() if "store" in line]
    assert len(trouble) == 2, err
    assert re.fullmatch(
        rf"hookbin: could not store \d+ request\(s\): {re.escape(cause)}; senders get 500 until it is fixed, "
        r"and hookbin keeps trying",
        trouble[0],
    )
    assert trouble[1] == (
        f"hookbin: storing again; {REFUSED} request(s) could not be stored meanwhile and were answered 500"
    )

    assert integrity(shortage.db) == "ok"
    stored = {
        marker: [capture.body for capture in captures] for marker, captures in stored_by_marker(shortage.db).items()
    }
    assert stored == {"before": [marked_body("before")], **{marker: [marked_body(marker, BIG)] for marker in later}}


def test_serve_started_on_a_full_disk_says_so_in_one_line(hookbin, tmp_path):
    with small_disk(tmp_path / "small", "2m") as disk:
        db = disk / "c.db"
        with open_store(db):
            pass
        fill(disk / "filler")
        result = hookbin("serve", "--no-tui", "--port", "0", "--db", str(db))
    assert result.returncode == ExitStatus.STORE
    # SQLite's own words are "disk I/O error": its -shm file cannot be made.
    assert result.stderr == f"hookbin: error: cannot use database {db}: the disk is full (disk I/O error)\n"
