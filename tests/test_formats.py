"""Export formats: HAR 1.2 that viewers accept, NDJSON, and both read back exactly; --redact.

The command-level tests (a real store, the curl script and the pytest module run for real) are
in tests/commands/test_export.py.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookbin import __version__
from hookbin.formats import FORMATS, make_writer, write_all
from hookbin.formats import reading as reading_module
from hookbin.formats.errors import FormatError
from hookbin.formats.har import HarWriter, entry, request_url
from hookbin.formats.ndjson import NdjsonWriter
from hookbin.formats.reading import read_captures
from hookbin.formats.redact import CREDENTIAL_HEADERS, MASK, redact
from hookbin.model import Capture, Forwarded, ResponseGiven
from hookbin.signatures.check import SignatureCheck
from tests.factories import tcapture
from tests.har_schema import HAR_1_2
from tests.recording import HEADER_VALUE, SOME_BYTES, TOKEN, as_text

# -- captures with every field set, any bytes where a sender chooses them -------------------------

ANY_TEXT = st.text(max_size=20) | st.binary(max_size=20).map(as_text)
MILLIS = st.integers(0, 10**9).map(lambda n: n / 1000)  # the JSON forms keep 3 decimals
MAYBE_TEXT = st.none() | ANY_TEXT
HEADERS = st.lists(st.tuples(TOKEN | ANY_TEXT, HEADER_VALUE | ANY_TEXT), max_size=5).map(tuple)
RESPONSE_FIELDS = {
    "status": st.integers(100, 599),
    "headers": HEADERS,
    "body": SOME_BYTES,
    "delay_ms": MILLIS,
    "fault": st.sampled_from([None, "close", "reset", "drip"]),
    "drip_ms": MILLIS,
    "rule": MAYBE_TEXT,
    "spec": MAYBE_TEXT,
    "step": st.none() | st.integers(1, 1000),
    "reason": MAYBE_TEXT,
    "duration_ms": MILLIS,
    "delivered": st.none() | st.booleans(),
    "sender_gone_ms": st.none() | MILLIS,
    "bytes_sent": st.none() | st.integers(0, 2**40),
}
CAPTURE_FIELDS = {
    "id": st.from_regex(r"[0-9a-z]{12}", fullmatch=True),
    "received_at": st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
    "method": TOKEN,
    "path": ANY_TEXT.map(lambda p: "/" + p) | st.sampled_from(["*", "http://elsewhere.example/x", "/a?b#c"]),
    "query_string": ANY_TEXT,
    "headers": HEADERS,
    "body": SOME_BYTES | st.sampled_from([b"", b"\x00\xff\xfe", b"a=1&b=%zz"]),
    "body_size": st.integers(0, 2**40),
    "truncated": st.booleans(),
    "remote": ANY_TEXT,
    "response": st.none() | st.builds(ResponseGiven, **RESPONSE_FIELDS),
    "delivery_key": MAYBE_TEXT,
    "delivery_source": MAYBE_TEXT,
    "attempt": st.none() | st.integers(1, 10**6),
    "run": st.none() | st.integers(1, 10**6),
    "signature": st.none()
    | st.builds(SignatureCheck, scheme=st.sampled_from(["standard", "github"]), valid=st.booleans(), reason=ANY_TEXT),
    "forward": st.none()
    | st.builds(
        Forwarded,
        url=ANY_TEXT,
        status=st.none() | st.integers(100, 599),
        latency_ms=MILLIS,
        error=MAYBE_TEXT,
        size=st.none() | st.integers(0, 2**40),
    ),
}
FULL_CAPTURE = st.builds(Capture, **CAPTURE_FIELDS)


def export(captures: list[Capture], writer_class) -> str:
    out = io.StringIO()
    writer = writer_class(out)
    for capture in captures:
        writer.write(capture)
    writer.close()
    return out.getvalue()


def read_back(text: str) -> list[Capture]:
    return list(read_captures(io.StringIO(text)))


# -- HAR ------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(captures=st.lists(FULL_CAPTURE, max_size=4))
def test_har_output_is_har_1_2(captures):
    document = json.loads(export(captures, HarWriter))
    jsonschema.validate(document, HAR_1_2)
    assert document["log"]["creator"]["name"] == "hookbin"
    assert len(document["log"]["entries"]) == len(captures)


@settings(max_examples=100, deadline=None)
@given(captures=st.lists(FULL_CAPTURE, max_size=4))
def test_har_round_trips_every_field_and_byte(captures):
    back = read_back(export(captures, HarWriter))
    assert back == captures


def test_the_round_trip_tests_set_every_field():
    """A field added to Capture or ResponseGiven must be given a strategy above (and so be proved
    to survive export and import) before this passes."""
    assert set(CAPTURE_FIELDS) == {field.name for field in dataclasses.fields(Capture)}
    assert set(RESPONSE_FIELDS) == {field.name for field in dataclasses.fields(ResponseGiven)}


def test_a_har_entry_reads_well_in_a_viewer():
    capture = tcapture(
        seq=0,
        method="POST",
        path="/segmanta/csat",
        query_string="crm_id=CUST-1042&x=%zz&y=\u00e9",
        headers=(
            ("Host", "abc.ngrok.app"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", "session=s3cret; theme=dark"),
        ),
        body=b"answer=4&comment=fast",
        response=ResponseGiven(
            status=302,
            headers=(("Content-Type", "text/plain"), ("Location", "/elsewhere")),
            body=b"moved",
            delay_ms=1500,
            duration_ms=0.25,
            drip_ms=2000,
        ),
    )
    item = entry(capture)
    request, response = item["request"], item["response"]
    assert request["url"] == "http://abc.ngrok.app/segmanta/csat?crm_id=CUST-1042&x=%25zz&y=%C3%A9"
    assert request["queryString"][0] == {"name": "crm_id", "value": "CUST-1042"}
    assert request["cookies"] == [{"name": "session", "value": "s3cret"}, {"name": "theme", "value": "dark"}]
    assert request["postData"] == {
        "mimeType": "application/x-www-form-urlencoded",
        "text": "answer=4&comment=fast",
        "params": [{"name": "answer", "value": "4"}, {"name": "comment", "value": "fast"}],
    }
    assert (response["status"], response["statusText"], response["redirectURL"]) == (302, "Found", "/elsewhere")
    assert response["content"] == {"size": 5, "mimeType": "text/plain", "text": "moved"}
    assert item["timings"]["wait"] == 1500.25 and item["timings"]["receive"] == 2000
    assert item["time"] == 3500.25
    assert item["startedDateTime"] == "2026-03-01T14:05:09.123+00:00"


def test_a_binary_body_is_base64_with_its_encoding_and_a_dropped_connection_has_no_status():
    capture = tcapture(body=b"\x1f\x8b\x08\x00\xff", response=ResponseGiven(status=200, fault="reset"))
    item = entry(capture)
    assert item["request"]["postData"]["encoding"] == "base64"
    assert item["request"]["postData"]["text"] == "H4sIAP8="
    assert item["request"]["bodySize"] == 5
    assert item["response"]["status"] == 0  # what dev tools show for a request that got no answer
    assert item["_hookbin"]["response"]["fault"] == "reset"


@pytest.mark.parametrize(
    ("host", "path", "url"),
    [
        ("", "/x", "http://localhost/x"),
        ("evil.example/../x?", "/x", "http://localhost/x"),
        ("[::1]:8080", "/a b/\u202e", "http://[::1]:8080/a%20b/%E2%80%AE"),
        ("h", "*", "http://h/*"),
        ("h", "/q?#", "http://h/q%3F%23"),
    ],
)
def test_the_har_url_is_absolute_printable_ascii(host, path, url):
    headers = (("Host", host),) if host else ()
    assert request_url(tcapture(path=path, headers=headers)) == url


def test_har_from_another_tool_imports_from_its_standard_fields():
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [],
            "entries": [
                {
                    "startedDateTime": "2026-03-01T15:05:09.123Z",
                    "time": 12.5,
                    "request": {
                        "method": "POST",
                        "url": "https://shop.example/hooks/order?x=1",
                        "httpVersion": "http/2.0",
                        "headers": [
                            {"name": ":authority", "value": "shop.example"},
                            {"name": "content-type", "value": "application/x-www-form-urlencoded"},
                        ],
                        "queryString": [{"name": "x", "value": "1"}],
                        "cookies": [],
                        "headersSize": -1,
                        "bodySize": 7,
                        "postData": {
                            "mimeType": "application/x-www-form-urlencoded",
                            "params": [{"name": "a", "value": "b c"}],
                        },
                    },
                    "response": {
                        "status": 201,
                        "statusText": "Created",
                        "httpVersion": "http/2.0",
                        "cookies": [],
                        "headers": [],
                        "content": {"size": 2, "mimeType": "text/plain", "text": "ok"},
                        "redirectURL": "",
                        "headersSize": -1,
                        "bodySize": 2,
                    },
                    "cache": {},
                    "timings": {"send": 1, "wait": 10, "receive": 1.5},
                }
            ],
        }
    }
    text = json.dumps(document, indent=2)
    (capture,) = read_back(text)
    assert (capture.method, capture.path, capture.query_string) == ("POST", "/hooks/order", "x=1")
    assert capture.headers == (("content-type", "application/x-www-form-urlencoded"),)
    assert capture.body == b"a=b+c"
    assert capture.received_at == datetime(2026, 3, 1, 15, 5, 9, 123000, tzinfo=UTC)
    assert capture.response is not None and (capture.response.status, capture.response.body) == (201, b"ok")
    assert capture.delivery_key and capture.delivery_source == "hash"
    assert read_back(text)[0].id == capture.id, "the same entry imported twice gets the same id"


# -- NDJSON ---------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(captures=st.lists(FULL_CAPTURE, max_size=4))
def test_ndjson_round_trips_every_field_and_byte(captures):
    text = export(captures, NdjsonWriter)
    assert text.isascii() and text.count("\n") == len(captures)
    assert read_back(text) == captures


def test_ndjson_has_one_capture_per_line_with_binary_bodies_in_base64():
    text = export([tcapture(body=b"\xff\xfe"), tcapture(body=b'{"a": 1}')], NdjsonWriter)
    first, second = (json.loads(line) for line in text.splitlines())
    assert (first["body"], first["body_encoding"]) == ("//4=", "base64")
    assert (second["body"], second["body_encoding"]) == ('{"a": 1}', "utf-8")


def test_ls_json_output_imports_too():
    captures = [tcapture(), tcapture(body=b"\x00")]
    text = "".join(json.dumps(c.to_dict()) + "\n" for c in captures)
    assert read_back(text) == captures


# -- reading: one capture at a time, errors that name the place -----------------------------------


class CountingReader(io.StringIO):
    """Remembers how far the reader has read."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.furthest = 0

    def read(self, size: int | None = -1) -> str:
        chunk = super().read(size)
        self.furthest = self.tell()
        return chunk

    def readline(self, size: int | None = -1) -> str:
        line = super().readline(size)
        self.furthest = self.tell()
        return line

    def __next__(self) -> str:
        line = super().__next__()
        self.furthest = self.tell()
        return line


@pytest.mark.parametrize("writer_class", [HarWriter, NdjsonWriter])
def test_reading_yields_the_first_capture_before_reading_the_whole_file(writer_class):
    captures = [tcapture(body=b"x" * 50_000) for _ in range(40)]
    stream = CountingReader(export(captures, writer_class))
    first = next(read_captures(stream))
    assert first == captures[0]
    assert stream.furthest < len(stream.getvalue()) / 4


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000])
def test_har_reads_the_same_whatever_the_chunk_boundaries(monkeypatch, chunk):
    captures = [tcapture(body=b"\xff" * 300), tcapture(body="é".encode() * 200), tcapture(attempt=12345)]
    text = export(captures, HarWriter)
    monkeypatch.setattr(reading_module, "_CHUNK", chunk)
    assert read_back(text) == captures
    assert read_back(json.dumps(json.loads(text), indent=3)) == captures  # pretty-printed too


def test_an_empty_har_and_an_empty_ndjson_file_hold_no_captures():
    assert read_back(export([], HarWriter)) == []
    assert read_back("") == []
    assert read_back("\n\n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "a1"}\n{"nope"\n', "line 1: missing field 'received_at'"),
        (
            json.dumps(tcapture(seq=1).to_dict()) + "\n\nnot json\n",
            "line 3: not valid JSON: Expecting value (column 1)",
        ),
        ("[1, 2]\n", "line 1: a capture must be a JSON object"),
        (
            '{"id": "../etc", "received_at": "2026-01-01T00:00:00+00:00", "method": "GET", "path": "/"}',
            "line 1: id '../etc' is not a hookbin id",
        ),
        ('{"id": "a", "received_at": "yesterday", "method": "GET", "path": "/"}', "line 1: Invalid isoformat string"),
        (
            '{"id": "a", "received_at": "2026-01-01T00:00:00+00:00", "method": "GET", "path": "/", "body": "%%",'
            ' "body_encoding": "base64"}',
            "line 1: ",
        ),
        ('{"log": {"version": "1.2"}}', "not a HAR file: it has no log.entries"),
        ('{"log": {"entries": [{"request": {}}]}}', "entry 1: missing field 'method'"),
        ('{"log": {"entries": [{}, 5]}}', "entry 1: missing field 'request'"),
        (
            '{"log": {"entries": [' + json.dumps(entry(tcapture(seq=1))) + ", 5]}}",
            "entry 2: an entry must be an object",
        ),
        ('{"log": {"entries": [' + json.dumps(entry(tcapture(seq=1))) + ", {", "after entry 1: not valid JSON"),
        ('{"log": {"entries": [' + json.dumps(entry(tcapture(seq=1)))[:-40], "before the first entry: not valid JSON"),
        ('{"log": {"entries": []}} trailing', "text after the end of the HAR document"),
    ],
)
def test_malformed_input_is_one_message_naming_the_line_or_entry(text, message):
    with pytest.raises(FormatError) as caught:
        read_back(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_har_entry_with_a_bad_base64_body_names_the_field():
    item = entry(tcapture(body=b"\xff", seq=1))
    item["request"]["postData"]["text"] = "not base64!"
    with pytest.raises(FormatError, match=r"^entry 1: request\.postData\.text is not valid base64$"):
        read_back(json.dumps({"log": {"entries": [item]}}))


# -- every format: --redact -----------------------------------------------------------------------

SECRETS = {
    "Authorization": "Bearer tok-AUTH",
    "cookie": "session=tok-COOKIE",
    "Proxy-Authorization": "Basic tok-PROXY",
    "webhook-signature": "v1,tok-STANDARD",
    "svix-signature": "v1,tok-SVIX",
    "Stripe-Signature": "t=1,v1=tok-STRIPE",
    "X-Hub-Signature": "sha1=tok-HUB1",
    "X-Hub-Signature-256": "sha256=tok-HUB256",
}


def secret_capture() -> Capture:
    return tcapture(
        headers=(("Content-Type", "application/json"), *SECRETS.items(), ("X-Request-Id", "keep-me")),
        response=ResponseGiven(status=200, headers=(("Set-Cookie", "sid=tok-SETCOOKIE; HttpOnly"),)),
    )


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("masked", [True, False])
def test_redact_masks_credential_headers_in_every_format(name, masked, tmp_path):
    out = io.StringIO()
    write_all(
        [secret_capture()], make_writer(name, out, base_url="http://127.0.0.1:3000", bodies=tmp_path), redact=masked
    )
    text = out.getvalue()
    tokens = ["tok-AUTH", "tok-COOKIE", "tok-PROXY", "tok-STANDARD", "tok-SVIX", "tok-STRIPE", "tok-HUB1", "tok-HUB256"]
    if name in ("har", "ndjson"):  # these carry hookbin's answer too
        tokens.append("tok-SETCOOKIE")
    leaked = [token for token in tokens if token in text]
    assert leaked == ([] if masked else tokens)
    assert "keep-me" in text


def test_redact_keeps_every_other_header_in_place():
    capture = secret_capture()
    masked = redact(capture)
    assert [name for name, _ in masked.headers] == [name for name, _ in capture.headers]
    assert {value for name, value in masked.headers if name.lower() in CREDENTIAL_HEADERS} == {MASK}
    assert masked.body == capture.body and masked.id == capture.id
    assert redact(tcapture(seq=5)) == tcapture(seq=5)


def test_no_captures_is_a_whole_document_in_every_format(tmp_path):
    for name in FORMATS:
        out = io.StringIO()
        assert write_all([], make_writer(name, out, base_url="http://x", bodies=tmp_path)) == 0
        assert bool(out.getvalue()) is (name != "ndjson")
    log = json.loads(export([], HarWriter))["log"]
    assert (log["version"], log["creator"], log["entries"]) == ("1.2", {"name": "hookbin", "version": __version__}, [])
