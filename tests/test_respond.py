"""Response simulation end to end: a real hookbin answers a real client as the spec says."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest


async def post(http, url, body=b"{}", headers=None, **kw):
    async with http.post(url, data=body, headers=headers, **kw) as r:
        return r.status, r.headers, await r.read()


async def test_status_body_headers_and_retry_after(start_hookbin, http):
    server = await start_hookbin("429 retry-after=30")
    status, headers, body = await post(http, server.url + "/x")
    assert status == 429 and headers["Retry-After"] == "30"
    assert json.loads(body)["ok"] is False
    server.responder.set_spec("410")
    server.responder.set_body(b"<gone/>", "application/xml")
    server.responder.set_headers(["X-One: 1", "X-One: 2"])
    status, headers, body = await post(http, server.url + "/x")
    assert status == 410 and body == b"<gone/>"
    assert headers["Content-Type"] == "application/xml" and headers.getall("X-One") == ["1", "2"]
    capture = server.store.list_captures(limit=1)[0]
    assert capture.response.status == 410 and capture.response.body == b"<gone/>"
    assert capture.response.spec == "410" and capture.response.step == 1


async def test_sequence_per_delivery_over_interleaved_deliveries(start_hookbin, http):
    server = await start_hookbin("500,500,200")
    a = json.dumps({"survey_id": 1, "respondent": "a"}).encode()
    b = json.dumps({"survey_id": 1, "respondent": "b"}).encode()
    seen = []
    for body in (a, b, a, b, a, a, b):
        seen.append((await post(http, server.url + "/segmanta", body))[0])
    assert seen == [500, 500, 500, 500, 200, 200, 200]
    steps = [(c.attempt, c.response.step) for c in reversed(server.store.list_captures())]
    assert steps == [(1, 1), (1, 1), (2, 2), (2, 2), (3, 3), (4, 3), (3, 3)]


async def test_sequence_follows_a_known_delivery_id_header(start_hookbin, http):
    server = await start_hookbin("503,200")
    for attempt_body in (b'{"t": 1}', b'{"t": 2}'):  # the body changes per attempt, the id does not
        status, _, _ = await post(http, server.url + "/", attempt_body, {"webhook-id": "msg_1"})
    assert status == 200
    assert [c.delivery_source for c in server.store.list_captures()] == ["header:webhook-id"] * 2


async def test_global_sequence(start_hookbin, http):
    server = await start_hookbin("global: 503,200")
    statuses = [(await post(http, server.url + f"/{n}", f"{n}".encode()))[0] for n in range(3)]
    assert statuses == [503, 200, 200]


async def test_chance_is_repeatable_with_a_seed(start_hookbin, http):
    runs = []
    for _ in range(2):
        server = await start_hookbin("30% 503", seed=7, db=":memory:")
        runs.append([(await post(http, server.url + "/", str(n).encode()))[0] for n in range(60)])
    assert runs[0] == runs[1]
    assert 5 <= runs[0].count(503) <= 35 and set(runs[0]) == {200, 503}


async def test_delay_outlasts_a_client_timeout_and_is_still_stored(start_hookbin, http):
    server = await start_hookbin("200 delay=30s")
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await post(http, server.url + "/slow", timeout=aiohttp.ClientTimeout(total=0.5))
    assert time.monotonic() - started < 30  # the client gave up; it did not wait out the delay
    capture = server.store.list_captures(limit=1)[0]
    assert capture.path == "/slow" and capture.response.delay_ms == 30000


async def test_delay_is_applied(start_hookbin, http):
    server = await start_hookbin("204 delay=400ms")
    started = time.monotonic()
    status, _, _ = await post(http, server.url + "/")
    assert status == 204 and time.monotonic() - started >= 0.4


async def test_close_without_answering(start_hookbin, http):
    server = await start_hookbin("close")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http, server.url + "/c")
    assert server.store.list_captures(limit=1)[0].response.fault == "close"


async def test_reset_is_a_connection_reset(start_hookbin):
    server = await start_hookbin("reset")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    await writer.drain()
    with pytest.raises(ConnectionResetError):
        await reader.read()
    writer.close()
    assert server.store.list_captures(limit=1)[0].response.fault == "reset"


async def test_drip_trickles_the_body(start_hookbin):
    server = await start_hookbin("200 drip=1s")
    server.responder.set_body(b"x" * 40, "text/plain")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    started = time.monotonic()
    arrivals = []
    while chunk := await reader.read(1024):
        arrivals.append((time.monotonic() - started, chunk))
    writer.close()
    data = b"".join(chunk for _, chunk in arrivals)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"x" * 40)
    assert len(arrivals) >= 5 and arrivals[-1][0] >= 0.8


async def test_rules_first_match_wins(start_hookbin, http):
    server = await start_hookbin("200", ["POST /segmanta/* => 503", "/segmanta/special => 418", "GET /** => 404"])
    assert (await post(http, server.url + "/segmanta/special"))[0] == 503
    async with http.get(server.url + "/segmanta/special") as r:
        assert r.status == 418
    async with http.get(server.url + "/elsewhere") as r:
        assert r.status == 404
    assert (await post(http, server.url + "/other"))[0] == 200
    rules = [c.response.rule for c in reversed(server.store.list_captures())]
    assert rules == ["POST /segmanta/* => 503", "/segmanta/special => 418", "GET /** => 404", None]


async def test_control_api_change_applies_to_the_next_request_while_one_is_in_flight(start_hookbin, http, control):
    server = await start_hookbin("200 delay=3s")
    in_flight = asyncio.create_task(post(http, server.url + "/first", b"1"))
    while server.store.count() == 0:  # until the first is stored and waiting out its delay
        await asyncio.sleep(0.01)
    status, state = await control(server, "PUT", "/api/responder", json={"spec": "503"})
    assert status == 200 and state["spec"] == "503"
    assert (await post(http, server.url + "/second", b"2"))[0] == 503
    assert not in_flight.done()  # the second was answered at once, not after the first's delay
    assert (await in_flight)[0] == 200


async def test_control_api_refuses_a_bad_spec_and_keeps_the_current_one(start_hookbin, http, control):
    server = await start_hookbin("500,200")
    status, payload = await control(server, "PUT", "/api/responder", json={"spec": "5x3", "rules": ["/a => 200"]})
    assert status == 400 and "'5x3'" in payload["error"]
    status, state = await control(server, "GET", "/api/responder")
    assert state["spec"] == "500,200" and state["rules"] == []


async def test_control_api_lists_and_clears_captures(start_hookbin, http, control):
    server = await start_hookbin()
    await post(http, server.url + "/one", b"1")
    await post(http, server.url + "/two", b"2")
    status, listed = await control(server, "GET", "/api/captures?limit=1")
    assert status == 200 and [c["path"] for c in listed] == ["/two"]
    assert listed[0] == server.store.list_captures(limit=1)[0].to_dict()
    status, one = await control(server, "GET", f"/api/captures/{listed[0]['id']}")
    assert one["body"] == "2"
    assert (await control(server, "DELETE", "/api/captures", json={}))[1] == {"deleted": 2}
    assert server.store.count() == 0


async def test_no_body_where_http_forbids_one(start_hookbin):
    server = await start_hookbin("204")
    for request in (
        b"POST /n HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        b"HEAD /n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request)
        answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 204") and answer.endswith(b"\r\n\r\n")
    assert all(c.response.body == b"" for c in server.store.list_captures())


async def test_a_sender_that_gives_up_during_a_delay_leaves_no_error_behind(start_hookbin, http, caplog):
    server = await start_hookbin("200 delay=600ms")
    with pytest.raises(asyncio.TimeoutError):
        await post(http, server.url + "/gone", timeout=aiohttp.ClientTimeout(total=0.1))
    await asyncio.sleep(0.8)
    assert (await post(http, server.url + "/next"))[0] == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert server.store.count() == 2


async def test_control_api_changes_body_and_type_separately_keeping_a_binary_body(start_hookbin, http, control):
    server = await start_hookbin()
    server.responder.set_body(b"\xff\x00", "application/octet-stream")
    status, state = await control(server, "PUT", "/api/responder", json={"content_type": "image/png"})
    assert status == 200 and state["content_type"] == "image/png" and state["body_encoding"] == "base64"
    assert server.responder.body == b"\xff\x00"
    status, state = await control(server, "PUT", "/api/responder", json={"body": "<ok/>", "headers": ["X-A: 1"]})
    assert status == 200
    status, headers, body = await post(http, server.url + "/")
    assert body == b"<ok/>" and headers["Content-Type"] == "image/png" and headers["X-A"] == "1"
