"""`hookbin ls` and `hookbin show`: listing and reading captures, and refusing a database that
is not there (run in-process with click's CliRunner: they need no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookbin.commands.common import ExitStatus
from hookbin.samples import sample_bytes
from hookbin.store import open_store
from tests.factories import tcapture


@pytest.fixture
def filled_db(tmp_path) -> Path:
    db = tmp_path / "c.db"
    with open_store(db) as store:
        store.add(tcapture(seq=1, path="/segmanta/a", status=503, attempt=1, delivery_key="k"))
        store.add(tcapture(seq=2, path="/other", method="GET", body=b"", headers=(), status=200))
        store.add(
            tcapture(
                seq=3,
                path="/segmanta/a",
                body=b'{"survey_id": 5,',
                status=200,
                attempt=2,
                headers=(("Content-Type", "application/json"), ("X-Evil", "[red]\x1b[2J")),
            )
        )
    return db


def test_ls_lists_newest_first_with_filters(filled_db, invoke):
    result = invoke("ls", "--db", str(filled_db))
    assert result.exit_code == ExitStatus.OK
    rows = result.stdout.splitlines()
    assert [row.split()[-1] for row in rows] == ["t00000000003", "t00000000002", "t00000000001"]
    assert "503" in rows[2] and "#1" in rows[2]
    assert result.stderr.strip() == "3 of 3 capture(s)"
    filtered = invoke("ls", "--db", str(filled_db), "--status", "5xx", "--json")
    assert [json.loads(line)["id"] for line in filtered.stdout.splitlines()] == ["t00000000001"]
    assert filtered.stderr == ""


def test_ls_reads_the_database_named_by_hookbin_db(filled_db, invoke):
    result = invoke("ls", "--json", env={"HOOKBIN_DB": str(filled_db)})
    assert result.exit_code == ExitStatus.OK and len(result.stdout.splitlines()) == 3


def test_ls_bad_status_is_a_usage_error(filled_db, invoke):
    result = invoke("ls", "--db", str(filled_db), "--status", "huh")
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr == (
        "hookbin: error: Invalid value for '--status': bad status filter 'huh': "
        "use e.g. 503 or 5xx (see `hookbin ls --help`)\n"
    )


def test_show_renders_headers_body_and_answer_safely(filled_db, invoke):
    result = invoke("show", "00003", "--db", str(filled_db))
    assert result.exit_code == ExitStatus.OK, result.stderr
    out = result.stdout
    assert out.startswith("POST /segmanta/a\n")
    assert "X-Evil        [red]\\x1b[2J" in out
    assert "\x1b" not in out
    assert "invalid JSON" in out
    assert "Response given\n  status 200" in out
    as_json = json.loads(invoke("show", "t00000000003", "--db", str(filled_db), "--json").stdout)
    assert as_json["body"] == '{"survey_id": 5,' and as_json["attempt"] == 2


def test_show_unknown_and_ambiguous_ids(filled_db, invoke):
    unknown = invoke("show", "zzzz", "--db", str(filled_db))
    assert unknown.exit_code == ExitStatus.NOT_FOUND
    assert unknown.stderr == f"hookbin: error: no capture with id 'zzzz' in {filled_db}\n"
    several = invoke("show", "t000", "--db", str(filled_db))
    assert several.exit_code == ExitStatus.USAGE
    assert several.stderr == "hookbin: error: id 't000' matches several captures; give more of it\n"


def test_ls_shows_delivery_and_survey_columns_and_show_summarises(tmp_path, invoke):
    db = tmp_path / "c.db"
    with open_store(db) as store:
        for seq, attempt in ((1, 1), (2, 2)):
            store.add(
                tcapture(
                    seq=seq,
                    path="/segmanta/csat",
                    body=sample_bytes("survey"),
                    attempt=attempt,
                    delivery_key="sha256:1696daea75797a7e",
                    delivery_source="hash",
                )
            )
    rows = invoke("ls", "--db", str(db)).stdout.splitlines()
    assert all("1696daea " in row and "Customer Satisfaction Survey" in row for row in rows)
    assert ["#2" in rows[0], "#1" in rows[1]] == [True, True]
    page = invoke("show", "t00000000002", "--db", str(db)).stdout
    assert 'Summary\n  Segmanta survey "Customer Satisfaction Survey" (id 1234)' in page
    assert "Custom params: crm_id=CUST-1042" in page


def test_show_and_show_json_never_hide_an_answer_under_an_unknown_key(tmp_path, invoke):
    document = json.loads(sample_bytes("question"))
    document["results"][0]["questions"][0]["answers"] = [
        {"id": 9, "answer_text": "call me back about my invoice", "note\x1b]52;c;aGk=\x07": "[red]x"}
    ]
    del document["survey_name"]
    db = tmp_path / "c.db"
    with open_store(db) as store:
        store.add(tcapture(seq=1, path="/segmanta/q", body=json.dumps(document).encode()))
        store.add(tcapture(seq=2, path="/github", body=b'{"results": [1, 2]}'))
    page = invoke("show", "00001", "--db", str(db)).stdout
    assert (
        "  1. How satisfied are you with our support?  [Rating, tag csat]\n"
        "       (no answer value in a known field)\n"
        "         unrecognised fields: answer_text, note\\x1b]52;c;aGk=\\x07\n"
        "           answer_text: call me back about my invoice\n"
        "           note\\x1b]52;c;aGk=\\x07: [red]x\n"
    ) in page
    assert "\x1b" not in page
    shown = json.loads(invoke("show", "00001", "--db", str(db), "--json").stdout)
    answer = shown["summary"]["pages"][0]["questions"][0]["answers"][0]
    assert answer["unrecognised"][0] == ["answer_text", "call me back about my invoice"]
    assert answer["id"] == "9"
    assert shown["summary"]["survey_name"] is None and shown["summary"]["survey_id"] == "1234"
    assert json.loads(invoke("show", "00002", "--db", str(db), "--json").stdout)["summary"] is None
    rows = invoke("ls", "--db", str(db)).stdout.splitlines()
    assert "survey id 1234" in rows[1] and "survey" not in rows[0]


@pytest.mark.parametrize(
    "command",
    [
        ["ls"],
        ["show", "abcd"],
        ["report"],
        ["deliveries"],
        ["send", "--to", "http://127.0.0.1:1/", "--from-capture", "abcd"],
    ],
)
def test_read_commands_refuse_a_missing_database_without_creating_it(tmp_path, invoke, command):
    db = tmp_path / "does-not-exist.db"
    result = invoke(*command, "--db", str(db))
    assert result.exit_code == ExitStatus.STORE
    assert result.stdout == ""
    assert result.stderr == (
        f"hookbin: error: no database at {db}: nothing has been caught there (hookbin serve creates it)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_database_is_one_line(tmp_path, invoke):
    db = tmp_path / "c.db"
    db.write_bytes(b"garbage" * 1000)
    for command in (["ls"], ["show", "abcd"], ["report"]):
        result = invoke(*command, "--db", str(db))
        assert result.exit_code == ExitStatus.STORE
        assert result.stderr == f"hookbin: error: cannot use database {db}: file is not a database\n"
