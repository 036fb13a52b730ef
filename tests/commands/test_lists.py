"""`ls`, `deliveries` and `report` over many captures: they stream or read summaries, and say
what the whole captures say (`ls` and `deliveries` in-process with CliRunner, memory and the
catcher in processes of their own)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from benchmarks.fill_store import fill
from hookbin.commands.common import ExitStatus
from hookbin.deliveries import group_deliveries
from hookbin.report import build_report
from hookbin.store import open_store
from hookbin.textout import list_row
from tests.commands.conftest import HOOKBIN, peak_rss_mib
from tests.factories import tcapture


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A database of 600 generated captures in five runs (see benchmarks/fill_store.py)."""
    path = tmp_path_factory.mktemp("lists") / "generated.db"
    with open_store(path) as store:
        fill(store, 600, seed=11)
    return path


def test_ls_json_streams_the_newest_captures_whole(generated, invoke):
    result = invoke("ls", "--db", str(generated), "--all-runs", "-n", "40", "--offset", "5", "--json")
    assert result.exit_code == ExitStatus.OK and result.stderr == ""
    with open_store(generated) as store:
        expected = [json.dumps(capture.to_dict()) for capture in store.list_captures(40, 5)]
    assert result.stdout.splitlines() == expected


def test_ls_rows_come_from_summaries_under_a_heading_per_run(generated, invoke):
    result = invoke("ls", "--db", str(generated), "--all-runs", "-n", "1000")
    assert result.exit_code == ExitStatus.OK
    with open_store(generated) as store:
        captures = store.list_captures(1000)
        last = store.last_run()
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("-- ")]
    assert lines == [list_row(capture) for capture in captures]  # as the whole capture shows
    headings = [line for line in result.stdout.splitlines() if line.startswith("-- ")]
    assert headings[0].startswith(f"-- run {last} (answering 503,503,200, since ")
    assert headings[-1] == "-- before runs were recorded" and len(headings) == last + 1
    assert result.stderr == "600 of 600 capture(s) in all runs\n"
    latest = invoke("ls", "--db", str(generated), "-n", "3")
    assert latest.stderr.startswith(f"3 of {sum(c.run == last for c in captures)} capture(s) in run {last} (")


def test_ls_holds_one_capture_at_a_time(tmp_path):
    """100 MB of bodies listed, whole with --json, through a process that stays far smaller."""
    db = tmp_path / "big.db"
    body = b'{"survey_name": "big", "results": []}' + b" " * 100 * 1024
    with open_store(db) as store:
        for start in range(0, 1000, 100):
            store.import_captures([tcapture(seq=n, body=body) for n in range(start, start + 100)])
    small = peak_rss_mib([*HOOKBIN, "ls", "--db", str(db), "--path", "/none", "--json"])
    for listing in (["--json"], []):
        peak = peak_rss_mib([*HOOKBIN, "ls", "--db", str(db), "-n", "1000", *listing])
        assert peak - small < 25, f"ls {listing} of 100 MB grew the process from {small:.0f} to {peak:.0f} MiB"


def test_deliveries_shows_the_newest_with_the_diffs_of_their_bodies(generated, invoke):
    with open_store(generated) as store:
        whole = group_deliveries(store.list_oldest_first())
    assert any(a.diff for d in whole[-40:] for a in d.attempts)  # some of those shown changed a body
    result = invoke("deliveries", "--db", str(generated), "--all-runs", "-n", "40", "--json")
    assert result.exit_code == ExitStatus.OK
    assert result.stdout.splitlines() == [json.dumps(d.to_dict()) for d in whole[-40:]]
    text = invoke("deliveries", "--db", str(generated), "--all-runs", "-n", "40")
    assert text.stderr == f"40 of {len(whole)} deliveries in all runs\n"
    assert "body changed" in text.stdout


def test_report_reads_what_the_whole_captures_say(generated, invoke):
    result = invoke("report", "--db", str(generated), "--all-runs", "--format", "json")
    assert result.exit_code == ExitStatus.OK
    report = json.loads(result.stdout)
    with open_store(generated) as store:
        whole = group_deliveries(store.list_oldest_first())
    assert report == build_report(whole, now=datetime.fromisoformat(report["now"])).to_dict()


def test_a_delivery_id_that_is_not_utf8_is_caught_and_grouped(serve, tmp_path, hookbin):
    db = tmp_path / "c.db"
    served = serve("--no-tui", "--db", str(db), "--admin-port", "0")
    request = b"POST /hook HTTP/1.1\r\nHost: x\r\nwebhook-id: ab\xffcd\r\nContent-Length: 2\r\n\r\n{}"
    assert served.send_raw(request).startswith(b"HTTP/1.1 200 ")
    assert served.send_raw(request).startswith(b"HTTP/1.1 200 ")
    code, _, err = served.stop()
    assert code == 0, err
    listed = [json.loads(line) for line in hookbin("ls", "--db", str(db), "--json").stdout.splitlines()]
    assert [(c["delivery_key"], c["attempt"]) for c in listed] == [("ab\udcffcd", 2), ("ab\udcffcd", 1)]
    deliveries = hookbin("deliveries", "--db", str(db), "--json")
    assert [len(json.loads(line)["attempts"]) for line in deliveries.stdout.splitlines()] == [2]
