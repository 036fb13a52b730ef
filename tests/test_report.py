"""The retry report: known schedules recovered, Retry-After, success, checks, renderings, a live run
(the `report` and `deliveries` commands: tests/commands/test_report.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import timedelta

import pytest

from hookbin.deliveries import group_deliveries
from hookbin.expectations import check
from hookbin.model import ResponseGiven, utcnow
from hookbin.report import build_report, status_class
from hookbin.report_text import render_markdown, render_text
from tests.factories import BASE_TIME, UA, attempt, schedule


def only(report):
    (sender,) = report.senders
    return sender


# ------------------------------------------------------------------------------ pure report


def test_a_known_schedule_is_recovered():
    captures = schedule([0, 20, 40, 60], [0, 1, 3], [503, 503, 200])
    report = build_report(group_deliveries(reversed(captures)))
    sender = only(report)
    assert sender.sender == UA
    assert (sender.deliveries, sender.attempts_total, sender.accepted) == (4, 12, 4)
    assert (sender.attempts.min, sender.attempts.median, sender.attempts.max) == (3, 3, 3)
    assert (sender.intervals.min, sender.intervals.median, sender.intervals.max) == (1, 1.5, 2)
    assert [(g.from_attempt, g.to_attempt, g.seconds.median, g.seconds.count) for g in sender.gaps] == [
        (1, 2, 1.0, 4),
        (2, 3, 2.0, 4),
    ]
    assert sender.stops_after_success == "yes"
    assert (sender.stopped_after_success, sender.continued_after_success) == (4, 0)
    assert sender.never_accepted == ()
    after = {row.status_class: row for row in sender.after}
    assert list(after) == ["2xx", "5xx"]
    assert (after["5xx"].seen, after["5xx"].retried, after["5xx"].not_retried) == (8, 8, 0)
    # The newest delivery's 200 is too recent to say the sender will not try again.
    assert (after["2xx"].seen, after["2xx"].retried, after["2xx"].not_retried, after["2xx"].pending) == (4, 0, 3, 1)
    assert sender.honours_retry_after == "n-a"
    assert check(report, expect_max_attempts=3, expect_min_attempts=3, expect_stops_after_success=True) == []


def test_judged_later_every_last_attempt_counts_as_not_retried():
    captures = schedule([0, 20], [0, 1, 3], [503, 503, 200])
    report = build_report(group_deliveries(captures), now=BASE_TIME + timedelta(hours=1))
    after = {row.status_class: row for row in only(report).after}
    assert (after["2xx"].not_retried, after["2xx"].pending) == (2, 0)
    assert report.now == BASE_TIME + timedelta(hours=1)


def test_senders_are_told_apart_by_user_agent_else_path():
    captures = [
        *schedule([0], [0, 2], [500, 200]),
        attempt(5, "other", 1, ua="Typeform Webhooks", status=200),
        attempt(6, "bare", 1, ua=None, status=200, path="/raw"),
        attempt(7, "bare2", 1, ua=None, status=200, path="/raw"),
    ]
    report = build_report(group_deliveries(captures))
    assert [(s.sender, s.deliveries) for s in report.senders] == [
        ("path /raw", 2),
        (UA, 1),
        ("Typeform Webhooks", 1),
    ]
    assert report.deliveries == 4 and report.attempts == 5


def test_retry_after_honoured_and_ignored():
    def ra(value: str) -> ResponseGiven:
        return ResponseGiven(status=429, headers=(("Retry-After", value),))

    honoured = [attempt(0, "a", 1, response=ra("5")), attempt(4.6, "a", 2, status=200)]  # 0.4 s early: ok
    report = build_report(group_deliveries(honoured))
    sender = only(report)
    assert (sender.retry_after_honoured, sender.retry_after_ignored) == (1, 0)
    assert sender.honours_retry_after == "yes"
    assert check(report, expect_honours_retry_after=True) == []

    ignored = [*honoured, attempt(10, "b", 1, response=ra("30")), attempt(12, "b", 2, status=200)]
    report = build_report(group_deliveries(ignored))
    sender = only(report)
    assert (sender.retry_after_honoured, sender.retry_after_ignored) == (1, 1)
    assert sender.honours_retry_after == "no"
    first, second = sender.retry_after_cases  # the ignored case comes first
    assert not first.honoured and second.honoured
    assert first.key == group_deliveries(ignored)[1].key and first.attempt == 1
    assert first.waited == pytest.approx(2) and first.asked == 30
    (violation,) = check(report, expect_honours_retry_after=True)
    assert "sooner than Retry-After" in violation and "2.00s instead of 30.0s" in violation
    assert "\n" not in violation


def test_retry_after_is_measured_from_the_delayed_answer_and_unfollowed_is_na():
    delayed = ResponseGiven(status=503, delay_ms=3000, headers=(("Retry-After", "10"),))
    captures = [attempt(0, "a", 1, response=delayed), attempt(12, "a", 2, status=200)]
    sender = only(build_report(group_deliveries(captures)))
    assert sender.retry_after_ignored == 1  # 9 s after the answer, asked 10
    assert sender.retry_after_cases[0].waited == pytest.approx(9)

    unfollowed = [attempt(0, "z", 1, response=ResponseGiven(status=429, headers=(("Retry-After", "60"),)))]
    report = build_report(group_deliveries(unfollowed))
    sender = only(report)
    assert (sender.retry_after_honoured, sender.retry_after_ignored, sender.retry_after_unfollowed) == (0, 0, 1)
    assert sender.honours_retry_after == "n-a"
    (violation,) = check(report, expect_honours_retry_after=True)
    assert "unproven" in violation


def test_never_accepted_and_retries_after_success():
    captures = [
        *schedule([0], [0, 5], [503, 503]),  # CUST-0: given up
        attempt(10, "late", 1, status=200),
        attempt(12, "late", 2, status=200),  # tried again after 200
    ]
    report = build_report(group_deliveries(captures))
    sender = only(report)
    (never,) = sender.never_accepted
    assert never.startswith("sha256:")
    assert sender.stops_after_success == "no"
    assert sender.continued_after_success == 1
    violations = check(report, expect_stops_after_success=True, expect_min_attempts=3)
    assert len(violations) == 2
    assert "never accepted were tried fewer than 3" in violations[0] and "fewest: 2" in violations[0]
    assert "tried again after a 2xx" in violations[1]


def test_max_attempts_violation_names_the_worst_delivery():
    captures = schedule([0, 20], [0, 1, 3], [503, 503, 200])
    report = build_report(group_deliveries(captures))
    (violation,) = check(report, expect_max_attempts=2)
    assert violation.startswith(f"{UA}: 2 of 2 deliveries took more than 2 attempt(s) (most: 3, delivery sha256:")
    assert check(report, expect_max_attempts=3) == []


def test_checks_on_nothing_fail_only_when_something_is_expected():
    empty = build_report([])
    assert empty.senders == () and empty.now is None
    assert check(empty) == []
    assert check(empty, expect_max_attempts=3) == ["no deliveries were captured, so no expectation can be checked"]
    assert "no captures" in render_text(empty)
    assert json.loads(json.dumps(empty.to_dict()))["deliveries"] == 0


def test_status_classes():
    def cls(**kw) -> str:
        (delivery,) = group_deliveries([attempt(0, "x", 1, response=ResponseGiven(**kw))])
        return status_class(delivery.attempts[0])

    assert cls(status=204) == "2xx"
    assert cls(status=301) == "3xx"
    assert cls(status=404) == "4xx"
    assert cls(status=410) == "410"
    assert cls(status=429) == "429"
    assert cls(status=503) == "5xx"
    assert cls(status=200, delay_ms=65000) == "timeout"
    assert cls(status=200, fault="drip", drip_ms=3000) == "timeout"
    assert cls(status=200, fault="close") == "fault"
    assert cls(status=200, fault="reset") == "fault"
    # Once what became of a held answer is recorded, it counts as what the sender got.
    assert cls(status=200, delay_ms=5000, delivered=True) == "2xx"
    assert cls(status=503, fault="drip", drip_ms=3000, delivered=True) == "5xx"
    assert cls(status=200, delay_ms=5000, delivered=False, sender_gone_ms=2000) == "timeout"
    assert cls(status=200, delivered=False, sender_gone_ms=1) == "timeout"  # gone before the first byte
    assert cls(status=200, delay_ms=5000, fault="close", delivered=False, sender_gone_ms=2000) == "fault"


def test_faults_are_counted_and_not_accepted():
    captures = [
        attempt(0, "f", 1, response=ResponseGiven(status=200, fault="reset")),
        attempt(2, "f", 2, response=ResponseGiven(status=200, delay_ms=90000)),
        attempt(100, "f", 3, status=200),
    ]
    sender = only(build_report(group_deliveries(captures)))
    after = {row.status_class: (row.seen, row.retried) for row in sender.after}
    assert after == {"2xx": (1, 0), "timeout": (1, 1), "fault": (1, 1)}
    assert sender.stops_after_success == "yes"


def _timed_out(at, key, number, gone_after, status=200, **kw):
    """Attempt `number` of `key`, whose sender hung up `gone_after` seconds into a long delay."""
    held = ResponseGiven(status=status, delay_ms=30_000, delivered=False, sender_gone_ms=gone_after * 1000, **kw)
    return attempt(at, key, number, response=held)


def test_the_senders_timeout_is_measured_and_its_backoff_runs_from_the_give_up():
    # A sender with a 2 s timeout (one attempt waited 2.5 s) that retries 1 s, then 4 s, after giving up.
    captures = [
        _timed_out(0, "a", 1, 2),
        _timed_out(3, "a", 2, 2.5),
        attempt(9.5, "a", 3, status=200),
        _timed_out(20, "b", 1, 2),
        _timed_out(23, "b", 2, 2),
    ]
    report = build_report(group_deliveries(captures))
    sender = only(report)
    timeout = sender.sender_timeout
    assert (timeout.count, timeout.min, timeout.median, timeout.max) == (4, 2, 2, 2.5)
    # Not 3 s and 6.5 s, as arrival to arrival would have it.
    assert [(g.from_attempt, g.to_attempt, g.seconds.median) for g in sender.gaps] == [(1, 2, 1.0), (2, 3, 4.0)]
    assert (sender.accepted, len(sender.never_accepted)) == (1, 1)
    after = {row.status_class: (row.seen, row.retried) for row in sender.after}
    assert after["timeout"] == (4, 3)

    text = render_text(report)
    assert "sender timeout       min 2.00s, median 2.00s, max 2.50s (4 hung up)" in text
    assert "deliveries           2: 1 accepted, 1 never accepted" in text
    assert "| sender timeout | min 2.00s, median 2.00s, max 2.50s (4 hung up) |" in render_markdown(report)
    data = json.loads(json.dumps(report.to_dict()))["senders"][0]
    assert data["sender_timeout"] == {"count": 4, "min": 2.0, "median": 2.0, "max": 2.5}


def test_a_sender_that_never_hung_up_has_no_timeout_and_an_unseen_retry_after_is_not_judged():
    kept = build_report(group_deliveries(schedule([0], [0, 1], [503, 200])))
    assert only(kept).sender_timeout.count == 0
    assert "sender timeout       none seen: the sender never hung up" in render_text(kept)
    # A Retry-After in an answer the sender hung up on never reached it.
    gone = [_timed_out(0, "a", 1, 2, status=429, headers=(("Retry-After", "60"),)), attempt(3, "a", 2, status=200)]
    sender = only(build_report(group_deliveries(gone)))
    assert (sender.retry_after_honoured, sender.retry_after_ignored, sender.retry_after_unfollowed) == (0, 0, 0)


# ---------------------------------------------------------------------------------- renderings


def test_text_rendering():
    report = build_report(group_deliveries(schedule([0, 20], [0, 1, 3], [503, 503, 200])))
    text = render_text(report)
    assert text.startswith("hookbin retry report: 2 deliveries, 6 attempts, 1 sender(s), 2026-03-01 ")
    assert f"sender {UA}" in text
    assert "attempts/delivery    min 3, median 3, max 3" in text
    assert "#1 -> #2" in text and "median 1.00s" in text
    assert "#2 -> #3" in text and "median 2.00s" in text
    assert "stops after success  yes: 2 stopped, 0 tried again" in text
    assert "never accepted       none" in text


def test_markdown_rendering_escapes_sender_text():
    nasty = "Evil|UA\x1b[31m *bold*"
    captures = [attempt(0, "a", 1, ua=nasty), attempt(1, "a", 2, ua=nasty, status=200)]
    markdown = render_markdown(build_report(group_deliveries(captures)))
    assert markdown.startswith("# hookbin retry report")
    assert "## Evil\\|UA\\\\x1b\\[31m \\*bold\\*" in markdown
    assert "\x1b" not in markdown
    assert "| gap #1 → #2 | median 1.00s" in markdown
    assert "| 5xx (server error) | 1 | 1 | 0 | 0 |" in markdown


def test_text_rendering_makes_sender_text_safe():
    captures = [attempt(0, "a", 1, ua="bad\x1b]52;c;payload\x07\u202e")]
    text = render_text(build_report(group_deliveries(captures)))
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "bad\\x1b]52;c;payload\\x07\\u202e" in text


def test_json_form():
    captures = schedule([0, 20], [0, 1, 3], [503, 503, 200])
    data = json.loads(json.dumps(build_report(group_deliveries(captures)).to_dict()))
    (sender,) = data["senders"]
    assert sender["sender"] == UA
    assert sender["attempts_per_delivery"] == {"count": 2, "min": 3, "median": 3.0, "max": 3}
    assert [(g["from"], g["to"], g["median"]) for g in sender["gaps"]] == [(1, 2, 1.0), (2, 3, 2.0)]
    assert sender["retried_after"]["5xx"] == {"seen": 4, "yes": 4, "no": 0, "n-a": 0}
    assert sender["stops_after_success"]["verdict"] == "yes"
    assert sender["retry_after"]["verdict"] == "n-a"
    assert len(sender["deliveries_detail"]) == 2


# ------------------------------------------------------------------------------- end to end


PAUSES = (0, 0.3, 0.6)
"""Before each attempt of the end-to-end delivery."""


async def test_end_to_end_a_real_hookbin_recovers_the_senders_schedule(start_hookbin, http):
    server = await start_hookbin("503,503,200")
    body = json.dumps({"survey_id": 1234, "custom_params": {"crm_id": "CUST-1042"}}).encode()
    statuses = []
    spans = []  # when each request was sent and its answer read, as the sender saw it
    for pause in PAUSES:
        await asyncio.sleep(pause)
        sent = utcnow()
        async with http.post(
            server.url + "/segmanta/csat", data=body, headers={"Content-Type": "application/json"}
        ) as response:
            statuses.append(response.status)
        spans.append((sent, utcnow()))
    assert statuses == [503, 503, 200]
    server.store.flush()
    report = build_report(group_deliveries(server.store.list_oldest_first()))
    sender = only(report)
    assert sender.deliveries == 1 and sender.attempts.max == 3
    (first, second) = sender.gaps
    assert (first.from_attempt, first.to_attempt, second.from_attempt, second.to_attempt) == (1, 2, 2, 3)
    # hookbin received each request while its sender waited, so each gap lies between the pause
    # (from one answer to the next send) and the time from one send to the next answer.
    for gap, pause, (earlier, later) in zip(sender.gaps, PAUSES[1:], itertools.pairwise(spans), strict=True):
        shortest, longest = (later[0] - earlier[1]).total_seconds(), (later[1] - earlier[0]).total_seconds()
        assert pause <= shortest <= gap.seconds.median <= longest
    assert sender.stops_after_success == "yes"
    assert sender.never_accepted == ()


def test_unexercised_checks_fail_once_not_per_sender():
    captures = [
        attempt(0, "a", 1, response=ResponseGiven(status=429, headers=(("Retry-After", "1"),))),
        attempt(2, "a", 2, status=200),
        attempt(3, "h", 1, ua="health-checker", status=503),  # no Retry-After, never accepted
    ]
    report = build_report(group_deliveries(captures))
    assert check(report, expect_honours_retry_after=True, expect_stops_after_success=True) == []
    only_failures = build_report(group_deliveries(captures[2:]))
    assert check(only_failures, expect_honours_retry_after=True, expect_stops_after_success=True) == [
        "no retry followed an answer with Retry-After, so honouring it is unproven",
        "no delivery was answered 2xx, so stopping after success is unproven",
    ]


async def test_report_recovers_the_schedule_of_hookbin_send(start_hookbin):
    """The issue's own experiment: `send --retry` against `serve --respond 503,503,200`, then `report`."""
    from hookbin.client.sender import SendOptions, send
    from hookbin.commands.send import sample_variants
    from hookbin.samples import sample_bytes

    server = await start_hookbin("503,503,200")
    options = SendOptions(
        to=server.url + "/segmanta/csat",
        payloads=sample_variants(sample_bytes("survey"), 2),
        count=2,
        retry=[0.3, 0.6],
        timeout=5,
    )
    read = [utcnow()]  # before the first request, then as each answer was read
    result = await send(options, lambda attempt: read.append(utcnow()))
    assert result.ok and result.attempts == 6
    report = build_report(group_deliveries(server.store.list_oldest_first()))
    sender = only(report)
    assert sender.sender.startswith("hookbin-send/")
    assert sender.deliveries == 2 and (sender.attempts.min, sender.attempts.max) == (3, 3)
    # Attempt n was received after answer n-1 was read and before answer n was: each gap is at
    # least the retry's wait, and at most the time from answer n-1 to answer n+1.
    for step, (gap, wait) in enumerate(zip(sender.gaps, options.retry, strict=True)):
        longest = max((read[n + 2] - read[n]).total_seconds() for n in (step, step + 3))
        assert wait <= gap.seconds.median <= longest
    assert sender.stops_after_success == "yes"
