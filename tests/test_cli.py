"""`hookbin` as a user runs it: a real `serve --no-tui` process, `ls`, `show`, and one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hookbin.store import open_store
from tests.factories import tcapture

HOOKBIN = [sys.executable, "-m", "hookbin"]


def run(*args: str, env: dict | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HOOKBIN, *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


class Served:
    """A `hookbin serve` subprocess and the URL it printed."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            [*HOOKBIN, "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        line = self.proc.stderr.readline()
        match = re.search(r"listening on (http://\S+?)/ ", line)
        assert match, line + self.proc.stderr.read()
        self.url = match.group(1)
        admin = re.search(r"control API (http://\S+)", line)
        self.admin = admin.group(1) if admin else None

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
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, out, err


def test_serve_logs_one_line_per_request_and_stores_it(tmp_path):
    db = tmp_path / "c.db"
    served = Served("--no-tui", "--db", str(db))
    status, body = served.post("/segmanta/hook?x=1", b'{"survey_id": 1}', {"Content-Type": "application/json"})
    assert status == 200
    capture_id = json.loads(body)["id"]
    code, out, err = served.stop()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert re.match(r"\d\d:\d\d:\d\d\.\d{3}  POST +/segmanta/hook\?x=1 +200 +16 B +#1  " + capture_id, lines[0])
    with open_store(db) as store:
        assert store.get(capture_id).body == b'{"survey_id": 1}'


def test_serve_json_prints_only_ndjson_on_stdout(tmp_path):
    served = Served("--json", "--db", str(tmp_path / "c.db"))
    served.post("/a", b"one")
    served.post("/b", b"\xff\x00")
    code, out, err = served.stop(signal.SIGINT)
    assert code == 0, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert [(o["path"], o["body"], o["body_encoding"]) for o in objects] == [
        ("/a", "one", "utf-8"), ("/b", "/wA=", "base64"),
    ]
    assert objects[0]["response"]["status"] == 200


def test_malformed_http_is_refused_with_one_line_not_a_traceback(tmp_path):
    served = Served("--no-tui", "--db", ":memory:")
    answer = served.send_raw(b"GET /\x1b]52;c;aGk=\x07 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400")
    status, _ = served.post("/after", b"still fine")
    code, out, err = served.stop()
    assert status == 200 and code == 0
    assert "Traceback" not in err and "\x1b" not in err
    refused = [line for line in err.splitlines() if "refused" in line]
    assert len(refused) == 1 and refused[0].startswith("hookbin: refused a request from 127.0.0.1")


def test_hostile_header_is_escaped_in_show(tmp_path):
    db = tmp_path / "c.db"
    served = Served("--no-tui", "--db", str(db))
    # C1 CSI (U+009B) and a right-to-left override, both legal bytes in a header value.
    served.send_raw(b"POST /h HTTP/1.1\r\nHost: x\r\nX-Evil: a\xc2\x9b2Jb\xe2\x80\xaec[/x]\r\n"
                    b"Content-Length: 4\r\nConnection: close\r\n\r\n\x1b[2J")
    assert served.stop()[0] == 0
    out = run("show", "--db", str(db), run("ls", "--db", str(db)).stdout.split()[-1]).stdout
    assert re.search(r"X-Evil +a\\x9b2Jb\\u202ec\[/x\]\n", out)
    assert "1b 5b 32 4a  " in out  # a body of control bytes is shown as hex
    assert not any(ch in out for ch in "\x1b\x9b\u202e")


def test_environment_variables_configure_serve(tmp_path):
    db = tmp_path / "env.db"
    served = Served("--no-tui", env={"HOOKBIN_DB": str(db), "HOOKBIN_MAX_BODY": "1k"})
    status, _ = served.post("/big", b"x" * 2048)
    assert status == 413
    assert served.stop()[0] == 0
    assert db.exists()


def test_port_in_use_is_one_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run("serve", "--no-tui", "--port", str(port), "--db", str(tmp_path / "c.db"))
    assert result.returncode != 0
    assert result.stderr.strip() == f"hookbin: error: catcher port {port} on 127.0.0.1 is already in use (try --port 0)"


def test_unwritable_db_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("serve", "--no-tui", "--port", "0", "--db", str(blocker / "c.db"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_db_is_one_line(tmp_path):
    db = tmp_path / "c.db"
    db.write_bytes(b"garbage" * 1000)
    for args in (["serve", "--no-tui", "--port", "0"], ["ls"]):
        result = run(*args, "--db", str(db))
        assert result.returncode == 1
        assert result.stderr.strip() == f"hookbin: error: cannot use database {db}: file is not a database"


def test_bad_max_body_is_one_line():
    result = run("serve", "--no-tui", "--max-body", "lots")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--max-body" in lines[0] and "lots" in lines[0]


def test_tui_not_available_yet_says_so():
    result = run("serve", "--port", "0", "--db", ":memory:")
    assert result.returncode == 2 and "--no-tui" in result.stderr


def test_help_and_version():
    assert run("--version").stdout.strip() == "hookbin, version 0.1.0"
    for args in (["-h"], ["serve", "-h"], ["ls", "--help"], ["show", "-h"]):
        result = run(*args)
        assert result.returncode == 0 and "Usage:" in result.stdout


@pytest.fixture
def filled_db(tmp_path) -> Path:
    db = tmp_path / "c.db"
    with open_store(db) as store:
        store.add(tcapture(seq=1, path="/segmanta/a", status=503, attempt=1, delivery_key="k"))
        store.add(tcapture(seq=2, path="/other", method="GET", body=b"", headers=(), status=200))
        store.add(tcapture(seq=3, path="/segmanta/a", body=b'{"survey_id": 5,', status=200, attempt=2,
                           headers=(("Content-Type", "application/json"), ("X-Evil", "[red]\x1b[2J"))))
    return db


def test_ls_lists_newest_first_with_filters(filled_db):
    result = run("ls", "--db", str(filled_db))
    assert result.returncode == 0
    rows = result.stdout.splitlines()
    assert [row.split()[-1] for row in rows] == ["t00000000003", "t00000000002", "t00000000001"]
    assert "503" in rows[2] and "#1" in rows[2]
    assert result.stderr.strip() == "3 of 3 capture(s)"
    filtered = run("ls", "--db", str(filled_db), "--status", "5xx", "--json")
    assert [json.loads(line)["id"] for line in filtered.stdout.splitlines()] == ["t00000000001"]
    assert run("ls", "--db", str(filled_db), "--status", "huh").returncode == 2


def test_show_renders_headers_body_and_answer_safely(filled_db):
    result = run("show", "00003", "--db", str(filled_db))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("POST /segmanta/a\n")
    assert "X-Evil        [red]\\x1b[2J" in out
    assert "\x1b" not in out
    assert "invalid JSON" in out
    assert "Response given\n  status 200" in out
    as_json = json.loads(run("show", "t00000000003", "--db", str(filled_db), "--json").stdout)
    assert as_json["body"] == '{"survey_id": 5,' and as_json["attempt"] == 2


def test_show_unknown_id(filled_db):
    result = run("show", "zzzz", "--db", str(filled_db))
    assert result.returncode == 3
    assert result.stderr.startswith("hookbin: error: no capture with id 'zzzz'")


def test_ls_shows_delivery_and_survey_columns_and_show_summarises(tmp_path):
    sample = (Path(__file__).resolve().parent.parent / "hookbin" / "samples" / "segmanta-survey.json").read_bytes()
    db = tmp_path / "c.db"
    with open_store(db) as store:
        for seq, attempt in ((1, 1), (2, 2)):
            store.add(tcapture(seq=seq, path="/segmanta/csat", body=sample, attempt=attempt,
                               delivery_key="sha256:1696daea75797a7e", delivery_source="hash"))
    rows = run("ls", "--db", str(db)).stdout.splitlines()
    assert all("1696daea " in row and "Customer Satisfaction Survey" in row for row in rows)
    assert ["#2" in rows[0], "#1" in rows[1]] == [True, True]
    page = run("show", "t00000000002", "--db", str(db)).stdout
    assert 'Summary\n  Segmanta survey "Customer Satisfaction Survey" (id 1234)' in page
    assert "Custom params: crm_id=CUST-1042" in page


def test_sigterm_lets_an_in_flight_request_finish(tmp_path):
    import threading

    served = Served("--no-tui", "--db", str(tmp_path / "c.db"), "--respond", "202 delay=30s")
    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(served.post("/slow", b"in flight")))
    worker.start()
    time.sleep(1)  # the request is stored and waiting out its delay
    started = time.monotonic()
    code, out, err = served.stop()
    worker.join(10)
    assert code == 0, err
    assert time.monotonic() - started < 10  # the 30 s delay was cut short
    assert answer and answer[0][0] == 202  # the sender still got its answer
    assert "/slow" in out
    with open_store(tmp_path / "c.db") as store:
        assert store.count() == 1


def test_body_file_and_headers_shape_the_answer(tmp_path):
    page = tmp_path / "answer.xml"
    page.write_text("<ok/>")
    served = Served("--no-tui", "--db", ":memory:", "--respond", "201", "--body-file", str(page),
                    "--header", "X-Test: one", "--header", "X-Test: two")
    request = urllib.request.Request(served.url + "/", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201 and response.read() == b"<ok/>"
        assert response.headers["Content-Type"] == "application/xml"
        assert response.headers.get_all("X-Test") == ["one", "two"]
    assert served.stop()[0] == 0
    missing = run("serve", "--no-tui", "--body-file", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and missing.stderr.startswith("hookbin: error: cannot read --body-file")


def test_delivery_key_option_groups_by_a_json_field(tmp_path):
    served = Served("--json", "--db", ":memory:", "--respond", "500,200", "--delivery-key", "json:data.ref")
    first = served.post("/h", b'{"data": {"ref": "R-1"}, "attempt_time": 1}')
    second = served.post("/h", b'{"data": {"ref": "R-1"}, "attempt_time": 2}')
    code, out, _ = served.stop()
    assert (first[0], second[0], code) == (500, 200, 0)
    objects = [json.loads(line) for line in out.splitlines()]
    assert [(o["delivery_key"], o["delivery_source"], o["attempt"]) for o in objects] == [
        ("R-1", "json:data.ref", 1), ("R-1", "json:data.ref", 2)]
    bad = run("serve", "--no-tui", "--delivery-key", "cookie:x")
    assert bad.returncode == 2 and "bad delivery key 'cookie:x'" in bad.stderr


def test_json_output_escapes_everything_a_terminal_could_act_on(tmp_path):
    db = tmp_path / "c.db"
    served = Served("--json", "--db", str(db))
    # Undecodable bytes, a C1 CSI and a bidi override: legal in a header value.
    served.send_raw(b"POST /j HTTP/1.1\r\nHost: x\r\nX-Evil: \xff\xc2\x9b2J\xe2\x80\xae\r\n"
                    b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    code, out, _ = served.stop()
    assert code == 0
    for text in (out, run("ls", "--json", "--db", str(db)).stdout, run("show", "--json", "--db", str(db),
                                                                         json.loads(out)["id"]).stdout):
        assert text.isascii()
        headers = dict(json.loads(text)["headers"])
        assert headers["X-Evil"] == "\udcff\x9b2J\u202e"  # round-trips exactly
