"""Grouping stored captures into deliveries: keys from each source, attempt order, gaps, body diffs."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta

from hookbin.deliveries import (
    DIFF_LIMIT,
    delivery_key,
    group_deliveries,
    parse_key_spec,
)
from hookbin.model import Capture, ResponseGiven
from tests.factories import BASE_TIME, tcapture

JSON = (("Content-Type", "application/json"),)


def keyed(at: float, *, spec=None, attempt=None, **fields) -> Capture:
    """A capture received `at` seconds after BASE_TIME, with its delivery key computed as the catcher does."""
    capture = tcapture(**fields)
    key, source = delivery_key(capture.method, capture.path, capture.headers, capture.body, spec)
    return replace(
        capture,
        received_at=BASE_TIME + timedelta(seconds=at),
        delivery_key=key,
        delivery_source=source,
        attempt=attempt,
    )


def numbered(captures: list[Capture]) -> list[Capture]:
    """Number attempts per key in arrival order, as the catcher's AttemptCounter does."""
    seen: dict[str, int] = {}
    out = []
    for capture in sorted(captures, key=lambda c: c.received_at):
        seen[capture.delivery_key] = seen.get(capture.delivery_key, 0) + 1
        out.append(replace(capture, attempt=seen[capture.delivery_key]))
    return out


def test_groups_by_a_known_id_header():
    captures = numbered(
        [
            keyed(0, headers=(*JSON, ("webhook-id", "msg_1"))),
            keyed(1, headers=(*JSON, ("webhook-id", "msg_2"))),
            keyed(5, headers=(*JSON, ("webhook-id", "msg_1"))),
        ]
    )
    deliveries = group_deliveries(captures)
    assert [(d.key, d.source, len(d.attempts)) for d in deliveries] == [
        ("msg_1", "header:webhook-id", 2),
        ("msg_2", "header:webhook-id", 1),
    ]
    assert [a.number for a in deliveries[0].attempts] == [1, 2]


def test_groups_by_a_json_id_field_even_when_other_fields_change():
    captures = numbered(
        [
            keyed(0, body=b'{"event_id": "ev-1", "try": 1}'),
            keyed(2, body=b'{"event_id": "ev-2", "try": 1}'),
            keyed(4, body=b'{"event_id": "ev-1", "try": 2}'),
        ]
    )
    deliveries = group_deliveries(captures)
    assert [(d.key, d.source) for d in deliveries] == [("ev-1", "json:event_id"), ("ev-2", "json:event_id")]
    retry = deliveries[0].attempts[1]
    assert retry.body_changed
    assert '-  "try": 1' in retry.diff and '+  "try": 2' in retry.diff


def test_groups_by_a_custom_key_spec():
    spec = parse_key_spec("json:data.ref")
    captures = numbered(
        [
            keyed(0, spec=spec, body=b'{"data": {"ref": "A"}, "n": 1}'),
            keyed(1, spec=spec, body=b'{"data": {"ref": "B"}, "n": 1}'),
            keyed(2, spec=spec, body=b'{"data": {"ref": "A"}, "n": 2}'),
        ]
    )
    deliveries = group_deliveries(captures)
    assert [(d.key, d.source, len(d.attempts)) for d in deliveries] == [
        ("A", "json:data.ref", 2),
        ("B", "json:data.ref", 1),
    ]


def test_groups_by_body_hash_when_the_sender_sends_no_id():
    segmanta = json.dumps({"custom_params": {"crm_id": "CUST-1042"}, "survey_id": 1234}).encode()
    other = json.dumps({"custom_params": {"crm_id": "CUST-7"}, "survey_id": 1234}).encode()
    captures = numbered(
        [
            keyed(0, path="/segmanta/csat", body=segmanta),
            keyed(1, path="/segmanta/csat", body=other),
            keyed(3, path="/segmanta/csat", body=segmanta),
            keyed(4, path="/elsewhere", body=segmanta),  # another path: another delivery
        ]
    )
    deliveries = group_deliveries(captures)
    assert [d.source for d in deliveries] == ["hash"] * 3
    assert [len(d.attempts) for d in deliveries] == [2, 1, 1]
    assert not deliveries[0].attempts[1].body_changed
    assert deliveries[0].attempts[1].diff == ()


def test_captures_without_a_stored_key_get_one_computed_and_positional_numbers():
    old = [replace(tcapture(body=b'{"id": "x"}'), received_at=BASE_TIME + timedelta(seconds=s)) for s in (0, 3)]
    assert old[0].delivery_key is None and old[0].attempt is None
    (delivery,) = group_deliveries(old)
    assert (delivery.key, delivery.source) == ("x", "json:id")
    assert [a.number for a in delivery.attempts] == [1, 2]


def test_interleaved_deliveries_in_any_order_come_out_sorted():
    schedule = {"a": [0, 1, 3], "b": [0.5, 1.5, 3.5], "c": [2, 10]}
    captures = numbered(
        [keyed(at, headers=(*JSON, ("svix-id", name))) for name, times in schedule.items() for at in times]
    )
    shuffled = captures[:]
    random.Random(7).shuffle(shuffled)
    deliveries = group_deliveries(shuffled)
    assert [d.key for d in deliveries] == ["a", "b", "c"]
    for delivery in deliveries:
        offsets = [(a.received_at - BASE_TIME).total_seconds() for a in delivery.attempts]
        assert offsets == schedule[delivery.key]
        assert [a.number for a in delivery.attempts] == list(range(1, len(offsets) + 1))
        assert delivery.first_at == delivery.attempts[0].received_at
        assert delivery.last_at == delivery.attempts[-1].received_at


def test_since_previous_is_the_gap_to_the_attempt_before():
    captures = numbered([keyed(at, headers=(("webhook-id", "k"),)) for at in (0, 1.25, 4.25)])
    (delivery,) = group_deliveries(captures)
    assert [a.since_previous for a in delivery.attempts] == [
        None,
        timedelta(seconds=1.25),
        timedelta(seconds=3),
    ]


def test_acceptance_sender_and_answer_details():
    ua = (("User-Agent", "Segmanta-Hooks/2.0"),)
    captures = numbered(
        [
            keyed(0, headers=ua, status=503),
            keyed(1, headers=ua, response=ResponseGiven(status=503, fault="close")),
            keyed(2, headers=ua, response=ResponseGiven(status=429, headers=(("Retry-After", "30"),))),
            keyed(33, headers=ua, response=ResponseGiven(status=200, delay_ms=1500, delivered=True)),
            keyed(40, headers=ua, status=200),
        ]
    )
    (delivery,) = group_deliveries(captures)
    statuses = [(a.status, a.fault, a.retry_after, a.delay_ms) for a in delivery.attempts]
    assert statuses == [
        (503, None, None, 0),
        (None, "close", None, 0),
        (429, None, 30.0, 0),
        (200, None, None, 1500),
        (200, None, None, 0),
    ]
    assert delivery.accepted and delivery.accepted_at_attempt == 4
    assert delivery.sender == "Segmanta-Hooks/2.0"
    assert delivery.attempts[0].user_agent == "Segmanta-Hooks/2.0"

    (bare,) = group_deliveries([keyed(0, headers=JSON, path="/segmanta/x", status=500)])
    assert bare.sender == "path /segmanta/x"
    assert not bare.accepted and bare.accepted_at_attempt is None


def test_a_2xx_the_sender_hung_up_on_is_not_an_acceptance():
    gone = ResponseGiven(status=200, delay_ms=5000, delivered=False, sender_gone_ms=2000)
    unknown = ResponseGiven(status=200, delay_ms=5000)  # held back, outcome not recorded (yet)
    dripped = ResponseGiven(status=200, fault="drip", drip_ms=3000, delivered=True)
    (delivery,) = group_deliveries(
        numbered(
            [
                keyed(0, response=gone),
                keyed(10, response=unknown),
                keyed(20, response=dripped),
            ]
        )
    )
    assert [a.outcome for a in delivery.attempts] == ["gone", "200", "200"]
    assert [a.accepted for a in delivery.attempts] == [False, False, True]
    assert delivery.accepted_at_attempt == 3
    # The backoff runs from the moment the sender hung up, or its answer was complete.
    assert [a.backoff for a in delivery.attempts] == [None, timedelta(seconds=8), timedelta(seconds=10)]
    assert (
        delivery.to_dict()["attempts"][0] | {"delivered": False, "sender_gone_ms": 2000.0, "accepted": False}
        == delivery.to_dict()["attempts"][0]
    )


def test_retry_after_is_read_from_the_answer_given(retry_after_case):
    _, make, expected = retry_after_case
    received = BASE_TIME.replace(microsecond=0)
    answered = received + timedelta(seconds=2)  # a date counts from the answer, after its delay
    response = ResponseGiven(status=429, delay_ms=2000, headers=(("Retry-After", make(answered)),))
    capture = replace(tcapture(response=response), received_at=received)
    (delivery,) = group_deliveries([capture])
    assert delivery.attempts[0].retry_after == expected


def test_body_change_gives_a_unified_diff_of_the_pretty_json():
    first = b'{"survey_id": 1234, "results": [{"value": 4, "comment": ""}]}'
    second = b'{"survey_id": 1234, "results": [{"value": 5, "comment": ""}]}'
    captures = numbered(
        [
            keyed(0, headers=(*JSON, ("webhook-id", "d")), body=first),
            keyed(1, headers=(*JSON, ("webhook-id", "d")), body=second),
            keyed(2, headers=(*JSON, ("webhook-id", "d")), body=second),
        ]
    )
    (delivery,) = group_deliveries(captures)
    one, two, three = delivery.attempts
    assert not one.body_changed and one.diff == ()
    assert two.body_changed
    assert two.diff[:2] == ("--- attempt 1", "+++ attempt 2")
    assert any(line.startswith("@@") for line in two.diff)
    assert '-      "value": 4,' in two.diff and '+      "value": 5,' in two.diff
    assert not three.body_changed and three.diff == ()


def test_text_bodies_and_formatting_only_changes():
    text = (("Content-Type", "text/plain"),)
    captures = numbered(
        [
            keyed(0, headers=(*text, ("webhook-id", "t")), body=b"line one\nline two\n"),
            keyed(1, headers=(*text, ("webhook-id", "t")), body=b"line one\nline 2\n"),
            keyed(2, headers=(*JSON, ("webhook-id", "j")), body=b'{"a": 1}'),
            keyed(3, headers=(*JSON, ("webhook-id", "j")), body=b'{"a":1}'),
        ]
    )
    text_delivery, json_delivery = group_deliveries(captures)
    assert "-line two" in text_delivery.attempts[1].diff
    assert "+line 2" in text_delivery.attempts[1].diff
    formatting = json_delivery.attempts[1]
    assert formatting.body_changed
    assert len(formatting.diff) == 1 and "spacing" in formatting.diff[0]


def test_a_large_change_is_cut_to_the_limit():
    before = json.dumps({f"k{i}": i for i in range(400)}).encode()
    after = json.dumps({f"k{i}": -i for i in range(400)}).encode()
    captures = numbered(
        [
            keyed(0, headers=(*JSON, ("webhook-id", "big")), body=before),
            keyed(1, headers=(*JSON, ("webhook-id", "big")), body=after),
        ]
    )
    diff = group_deliveries(captures)[0].attempts[1].diff
    assert len(diff) == DIFF_LIMIT + 1
    assert diff[-1].startswith("… ") and diff[-1].endswith("more diff lines")


def test_to_dict_is_json():
    captures = numbered(
        [
            keyed(0, headers=(*JSON, ("webhook-id", "d\x1b")), body=b'{"a": 1}', status=503),
            keyed(1, headers=(*JSON, ("webhook-id", "d\x1b")), body=b'{"a": 2}'),
        ]
    )
    data = json.loads(json.dumps(group_deliveries(captures)[0].to_dict()))
    assert data["key"] == "d\x1b"
    assert data["accepted_at_attempt"] == 2
    assert [a["since_previous"] for a in data["attempts"]] == [None, 1.0]
    assert data["attempts"][1]["body_changed"] is True
    assert data["attempts"][1]["diff"]


def test_no_captures_no_deliveries():
    assert group_deliveries([]) == []


def test_a_path_with_a_lone_surrogate_still_gets_a_delivery_key():
    # Found by the hostile-views property test: "\ud800" is not a surrogateescape byte, and
    # encoding it raised UnicodeEncodeError from every view that groups deliveries.
    from hookbin.deliveries import delivery_key

    key, source = delivery_key("POST", "/x\ud800", (), b"{}")
    assert key.startswith("sha256:") and source == "hash"
    assert delivery_key("POST", "/x\udcff", (), b"{}")[0] != key
