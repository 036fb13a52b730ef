"""Capture ids sort by time and never repeat; the JSON form round-trips the answer."""

from __future__ import annotations

from hookbin.model import ID_LENGTH, IdGenerator, ResponseGiven
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
