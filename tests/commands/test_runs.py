"""Runs and the one writer, as a user meets them: real `hookbin serve` processes, real `curl --retry`,
`hookbin respond --new-run`, and the read commands choosing a run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from hookbin.commands.common import ExitStatus
from hookbin.model import Run
from hookbin.store import open_store
from tests.factories import BASE_TIME, attempt

needs_curl = pytest.mark.skipif(not shutil.which("curl"), reason="drives the real curl: needs curl on PATH")


def curl_with_retries(url: str, out: Path) -> subprocess.CompletedProcess:
    """curl as a sender that retries a 503 up to 4 times, a second apart; the same body each time."""
    return subprocess.run(
        [
            "curl",
            "-sS",
            "--retry",
            "4",
            "--retry-delay",
            "1",
            "-o",
            str(out),
            "-w",
            "%{http_code}",
            "-H",
            "Content-Type: application/json",
            "--data-raw",
            '{"survey_id": 1234, "answer": 9}',
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def ls_json(hookbin, db, *args: str) -> list[dict]:
    result = hookbin("ls", "--db", db, "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@needs_curl
def test_the_same_curl_retry_experiment_twice_is_numbered_the_same_in_each_run(tmp_path, serve, hookbin):
    db = str(tmp_path / "c.db")
    served = serve("--no-tui", "--db", db, "--respond", "503,503,200")
    first = curl_with_retries(served.url + "/segmanta", tmp_path / "answer")
    assert first.stdout == "200", first.stderr
    repeat = hookbin("respond", "--new-run", "--admin", served.admin)
    assert repeat.returncode == 0 and repeat.stdout.endswith("run:       2 (new)\n"), repeat.stderr
    # Before runs, the repeat continued the old delivery as #4 and got 200 at once.
    second = curl_with_retries(served.url + "/segmanta", tmp_path / "answer")
    assert second.stdout == "200", second.stderr
    code, out, err = served.stop()
    assert code == 0, err
    assert "hookbin: run 2, answering 503,503,200\n" in err
    assert [line.split()[-2] for line in out.splitlines()] == ["#1", "#2", "#3"] * 2

    latest = ls_json(hookbin, db)
    assert [(c["run"], c["attempt"], c["response"]["status"]) for c in latest] == [
        (2, 3, 200),
        (2, 2, 503),
        (2, 1, 503),
    ]
    assert [c["run"] for c in ls_json(hookbin, db, "--run", "1")] == [1, 1, 1]
    assert len(ls_json(hookbin, db, "--all-runs")) == 6
    listed = hookbin("ls", "--db", db)
    assert listed.stderr.startswith("3 of 3 capture(s) in run 2 (answering 503,503,200, since ")
    assert listed.stderr.endswith("; --all-runs lists all 6\n")

    deliveries = hookbin("deliveries", "--db", db, "--json")
    (delivery,) = [json.loads(line) for line in deliveries.stdout.splitlines()]
    assert (delivery["run"], delivery["accepted_at_attempt"], len(delivery["attempts"])) == (2, 3, 3)
    both = hookbin("deliveries", "--db", db, "--all-runs")
    assert both.stdout.count("accepted at #3") == 2 and "  run 1\n" in both.stdout
    report = hookbin("report", "--db", db, "--expect-stop-after-success", "--expect-max-attempts", "3")
    assert report.returncode == 0, report.stdout + report.stderr
    assert report.stdout.startswith("hookbin retry report in run 2 (answering 503,503,200, since ")
    # Over both runs the key is the same body, yet each run's attempts stay a delivery of their own.
    everything = json.loads(hookbin("report", "--db", db, "--all-runs", "--format", "json").stdout)
    assert (everything["runs"], everything["deliveries"], everything["attempts"]) == ([1, 2], 2, 6)


def test_a_second_serve_on_the_same_database_is_refused_naming_the_first(tmp_path, serve, hookbin):
    db = tmp_path / "c.db"
    first = serve("--no-tui", "--db", str(db))
    assert first.post("/one", b"{}")[0] == 200
    second = hookbin("serve", "--no-tui", "--port", "0", "--db", str(db))
    port = first.url.rsplit(":", 1)[1]
    assert second.returncode == ExitStatus.STORE
    assert second.stderr == (
        f"hookbin: error: another hookbin (pid {first.proc.pid}) is serving {db.resolve()} on port {port} "
        f"({first.url}/); stop it, or serve another --db\n"
    )
    # Readers keep working alongside the writer, and the refused one changed nothing.
    listed = hookbin("ls", "--db", str(db), "--json")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 1
    assert hookbin("report", "--db", str(db)).returncode == 0
    assert first.post("/two", b"{}")[0] == 200
    assert first.stop()[0] == 0
    with open_store(db) as store:
        assert [(c.path, c.run) for c in store.list_captures()] == [("/two", 1), ("/one", 1)]


def test_a_killed_serve_leaves_no_lock_behind(tmp_path, serve):
    db = tmp_path / "c.db"
    killed = serve("--no-tui", "--db", str(db))
    assert killed.post("/before", b"same")[0] == 200
    killed.proc.send_signal(signal.SIGKILL)
    killed.proc.communicate(timeout=20)
    assert (tmp_path / "c.db.lock").exists()  # left behind with the dead one's port in it
    again = serve("--no-tui", "--db", str(db))
    assert again.post("/before", b"same")[0] == 200
    assert again.stop()[0] == 0
    with open_store(db) as store:
        assert [(c.run, c.attempt) for c in store.list_captures()] == [(2, 1), (1, 1)]


def test_read_commands_choose_runs_and_say_which(tmp_path, invoke):
    db = tmp_path / "c.db"
    with open_store(db) as store:
        store.record_run(Run(1, BASE_TIME, "503,200"))
        store.record_run(Run(2, BASE_TIME.replace(hour=15), "200", ("/health => 200",)))
        for capture, run in [(attempt(0, "A", 1), 1), (attempt(1, "A", 2, status=200), 1), (attempt(3600, "A", 1), 2)]:
            store.add(replace(capture, run=run))
    ls = invoke("ls", "--db", str(db), "--run", "1")
    assert ls.exit_code == 0 and ls.stderr.startswith("2 of 2 capture(s) in run 1 (answering 503,200, since ")
    assert "; --all-runs lists all 3" in ls.stderr
    both = invoke("ls", "--db", str(db), "--all-runs")
    headings = [line for line in both.stdout.splitlines() if line.startswith("-- ")]
    assert [h.split(" (")[0] for h in headings] == ["-- run 2", "-- run 1"]
    assert "answering 200 and 1 rule" in headings[0]
    assert both.stderr == "3 of 3 capture(s) in all runs\n"
    bad = invoke("ls", "--db", str(db), "--run", "1", "--all-runs")
    assert bad.exit_code == ExitStatus.USAGE and bad.stderr == "hookbin: error: give --run N or --all-runs, not both\n"
    report = invoke("report", "--db", str(db), "--run", "1", "--format", "markdown")
    assert "In run 1 (answering 503,200, since " in report.stdout
    nothing = invoke("deliveries", "--db", str(db), "--run", "9")
    assert nothing.exit_code == 0 and nothing.stderr == "0 of 0 deliveries in run 9\n"
