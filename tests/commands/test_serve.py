"""`hookbin serve` as a user runs it: a real process that logs, stores, answers, stops cleanly,
and refuses what it cannot do in one line."""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
import urllib.request

from hookbin.commands.common import ExitStatus
from hookbin.instances import running
from hookbin.store import open_store
from tests.commands.conftest import stored


def test_serve_logs_one_line_per_request_and_stores_it(tmp_path, serve):
    db = tmp_path / "c.db"
    served = serve("--no-tui", "--db", str(db))
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


def test_serve_json_prints_only_ndjson_on_stdout(tmp_path, serve):
    served = serve("--json", "--db", str(tmp_path / "c.db"))
    served.post("/a", b"one")
    served.post("/b", b"\xff\x00")
    code, out, err = served.stop(signal.SIGINT)
    assert code == 0, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert [(o["path"], o["body"], o["body_encoding"]) for o in objects] == [
        ("/a", "one", "utf-8"),
        ("/b", "/wA=", "base64"),
    ]
    assert objects[0]["response"]["status"] == 200


def test_serve_json_prints_a_held_answers_capture_again_once_the_sender_hung_up(tmp_path, serve):
    served = serve("--json", "--db", str(tmp_path / "c.db"), "--respond", "200 delay=3s")
    request = urllib.request.Request(served.url + "/held", data=b"{}", method="POST")
    try:
        urllib.request.urlopen(request, timeout=0.5)
    except OSError:  # urllib's own timeout: it hangs up
        pass
    # Until hookbin has recorded the hang-up.
    stored(tmp_path / "c.db", lambda store: store.list_captures(limit=1)[0].response.delivered is not None)
    code, out, err = served.stop()
    assert code == 0, err
    first, again = (json.loads(line) for line in out.splitlines())
    assert first["id"] == again["id"]
    assert first["response"]["delivered"] is None and first["response"]["sender_gone_ms"] is None
    assert again["response"]["delivered"] is False and 300 <= again["response"]["sender_gone_ms"] < 3000


def test_malformed_http_is_refused_with_one_line_not_a_traceback(tmp_path, serve):
    served = serve("--no-tui", "--db", ":memory:")
    answer = served.send_raw(b"GET /\x1b]52;c;aGk=\x07 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400")
    status, _ = served.post("/after", b"still fine")
    code, _, err = served.stop()
    assert status == 200 and code == 0
    assert "Traceback" not in err and "\x1b" not in err
    refused = [line for line in err.splitlines() if "refused" in line]
    assert len(refused) == 1 and refused[0].startswith("hookbin: refused a request from 127.0.0.1")


def test_requests_the_parser_refuses_are_counted_and_said_at_most_once_a_second(serve):
    served = serve("--no-tui", "--db", ":memory:")
    unparsable = [
        b"post /segmanta HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",  # a lowercase method
        b"WEBHOOK /segmanta HTTP/1.1\r\nHost: x\r\n\r\n",  # a made-up one
        bytes.fromhex("16030100f5010000f10303") + bytes(32),  # TLS to the plain port
        b"POST /a\x1b[2Jb HTTP/1.1\r\nHost: x\r\n\r\n",  # ESC in the path
    ]
    for raw in unparsable:
        assert served.send_raw(raw).startswith(b"HTTP/1.0 400")
    (instance,) = running()  # the control API's credential, from the instance file
    status = urllib.request.Request(served.admin + "/api/status", headers={"Authorization": instance.authorization()})
    with urllib.request.urlopen(status, timeout=10) as response:
        assert json.load(response)["refused"] == 4
    code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err and "\x1b" not in err
    said = [line for line in err.splitlines() if line.startswith("hookbin: refused a request from 127.0.0.1 ")]
    summed = [re.fullmatch(r"hookbin: (\d+) more turned away in the last second: \1 not valid HTTP", line)
              for line in err.splitlines() if "more turned away" in line]  # fmt: skip
    # One line in full per second at most; the rest counted, none lost.
    assert said and all(summed) and len(said) + sum(int(m.group(1)) for m in summed) == 4, err


def test_hostile_header_is_escaped_in_show(tmp_path, serve, invoke):
    db = tmp_path / "c.db"
    served = serve("--no-tui", "--db", str(db))
    # C1 CSI (U+009B) and a right-to-left override, both legal bytes in a header value.
    served.send_raw(
        b"POST /h HTTP/1.1\r\nHost: x\r\nX-Evil: a\xc2\x9b2Jb\xe2\x80\xaec[/x]\r\n"
        b"Content-Length: 4\r\nConnection: close\r\n\r\n\x1b[2J"
    )
    assert served.stop()[0] == 0
    out = invoke("show", "--db", str(db), invoke("ls", "--db", str(db)).stdout.split()[-1]).stdout
    assert re.search(r"X-Evil +a\\x9b2Jb\\u202ec\[/x\]\n", out)
    assert "1b 5b 32 4a  " in out  # a body of control bytes is shown as hex
    assert not any(ch in out for ch in "\x1b\x9b\u202e")


def test_environment_variables_configure_serve(tmp_path, serve):
    db = tmp_path / "env.db"
    served = serve("--no-tui", env={"HOOKBIN_DB": str(db), "HOOKBIN_MAX_BODY": "1k"})
    status, _ = served.post("/big", b"x" * 2048)
    assert status == 413
    assert served.stop()[0] == 0
    assert db.exists()


def test_port_in_use_is_one_line(tmp_path, hookbin):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = hookbin("serve", "--no-tui", "--port", str(port), "--db", str(tmp_path / "c.db"))
    assert result.returncode != 0
    assert result.stderr.strip() == f"hookbin: error: catcher port {port} on 127.0.0.1 is already in use (try --port 0)"
    with open_store(tmp_path / "c.db") as store:
        assert store.last_run() == 0  # a start that failed is not a run


def test_unwritable_db_is_one_line(tmp_path, invoke):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("serve", "--no-tui", "--port", "0", "--db", str(blocker / "c.db"))
    assert result.exit_code == ExitStatus.STORE
    assert result.stderr.startswith(f"hookbin: error: cannot create {blocker}: ") and result.stderr.count("\n") == 1


def test_corrupt_db_is_one_line(tmp_path, invoke):
    db = tmp_path / "c.db"
    db.write_bytes(b"garbage" * 1000)
    result = invoke("serve", "--no-tui", "--port", "0", "--db", str(db))
    assert result.exit_code == ExitStatus.STORE
    assert result.stderr == f"hookbin: error: cannot use database {db}: file is not a database\n"


def test_serve_creates_a_missing_database(tmp_path, serve):
    db = tmp_path / "new" / "c.db"
    served = serve("--no-tui", "--db", str(db))
    assert served.post("/first", b"{}")[0] == 200
    assert served.stop()[0] == 0
    with open_store(db) as store:
        assert store.count() == 1


def test_invalid_spec_at_startup_is_one_line(invoke):
    result = invoke("serve", "--no-tui", "--db", ":memory:", "--respond", "500,oops")
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.count("\n") == 1 and "'oops'" in result.stderr


def test_bad_max_body_is_one_line(invoke):
    result = invoke("serve", "--no-tui", "--max-body", "lots")
    assert result.exit_code == ExitStatus.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--max-body" in lines[0] and "lots" in lines[0]


def test_the_tui_needs_a_terminal(invoke):
    result = invoke("serve", "--port", "0", "--db", ":memory:")
    assert result.exit_code == ExitStatus.USAGE and "--no-tui" in result.stderr


def test_sigterm_lets_an_in_flight_request_finish(tmp_path, serve):
    served = serve("--no-tui", "--db", str(tmp_path / "c.db"), "--respond", "202 delay=30s")
    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(served.post("/slow", b"in flight")))
    worker.start()
    stored(tmp_path / "c.db", lambda store: store.count() == 1)  # and now waiting out its delay
    started = time.monotonic()
    code, out, err = served.stop()
    worker.join(10)
    assert code == 0, err
    assert time.monotonic() - started < 10  # the 30 s delay was cut short
    assert answer and answer[0][0] == 202  # the sender still got its answer
    assert "/slow" in out
    with open_store(tmp_path / "c.db") as store:
        assert store.count() == 1


def test_body_file_and_headers_shape_the_answer(tmp_path, serve, invoke):
    page = tmp_path / "answer.xml"
    page.write_text("<ok/>")
    served = serve(
        "--no-tui",
        "--db",
        ":memory:",
        "--respond",
        "201",
        "--body-file",
        str(page),
        "--header",
        "X-Test: one",
        "--header",
        "X-Test: two",
    )
    request = urllib.request.Request(served.url + "/", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201 and response.read() == b"<ok/>"
        assert response.headers["Content-Type"] == "application/xml"
        assert response.headers.get_all("X-Test") == ["one", "two"]
    assert served.stop()[0] == 0
    missing = invoke("serve", "--no-tui", "--db", ":memory:", "--body-file", str(tmp_path / "nope.json"))
    assert missing.exit_code == ExitStatus.ERROR
    assert missing.stderr.startswith("hookbin: error: cannot read --body-file")


def test_delivery_key_option_groups_by_a_json_field(tmp_path, serve, invoke):
    served = serve("--json", "--db", ":memory:", "--respond", "500,200", "--delivery-key", "json:data.ref")
    first = served.post("/h", b'{"data": {"ref": "R-1"}, "attempt_time": 1}')
    second = served.post("/h", b'{"data": {"ref": "R-1"}, "attempt_time": 2}')
    code, out, _ = served.stop()
    assert (first[0], second[0], code) == (500, 200, 0)
    objects = [json.loads(line) for line in out.splitlines()]
    assert [(o["delivery_key"], o["delivery_source"], o["attempt"]) for o in objects] == [
        ("R-1", "json:data.ref", 1),
        ("R-1", "json:data.ref", 2),
    ]
    bad = invoke("serve", "--no-tui", "--db", ":memory:", "--delivery-key", "cookie:x")
    assert bad.exit_code == ExitStatus.USAGE and "bad delivery key 'cookie:x'" in bad.stderr


def test_json_output_escapes_everything_a_terminal_could_act_on(tmp_path, serve, invoke):
    db = tmp_path / "c.db"
    served = serve("--json", "--db", str(db))
    # Undecodable bytes, a C1 CSI and a bidi override: legal in a header value.
    served.send_raw(
        b"POST /j HTTP/1.1\r\nHost: x\r\nX-Evil: \xff\xc2\x9b2J\xe2\x80\xae\r\n"
        b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    code, out, _ = served.stop()
    assert code == 0
    shown = invoke("show", "--json", "--db", str(db), json.loads(out)["id"]).stdout
    for text in (out, invoke("ls", "--json", "--db", str(db)).stdout, shown):
        assert text.isascii()
        headers = dict(json.loads(text)["headers"])
        assert headers["X-Evil"] == "\udcff\x9b2J\u202e"  # round-trips exactly
