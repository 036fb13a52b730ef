"""The sender behind `hookbin send`, against a real hookbin: retries on the schedule, Retry-After,
faults, signatures (the command itself: tests/commands/test_send.py)."""

from __future__ import annotations

import itertools
import socket
import time
from datetime import UTC, datetime

import pytest

from hookbin import __version__
from hookbin.client.sender import (
    MAX_RETRY_AFTER,
    AttemptResult,
    SendError,
    SendOptions,
    SendReport,
    send,
)
from hookbin.commands.send import attempt_line
from hookbin.deliveries import group_deliveries
from hookbin.model import header_get
from hookbin.outgoing import RequestError, check_url
from hookbin.signatures import parse_verifier

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"survey_id": 1234, "results": []}'


async def deliver(url: str, **options) -> tuple[SendReport, list[AttemptResult]]:
    seen: list[AttemptResult] = []
    options.setdefault("payloads", [BODY])
    options.setdefault("retry", [])
    report = await send(SendOptions(to=url + "/segmanta/hook", **options), seen.append)
    return report, seen


def oldest_first(server):
    return list(reversed(server.store.list_captures(100)))


def gaps(captures) -> list[float]:
    times = [c.received_at.timestamp() for c in captures]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------- the sender


async def test_accepted_at_the_first_attempt(start_hookbin):
    server = await start_hookbin("200")
    report, seen = await deliver(server.url, retry=[0.05], headers=[("X-Trace", "t-1")])
    assert report.ok and (report.accepted, report.failed, report.attempts) == (1, 0, 1)
    assert [(r.status, r.error, r.next_retry) for r in seen] == [(200, None, None)]
    [capture] = server.store.list_captures()
    assert (capture.method, capture.path, capture.body) == ("POST", "/segmanta/hook", BODY)
    assert header_get(capture.headers, "content-type") == "application/json"
    assert header_get(capture.headers, "user-agent") == f"hookbin-send/{__version__}"
    assert header_get(capture.headers, "x-trace") == "t-1"
    assert header_get(capture.headers, "webhook-signature") is None


async def test_retries_follow_the_schedule(start_hookbin):
    server = await start_hookbin("503,503,200")
    report, seen = await deliver(server.url, retry=[0.2, 0.4, 5])
    assert report.ok
    assert [(r.attempt, r.status, r.next_retry, r.retry_after) for r in seen] == [
        (1, 503, 0.2, False),
        (2, 503, 0.4, False),
        (3, 200, None, False),
    ]
    captures = oldest_first(server)
    assert [c.attempt for c in captures] == [1, 2, 3]
    assert len({c.delivery_key for c in captures}) == 1
    first, second = gaps(captures)
    assert first >= 0.2 and second >= 0.4


async def test_gives_up_when_the_schedule_is_used_and_payloads_take_turns(start_hookbin):
    server = await start_hookbin("503")
    report, seen = await deliver(server.url, payloads=[b'{"n": 1}', b'{"n": 2}'], count=3, retry=[0.05])
    assert not report.ok and (report.accepted, report.failed, report.attempts) == (0, 3, 6)
    assert [(r.delivery, r.attempt, r.next_retry) for r in seen] == [
        (1, 1, 0.05),
        (1, 2, None),
        (2, 1, 0.05),
        (2, 2, None),
        (3, 1, 0.05),
        (3, 2, None),
    ]
    assert [d.succeeded for d in report.deliveries] == [False, False, False]
    assert [c.body for c in oldest_first(server)] == [b'{"n": 1}'] * 2 + [b'{"n": 2}'] * 2 + [b'{"n": 1}'] * 2


async def test_retry_after_is_honoured(start_hookbin):
    server = await start_hookbin("429 retry-after=1,200")
    report, seen = await deliver(server.url, retry=[0.05])
    assert report.ok
    assert [(r.status, r.next_retry, r.retry_after) for r in seen] == [(429, 1.0, True), (200, None, False)]
    assert gaps(oldest_first(server))[0] >= 1.0
    assert "retry in 1s (Retry-After)" in attempt_line(seen[0])


async def test_schedule_is_waited_out_without_real_time(start_hookbin):
    server = await start_hookbin("503")
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    seen: list[AttemptResult] = []
    report = await send(SendOptions(server.url, [BODY], retry=[5, 30, 120]), seen.append, sleep=fake_sleep)
    assert waits == [5, 30, 120]
    assert [r.next_retry for r in seen] == [5, 30, 120, None]
    assert report.deliveries[0].attempts == seen


async def test_timeout_counts_as_a_failure_and_is_retried(start_hookbin):
    server = await start_hookbin("200 delay=30s")
    started = time.monotonic()
    report, seen = await deliver(server.url, retry=[0.05], timeout=0.5)
    assert time.monotonic() - started < 30  # neither attempt waited for the answer
    assert not report.ok
    assert [(r.status, r.error) for r in seen] == [(None, "timeout after 500ms")] * 2
    assert all(r.latency >= 0.5 for r in seen)
    assert seen[0].next_retry == 0.05
    assert [c.attempt for c in oldest_first(server)] == [1, 2]


async def test_connection_refused_is_reported_per_attempt():
    report, seen = await deliver(f"http://127.0.0.1:{unused_port()}", retry=[0.05])
    assert not report.ok
    assert [(r.attempt, r.status, r.error, r.next_retry) for r in seen] == [
        (1, None, "connection refused", 0.05),
        (2, None, "connection refused", None),
    ]
    assert attempt_line(seen[1]).startswith("delivery 1 attempt 2  connection refused  ")


async def test_dropped_connections_are_named(start_hookbin):
    server = await start_hookbin("close,reset,200")
    report, seen = await deliver(server.url, retry=[0.05, 0.05])
    assert report.ok
    assert [r.error for r in seen] == ["server closed the connection", "connection reset", None]


async def test_redirect_is_a_failure_not_followed(start_hookbin, tmp_path):
    target = await start_hookbin("200", db=tmp_path / "target.db")
    redirect = await start_hookbin("302", db=tmp_path / "redirect.db")
    redirect.responder.set_headers([("Location", target.url + "/moved")])
    report, seen = await deliver(redirect.url, retry=[])
    assert [r.status for r in seen] == [302] and not report.ok
    assert len(redirect.store.list_captures()) == 1
    assert target.store.list_captures() == []


async def test_signed_deliveries_verify_on_the_receiving_side(start_hookbin):
    server = await start_hookbin("503,200")
    report, _ = await deliver(server.url, count=2, retry=[0.05], sign_secret=SECRET)
    assert report.ok
    captures = oldest_first(server)
    assert len(captures) == 4
    for capture in captures:
        result = parse_verifier("standard:" + SECRET).check(capture.headers, capture.body, time.time())
        assert result.valid, result.reason
        other = parse_verifier("standard:whsec_" + "A" * 32).check(capture.headers, capture.body, time.time())
        assert other.reason == "does not match"
    ids = [header_get(c.headers, "webhook-id") for c in captures]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert ids[0].startswith("msg_")
    # hookbin groups the attempts by webhook-id
    assert [(c.delivery_source, c.attempt) for c in captures] == [("header:webhook-id", n) for n in (1, 2, 1, 2)]
    assert [r.webhook_id for r in report.deliveries[1].attempts] == [ids[2]] * 2


@pytest.mark.parametrize(
    "url, why",
    [
        ("ftp://example.com/", "use an http:// or https:// URL"),
        ("http://", "no host"),
        ("example.com/hook", "use an http:// or https:// URL"),
        ("http://host:99999/", "bad URL"),
    ],
)
async def test_bad_urls_are_refused_before_sending(url, why):
    with pytest.raises(RequestError, match=why):
        check_url(url)
    with pytest.raises(SendError, match=why):
        await send(SendOptions(url, [BODY]), lambda r: None)


async def test_other_bad_options_are_refused():
    with pytest.raises(SendError, match="no payload"):
        await send(SendOptions("http://127.0.0.1:1/", []), lambda r: None)
    with pytest.raises(SendError, match="not base64"):
        await send(SendOptions("http://127.0.0.1:1/", [BODY], sign_secret="whsec_!"), lambda r: None)


async def test_retry_after_cases_as_the_sender_and_the_deliveries_view_read_them(start_hookbin, retry_after_case):
    _, make, expected = retry_after_case
    server = await start_hookbin("429,200")
    value = make(datetime.now(UTC).replace(microsecond=0))
    server.responder.set_headers([("Retry-After", value)])
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    seen: list[AttemptResult] = []
    await send(SendOptions(server.url, [BODY], retry=[0.25]), seen.append, sleep=fake_sleep)
    (attempt,) = group_deliveries(server.store.list_captures())[0].attempts[:1]
    if expected is None:
        assert (seen[0].retry_after, waits) == (False, [0.25])
        assert attempt.retry_after is None
        return
    # A date counts from the answer, up to a second after the whole second it was made from.
    assert seen[0].retry_after is True
    capped = min(expected, MAX_RETRY_AFTER)
    assert capped - 2 < waits[0] <= capped
    assert expected - 2 < attempt.retry_after <= expected
