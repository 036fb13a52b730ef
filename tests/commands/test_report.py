"""`hookbin report` and `hookbin deliveries` on a stored experiment (in-process with CliRunner:
they read the store and need no server)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from hookbin.commands.common import ExitStatus
from hookbin.store import open_store
from tests.factories import BASE_TIME, UA, attempt, schedule


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "captures.db"
    with open_store(path) as store:
        for capture in schedule([0, 20], [0, 1, 3], [503, 503, 200]):
            store.add(capture)
        # A changed body on a retry, and a sender that sends escape sequences.
        store.add(attempt(100, "evil", 1, ua="x\x1b[2J"))
        body = b'{"survey_id": 1234, "custom_params": {"crm_id": "evil"}, "x": "\x1b[2J"}'
        changed = replace(attempt(101, "evil", 2, ua="x\x1b[2J", status=200), body=body, body_size=len(body))
        store.add(changed)
    return str(path)


def test_cli_report_json(db, invoke):
    result = invoke("report", "--db", db, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["deliveries"] == 3
    by_sender = {s["sender"]: s for s in data["senders"]}
    assert [(g["from"], g["to"], g["median"]) for g in by_sender[UA]["gaps"]] == [(1, 2, 1.0), (2, 3, 2.0)]
    assert by_sender[UA]["retried_after"]["2xx"] == {"seen": 2, "yes": 0, "no": 2, "n-a": 0}


def test_cli_report_text_and_markdown(db, invoke):
    text = invoke("report", "--db", db)
    assert text.exit_code == 0, text.stderr
    assert "#1 -> #2" in text.stdout and "\x1b" not in text.stdout
    assert "sender x\\x1b[2J" in text.stdout
    markdown = invoke("report", "--db", db, "--format", "markdown")
    assert markdown.exit_code == 0 and markdown.stdout.startswith("# hookbin retry report")


def test_cli_report_expectation_violated_exits_1_with_one_line(db, invoke):
    result = invoke("report", "--db", db, "--format", "json", "--expect-max-attempts", "2")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["deliveries"] == 3  # the report is still printed
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"hookbin: expectation not met: {UA}: 2 of 2 deliveries took more than 2")

    ok = invoke("report", "--db", db, "--expect-max-attempts", "3", "--expect-stop-after-success")
    assert ok.exit_code == 0, ok.stderr
    assert ok.stderr == ""


def test_cli_report_since(db, invoke):
    since = (BASE_TIME + timedelta(seconds=50)).isoformat()
    result = invoke("report", "--db", db, "--format", "json", "--since", since)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["deliveries"] == 1
    recent = invoke("report", "--db", db, "--format", "json", "--since", "10m")  # the data is from March
    assert json.loads(recent.stdout)["deliveries"] == 0
    bad = invoke("report", "--db", db, "--since", "yesterday-ish")
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1 and "bad --since 'yesterday-ish'" in bad.stderr


def test_cli_store_error_is_one_line(tmp_path, invoke):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    result = invoke("report", "--db", str(corrupt))
    assert result.exit_code == ExitStatus.STORE
    assert result.stderr.startswith("hookbin: error: ") and result.stderr.count("\n") == 1


def test_cli_deliveries(db, invoke):
    result = invoke("deliveries", "--db", db)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "\x1b" not in out
    blocks = out.split("\n\n")
    assert len(blocks) == 3
    first = blocks[0].splitlines()
    assert first[0].startswith("sha256:") and f"POST /segmanta/csat  sender {UA}" in first[0]
    assert first[1].split()[0] == "#1" and first[1].split()[-1] == "503"
    assert first[2].split()[2:] == ["+1.00s", "503"]
    assert first[3].split()[2:] == ["+2.00s", "200"]
    assert first[4] == "  3 attempts, accepted at #3"
    evil = blocks[2]
    assert "sender x\\x1b[2J" in evil
    assert "+1.00s  200  body changed" in evil
    assert '"x": "\\x1b[2J"}' in evil  # the diff line (invalid JSON, so the text), made safe
    assert "3 of 3 deliveries" in result.stderr

    limited = invoke("deliveries", "--db", db, "--limit", "1")
    assert limited.stdout.count("sha256:") == 1 and "sender x\\x1b[2J" in limited.stdout


def test_cli_deliveries_json(db, invoke):
    result = invoke("deliveries", "--db", db, "--json")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [len(r["attempts"]) for r in rows] == [3, 3, 2]
    assert [a["since_previous"] for a in rows[0]["attempts"]] == [None, 1.0, 2.0]
    assert rows[2]["attempts"][1]["body_changed"] is True
    assert "\x1b" not in result.stdout  # JSON escapes it
