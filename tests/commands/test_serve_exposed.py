"""`hookbin serve` facing strangers, as a real process: memory under a header flood, the token
and basic auth on the command line, the warning for a non-loopback --host."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hookbin.access import Access
from hookbin.commands.common import ExitStatus
from hookbin.commands.serve import exposure_warning
from hookbin.instances import running

HEADER_VALUE = b"v" * (64 * 1024 - 20)


def _peak_rss_mib(pid: int) -> tuple[int, int]:
    """(RSS now, peak RSS) of a process, in MiB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def _send_huge_headers(port: int, answers: list[bytes]) -> None:
    """One request with 1,000 headers of 64 KiB (64 MB), then read whatever the server answered."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)
        try:
            sock.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n")
            for n in range(998):
                sock.sendall(b"X-H%04d: " % n + HEADER_VALUE + b"\r\n")
            sock.sendall(b"\r\nok")
        except OSError:
            pass  # the server closed on us: what it answered is already in our buffer
        try:
            answers.append(sock.recv(100))
        except OSError as exc:
            answers.append(repr(exc).encode())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads peak RSS from /proc")
def test_a_flood_of_huge_headers_keeps_memory_bounded(tmp_path, serve):
    # Before the budget, one such request took 420 MB and eight took 2 GB (measured on main).
    served = serve("--no-tui", "--db", str(tmp_path / "c.db"))
    port = int(served.url.rsplit(":", 1)[1])
    assert served.post("/warm", b"up")[0] == 200
    before, _ = _peak_rss_mib(served.proc.pid)
    answers: list[bytes] = []
    senders = [threading.Thread(target=_send_huge_headers, args=(port, answers)) for _ in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    now, peak = _peak_rss_mib(served.proc.pid)
    assert served.post("/after", b"still fine")[0] == 200
    code, _, err = served.stop()
    print(f"RSS before {before} MiB, peak {peak} MiB, after {now} MiB")
    assert code == 0
    assert [answer[:13] for answer in answers] == [b"HTTP/1.1 431 "] * 8
    assert peak - before < 40, f"peak RSS grew from {before} to {peak} MiB"
    refused = [line for line in err.splitlines() if "431" in line or "turned away" in line]
    assert 1 <= len(refused) <= 2 and "Traceback" not in err


def test_token_gives_the_url_to_paste_and_probes_are_rejected_in_one_line(tmp_path, serve, invoke):
    db = tmp_path / "c.db"
    served = serve(
        "--no-tui",
        "--db",
        str(db),
        "--token",
        "--respond",
        "global: 503,503,200",
        "--public-url",
        "https://abc.ngrok.app/segmanta",
    )
    line = served.err_line() + served.err_line()
    paste = re.search(r"paste into the sender: https://abc\.ngrok\.app/([A-Za-z0-9_-]{22})/segmanta\n", line)
    assert paste, line
    token = paste.group(1)
    for probe in ["/segmanta", "/wp-login.php", "/"]:
        assert served.post(probe, b"{}") == (404, b"Not Found\n")
    assert served.post(f"/{token}/segmanta", b'{"a": 1}')[0] == 503
    (instance,) = running()  # the control API's credential, from the instance file
    status = urllib.request.Request(served.admin + "/api/status", headers={"Authorization": instance.authorization()})
    with urllib.request.urlopen(status, timeout=10) as response:
        assert b'"rejected": 3' in response.read()
    code, _, err = served.stop()
    assert code == 0
    rejected = [line for line in err.splitlines() if "rejected" in line or "turned away" in line]
    assert rejected[0].startswith("hookbin: rejected POST /segmanta from 127.0.0.1:")
    assert sum(int(n) for n in re.findall(r"(\d+) more turned away", err)) == 2
    listed = invoke("ls", "--db", str(db), "--json").stdout
    assert '"path": "/segmanta"' in listed and listed.count("\n") == 1


def test_the_token_is_never_stored_so_no_listing_export_or_replay_carries_it(tmp_path, serve, hookbin, recorder):
    db, token = str(tmp_path / "c.db"), "tok3n-n0t-t0-leak"
    recorder.forget()
    served = serve("--no-tui", "--db", db, "--token", token)
    assert served.post(f"/{token}/segmanta/csat?x=1", b'{"a": 1}', {"Content-Type": "application/json"})[0] == 200
    code, log, _ = served.stop()
    assert code == 0 and "/segmanta/csat?x=1" in log and token not in log
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("c.db*"))
    assert b"/segmanta/csat" in stored and token.encode() not in stored
    capture_id = json.loads(hookbin("ls", "--db", db, "--json").stdout)["id"]
    outputs = {
        "ls": hookbin("ls", "--db", db),
        "ls --json": hookbin("ls", "--db", db, "--json"),
        "show": hookbin("show", capture_id, "--db", db),
        "show --json": hookbin("show", capture_id, "--db", db, "--json"),
        **{f"export {name}": hookbin("export", "--db", db, "-f", name) for name in ("har", "ndjson", "curl", "pytest")},
        "replay": hookbin("replay", capture_id, "--db", db, "--to", recorder.url),
    }
    for what, result in outputs.items():
        assert result.returncode == 0 and "/segmanta/csat" in result.stdout, (what, result.stderr)
        assert token not in result.stdout + result.stderr, what
    received = recorder.requests.get(timeout=10)
    assert received.target == b"/segmanta/csat?x=1" and token.encode() not in repr(received).encode()


def test_basic_auth_from_the_command_line(tmp_path, serve):
    served = serve("--no-tui", "--db", str(tmp_path / "c.db"), "--auth", "segmanta:pa:ss")
    assert served.post("/hook", b"{}")[0] == 401
    good = {"Authorization": "Basic " + base64.b64encode(b"segmanta:pa:ss").decode()}
    assert served.post("/hook", b"{}", good)[0] == 200
    assert served.stop()[0] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--token", "a/b/c/d/e"],
            "hookbin: error: bad --token 'a/b/c/d/e': use letters, digits and - . _ ~ only (no /)",
        ),
        (["--auth", "nopassword"], "hookbin: error: bad --auth: give it as user:password"),
        (
            ["--header-timeout", "0s"],
            "hookbin: error: Invalid value for '--header-timeout': bad duration '0s': must be more than 0",
        ),
        (["--max-header-bytes", "lots"], "hookbin: error: Invalid value for '--max-header-bytes': bad size 'lots'"),
    ],
)
def test_bad_exposure_options_are_one_line(invoke, args, message):
    result = invoke("serve", "--no-tui", "--port", "0", "--db", ":memory:", *args)
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_a_non_loopback_host_without_a_token_is_warned_about(tmp_path, invoke):
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails after the warning, so the
    # test never listens beyond loopback.
    result = invoke("serve", "--no-tui", "--port", "0", "--db", str(tmp_path / "c.db"), "--host", "192.0.2.1")
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "hookbin: warning: --host 192.0.2.1 lets anyone who can reach this machine send requests, which are "
        "stored and use up your answers; add --token so only the secret URL is caught"
    )
    assert lines[1].startswith("hookbin: error: cannot listen on 192.0.2.1:0") and len(lines) == 2
    with_token = invoke(
        "serve", "--no-tui", "--port", "0", "--db", str(tmp_path / "c.db"), "--host", "192.0.2.1", "--token"
    )
    assert "warning" not in with_token.stderr
    assert exposure_warning("127.0.0.2", Access()) is None and exposure_warning("::1", Access()) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sets RLIMIT_NOFILE for the child")
def test_too_few_file_descriptors_lower_the_cap_and_service_survives_a_flood(tmp_path):
    def few_files() -> None:
        import resource  # Unix only, like this test

        resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))

    proc = subprocess.Popen(
        [sys.executable, "-m", "hookbin", "serve", "--no-tui", "--port", "0", "--admin-port", "0",
         "--db", str(tmp_path / "c.db")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, preexec_fn=few_files,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        first = proc.stderr.readline()
        assert first == "hookbin: only 100 open files allowed (ulimit -n): accepting at most 36 connections, not 500\n"
        port = int(re.search(r"listening on http://127\.0\.0\.1:(\d+)/", proc.stderr.readline()).group(1))
        held = []
        for _ in range(60):  # more than the process could hold without the lowered cap
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /slow HTTP/1.1\r\n")
            held.append(sock)
        held[-1].settimeout(10)
        assert held[-1].recv(100).startswith(b"HTTP/1.1 503 ")
        for sock in held:
            sock.close()
        for _ in range(100):  # closed connections free their slots as the server notices
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(f"http://127.0.0.1:{port}/after", data=b"ok"), timeout=10
                ) as response:
                    assert response.status == 200
                    break
            except urllib.error.HTTPError as exc:
                assert exc.code == 503
        else:
            raise AssertionError("service never resumed")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err and "Too many open files" not in err, err
