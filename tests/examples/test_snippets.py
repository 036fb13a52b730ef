"""examples/snippets run as a user runs them: real hookbin processes, hookbin's sender, real jq."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "examples" / "snippets"
SAMPLES = ROOT / "examples" / "segmanta"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Snippet:
    """A shell snippet started in its own session (so stopping it stops its whole pipeline)."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        bin_dir = str(Path(sys.executable).parent)  # `hookbin` as the user's shell finds it
        self.proc = subprocess.Popen(
            ["sh", str(SNIPPETS / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={
                **os.environ,
                "PATH": bin_dir + os.pathsep + os.environ["PATH"],
                "PYTHONUNBUFFERED": "1",
                "HOOKBIN_PORT": "0",
                "HOOKBIN_ADMIN_PORT": "0",
                **env,
            },
        )
        line = self.proc.stderr.readline()
        match = re.search(r"listening on (http://\S+?)/ ", line)
        assert match, line + self.proc.stderr.read()
        self.url = match.group(1)

    def stop(self) -> tuple[str, str]:
        os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.communicate(timeout=20)


def test_headless_json_piped_to_jq(tmp_path, hookbin):
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    snippet = Snippet("headless-jq.sh", {"HOOKBIN_DB": ":memory:"})
    try:
        hookbin("send", "--to", snippet.url + "/segmanta", "--event", "survey", "--retry", "")
        first = json.loads(snippet.proc.stdout.readline())  # printed while hookbin still runs
        (tmp_path / "odd.json").write_text("[1, 2]")
        hookbin("send", "--to", snippet.url + "/elsewhere", "--payload", str(tmp_path / "odd.json"), "--retry", "")
        second = json.loads(snippet.proc.stdout.readline())
    finally:
        out, err = snippet.stop()
    assert out == "" and "error" not in err
    assert (first["status"], first["crm_id"], first["answers"]) == (200, "CUST-1042", 10)
    assert re.fullmatch(r"[0-9a-z]+", first["id"])
    assert (second["crm_id"], second["answers"]) == (None, None)


def test_retry_twice_then_accept(tmp_path, hookbin):
    db = tmp_path / "captures.db"
    snippet = Snippet("retry-twice.sh", {"HOOKBIN_DB": str(db)})
    try:
        sent = hookbin("send", "--to", snippet.url + "/segmanta", "--count", "2", "--retry", "0.2s,0.2s", "--json")
    finally:
        snippet.stop()
    attempts = [json.loads(line) for line in sent.stdout.splitlines()][:-1]
    assert sent.returncode == 0
    assert [(a["delivery"], a["attempt"], a["status"]) for a in attempts] == [
        (1, 1, 500),
        (1, 2, 500),
        (1, 3, 200),
        (2, 1, 500),
        (2, 2, 500),
        (2, 3, 200),
    ]
    deliveries = [json.loads(line) for line in hookbin("deliveries", "--json", "--db", str(db)).stdout.splitlines()]
    assert [(len(d["attempts"]), d["accepted"]) for d in deliveries] == [(3, True), (3, True)]


# -------------------------------------------------------------------------- signatures


def _load_verifier() -> Any:
    spec = importlib.util.spec_from_file_location("verify_signature", SNIPPETS / "verify_signature.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = _load_verifier()


def verify_capture(capture: str, secret: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SNIPPETS / "verify_signature.py"), secret],
        input=capture,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("secret", [SECRET, "a plain shared secret"])
def test_verify_a_standard_webhooks_signature_hookbin_caught(tmp_path, secret, hookbin, serve):
    db = tmp_path / "captures.db"
    served = serve("--no-tui", "--db", str(db))
    try:
        sent = hookbin("send", "--to", served.url + "/segmanta", "--sign", secret, "--retry", "")
    finally:
        served.stop()
    assert sent.returncode == 0, sent.stderr
    [capture_id] = [json.loads(line)["id"] for line in hookbin("ls", "--json", "--db", str(db)).stdout.splitlines()]
    capture = hookbin("show", capture_id, "--json", "--db", str(db)).stdout

    checked = verify_capture(capture, secret)
    assert (checked.returncode, checked.stdout) == (0, "valid\n")
    assert verify_capture(capture, SECRET[:-1] + "x" if secret == SECRET else "other").stdout == (
        "invalid: does not match\n"
    )
    tampered = json.loads(capture)
    tampered["body"] = tampered["body"].replace("CUST-1042", "CUST-1043")
    wrong = verify_capture(json.dumps(tampered), secret)
    assert (wrong.returncode, wrong.stdout) == (1, "invalid: does not match\n")
    unsigned = {**tampered, "headers": [h for h in tampered["headers"] if h[0].lower() != "webhook-signature"]}
    assert verify_capture(json.dumps(unsigned), secret).stdout == "invalid: missing header\n"
    assert verify_capture("not json", secret).returncode == 2


@settings(max_examples=50, deadline=None)
@given(
    body=st.text(max_size=300),
    message_id=st.from_regex(r"msg_[A-Za-z0-9]{1,20}", fullmatch=True),
    key=st.binary(min_size=1, max_size=40),
)
def test_the_snippet_agrees_with_the_standardwebhooks_library(body, message_id, key):
    secret = "whsec_" + base64.b64encode(key).decode()
    now = time.time()
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(int(now), tz=UTC), body)
    headers = {"Webhook-Id": message_id, "Webhook-Timestamp": str(int(now)), "Webhook-Signature": signature}
    verifier.verify(secret, headers, body.encode(), now=now)
    with pytest.raises(verifier.InvalidSignature, match="timestamp outside tolerance"):
        verifier.verify(secret, headers, body.encode(), now=now + 301)
    with pytest.raises(verifier.InvalidSignature, match="does not match"):
        verifier.verify(secret, {**headers, "Webhook-Id": message_id + "x"}, body.encode(), now=now)
