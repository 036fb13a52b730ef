"""The catcher over real HTTP: any method and path, exact capture, store-before-answer, limits."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3

import pytest
from yarl import URL

from hookbin.config import DEFAULT_MAX_BODY, DEFAULT_MAX_BODY_BYTES
from hookbin.durations import parse_size
from hookbin.model import ID_LENGTH
from hookbin.store import Filter


async def test_any_method_on_any_path_is_answered_200_and_stored(start_hookbin, http):
    server = await start_hookbin()
    for method, target in [
        ("GET", "/"),
        ("POST", "/segmanta/hook?survey=1"),
        ("PUT", "/a/b/c"),
        ("DELETE", "/x"),
        ("PATCH", "//double//slashes/%2Fencoded/../dots"),
        ("OPTIONS", "/*"),
        ("PURGE", "/cache"),
    ]:
        # encoded=True: send the target as written, without the client normalising it.
        async with http.request(method, URL(server.url + target, encoded=True)) as response:
            assert response.status == 200, (method, target)
            payload = await response.json()
            assert payload["ok"] is True and len(payload["id"]) == ID_LENGTH
            assert response.headers["X-Hookbin-Id"] == payload["id"]
        stored = server.store.get(payload["id"])
        assert stored.method == method
        assert stored.url_path == target
    assert server.store.count() == 7


async def test_answered_capture_is_already_on_disk(start_hookbin, http):
    server = await start_hookbin()
    body = b'{"survey_id": 1234, "results": []}'
    async with http.post(server.url + "/hook", data=body, headers={"Content-Type": "application/json"}) as r:
        assert r.status == 200
        capture_id = (await r.json())["id"]
    # No flush, no wait: a second connection must already see it.
    other = sqlite3.connect(server.store.path)
    try:
        row = other.execute("SELECT method, path, body FROM captures WHERE id = ?", (capture_id,)).fetchone()
    finally:
        other.close()
    assert row == ("POST", "/hook", body)


async def test_duplicate_headers_and_query_keys_are_kept_in_order(start_hookbin, http):
    server = await start_hookbin()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /q?tag=a&empty=&tag=b&tag=a HTTP/1.1\r\nHost: x\r\nX-Trace: first\r\nAccept: */*\r\n"
        b"X-Trace: second\r\nx-trace: third\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    answer = await reader.read()
    writer.close()
    capture_id = json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]
    capture = server.store.get(capture_id)
    assert [v for k, v in capture.headers if k.lower() == "x-trace"] == ["first", "second", "third"]
    assert [k for k, _ in capture.headers if k.lower() == "x-trace"] == ["X-Trace", "X-Trace", "x-trace"]
    assert capture.query_string == "tag=a&empty=&tag=b&tag=a"
    assert capture.query == [("tag", "a"), ("empty", ""), ("tag", "b"), ("tag", "a")]


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", b'{"survey_name": "Customer Satisfaction Survey"}'),
        ("application/json", b'{"survey_name": "broken",'),
        ("application/x-www-form-urlencoded", b"a=1&a=2&b=%C3%A9"),
        (
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\xff\r\n--XyZ--\r\n",
        ),
        ("text/plain; charset=iso-8859-1", "café".encode("latin-1")),
        ("application/octet-stream", bytes(range(256)) * 4),
        ("application/json; charset=utf-8", b"\xff\xfe\x00garbage"),
        (None, b""),
    ],
)
async def test_every_body_kind_is_stored_byte_for_byte(start_hookbin, http, content_type, body):
    server = await start_hookbin()
    headers = {"Content-Type": content_type} if content_type else {}
    async with http.post(server.url + "/b", data=body, headers=headers) as r:
        assert r.status == 200
        capture_id = (await r.json())["id"]
    capture = server.store.get(capture_id)
    assert capture.body == body
    assert capture.body_size == len(body)
    assert not capture.truncated


async def test_gzip_body_is_kept_compressed(start_hookbin, http):
    server = await start_hookbin()
    raw = gzip.compress(b'{"a": 1}')
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    async with http.post(server.url + "/z", data=raw, headers=headers) as r:
        capture_id = (await r.json())["id"]
    assert server.store.get(capture_id).body == raw


async def test_body_over_limit_gets_413_and_is_recorded_truncated(start_hookbin, http):
    server = await start_hookbin(max_body=1024)
    body = b"A" * 5000
    async with http.post(server.url + "/big", data=body) as r:
        assert r.status == 413
        payload = await r.json()
        assert payload["ok"] is False and "1024 byte limit" in payload["error"]
    capture = server.store.get(payload["id"])
    assert capture.truncated
    assert capture.body_size == 5000
    assert capture.body and body.startswith(capture.body)
    assert capture.response.status == 413


async def test_the_default_limit_is_the_one_serve_shows(start_hookbin, http):
    server = await start_hookbin()
    assert DEFAULT_MAX_BODY_BYTES == parse_size(DEFAULT_MAX_BODY) == 10 * 1024 * 1024
    async with http.post(server.url + "/at-limit", data=b"a" * DEFAULT_MAX_BODY_BYTES) as r:
        assert r.status == 200
    async with http.post(server.url + "/over", data=b"a" * (DEFAULT_MAX_BODY_BYTES + 1)) as r:
        assert r.status == 413
        assert f"{DEFAULT_MAX_BODY_BYTES} byte limit" in (await r.json())["error"]


async def test_chunked_body_over_limit_gets_413(start_hookbin, http):
    server = await start_hookbin(max_body=1000)

    async def chunks():
        for _ in range(10):
            yield b"x" * 500

    async with http.post(server.url + "/chunked", data=chunks()) as r:
        assert r.status == 413
        capture_id = (await r.json())["id"]
    capture = server.store.get(capture_id)
    assert capture.truncated and capture.body_size > 1000


async def test_huge_header_value_is_captured(start_hookbin, http):
    server = await start_hookbin()
    value = "v" * 30000
    async with http.get(server.url + "/h", headers={"X-Huge": value}) as r:
        assert r.status == 200
        capture_id = (await r.json())["id"]
    capture = server.store.get(capture_id)
    assert dict(capture.headers)["X-Huge"] == value


async def test_raw_bytes_in_request_line_and_headers_survive(start_hookbin):
    server = await start_hookbin()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /p%FFath?q=%1b[31m HTTP/1.1\r\nHost: x\r\nX-Bin: \xc3\x28[/bold]\r\n"
        b"Content-Length: 3\r\nConnection: close\r\n\r\n\x00\x01\x02"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 ")
    capture = server.store.list_captures(limit=1)[0]
    assert capture.url_path == "/p%FFath?q=%1b[31m"
    assert capture.body == b"\x00\x01\x02"
    assert dict(capture.headers)["X-Bin"].encode("utf-8", "surrogateescape") == b"\xc3\x28[/bold]"


async def test_attempts_of_one_delivery_are_numbered(start_hookbin, http):
    server = await start_hookbin()
    body = json.dumps({"survey_id": 1, "results": []}).encode()
    ids = []
    for _ in range(3):
        async with http.post(server.url + "/s", data=body) as r:
            ids.append((await r.json())["id"])
    async with http.post(server.url + "/s", data=b'{"survey_id": 2}') as r:
        other = (await r.json())["id"]
    attempts = [server.store.get(i).attempt for i in ids]
    assert attempts == [1, 2, 3]
    assert server.store.get(other).attempt == 1
    assert len({server.store.get(i).delivery_key for i in ids}) == 1


async def test_a_restart_is_a_new_run_numbered_after_the_last(start_hookbin, http, tmp_path):
    db = tmp_path / "shared.db"
    first = await start_hookbin("500,200", db=db)
    for expected in (500, 200):
        async with http.post(first.url + "/s", data=b"same") as r:
            assert r.status == expected
    await first.stop()
    first.store.close()
    second = await start_hookbin("500,200", db=db)
    async with http.post(second.url + "/s", data=b"same") as r:
        assert r.status == 500  # the sequence starts over too
        capture_id = (await r.json())["id"]
    again = second.store.get(capture_id)
    assert (again.attempt, again.run) == (1, 2)
    assert [c.attempt for c in second.store.list_captures(flt=Filter(run=1))] == [2, 1]
    assert second.store.get_run(2).spec == "500,200"


async def test_a_new_run_while_serving_numbers_attempts_from_one(start_hookbin, http):
    server = await start_hookbin("503,200")
    for _ in range(2):
        async with http.post(server.url + "/s", data=b"same") as r:
            await r.read()
    server.responder.new_run()
    async with http.post(server.url + "/s", data=b"same") as r:
        assert r.status == 503
        capture = server.store.get((await r.json())["id"])
    assert (capture.attempt, capture.run, capture.response.step) == (1, 2, 1)


@pytest.mark.parametrize(
    ("spec", "method", "expected"),
    [
        ("200", "POST", {"POST": ["Content-Type"]}),
        ("200", "HEAD", {"POST": ["Content-Type"], "HEAD": []}),
        ("204", "POST", {"POST": []}),
        ("429 retry-after=30", "POST", {"POST": ["Content-Type", "Retry-After"]}),
        ("429 retry-after=30", "HEAD", {"POST": ["Content-Type", "Retry-After"], "HEAD": ["Retry-After"]}),
    ],
)
async def test_each_answer_has_its_own_headers_and_id(start_hookbin, http, spec, method, expected):
    # The headers of one answer are made once and reused: a HEAD among POSTs, or the next
    # request, must still get exactly its own headers (Content-Type only with a body), id and body.
    server = await start_hookbin(spec)
    seen = []
    for verb in ("POST", method, "POST"):
        async with http.request(verb, server.url + "/h", data=b"{}" if verb != "HEAD" else None) as r:
            capture = server.store.get(r.headers["X-Hookbin-Id"])
            assert [name for name, _ in capture.response.headers] == [*expected[verb], "X-Hookbin-Id"]
            assert dict(capture.response.headers)["X-Hookbin-Id"] == capture.id
            body = await r.read()
            assert body == capture.response.body
            assert (body != b"") == ("Content-Type" in expected[verb])
            seen.append(capture.id)
    assert len(set(seen)) == 3


async def test_a_body_sent_in_pieces_is_stored_whole(start_hookbin):
    # The catcher stops reading once the declared length is in; a body that arrives in several
    # reads must still be kept whole, and the next request on the connection read as its own.
    server = await start_hookbin()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    body = b'{"survey_name": "pieces", "results": []}'
    writer.write(b"POST /pieces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(body[10:25])
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(body[25:] + b"POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    await writer.drain()
    answers = await reader.read()
    writer.close()
    assert answers.count(b"HTTP/1.1 200 OK") == 2
    first, second = sorted(server.store.list_captures(limit=2), key=lambda capture: capture.id)
    assert (first.path, first.body, first.body_size, first.truncated) == ("/pieces", body, len(body), False)
    assert (second.path, second.body) == ("/next", b"{}")
    assert [row.survey for row in server.store.list_summaries(limit=2) if row.path == "/pieces"] == ["pieces"]


async def test_client_that_disconnects_mid_body_is_still_recorded(start_hookbin):
    server = await start_hookbin()
    _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
    await writer.drain()
    writer.close()
    for _ in range(3000):  # 60 s at least: the store's writer thread may be slow to get a turn
        if server.store.count():
            break
        await asyncio.sleep(0.02)
    capture = server.store.list_captures(limit=1)[0]
    assert capture.path == "/cut" and capture.body == b"partial" and capture.truncated


# Requests aiohttp's parser answers 400 itself: hookbin cannot keep them, but must say so.
UNPARSABLE = [
    ("lowercase-method", b"post /segmanta HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", "b'post /segmanta"),
    ("unknown-method", b"WEBHOOK /segmanta HTTP/1.1\r\nHost: x\r\n\r\n", "b'WEBHOOK /segmanta"),
    ("tls-to-plain-port", bytes.fromhex("16030100f5010000f10303") + bytes(32), "HTTPS traffic on an HTTP port"),
    ("raw-esc-in-path", b"POST /a\x1b[2Jb HTTP/1.1\r\nHost: x\r\n\r\n", "b'POST /a\\x1b[2Jb"),
]


@pytest.mark.parametrize(("raw", "says"), [case[1:] for case in UNPARSABLE], ids=[case[0] for case in UNPARSABLE])
async def test_a_request_the_parser_refuses_is_said_and_counted_not_lost_silently(start_hookbin, http, raw, says):
    lines: list[str] = []
    server = await start_hookbin(notify=lines.append)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(raw)
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.0 400 Bad Request")
    (line,) = lines
    assert line.startswith("refused a request from 127.0.0.1 that is not valid HTTP: ") and says in line, line
    assert "\x1b" not in line and server.store.count() == 0
    assert server.refusals.refused == 1
    async with http.post(server.url + "/after", data=b"{}") as r:
        assert r.status == 200
