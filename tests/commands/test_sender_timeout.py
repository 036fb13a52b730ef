"""Measuring a sender's timeout: `hookbin send`, `hookbin deliveries` and `hookbin report` agree.

Real processes: `hookbin serve` holds its answer back longer than `hookbin send` waits.
"""

from __future__ import annotations

import json


def _experiment(tmp_path, serve, hookbin, respond: str, *send_args: str):
    db = str(tmp_path / "experiment.db")
    served = serve("--no-tui", "--db", db, "--respond", respond)
    sent = hookbin("send", "--to", served.url + "/segmanta", "--json", *send_args)
    status, log, _ = served.stop()
    assert status == 0
    deliveries = [json.loads(line) for line in hookbin("deliveries", "--db", db, "--json").stdout.splitlines()]
    report = json.loads(hookbin("report", "--db", db, "--format", "json").stdout)
    sent_lines = [json.loads(line) for line in sent.stdout.splitlines()]
    return sent, sent_lines, deliveries, report, log, db


def test_a_sender_that_gives_up_is_not_accepted_anywhere(tmp_path, serve, hookbin):
    sent, lines, deliveries, report, log, db = _experiment(
        tmp_path, serve, hookbin, "200 delay=4s", "--timeout", "1s", "--retry", "1s"
    )
    attempts, summary = lines[:-1], lines[-1]
    # hookbin send: it timed out twice, so the delivery failed.
    assert sent.returncode == 1
    assert [(a["attempt"], a["status"], a["error"]) for a in attempts] == [
        (1, None, "timeout after 1s"),
        (2, None, "timeout after 1s"),
    ]
    assert (summary["accepted"], summary["failed"], summary["attempts"]) == (0, 1, 2)
    # hookbin deliveries: the same delivery, never accepted, each 200 never delivered.
    (delivery,) = deliveries
    assert delivery["accepted"] is False and delivery["accepted_at_attempt"] is None
    assert [(a["status"], a["delivered"], a["accepted"]) for a in delivery["attempts"]] == [(200, False, False)] * 2
    # hookbin report: 0 accepted, 1 never accepted, and the timeout measured twice.
    (sender,) = report["senders"]
    assert (sender["accepted"], len(sender["never_accepted"]), sender["attempts_total"]) == (0, 1, 2)
    timeout = sender["sender_timeout"]
    assert timeout["count"] == 2 and 0.8 <= timeout["min"] <= timeout["max"] < 4
    assert sender["retried_after"]["timeout"]["yes"] == 1
    # Every view says it plainly.
    assert log.count("; the 200 was never delivered") == 2
    assert "sender hung up after" in hookbin("ls", "--db", db).stdout
    page = hookbin("show", delivery["attempts"][0]["capture_id"], "--db", db).stdout
    assert "status gone" in page and "; the 200 was never delivered" in page
    text = hookbin("deliveries", "--db", db).stdout
    assert "gone: sender hung up after" in text and "never accepted" in text
    assert "sender timeout       min " in hookbin("report", "--db", db).stdout


def test_send_deliveries_and_report_agree_when_a_retry_is_answered_in_time(tmp_path, serve, hookbin):
    sent, lines, deliveries, report, _, _ = _experiment(
        tmp_path, serve, hookbin, "200 delay=5s,200", "--timeout", "2s", "--retry", "1s"
    )
    attempts, summary = lines[:-1], lines[-1]
    assert sent.returncode == 0, sent.stderr
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, None), (2, 200)]
    assert (summary["accepted"], summary["failed"]) == (1, 0)

    (delivery,) = deliveries
    assert delivery["accepted"] is True and delivery["accepted_at_attempt"] == 2
    first, second = delivery["attempts"]
    assert first["delivered"] is False and second["delivered"] is True and second["sender_gone_ms"] is None

    (sender,) = report["senders"]
    assert (sender["accepted"], sender["never_accepted"]) == (1, [])
    timeout = sender["sender_timeout"]
    # What send waited is what hookbin saw it wait (the same event, measured at both ends).
    assert timeout["count"] == 1 and abs(timeout["median"] - attempts[0]["latency_ms"] / 1000) < 1
    # The backoff is measured from the moment it gave up: about send's 1 s retry wait, where
    # arrival to arrival is its 2 s timeout more.
    (gap,) = sender["gaps"]
    assert (gap["from"], gap["to"]) == (1, 2) and 0.5 <= gap["median"] < 2.5
    assert round(second["backoff"], 3) == gap["median"]
