"""`hookbin export`, `import` and `clear` (and `replay --run`), and `serve --max-captures`, over real SQLite.

Captures come from a real catcher (raw HTTP over loopback) or are imported; the exports are
checked as their users would: HAR against the HAR 1.2 schema and back through import, the curl
script run by bash against a server that records raw bytes, the pytest module run by pytest
against a real hookbin standing in for the receiver's app.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from hookbin.commands.common import ExitStatus
from hookbin.model import Capture, stable_id
from hookbin.store import open_store
from tests.commands.conftest import HOOKBIN, peak_rss_mib, pty_output
from tests.factories import tcapture
from tests.har_schema import HAR_1_2
from tests.recording import fine_text, needs_curl, what_curl_should_send, without_curls_own

# Requests as a sender puts them on the wire: binary and gzip bodies, duplicate headers and
# query keys, an empty header, escapes and bytes that are not UTF-8 in the path.
GZIPPED = gzip.compress(b'{"survey_id": 1234, "answer": "\xc3\xa9"}')
RAW_REQUESTS = [
    b"POST /segmanta/csat?crm_id=CUST-1042&crm_id=2 HTTP/1.1\r\nHost: abc.ngrok.app\r\nContent-Type: "
    b"application/json\r\nAuthorization: Bearer s3cret-token\r\nX-Trace: a\r\nx-trace: b\r\nX-Empty:\r\n"
    b'Content-Length: 19\r\n\r\n{"survey_id": 1234}',
    b"POST /bin/%zz/%C3%A9/../x?q=%FF&q HTTP/1.1\r\nHost: h\r\nContent-Type: application/octet-stream\r\n"
    b"X-Raw: caf\xc3\xa9 \xff\r\nContent-Length: 6\r\n\r\n\x00\x01\xfe\xff\x1b[",
    b"PUT /gz HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nStripe-Signature: "
    b"t=1,v1=abc\r\nContent-Length: " + str(len(GZIPPED)).encode() + b"\r\n\r\n" + GZIPPED,
    b"GET /health HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=2\r\n\r\n",
]


async def send_raw(port: int, request: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")  # the answer: the capture is committed
    writer.close()


@pytest.fixture
async def caught(start_hookbin, tmp_path) -> Path:
    """A database with real captures of RAW_REQUESTS, the third answered 503 after a delay."""
    db = tmp_path / "caught.db"
    server = await start_hookbin("200", ["PUT /gz => 503 delay=10ms"], db=db)
    for request in RAW_REQUESTS:
        await send_raw(server.port, request)
    return db


def everything_in(db: Path) -> list[Capture]:
    with open_store(db) as store:
        return list(store.iter_oldest_first())


def earlier(n: int) -> Capture:
    """A capture from before this test ran, with an id of hookbin's form (ids sort by time)."""
    capture = tcapture(seq=n)
    return replace(capture, id=stable_id(int(capture.received_at.timestamp() * 1000), b"%d" % n))


def fill(db: Path, captures: list[Capture]) -> None:
    with open_store(db) as store:
        store.import_captures(captures)


# -- HAR and NDJSON: valid, and back through import unchanged -------------------------------------


async def test_har_export_validates_and_imports_back_field_for_field(caught, invoke, tmp_path):
    har = tmp_path / "captures.har"
    result = invoke("export", "--db", str(caught), "-o", str(har))
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert result.stderr == f"exported 4 capture(s) to {har} (har)\n"
    document = json.loads(har.read_text())
    jsonschema.validate(document, HAR_1_2)
    entries = document["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["POST", "POST", "PUT", "GET"]
    assert entries[1]["request"]["postData"] == {
        "mimeType": "application/octet-stream",
        "text": "AAH+/xtb",
        "encoding": "base64",
    }
    assert entries[2]["response"]["status"] == 503 and entries[2]["timings"]["wait"] >= 10
    assert oct(har.stat().st_mode & 0o777) == "0o600"

    copy = tmp_path / "copy.db"
    imported = invoke("import", str(har), "--db", str(copy))
    assert (imported.exit_code, imported.stdout) == (ExitStatus.OK, f"imported 4 capture(s) into {copy}\n")
    original = everything_in(caught)
    assert everything_in(copy) == original
    assert original[2].body == GZIPPED and original[1].path == "/bin/%zz/%C3%A9/../x"
    assert ("X-Raw", "caf\u00e9 \udcff") in original[1].headers


async def test_ndjson_export_imports_back_field_for_field(caught, invoke, tmp_path):
    result = invoke("export", "--db", str(caught), "--format", "ndjson")
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(json.loads(line)["id"] for line in lines)
    assert json.loads(lines[1])["body_encoding"] == "base64"
    copy = tmp_path / "copy.db"
    assert invoke("import", "-", "--db", str(copy), input=result.stdout).exit_code == ExitStatus.OK
    assert everything_in(copy) == everything_in(caught)


def test_filters_choose_what_is_exported(invoke, tmp_path):
    db = tmp_path / "c.db"
    fill(db, [tcapture(seq=1, path="/a", status=503), tcapture(seq=2, path="/b"), tcapture(seq=3, path="/a/x")])
    result = invoke("export", "--db", str(db), "-f", "ndjson", "--path", "/a*", "--status", "2xx")
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["t00000000003"]
    since = invoke("export", "--db", str(db), "-f", "ndjson", "--since", "2026-03-01T14:05:11+00:00")
    assert [json.loads(line)["id"] for line in since.stdout.splitlines()] == ["t00000000002", "t00000000003"]


async def test_redact_masks_credentials_in_the_file_and_says_so(caught, invoke, tmp_path):
    har = tmp_path / "safe.har"
    result = invoke("export", "--db", str(caught), "--redact", "-o", str(har))
    assert result.stderr.endswith("(har, redacted)\n")
    text = har.read_text()
    assert "s3cret-token" not in text and "t=1,v1=abc" not in text and "a=1; b=2" not in text
    assert '{"name": "Authorization", "value": "REDACTED"}' in text
    plain = invoke("export", "--db", str(caught), "-f", "ndjson").stdout
    assert "s3cret-token" in plain and "t=1,v1=abc" in plain


# -- import: duplicates skipped, malformed input one line -----------------------------------------


def test_import_skips_ids_already_there_and_counts_them(invoke, tmp_path):
    db = tmp_path / "c.db"
    mine = tcapture(seq=1, body=b"mine")
    fill(db, [mine])
    theirs = [tcapture(seq=1, body=b"theirs"), tcapture(seq=2), tcapture(seq=2, body=b"again")]
    text = "".join(json.dumps(c.to_dict()) + "\n" for c in theirs)
    result = invoke("import", "-", "--db", str(db), input=text)
    assert result.stdout == f"imported 1 capture(s) into {db}; skipped 2 whose id was already there\n"
    assert everything_in(db) == [mine, theirs[1]]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"id": "a1", "received_at": "2026-01-01T00:00:00+00:00", "method": "GET", "path": "/"}\n{"id": 5\n',
            "line 2: not valid JSON: Expecting ',' delimiter (column 9) (the 1 capture(s) before it were imported)",
        ),
        (b'{"log": {"entries": [{"request": {"url": "http://x/"}}]}}', "entry 1: missing field 'method'"),
        (b"\xff\xfe not text", "it is not UTF-8 text"),
        (b"GET / HTTP/1.1", "line 1: not valid JSON: Expecting value (column 1)"),
    ],
)
def test_malformed_input_is_one_line_naming_the_place(invoke, tmp_path, content, message):
    bad = tmp_path / "bad.har"
    bad.write_bytes(content)
    result = invoke("import", str(bad), "--db", str(tmp_path / "c.db"))
    assert result.exit_code == ExitStatus.ERROR
    assert result.stderr == f"hookbin: error: cannot import {bad}: {message}\n"


def test_a_missing_file_is_one_line(invoke, tmp_path):
    result = invoke("import", str(tmp_path / "nope.har"), "--db", str(tmp_path / "c.db"))
    assert result.exit_code == ExitStatus.ERROR
    assert result.stderr == f"hookbin: error: cannot read {tmp_path / 'nope.har'}: No such file or directory\n"


# -- curl: the script, run for real, sends each request byte for byte ----------------------------

HOSTILE = [
    tcapture(seq=1, body=b"x\x1b[201~\x15touch /tmp/pwned\r", headers=(("Content-Type", "text/plain"),)),
    tcapture(seq=2, body=b"@/etc/hostname", headers=(("X-Empty", ""), ("X-A", "1"), ("x-a", "2"))),
    tcapture(seq=3, method="HEAD", path="/h", query_string="a=1&a=2", body=b""),
    tcapture(seq=4, body=bytes(range(256)) * 300, headers=(("Content-Type", "application/octet-stream"),)),
    tcapture(seq=5, path="/\u202e\udcff a\tb", query_string="q=\x1b]52;c;aGk=\x07", body=b"it's $HOME `id` !!"),
    tcapture(seq=6, method="DELETE", path="/x[1]{2}/../y", headers=(("Authorization", "Bearer t"),), body=b""),
]


@needs_curl
def test_the_curl_script_sends_every_request_byte_for_byte(invoke, tmp_path, recorder, shell_env):
    db = tmp_path / "c.db"
    fill(db, HOSTILE)
    script = tmp_path / "replay.sh"
    result = invoke("export", "--db", str(db), "-f", "curl", "--to", recorder.url, "-o", str(script))
    assert result.exit_code == ExitStatus.OK, result.stderr
    text = script.read_text()
    assert fine_text(text) and text.count("\ncurl ") == len(HOSTILE)
    assert (tmp_path / "replay.bodies" / "t00000000004.body").read_bytes() == HOSTILE[3].body
    recorder.forget()
    run = subprocess.run(["bash", str(script)], env=shell_env, capture_output=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    for capture in HOSTILE:
        assert without_curls_own(recorder.next()) == what_curl_should_send(capture), capture.id
    assert not Path("/tmp/pwned").exists()


# -- pytest: the generated module replays the requests against the receiver's app -----------------


def run_pytest(module: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=module.parent,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


FIXTURES = [
    tcapture(
        seq=1,
        path="/segmanta/csat",
        query_string="crm_id=CUST-1042&x=%zz",
        body=b'{"survey_id": 1234}',
        headers=(("Host", "abc.ngrok.app"), ("Content-Type", "application/json"), ("X-A", "1"), ("x-a", "2")),
    ),
    tcapture(
        seq=2,
        path="/bin/\u00e9\udcff",
        body=b"\x00\xff\x1f\x8b",
        headers=(("Content-Type", "application/x"), ("X-Bytes", "caf\u00e9 \udcfe")),
    ),
    tcapture(seq=3, method="GET", path="/health", body=b"", headers=()),
]


@pytest.fixture
def module(invoke, tmp_path) -> Path:
    db = tmp_path / "c.db"
    fill(db, FIXTURES)
    target = tmp_path / "suite" / "test_webhooks.py"
    target.parent.mkdir()
    result = invoke("export", "--db", str(db), "-f", "pytest", "-o", str(target))
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert target.read_text().isascii()
    return target


async def test_the_pytest_module_replays_each_request_to_the_app(module, start_hookbin):
    app = await start_hookbin("200", ["GET /health => 503"])
    run = await asyncio.to_thread(run_pytest, module, {"HOOKBIN_REPLAY_URL": app.url})
    assert run.returncode == 1, run.stdout
    assert "2 passed" in run.stdout and "1 failed" in run.stdout
    assert "GET /health (capture t00000000003) was answered 503" in run.stdout
    received = list(reversed(app.store.list_captures()))
    # A request line carries ASCII: other bytes of the path go as %XX, and arrive so.
    paths = ["/segmanta/csat", "/bin/%C3%A9%FF", "/health"]
    assert [(c.method, c.path, c.query_string, c.body) for c in received] == [
        (sent.method, path, sent.query_string, sent.body) for sent, path in zip(FIXTURES, paths, strict=True)
    ]
    for sent, got in zip(FIXTURES, received, strict=True):
        assert [h for h in got.headers if h[0].lower() not in ("host", "content-length")] == [
            h for h in sent.headers if h[0].lower() not in ("host", "content-length")
        ]


def test_the_pytest_module_uses_the_suites_own_sender_or_skips(module):
    skipped = run_pytest(module, {"HOOKBIN_REPLAY_URL": ""})
    assert skipped.returncode == 0 and "3 skipped" in skipped.stdout
    (module.parent / "conftest.py").write_text(
        "import pytest\n\n"
        "@pytest.fixture\n"
        "def webhook_sender():\n"
        "    def send(request):\n"
        "        with open('sent.txt', 'a') as out:\n"
        "            out.write(f'{request.method} {request.target} {len(request.body)}\\n')\n"
        "        return 204\n"
        "    return send\n"
    )
    own = run_pytest(module, {"HOOKBIN_REPLAY_URL": ""})
    assert own.returncode == 0 and "3 passed" in own.stdout, own.stdout
    assert (module.parent / "sent.txt").read_text().splitlines() == [
        "POST /segmanta/csat?crm_id=CUST-1042&x=%zz 19",
        "POST /bin/%C3%A9%FF 4",
        "GET /health 0",
    ]


# -- streaming: memory stays flat; progress on a terminal -----------------------------------------


def test_export_holds_one_capture_at_a_time(tmp_path):
    """100 MB of bodies go out through a process that stays far smaller than that."""
    db = tmp_path / "big.db"
    body = os.urandom(100 * 1024)
    with open_store(db) as store:
        for start in range(0, 1000, 100):
            store.import_captures([tcapture(seq=n, body=body) for n in range(start, start + 100)])
    out = tmp_path / "big.har"
    small = peak_rss_mib([*HOOKBIN, "export", "--db", str(db), "-o", str(out), "--path", "/none"])
    peak = peak_rss_mib([*HOOKBIN, "export", "--db", str(db), "-o", str(out)])
    assert out.stat().st_size > 130 * 1024 * 1024  # the base64 of 100 MB
    assert peak - small < 25, f"exporting 100 MB grew the process from {small:.0f} to {peak:.0f} MiB"


def test_progress_goes_to_stderr_when_writing_a_file_on_a_terminal(tmp_path):
    db = tmp_path / "c.db"
    fill(db, [tcapture(seq=n) for n in range(30)])
    primary, secondary = os.openpty()
    try:
        process = subprocess.run(
            [*HOOKBIN, "export", "--db", str(db), "-o", str(tmp_path / "out.har")],
            stderr=secondary,
            stdout=subprocess.DEVNULL,
            timeout=60,
            check=True,
        )
        os.close(secondary)
        seen = pty_output(primary)
    finally:
        os.close(primary)
    assert process.returncode == 0
    assert b"exporting" in seen and b"100%" in seen
    assert b"exported 30 capture(s)" in seen


# -- clear and retention --------------------------------------------------------------------------


def test_clear_before_deletes_only_older_captures(invoke, tmp_path):
    db = tmp_path / "c.db"
    fill(db, [tcapture(seq=n) for n in range(5)])
    result = invoke("clear", "--db", str(db), "--before", "2026-03-01T14:05:11+00:00", "--yes")
    assert (result.exit_code, result.stdout) == (ExitStatus.OK, "deleted 2 capture(s)\n")
    assert [c.id for c in everything_in(db)] == ["t00000000002", "t00000000003", "t00000000004"]
    everything = invoke("clear", "--db", str(db), "-y")
    assert everything.stdout == "deleted 3 capture(s)\n" and everything_in(db) == []


def test_clear_without_a_terminal_needs_yes(invoke, tmp_path):
    db = tmp_path / "c.db"
    fill(db, [tcapture(seq=1)])
    result = invoke("clear", "--db", str(db))
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr == "hookbin: error: this would delete 1 capture(s): add --yes to confirm\n"
    assert len(everything_in(db)) == 1


@pytest.mark.parametrize(("answer", "left"), [(b"n\n", 2), (b"y\n", 0)])
def test_clear_asks_on_a_terminal(tmp_path, answer, left):
    db = tmp_path / "c.db"
    fill(db, [tcapture(seq=1), tcapture(seq=2)])
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [*HOOKBIN, "clear", "--db", str(db)], stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    os.close(secondary)
    os.write(primary, answer)
    out, err = process.communicate(timeout=60)
    os.close(primary)
    assert f"delete 2 capture(s) from {db}? [y/N]".encode() in err
    assert len(everything_in(db)) == left
    assert (process.returncode, out) == (
        (ExitStatus.OK, b"deleted 2 capture(s)\n") if left == 0 else (ExitStatus.ERROR, b"")
    )


def test_run_n_chooses_one_experiment_to_export_replay_or_clear(invoke, tmp_path, recorder):
    db = tmp_path / "c.db"
    fill(db, [tcapture(seq=n, run=1 + n % 2, path=f"/run{1 + n % 2}/{n}") for n in range(5)])
    exported = invoke("export", "--db", str(db), "-f", "ndjson", "--run", "2")
    assert [json.loads(line)["path"] for line in exported.stdout.splitlines()] == ["/run2/1", "/run2/3"]
    recorder.forget()
    replayed = invoke("replay", "--db", str(db), "--run", "2", "--to", recorder.url, "--json")
    assert replayed.exit_code == ExitStatus.OK, replayed.stderr
    assert [recorder.next().target for _ in range(2)] == [b"/run2/1", b"/run2/3"]
    assert json.loads(replayed.stdout.splitlines()[-1])["replayed"] == 2
    refused = invoke("clear", "--db", str(db), "--run", "1")
    assert refused.stderr == "hookbin: error: this would delete 3 capture(s) of run 1: add --yes to confirm\n"
    cleared = invoke("clear", "--db", str(db), "--run", "1", "--yes")
    assert cleared.stdout == "deleted 3 capture(s)\n"
    assert [c.path for c in everything_in(db)] == ["/run2/1", "/run2/3"]


def test_a_bad_before_is_a_usage_error(invoke, tmp_path):
    fill(tmp_path / "c.db", [tcapture(seq=1)])
    result = invoke("clear", "--db", str(tmp_path / "c.db"), "--before", "last week", "--yes")
    assert result.exit_code == ExitStatus.USAGE
    assert "bad --before 'last week'" in result.stderr


async def test_max_captures_keeps_the_newest_as_new_ones_arrive(start_hookbin, http, tmp_path):
    db = tmp_path / "c.db"
    fill(db, [earlier(n) for n in range(10)])
    server = await start_hookbin(db=db)
    server.store.keep_at_most(4)
    ids = []
    for n in range(6):
        async with http.post(f"{server.url}/hook/{n}", data=b"x") as response:
            ids.append((await response.json())["id"])
        assert server.store.count() == 4
    assert [c.id for c in server.store.iter_oldest_first()] == ids[-4:]


async def test_max_captures_never_deletes_more_when_another_process_deleted(start_hookbin, http, tmp_path, invoke):
    db = tmp_path / "c.db"
    server = await start_hookbin(db=db)
    server.store.keep_at_most(5)
    for n in range(5):
        async with http.post(f"{server.url}/a/{n}", data=b"x"):
            pass
    cleared = await asyncio.to_thread(invoke, "clear", "--db", str(db), "--yes")
    assert cleared.stdout == "deleted 5 capture(s)\n"
    async with http.post(f"{server.url}/after", data=b"x"):
        pass
    assert [c.path for c in server.store.iter_oldest_first()] == ["/after"]


def test_serve_max_captures_prunes_as_requests_arrive(serve, tmp_path, hookbin):
    db = tmp_path / "c.db"
    fill(db, [earlier(n) for n in range(6)])
    served = serve("--no-tui", "--db", str(db), "--max-captures", "3")
    for n in range(2):
        assert served.post(f"/new/{n}", b"x")[0] == 200
    code, _, _ = served.stop()
    assert code == 0
    listed = hookbin("ls", "--db", str(db), "--json", "--all-runs")  # /hook is from before this serve's run
    assert [json.loads(line)["path"] for line in listed.stdout.splitlines()] == ["/new/1", "/new/0", "/hook"]
