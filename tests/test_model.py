"""Capture ids sort by time and never repeat; the JSON form round-trips the answer; one outcome text."""

from __future__ import annotations

import pytest

from hookbin.commands.report import delivery_block
from hookbin.deliveries import group_deliveries
from hookbin.model import ID_LENGTH, Capture, Forwarded, IdGenerator, ResponseGiven, counter_of, outcome_text
from hookbin.summaries import summary_of
from hookbin.textout import capture_line, capture_page, list_row
from hookbin.tui.render import attempt_status, response_view, row_line
from tests.factories import tcapture


def test_ids_are_short_unique_and_sorted_even_within_one_millisecond():
    generator = IdGenerator()
    ids = [generator.new(now_ms=1_780_000_000_000) for _ in range(5000)]
    ids += [generator.new(now_ms=1_780_000_000_001) for _ in range(10)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert {len(i) for i in ids} == {ID_LENGTH}


def test_a_clock_going_backwards_does_not_break_the_order():
    generator = IdGenerator()
    first = generator.new(now_ms=2_000_000)
    second = generator.new(now_ms=1_000_000)
    assert second > first


def test_response_json_round_trip_keeps_binary_bodies():
    response = ResponseGiven(
        status=503,
        headers=(("Retry-After", "30"),),
        body=b"\xff\x00",
        delay_ms=1500,
        fault=None,
        rule="POST /x => 503",
        spec="503",
        step=1,
        duration_ms=0.5,
    )
    assert ResponseGiven.from_dict(response.to_dict()) == response


def test_what_became_of_the_answer_round_trips_and_reads_plainly():
    gone = ResponseGiven(status=200, delay_ms=5000, delivered=False, sender_gone_ms=2004.5)
    assert ResponseGiven.from_dict(gone.to_dict()) == gone
    assert gone.to_dict() | {"delivered": False, "sender_gone_ms": 2004.5, "bytes_sent": None} == gone.to_dict()
    assert gone.note == "sender hung up after 2.00 s; the 200 was never delivered"
    body = b"x" * 34
    dripped = ResponseGiven(
        status=200, body=body, fault="drip", drip_ms=5000, delivered=False, sender_gone_ms=3300, bytes_sent=22
    )
    assert dripped.note == "sender hung up after 3.30 s, 22 of 34 body bytes sent; the 200 was never fully delivered"
    closing = ResponseGiven(status=200, fault="close", delay_ms=9000, delivered=False, sender_gone_ms=1000)
    assert closing.note == "sender hung up after 1.00 s, before hookbin closed the connection"
    assert ResponseGiven(status=503, delay_ms=65000).note == "held back: the 503 goes out after 65 s"
    assert ResponseGiven(status=200, fault="drip", drip_ms=30000).note == "held back: the 200 is dripped over 30.0 s"
    assert ResponseGiven(status=201, delay_ms=1, delivered=True).note == "the sender waited: the 201 was delivered"
    assert ResponseGiven(status=200, delivered=True).note == "" == ResponseGiven(status=200, fault="reset").note
    # Older captures, from before this was recorded, read as they did.
    assert ResponseGiven.from_dict({"status": 200}).delivered is None


@pytest.mark.parametrize(
    ("response", "counter"),
    [
        (ResponseGiven(status=204, delivered=True), "2xx"),
        (ResponseGiven(status=503, delivered=True), "errors"),
        (ResponseGiven(status=200, fault="close", delivered=False), "faults"),
        (ResponseGiven(status=200, delay_ms=5000, delivered=False, sender_gone_ms=2000), "not_delivered"),
        (ResponseGiven(status=200, fault="close", delay_ms=5e3, delivered=False, sender_gone_ms=2e3), "not_delivered"),
        (ResponseGiven(status=200, delay_ms=5000), None),  # held back: not known yet
        (ResponseGiven(status=200, delay_ms=5000, delivered=True), "2xx"),
        (ResponseGiven(status=302, delivered=True), None),
    ],
)
def test_each_answer_counts_under_one_counter(response, counter):
    assert counter_of(response) == counter


def test_capture_json_form_fields():
    capture = tcapture(query_string="a=1&a=&b=2", body=b"\xff")
    data = capture.to_dict()
    assert data["query"] == [["a", "1"], ["a", ""], ["b", "2"]]
    assert (data["body"], data["body_encoding"]) == ("/w==", "base64")


def test_a_forward_result_survives_the_json_form_and_a_bad_one_reads_as_none():
    refused = Forwarded(url="http://127.0.0.1:3000/hook", error="connection refused", latency_ms=1.25)
    answered = Forwarded(url="http://127.0.0.1:3000/hook", status=201, latency_ms=12.5, size=15)
    for forward in (refused, answered):
        assert Capture.from_dict(tcapture(forward=forward).to_dict()).forward == forward
    assert Capture.from_dict(tcapture().to_dict()).forward is None
    assert Forwarded.from_dict({"url": 3, "status": 201}) is None
    assert Forwarded.from_dict({"url": "http://a/", "status": "201", "size": True}) == Forwarded(url="http://a/")


OUTCOMES = [
    (ResponseGiven(status=200), "200"),
    (ResponseGiven(status=503, delay_ms=1500), "503"),
    (ResponseGiven(status=200, fault="drip", drip_ms=3000), "200"),
    (ResponseGiven(status=200, fault="close"), "close"),
    (ResponseGiven(status=429, fault="reset"), "reset"),
    (ResponseGiven(status=200, delay_ms=5000, delivered=False, sender_gone_ms=2000), "gone"),
    (None, "---"),
]


def test_outcome_text():
    assert [
        outcome_text(*args)
        for args in [(204, None), (200, "drip"), (200, "close"), (None, "reset"), (None, None), (None, "drip")]
    ] == ["204", "200", "close", "reset", "---", "---"]


@pytest.mark.parametrize(("response", "word"), OUTCOMES, ids=[word + str(i) for i, (_, word) in enumerate(OUTCOMES)])
def test_every_view_names_the_outcome_in_the_same_word(response, word):
    capture = tcapture(response=response)
    (attempt,) = group_deliveries([capture])[0].attempts
    assert capture.outcome == attempt.outcome == word
    assert f" {word}  " in capture_line(capture) and f" {word}  " in list_row(capture)
    assert f" {word}" in delivery_block(group_deliveries([capture])[0]).splitlines()[1]
    assert attempt_status(attempt.status, attempt.fault, attempt.sender_gone_ms is not None).plain == word
    assert f"{word:<6}" in row_line(summary_of(capture)).plain
    if response is not None:
        assert f"status {word}" in capture_page(capture)
        # The Response tab says what was answered, then (on its own line) that it never arrived.
        first, *more = str(response_view(capture)).splitlines()
        assert first.startswith(f"Answered {word}") or more[0].startswith(f"{word}: ")
