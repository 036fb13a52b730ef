"""The catcher's quick read of a JSON body for its delivery key gives the exact key, for every body,
and the store's summary of that same read is the summary of the body read again.

`delivery_key` reads bodies with orjson (the `fast` extra) and falls back to the views' own
reading (`sniff_json`) where orjson refuses a body or reads a number the key would come from.
Every key must be the one the exact reading alone gives: these compare the two on bodies a
stranger might send, valid JSON or not.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hookbin import deliveries
from hookbin.deliveries import KeySpec, delivery_key, read_delivery_key
from hookbin.summaries import summary_of
from tests.factories import tcapture

pytestmark = pytest.mark.skipif(deliveries.orjson is None, reason="orjson (the fast extra) is not installed")

KEY_NAMES = st.sampled_from(["id", "event_id", "messageId", "data", "ID", "Id", "idx", "", "é", "\ud800", "0"])
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 3, max_value=2**64 + 3),  # around the 64 bits orjson reads exactly
    st.integers(min_value=-(2**63) - 3, max_value=-(2**63) + 3),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=12), st.just(""), st.just("\udc80"))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEY_NAMES, inner, max_size=4)),
    max_leaves=12,
)
SPECS = st.sampled_from([None, KeySpec("json", "id"), KeySpec("json", "data.id"), KeySpec("json", "data.0")])


def exact_key(body: bytes, spec: KeySpec | None = None) -> tuple[str, str]:
    """The key as hookbin gave it before the quick read: every body read by `sniff_json`."""
    return deliveries._delivery_key("POST", "/hooks", (), body, spec, deliveries._exact_json)


def _pairs_text(pairs: list[tuple[str, object]], ensure_ascii: bool) -> str:
    """A JSON object written by hand, so that one key may come twice."""
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=ensure_ascii)}: {json.dumps(v)}" for k, v in pairs) + "}"


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object", "pairs", "mutated", "any"]))
    ensure_ascii = draw(st.booleans())
    if kind == "object":
        text = json.dumps(draw(st.dictionaries(KEY_NAMES, VALUES, max_size=5)), ensure_ascii=ensure_ascii)
    elif kind == "pairs":  # duplicate keys: the last one wins in both readings
        text = _pairs_text(draw(st.lists(st.tuples(KEY_NAMES, VALUES), max_size=5)), ensure_ascii)
    elif kind == "mutated":
        text = json.dumps(draw(st.dictionaries(KEY_NAMES, VALUES, max_size=4)), ensure_ascii=ensure_ascii)
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", " ", ",", "}", "\x01", "\ufeff", "NaN", "\\u0069"])) + text[cut:]
    else:
        return draw(st.binary(max_size=64))
    body = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        body = draw(st.sampled_from([b"", b" ", b"\xef\xbb\xbf", b"\n"])) + body
    return body


@settings(max_examples=300, deadline=None)
@given(body=bodies(), spec=SPECS)
@example(body=b'{"id": 123456789012345678901234567890}', spec=None)  # orjson: a float
@example(body=b'{"id": 1e400}', spec=None)  # json: inf; orjson refuses
@example(body=b'{"id": "\\ud800"}', spec=None)  # a lone surrogate: json keeps it, orjson refuses
@example(body=b'{"id": -0}', spec=None)
@example(body=b'{"id": 1.5, "id": "x"}', spec=None)
@example(body=b'{"\\u0069d": "escaped name"}', spec=None)
@example(body=b'{"id": "a\x01b"}', spec=None)  # a raw control character: neither reads it
@example(body=b'{"id": "\xff"}', spec=None)  # not UTF-8
@example(body=b'{"data": {"id": 18446744073709551616}}', spec=KeySpec("json", "data.id"))
def test_the_quick_read_gives_the_exact_key(body: bytes, spec: KeySpec | None) -> None:
    assert delivery_key("POST", "/hooks", (), body, spec) == exact_key(body, spec)


def test_a_segmanta_body_is_read_quickly_to_the_same_key() -> None:
    body = json.dumps({"survey_id": 1234, "results": [{"id": 51001}], "custom_params": {"id": "x"}}).encode()
    document, exact = deliveries._quick_json(body)
    assert not exact and document["results"][0]["id"] == 51001  # orjson read it
    assert delivery_key("POST", "/hooks", (), body) == exact_key(body)
    assert delivery_key("POST", "/hooks", (), body)[1] == "hash"


def test_a_key_from_a_big_number_is_read_exactly() -> None:
    body = b'{"id": 123456789012345678901234567890}'
    assert delivery_key("POST", "/hooks", (), body) == ("123456789012345678901234567890", "json:id")


CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1", "text/plain"]
)


@settings(max_examples=300, deadline=None)
@given(body=bodies(), spec=SPECS, content_type=CONTENT_TYPES, gzip=st.booleans())
@example(body=b'{"survey_name": "CSAT", "survey_id": 1234}', spec=None, content_type="application/json", gzip=False)
@example(body=b'{"survey_id": 123456789012345678901234567890}', spec=None, content_type="application/json", gzip=False)
@example(body=b'{"survey_name": "x"}', spec=None, content_type="application/json", gzip=True)
@example(body=b"{" * 500 + b"}" * 500, spec=None, content_type="application/json", gzip=False)
def test_the_summary_of_what_the_catcher_read_is_the_summary_read_again(
    body: bytes, spec: KeySpec | None, content_type: str | None, gzip: bool
) -> None:
    # The store summarises a capture from the document the catcher read for its key: the same
    # summary as reading the body again, whatever the body and however it is declared.
    headers = tuple(
        [*([("Content-Type", content_type)] if content_type else []), *([("Content-Encoding", "gzip")] if gzip else [])]
    )
    key, source, document = read_delivery_key("POST", "/hooks", headers, body, spec)
    assert (key, source) == delivery_key("POST", "/hooks", headers, body, spec)
    capture = tcapture(body=body, headers=headers, delivery_key=key, delivery_source=source)
    assert summary_of(capture, document=document) == summary_of(capture)


def test_a_segmanta_body_is_read_once_for_its_key_and_its_summary() -> None:
    body = json.dumps({"survey_name": "CSAT", "survey_id": 1234, "results": []}).encode()
    headers = (("Content-Type", "application/json"),)
    _key, _source, document = read_delivery_key("POST", "/hooks", headers, body)
    assert document == {"survey_name": "CSAT", "survey_id": 1234, "results": []}
    assert summary_of(tcapture(body=body, headers=headers), document=document).survey == "CSAT"
