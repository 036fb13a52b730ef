"""`hookbin send`: its lines and summary, the samples it sends, and the command against a real hookbin."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from hookbin.client.sender import AttemptResult, DeliveryReport, SendReport
from hookbin.commands.common import ExitStatus
from hookbin.commands.send import attempt_line, sample_variants, summary_line
from hookbin.model import header_get
from hookbin.samples import sample_bytes
from hookbin.signatures import parse_verifier
from hookbin.store import open_store
from tests.factories import tcapture

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def send(invoke):
    """`hookbin send ARGS` in a worker thread, so a server on the test's loop can answer it."""

    async def run(*args: str, **kwargs):
        return await asyncio.to_thread(invoke, "send", *args, **kwargs)

    return run


# ---------------------------------------------------------------------------- text and samples


def test_attempt_and_summary_lines():
    line = attempt_line(AttemptResult(1, 2, 503, None, 0.0123, 5.0, True))
    assert line == "delivery 1 attempt 2  503  12 ms  retry in 5s (Retry-After)"
    assert attempt_line(AttemptResult(2, 1, 200, None, 0.004, None)).endswith("  200  4 ms  accepted")
    assert attempt_line(AttemptResult(1, 4, None, "timeout after 10s", 10.0, None)) == (
        "delivery 1 attempt 4  timeout after 10s  10000 ms  failed"
    )
    ok = AttemptResult(1, 1, 200, None, 0.01, None)
    bad = [AttemptResult(2, n, 503, None, 0.01, None) for n in (1, 2, 3, 4)]
    report = SendReport([DeliveryReport(1, [ok], True), DeliveryReport(2, bad, False), DeliveryReport(3, [ok], True)])
    assert summary_line(report) == "3 deliveries: 2 accepted, 1 failed after 4 attempts"
    assert summary_line(SendReport([DeliveryReport(1, [ok], True)])) == "1 delivery: 1 accepted"


@pytest.mark.parametrize("event", ["question", "survey"])
def test_samples_are_json_and_variants_are_distinct_deliveries(event):
    raw = sample_bytes(event)
    data = json.loads(raw)
    assert "survey_id" in data and data["results"]
    variants = sample_variants(raw, 3)
    assert variants[0] == raw and len(set(variants)) == 3
    answer_ids = [
        [a["id"] for r in json.loads(v)["results"] for q in r["questions"] for a in q["answers"]] for v in variants
    ]
    assert answer_ids[1] == [n + 1 for n in answer_ids[0]]
    assert sample_variants(b"not json", 3) == [b"not json"]


# ------------------------------------------------------------------------------ the command


def test_cli_sends_the_sample_and_exits_0(tmp_path, serve, hookbin):
    db = tmp_path / "catch.db"
    served = serve("--no-tui", "--db", str(db))
    result = hookbin("send", "--to", served.url + "/segmanta/csat", "--count", "2", "--event", "question")
    assert served.stop()[0] == 0
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("  ")[:2] for line in lines[:2]] == [
        ["delivery 1 attempt 1", "200"],
        ["delivery 2 attempt 1", "200"],
    ]
    assert lines[2] == "2 deliveries: 2 accepted"
    assert "sending 2 deliveries of the question sample" in result.stderr
    with open_store(db) as store:
        captures = store.list_oldest_first()
    assert captures[0].body == sample_bytes("question")
    assert [c.attempt for c in captures] == [1, 1]  # two deliveries, not one delivery retried


async def test_cli_json_reports_failures_and_exits_1(start_hookbin, send):
    served = await start_hookbin("503")
    result = await send("--to", served.url, "--retry", "50ms,50ms", "--json", "--sign", SECRET)
    assert result.exit_code == ExitStatus.ERROR, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    attempts, summary = objects[:-1], objects[-1]
    assert [(o["type"], o["attempt"], o["status"], o["next_retry_s"]) for o in attempts] == [
        ("attempt", 1, 503, 0.05),
        ("attempt", 2, 503, 0.05),
        ("attempt", 3, 503, None),
    ]
    assert len({o["webhook_id"] for o in attempts}) == 1
    assert summary == {
        "type": "summary",
        "deliveries": 1,
        "accepted": 0,
        "failed": 1,
        "attempts": 3,
        "ok": False,
        "to": served.url,
    }
    assert result.stderr == ""


async def test_cli_replays_a_capture_signed_and_warns_about_invalid_json(tmp_path, start_hookbin, send):
    source = tmp_path / "source.db"
    form = b"survey_id=1234&answer=4"
    with open_store(source) as store:
        store.add(tcapture(seq=7, body=form, headers=(("Content-Type", "application/x-www-form-urlencoded"),)))
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"survey_id": 1234,')
    served = await start_hookbin()
    replay = await send(
        "--to",
        served.url,
        "--from-capture",
        "00007",
        "--db",
        str(source),
        "--retry",
        "",
        env={"HOOKBIN_SIGN_SECRET": SECRET},
    )
    own = await send("--to", served.url, "--payload", str(broken), "-H", "X-Test: 1")
    assert replay.exit_code == ExitStatus.OK, replay.stderr
    assert own.exit_code == ExitStatus.OK, own.stderr
    assert f"hookbin: warning: {broken} is not valid JSON" in own.stderr
    served.store.flush()
    first, second = served.store.list_oldest_first()
    assert first.body == form and first.content_type == "application/x-www-form-urlencoded"
    assert parse_verifier("standard:" + SECRET).check(first.headers, first.body, time.time()).valid
    assert second.body == b'{"survey_id": 1234,' and header_get(second.headers, "x-test") == "1"


async def test_cli_signatures_verify_with_the_standardwebhooks_package(start_hookbin, send, invoke):
    """What `--help` promises: whsec_ secrets as they are, other secrets as their UTF-8 bytes."""
    served = await start_hookbin()
    sent = [
        await send("--to", served.url, "--retry", "", "--sign", secret) for secret in (SECRET, "plain shared secret")
    ]
    assert [r.exit_code for r in sent] == [ExitStatus.OK, ExitStatus.OK], [r.stderr for r in sent]
    served.store.flush()
    whsec, plain = served.store.list_oldest_first()
    Webhook(SECRET).verify(whsec.body, dict(whsec.headers))
    Webhook(SECRET.removeprefix("whsec_")).verify(whsec.body, dict(whsec.headers))
    Webhook(b"plain shared secret").verify(plain.body, dict(plain.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(b"another secret").verify(plain.body, dict(plain.headers))
    help_text = " ".join(invoke("send", "--help").stdout.split())
    assert "Webhook(SECRET.encode())" in help_text and "give --sign whsec_<it>" in help_text


@pytest.mark.parametrize(
    "args, says",
    [
        (["--to", "ftp://example.com"], "use an http:// or https:// URL"),
        (["--to", "http://127.0.0.1:1/", "--retry", "5s,soon"], "'soon' is not a wait"),
        (["--to", "http://127.0.0.1:1/", "--sign", "whsec_%%%"], "whsec_ value is not base64"),
        (["--to", "http://127.0.0.1:1/", "--from-capture", "zzzz", "--db", ":memory:"], "no capture with id"),
    ],
)
def test_cli_usage_errors_are_one_line(invoke, args, says):
    result = invoke("send", *args)
    assert result.exit_code == (ExitStatus.NOT_FOUND if "--from-capture" in args else ExitStatus.USAGE)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hookbin: error: ") and says in lines[0]
