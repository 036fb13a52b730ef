"""`hookbin replay` against a real raw receiver: what it prints, --json, --all and filters, --edit
with a scripted $EDITOR, one-line errors; and `send --from-capture` sending the same request."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import pty
import stat
import subprocess
import sys
from dataclasses import replace

import pytest
from aiohttp import web

from hookbin.commands.common import ExitStatus
from hookbin.model import new_id
from hookbin.signatures.check import SignatureCheck
from hookbin.store import open_store
from tests.commands.conftest import pty_output
from tests.factories import tcapture
from tests.raw_receiver import RESET

SURVEY = b'{"survey_id": 1234, "custom_params": {"crm_id": "CUST-1042"}}'
JSON = (("Content-Type", "application/json"), ("User-Agent", "Segmanta-Webhooks/1.0"))


@pytest.fixture
def db(tmp_path):
    """A store with three captures: two answered 503 on /segmanta/csat, one 200 on /other."""
    path = tmp_path / "captures.db"
    with open_store(path) as store:
        store.add(tcapture(seq=1, path="/segmanta/csat", query_string="crm=1", headers=JSON, body=SURVEY, status=503))
        store.add(tcapture(seq=2, path="/other", headers=JSON, body=b'{"n": 2}', status=200))
        store.add(tcapture(seq=3, path="/segmanta/csat", query_string="crm=3", headers=JSON, body=SURVEY, status=503))
    return str(path)


@pytest.fixture
def replay(invoke):
    """`hookbin replay ARGS` in a worker thread, so the receiver on the test's loop can answer."""

    async def run(*args: str, **kwargs):
        return await asyncio.to_thread(invoke, "replay", *args, **kwargs)

    return run


def editor(tmp_path, script: str) -> dict[str, str]:
    """An $EDITOR that runs `script` (Python; the file to edit is `name`, its text `text`)."""
    path = tmp_path / "edit.py"
    path.write_text(f"#!{sys.executable}\nimport sys\nname = sys.argv[1]\ntext = open(name).read()\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return {"EDITOR": str(path), "VISUAL": ""}


async def test_one_replay_prints_status_latency_headers_and_body(db, raw_receiver, replay):
    result = await replay("t00000000001", "--to", raw_receiver.url + "/api", "--db", db)
    assert result.exit_code == ExitStatus.OK, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.startswith(f"t00000000001  POST {raw_receiver.url}/api/segmanta/csat?crm=1  201 Created  ")
    assert first.endswith(" ms  12 B")
    assert rest == ["  Content-Type: application/json", "  Content-Length: 12", "", "  {", '    "ok": true', "  }"]
    assert result.stderr == ""
    assert raw_receiver.requests[0].endswith(b"\r\n\r\n" + SURVEY)


async def test_hostile_long_binary_and_gzip_answers_are_shown_safely(db, raw_receiver, replay):
    hostile = b"\x1b]52;c;cHduZWQ=\x07\x1b[2J" + b"A" * 9000
    answers = [
        b"HTTP/1.1 500 Internal\r\nContent-Type: text/plain\r\nX-Evil: \x1b[31mred\r\nContent-Length: %d\r\n\r\n"
        % len(hostile)
        + hostile,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\n\x00\x01\xfe\xff",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
        % len(gzip.compress(b'{"crm": "updated"}'))
        + gzip.compress(b'{"crm": "updated"}'),
    ]
    raw_receiver.answer = lambda raw: answers[len(raw_receiver.requests) - 1]
    shown = [(await replay(ident, "--to", raw_receiver.url, "--db", db)).stdout for ident in ("0001", "0002", "0003")]
    assert all(ch.isprintable() or ch == "\n" for text in shown for ch in text)
    assert "X-Evil: \\x1b[31mred" in shown[0] and "\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J" in shown[0]
    assert "… 5,0" in shown[0] and "more characters (`hookbin replay --json` gives them)" in shown[0]
    assert "binary, 4 bytes" in shown[1] and "00 01 fe ff" in shown[1]
    assert '"crm": "updated"' in shown[2]


async def test_json_is_one_object_per_replay_then_a_summary(db, raw_receiver, replay):
    raw_receiver.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\xff\xfe"
    result = await replay("0003", "0001", "--to", raw_receiver.url, "--db", db, "--json")
    assert result.exit_code == ExitStatus.OK
    first, second, summary = (json.loads(line) for line in result.stdout.splitlines())
    assert [first["id"], second["id"]] == ["t00000000003", "t00000000001"]
    assert first["url"] == raw_receiver.url + "/segmanta/csat?crm=3" and first["method"] == "POST"
    assert (first["status"], first["body"], first["body_encoding"], first["edited"]) == (200, "//4=", "base64", False)
    assert first["latency_ms"] > 0 and first["error"] is None
    assert summary == {"type": "summary", "replayed": 2, "answered": 2, "no_answer": 0, "ok": True}


async def test_all_and_filters_replay_in_order_with_a_summary(db, raw_receiver, replay):
    result = await replay("--status", "5xx", "--path", "/segmanta/*", "--to", raw_receiver.url, "--db", db)
    assert result.exit_code == ExitStatus.OK
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["t00000000001", "t00000000003", "2"]
    assert result.stdout.splitlines()[-1] == "2 replayed: 2 answered (2 2xx)"
    assert [raw.split(b" ")[1] for raw in raw_receiver.requests] == [b"/segmanta/csat?crm=1", b"/segmanta/csat?crm=3"]
    everything = await replay("--all", "--to", raw_receiver.url, "--db", db, "-v")
    assert everything.stdout.count('"ok": true') == 3
    assert [raw.split(b" ")[1] for raw in raw_receiver.requests[2:]] == [
        b"/segmanta/csat?crm=1",
        b"/other",
        b"/segmanta/csat?crm=3",
    ]


async def test_the_signature_filter_picks_what_serve_verify_judged(tmp_path, raw_receiver, replay):
    db = str(tmp_path / "sig.db")
    with open_store(db) as store:
        store.add(tcapture(seq=1, path="/good", signature=SignatureCheck("github", True, "ok")))
        store.add(tcapture(seq=2, path="/forged", signature=SignatureCheck("github", False, "does not match")))
        store.add(tcapture(seq=3, path="/unchecked"))
    result = await replay("--sig", "invalid", "--to", raw_receiver.url, "--db", db)
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert [raw.split(b" ")[1] for raw in raw_receiver.requests] == [b"/forged"]


async def test_a_request_without_an_answer_makes_the_exit_status_1(db, raw_receiver, replay):
    raw_receiver.answer = lambda raw: RESET if b"/other" in raw else b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    result = await replay("--all", "--to", raw_receiver.url, "--db", db)
    assert result.exit_code == ExitStatus.ERROR
    assert "t00000000002  POST " + raw_receiver.url + "/other  connection reset  " in result.stdout
    assert result.stdout.splitlines()[-1] == "3 replayed: 2 answered (2 2xx), 1 got no answer"


async def test_edit_sends_what_the_editor_saved(db, raw_receiver, replay, tmp_path):
    env = editor(tmp_path, "open(name, 'w').write(text.replace('CUST-1042', 'CUST-9'))")
    result = await replay("0001", "--edit", "--to", raw_receiver.url, "--db", db, "--json", env=env)
    assert result.exit_code == ExitStatus.OK, result.stderr
    edited = SURVEY.replace(b"CUST-1042", b"CUST-9")
    assert raw_receiver.requests[0].endswith(b"Content-Length: %d\r\n\r\n" % len(edited) + edited)
    assert json.loads(result.stdout.splitlines()[0])["edited"] is True


async def test_edit_opens_a_gzip_body_decompressed_and_sends_it_compressed(tmp_path, raw_receiver, replay):
    db = str(tmp_path / "gz.db")
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    with open_store(db) as store:
        store.add(tcapture(seq=1, headers=headers, body=gzip.compress(SURVEY)))
    env = editor(tmp_path, "open(name, 'w').write(text.replace('1234', '5678'))")
    result = await replay("0001", "--edit", "--to", raw_receiver.url, "--db", db, env=env)
    assert result.exit_code == ExitStatus.OK, result.stderr
    head, _, body = raw_receiver.requests[0].partition(b"\r\n\r\n")
    assert b"\r\nContent-Encoding: gzip\r\n" in head and b"Content-Length: %d" % len(body) in head
    assert gzip.decompress(body) == SURVEY.replace(b"1234", b"5678")


async def test_edit_left_unsaved_sends_the_body_unchanged(db, raw_receiver, replay, tmp_path):
    result = await replay("0002", "--edit", "--to", raw_receiver.url, "--db", db, env=editor(tmp_path, "pass"))
    assert result.exit_code == ExitStatus.OK
    assert "the editor closed without saving; sending the body unchanged" in result.stderr
    assert raw_receiver.requests[0].endswith(b'\r\n\r\n{"n": 2}')


async def test_send_from_capture_sends_what_replay_exact_url_sends(db, raw_receiver, replay, invoke):
    sent = await asyncio.to_thread(
        invoke, "send", "--to", raw_receiver.url + "/in", "--from-capture", "0001", "--db", db, "--retry", ""
    )
    replayed = await replay("0001", "--to", raw_receiver.url + "/in", "--exact-url", "--db", db)
    assert (sent.exit_code, replayed.exit_code) == (ExitStatus.OK, ExitStatus.OK), sent.stderr
    assert raw_receiver.requests[0] == raw_receiver.requests[1]
    assert raw_receiver.requests[0].startswith(b"POST /in HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % raw_receiver.port)
    assert b"\r\nUser-Agent: Segmanta-Webhooks/1.0\r\n" in raw_receiver.requests[0]


@pytest.mark.parametrize(
    "args, status, says",
    [
        (["--to", "http://127.0.0.1:9"], ExitStatus.USAGE, "which captures? give IDs, --all, or a filter"),
        (["0001", "--all", "--to", "http://127.0.0.1:9"], ExitStatus.USAGE, "give capture IDs, or --all and filters"),
        (["0001", "--to", "127.0.0.1:3000"], ExitStatus.USAGE, "use an http:// or https:// URL"),
        (["0001"], ExitStatus.USAGE, "Missing option '--to'"),
        (["zzzz", "--to", "http://127.0.0.1:9"], ExitStatus.NOT_FOUND, "no capture with id 'zzzz'"),
        (["--status", "4xx", "--to", "http://127.0.0.1:9"], ExitStatus.NOT_FOUND, "no capture matches"),
        (["--status", "5x", "--to", "http://127.0.0.1:9"], ExitStatus.USAGE, "bad status filter"),
        (["0001", "--to", "http://127.0.0.1:9", "--timeout", "0s"], ExitStatus.USAGE, "must be more than 0"),
    ],
)
def test_usage_errors_are_one_line(invoke, db, args, status, says):
    result = invoke("replay", *args, "--db", db)
    assert result.exit_code == status
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hookbin: error: ") and says in lines[0], lines


def test_the_target_can_come_from_the_environment(invoke, db):
    result = invoke("replay", "0001", "--db", db, env={"HOOKBIN_REPLAY_TO": "ftp://x"})
    assert result.exit_code == ExitStatus.USAGE and "use an http:// or https:// URL" in result.stderr


async def test_a_terminal_shows_a_progress_bar_and_the_answers_above_it(db, raw_receiver):
    """On a terminal (stderr a pty), the bar is drawn there; the answers still go to stdout."""
    primary, secondary = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hookbin",
        "replay",
        "--all",
        "--to",
        raw_receiver.url,
        "--db",
        db,
        stdout=subprocess.PIPE,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "100"},
    )
    os.close(secondary)
    stdout, _ = await process.communicate()
    screen = pty_output(primary)
    os.close(primary)
    assert process.returncode == ExitStatus.OK
    assert b"replaying" in screen and b"3/3" in screen
    assert stdout.decode().splitlines()[-1] == "3 replayed: 3 answered (3 2xx)"


async def test_replaying_everything_to_hookbin_itself_ends(tmp_path, start_hookbin, replay, monkeypatch):
    """The selection is read a page at a time while the replays arrive in the same store: the
    new captures are not replayed again (the replay ends) and none of the old ones is missed."""
    monkeypatch.setattr("hookbin.store.queries.ID_PAGE", 2)
    db = tmp_path / "self.db"
    server = await start_hookbin("200", db=db)
    old = []
    for seq in range(1, 6):
        capture = tcapture(seq=seq, path=f"/n{seq}", headers=JSON, body=SURVEY)
        # Ids as the catcher makes them (they sort by time), from before the replays arrive.
        old.append(server.store.add(replace(capture, id=new_id(int(capture.received_at.timestamp() * 1000)))))
    result = await replay("--all", "--to", server.url, "--db", str(db))
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[:-1]] == [c.id for c in old]
    server.store.flush()
    assert [c.path for c in server.store.list_oldest_first()] == [f"/n{n}" for n in range(1, 6)] * 2


async def test_replaying_many_captures_uses_one_connection_to_the_receiver(db, start_app, replay):
    peers: list[int] = []

    async def accepted(request):
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername")[1])
        return web.Response(status=202)

    app = await start_app(accepted)
    result = await replay("--all", "--to", app.url, "--db", db)
    assert result.exit_code == 0, result.stderr
    assert [seen[1] for seen in app.seen] == ["/segmanta/csat?crm=1", "/other", "/segmanta/csat?crm=3"]
    assert len(peers) == 3 and len(set(peers)) == 1
