"""Delivered or not: real clients hang up on a real hookbin, and the record says so.

Also `drip=` lasting what it says, and `Expect: 100-continue` answered.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import aiohttp
import pytest

from hookbin.model import Capture
from hookbin.store import OutcomeRecorded


async def settled(server, capture_id: str | None = None, deadline: float = 60.0) -> Capture:
    """The newest capture (or `capture_id`) once what became of its answer is recorded."""
    end = time.monotonic() + deadline
    while True:
        server.store.flush()
        capture = server.store.get(capture_id) if capture_id else next(iter(server.store.list_captures(limit=1)), None)
        if (capture is not None and capture.response.delivered is not None) or time.monotonic() > end:
            assert capture is not None
            return capture
        await asyncio.sleep(0.02)


async def test_an_aiohttp_client_that_times_out_during_a_delay_is_recorded_as_gone(start_hookbin, http, control):
    server = await start_hookbin("200 delay=3s")
    events: list[OutcomeRecorded] = []
    server.store.subscribe(lambda event: events.append(event) if isinstance(event, OutcomeRecorded) else None)
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(server.url + "/slow", data=b"{}", timeout=aiohttp.ClientTimeout(total=0.5)):
            pass
    capture = await settled(server)
    response = capture.response
    assert response.status == 200 and response.delivered is False
    # It left when its timeout ran out: not before, and before hookbin would have answered.
    assert 400 <= response.sender_gone_ms < 3000
    assert capture.outcome == "gone"
    assert response.note == f"sender hung up after {response.sender_gone_ms / 1000:.2f} s; the 200 was never delivered"
    assert capture.to_dict()["response"]["delivered"] is False
    (event,) = events
    assert event.capture.to_dict() == capture.to_dict() and event.previous.delivered is None
    _, counts = await control(server, "GET", "/api/status")
    assert counts["answered_2xx"] == 0 and counts["not_delivered"] == 1


async def test_a_client_that_waits_gets_the_answer_and_it_is_recorded_as_delivered(start_hookbin, http, control):
    server = await start_hookbin("201 delay=300ms")
    async with http.post(server.url + "/patient", data=b"{}", timeout=aiohttp.ClientTimeout(total=10)) as r:
        assert r.status == 201
    capture = await settled(server)
    assert capture.response.delivered is True and capture.response.sender_gone_ms is None
    assert capture.outcome == "201" and capture.response.note == "the sender waited: the 201 was delivered"
    _, counts = await control(server, "GET", "/api/status")
    assert counts["answered_2xx"] == 1 and counts["not_delivered"] == 0


async def test_an_answer_sent_at_once_is_stored_as_delivered_with_one_write(start_hookbin, http, control):
    server = await start_hookbin("503")
    events = []
    server.store.subscribe(events.append)
    async with http.post(server.url + "/now", data=b"{}") as r:
        assert r.status == 503
    capture = await settled(server)
    assert capture.response.delivered is True and capture.response.note == ""
    assert not [e for e in events if isinstance(e, OutcomeRecorded)]
    assert (await control(server, "GET", "/api/status"))[1]["answered_error"] == 1


def _request(path: str, body: bytes = b"{}", extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def test_a_sender_gone_before_the_first_byte_is_recorded_even_without_a_delay(start_hookbin):
    server = await start_hookbin("200")
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(_request("/fire-and-forget"))
    await writer.drain()
    writer.close()  # without reading: hookbin's answer has nowhere to go
    capture = await settled(server)
    assert capture.path == "/fire-and-forget"
    assert capture.response.delivered is False and capture.response.sender_gone_ms is not None


async def test_a_drip_the_sender_abandons_records_the_bytes_it_got(start_hookbin):
    server = await start_hookbin("200 drip=3s")
    body = b"0123456789" * 4
    server.responder.set_body(body, "text/plain")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(_request("/drip"))
    await writer.drain()
    received = b""
    while b"\r\n\r\n" not in received or received.endswith(b"\r\n\r\n"):
        received += await reader.read(100)  # the headers, then the first piece of the body
    writer.close()
    capture = await settled(server)
    response = capture.response
    got = len(received.partition(b"\r\n\r\n")[2])
    assert response.delivered is False and response.sender_gone_ms < 3000
    assert got <= response.bytes_sent < len(body)
    assert response.note.endswith(f"{response.bytes_sent} of 40 body bytes sent; the 200 was never fully delivered")


async def test_a_drip_of_n_seconds_ends_n_seconds_after_it_starts(start_hookbin):
    # 34 bytes in 20 pieces used to put the last byte out at 17/20 of the time.
    server = await start_hookbin("200 drip=1s")
    body = b"x" * 34
    server.responder.set_body(body, "text/plain")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(_request("/d", extra="Connection: close\r\n"))
    await writer.drain()
    arrivals = []
    while chunk := await reader.read(1024):
        arrivals.append((time.monotonic(), chunk))
    writer.close()
    data = b"".join(chunk for _, chunk in arrivals)
    assert data.endswith(b"\r\n\r\n" + body)
    headers_at = next(at for at, chunk in arrivals if b"\r\n\r\n" in chunk)
    assert arrivals[-1][0] - headers_at >= 0.95
    capture = await settled(server)
    assert capture.response.delivered is True and capture.response.bytes_sent == 34


async def test_expect_100_continue_is_answered_before_the_body_is_sent(start_hookbin):
    server = await start_hookbin("200")
    body = b'{"survey_id": 1234}'
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /expect HTTP/1.1\r\nHost: x\r\nContent-Length: 19\r\nExpect: 100-continue\r\n\r\n")
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    assert final.startswith(b"HTTP/1.1 200 ")
    capture = await settled(server)
    assert capture.body == body and not capture.truncated


async def test_expect_100_continue_over_the_limit_gets_413_at_once(start_hookbin):
    server = await start_hookbin("200", max_body=1000)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)  # the body was never sent
    writer.close()
    assert head.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in head
    capture = await settled(server)
    assert capture.truncated and capture.body_size == 5_000_000 and capture.body == b""
    assert capture.response.status == 413


def _curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def big_body(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b'{"pad": "' + b"a" * 2_000_000 + b'"}')
    return path


async def test_curl_sending_2_mb_gets_100_continue(start_hookbin, big_body):
    server = await start_hookbin("200")
    # curl asks for 100-continue on bodies over 1 MB; -v shows the interim answer arrived
    # (without it curl would wait out its own timer, then send anyway).
    result = await asyncio.to_thread(
        _curl, "-v", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", f"@{big_body}", server.url + "/big"
    )
    assert result.stdout == "200", result.stderr
    assert "> Expect: 100-continue" in result.stderr and "< HTTP/1.1 100 Continue" in result.stderr
    capture = await settled(server)
    assert capture.body_size == big_body.stat().st_size and not capture.truncated


async def test_curl_with_max_time_and_retry_is_measured_by_the_report(start_hookbin, invoke, tmp_path):
    db = str(tmp_path / "curl.db")
    server = await start_hookbin("200 delay=6s", db=db)
    result = await asyncio.to_thread(
        _curl, "--max-time", "2", "--retry", "1", "--retry-delay", "1", "-d", '{"survey_id": 1}', server.url + "/seg"
    )
    assert result.returncode == 28, result.stderr  # curl: operation timed out
    captures = [await settled(server, c.id) for c in server.store.list_oldest_first()]
    assert [c.attempt for c in captures] == [1, 2]
    for capture in captures:
        assert capture.response.delivered is False and 1500 <= capture.response.sender_gone_ms < 6000

    report = json.loads(invoke("report", "--db", db, "--format", "json").stdout)
    (sender,) = report["senders"]
    assert sender["sender"].startswith("curl/")
    assert (sender["accepted"], len(sender["never_accepted"])) == (0, 1)
    assert sender["sender_timeout"]["count"] == 2 and sender["sender_timeout"]["min"] >= 1.5
    # curl waits --retry-delay after giving up; arrival to arrival adds its 2 s timeout.
    (gap,) = sender["gaps"]
    assert gap["median"] < 2.5
    (delivery,) = [json.loads(line) for line in invoke("deliveries", "--db", db, "--json").stdout.splitlines()]
    assert delivery["accepted"] is False
