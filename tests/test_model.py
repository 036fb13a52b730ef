"""Capture ids sort by time and never repeat; the JSON form round-trips the answer; one outcome text."""

from __future__ import annotations

import pytest

from hookbin.commands.report import delivery_block
from hookbin.deliveries import group_deliveries
from hookbin.model import ID_LENGTH, IdGenerator, ResponseGiven, outcome_text
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
    response = ResponseGiven(status=503, headers=(("Retry-After", "30"),), body=b"\xff\x00", delay_ms=1500,
                             fault=None, rule="POST /x => 503", spec="503", step=1, duration_ms=0.5)
    assert ResponseGiven.from_dict(response.to_dict()) == response


def test_capture_json_form_fields():
    capture = tcapture(query_string="a=1&a=&b=2", body=b"\xff")
    data = capture.to_dict()
    assert data["query"] == [["a", "1"], ["a", ""], ["b", "2"]]
    assert (data["body"], data["body_encoding"]) == ("/w==", "base64")


OUTCOMES = [
    (ResponseGiven(status=200), "200"),
    (ResponseGiven(status=503, delay_ms=1500), "503"),
    (ResponseGiven(status=200, fault="drip", drip_ms=3000), "200"),
    (ResponseGiven(status=200, fault="close"), "close"),
    (ResponseGiven(status=429, fault="reset"), "reset"),
    (None, "---"),
]


def test_outcome_text():
    assert [outcome_text(*args) for args in [(204, None), (200, "drip"), (200, "close"), (None, "reset"),
                                             (None, None), (None, "drip")]] == [
        "204", "200", "close", "reset", "---", "---"]


@pytest.mark.parametrize(("response", "word"), OUTCOMES, ids=[word + str(i) for i, (_, word) in enumerate(OUTCOMES)])
def test_every_view_names_the_outcome_in_the_same_word(response, word):
    capture = tcapture(response=response)
    (attempt,) = group_deliveries([capture])[0].attempts
    assert capture.outcome == attempt.outcome == word
    assert f" {word}  " in capture_line(capture) and f" {word}  " in list_row(capture)
    assert f" {word}" in delivery_block(group_deliveries([capture])[0]).splitlines()[1]
    assert attempt_status(attempt.status, attempt.fault).plain == word
    assert f"{word:<6}" in row_line(capture).plain
    if response is not None:
        assert f"status {word}" in capture_page(capture)
        assert str(response_view(capture)).startswith(f"Answered {word}")
