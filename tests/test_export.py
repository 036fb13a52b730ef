"""Copy as curl and copy body: what is pasted runs only curl, and curl sends what was captured.

The curl tests run the real `curl` through a real `bash` against a raw-socket server that keeps
the exact bytes it receives, and compare method, request target, headers and body byte for byte.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shlex
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hookbin.export import BinaryBodyError, copyable_body, needs_body_file, save_curl, shell_quote, to_curl
from tests.factories import tcapture
from tests.recording import (
    CAPTURE,
    SKIPPED,
    Received,
    Recorder,
    as_text,
    blank,
    fine_text,
    needs_curl,
    run_bash,
    what_curl_should_send,
    without_curls_own,
)

PASTE_JACK = "x\x1b[201~\x15touch {marker}\r"


@needs_curl
@settings(max_examples=150, deadline=None)
@given(capture=CAPTURE)
@example(capture=tcapture(body=PASTE_JACK.format(marker="/tmp/pwned").encode(), seq=1))
@example(capture=tcapture(body=b"@/etc/hostname", headers=(("X-Empty", ""), ("Content-Type", "text/plain")), seq=1))
@example(capture=tcapture(method="HEAD", path="/h", query_string="a=1&a=2", body=b"", seq=1))
@example(capture=tcapture(body=b"\x00\x01binary\xff", headers=(("X-A", "1"), ("x-a", "2"), ("X-A", "")), seq=1))
@example(capture=tcapture(path="/\u202e\udcff a\tb", query_string="q=\x1b]52;c;aGk=\x07", seq=1))
def test_curl_sends_exactly_what_was_captured(capture, recorder, shell_env, tmp_path_factory):
    recorder.forget()
    command, _ = save_curl(capture, recorder.url, tmp_path_factory.mktemp("exports"))
    assert fine_text(command)
    noted = [v for n, v in capture.headers if n.lower() not in SKIPPED and blank(v)]
    assert command.count("left out: curl cannot send it") == len(noted)
    run_bash(["-c", command], shell_env)
    assert without_curls_own(recorder.next()) == what_curl_should_send(capture)


@needs_curl
def test_the_saved_script_sends_the_request_and_the_body_file(recorder, shell_env, tmp_path):
    capture = tcapture(
        path="/hook/\udcfe",
        headers=(("Content-Type", "application/octet-stream"), ("X-Bidi", "\u202egnp.exe")),
        body=bytes(range(256)) * 4097,
    )
    _, script = save_curl(capture, recorder.url + "/prefix", tmp_path / "exports")
    assert (tmp_path / "exports" / f"{capture.id}.body").read_bytes() == capture.body
    assert fine_text(script.read_text())
    run_bash([str(script)], shell_env)
    received = without_curls_own(recorder.next())
    assert received.target == b"/prefix/hook/\xfe"
    assert received.body == capture.body  # over 1 MiB: curl would add `Expect: 100-continue` unless told not to
    assert received.headers == [(b"Content-Type", b"application/octet-stream"), (b"X-Bidi", "\u202egnp.exe".encode())]


@needs_curl
async def test_the_command_really_replays_the_request_to_hookbin(start_hookbin, shell_env, tmp_path):
    server = await start_hookbin()
    marker = tmp_path / "injected"
    hostile = f"it's; $(touch {marker}) `touch {marker}` !!"
    original = tcapture(
        query_string="x=1&x=2",
        headers=(("Content-Type", "application/json"), ("X-Sig", hostile)),
        body=b'{"quote": "\'", "dollar": "$HOME"}',
    )
    process = await asyncio.create_subprocess_exec("bash", "-c", to_curl(original, server.url), env=shell_env)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    replayed = server.store.list_captures(limit=1)[0]
    assert replayed.body == original.body and replayed.query_string == "x=1&x=2"
    assert replayed.headers[1:-1] == original.headers  # after curl's Host, before its Content-Length
    assert not marker.exists()


# -- pasting into an interactive bash in a terminal ----------------------------------------------


def paste_into_bash(text: str, env: dict[str, str], done: Callable[[], bool]) -> bytes:
    """Start an interactive bash on a pseudo-terminal and paste `text` the way a terminal does.

    Bash turns on bracketed paste (`ESC [?2004h`) when it waits for input; the paste is sent
    between `ESC [200~` and `ESC [201~`, then Enter. `done()` says when to ask bash to exit.
    """
    master, slave = os.openpty()
    bash = subprocess.Popen(
        ["bash", "--norc", "--noprofile", "-i"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm", "INPUTRC": "/dev/null", "PS1": "$ "},
        start_new_session=True,
    )
    os.close(slave)
    seen = b""

    def read_until(predicate: Callable[[], bool]) -> None:
        nonlocal seen
        deadline = time.monotonic() + 20
        while not predicate() and time.monotonic() < deadline:
            try:
                seen += os.read(master, 65536)
            except OSError:  # bash has gone
                return

    try:
        read_until(lambda: b"\x1b[?2004h" in seen)
        os.write(master, b"\x1b[200~" + text.encode() + b"\x1b[201~\r")
        read_until(done)
        os.write(master, b"exit\r")
        read_until(lambda: bash.poll() is not None)
    finally:
        bash.kill()
        bash.wait()
        os.close(master)
    return seen


@needs_curl
def test_a_pasted_command_runs_only_curl_and_the_request_arrives_intact(recorder, shell_env, tmp_path):
    marker = tmp_path / "pwned"
    body = PASTE_JACK.format(marker=marker).encode() + b" !! !$ $(touch %s)" % bytes(marker)
    capture = tcapture(headers=(("Content-Type", "text/plain"), ("X-Jack", f"\x1b[201~\x15touch {marker}")), body=body)
    command = to_curl(capture, recorder.url)
    arrived: list[Received] = []
    paste_into_bash(command, shell_env, lambda: bool(arrived) or _poll(recorder, arrived))
    assert arrived, "the pasted curl never sent its request"
    assert without_curls_own(arrived[0]) == what_curl_should_send(capture)
    assert not marker.exists()


@needs_curl
def test_the_paste_test_catches_a_command_with_raw_controls(shell_env, tmp_path):
    """The harness is not blind: yesterday's quoting (raw bytes inside single quotes) runs `touch`."""
    marker = tmp_path / "pwned"
    # The trailing `#` makes what follows the payload a comment, so bash is left ready to exit.
    unsafe = "curl --data-binary " + shlex.quote(PASTE_JACK.format(marker=marker) + "#") + " http://127.0.0.1:9/"
    paste_into_bash(unsafe, shell_env, marker.exists)
    assert marker.exists()


def _poll(recorder: Recorder, arrived: list[Received]) -> bool:
    try:
        arrived.append(recorder.requests.get(timeout=0.1))
    except queue.Empty:
        return False
    return True


# -- the text itself ------------------------------------------------------------------------------

WORD = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30) | st.binary(
    max_size=30
).map(lambda b: as_text(b.replace(b"\x00", b"")))


@needs_curl
@settings(max_examples=50, deadline=None)
@given(words=st.lists(WORD, min_size=1, max_size=8))
def test_every_quoted_word_reads_back_exactly_in_bash(words):
    quoted = [shell_quote(word) for word in words]
    assert all(word.isprintable() for word in quoted)
    out = subprocess.run(["bash", "-c", "printf '%s\\0' " + " ".join(quoted)], capture_output=True, check=True)
    assert out.stdout.split(b"\0")[:-1] == [word.encode("utf-8", "surrogateescape") for word in words]


def test_the_command_reads_well():
    capture = tcapture(
        method="HEAD",
        query_string="a=1",
        headers=(("X-Empty", ""), ("X-Esc", "a\x1bb"), ("User-Agent", "sender/1")),
        body=b"",
    )
    assert to_curl(capture, "http://127.0.0.1:3000/") == (
        "curl -I 'http://127.0.0.1:3000/hook?a=1' \\\n"
        "  -H 'X-Empty;' \\\n"
        "  -H $'X-Esc: a\\x1bb' \\\n"
        "  -H 'User-Agent: sender/1' \\\n"
        "  -H 'Accept:'"
    )
    posted = to_curl(tcapture(headers=(), body=b"@/etc/hostname"), "http://h")
    assert posted.endswith("-H 'Content-Type:' \\\n  --data-raw '@/etc/hostname'")


def test_the_readme_shows_a_real_command():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    shown = readme.split("### Copy as curl", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    capture = tcapture(
        path="/segmanta/csat",
        query_string="crm_id=CUST-1042",
        body=b'{"survey_id": 1234}',
        headers=(
            ("Content-Type", "application/json"),
            ("User-Agent", "Segmanta"),
            ("X-Empty", ""),
            ("X-Trap", "\x1b[201~\x15rm -rf ~"),
        ),
    )
    assert to_curl(capture, "http://127.0.0.1:8080") == shown


def test_headers_curl_computes_are_left_out_and_unsendable_ones_noted():
    capture = tcapture(
        query_string="a=1&a=2",
        headers=(
            ("Host", "x"),
            ("Content-Length", "9"),
            ("Bad Name", "v"),
            ("X-Split", "a\r\nInjected: 1"),
            ("Content-Type", "a/b"),
        ),
    )
    command = to_curl(capture, "http://localhost:9000/")
    assert command.startswith(
        "# note: header 'Bad Name' left out: curl cannot send it as it arrived\n# note: header 'X-Split' left out"
    )
    assert "Host" not in command and "Content-Length" not in command and "Injected" not in command


def test_a_method_holding_nul_is_left_out_with_a_note():
    # No HTTP parser yields one, but a view must not raise on any capture (test_hostile_views).
    command = to_curl(tcapture(method="PO\x00ST"), "http://localhost:9000")
    assert command.startswith("# note: method 'PO\\x00ST' left out: it holds NUL, which no argument can carry\n")
    assert "-X" not in command


def test_binary_and_huge_bodies_go_through_a_file():
    for body in (b"\x00\xffbinary", b"text with NUL \x00", ("\x1b" * 20_000).encode()):
        capture = tcapture(body=body)
        assert needs_body_file(capture)
        with pytest.raises(ValueError):
            to_curl(capture, "http://x")
        assert to_curl(capture, "http://x", body_file="/tmp/a b.body").endswith("--data-binary '@/tmp/a b.body'")
    assert not needs_body_file(tcapture(method="HEAD", body=b"\x00"))


# -- copy body (y) ----------------------------------------------------------------------------------


def test_the_copied_body_shows_controls_as_escapes_and_keeps_lines():
    body = PASTE_JACK.format(marker="/tmp/pwned") + "\n\tnext \u202eline\r\n"
    text = copyable_body(tcapture(body=body.encode()))
    assert text == "x\\x1b[201~\\x15touch /tmp/pwned\\x0d\n\tnext \\u202eline\\x0d\n"
    assert copyable_body(tcapture(body="café ✓".encode())) == "café ✓"


def test_a_binary_body_is_refused_with_a_reason():
    for body in (b"\x89PNG\r\n\x1a\n\x00", b"a\x00b"):
        with pytest.raises(BinaryBodyError, match=rf"binary \({len(body)} bytes\).*\(c\)"):
            copyable_body(tcapture(body=body))


# -- the export files -------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_exports_are_private_whatever_the_umask(tmp_path):
    directory = tmp_path / "hookbin" / "exports"
    capture = tcapture(body=b"\x00secret")
    old = os.umask(0o022)
    try:
        _, script = save_curl(capture, "http://x", directory)
        body = directory / f"{capture.id}.body"
        assert (mode(directory), mode(script), mode(body)) == (0o700, 0o600, 0o600)
        # Left loose by an older hookbin: tightened on the next export.
        directory.chmod(0o755)
        script.chmod(0o644)
        body.chmod(0o666)
        save_curl(capture, "http://x", directory)
        assert (mode(directory), mode(script), mode(body)) == (0o700, 0o600, 0o600)
    finally:
        os.umask(old)


def test_an_export_never_writes_through_a_planted_link(tmp_path):
    directory = tmp_path / "exports"
    directory.mkdir()
    target = tmp_path / "victim"
    target.write_text("keep")
    capture = tcapture()
    (directory / f"{capture.id}.curl.sh").symlink_to(target)
    with pytest.raises(OSError):
        save_curl(capture, "http://x", directory)
    assert target.read_text() == "keep"
