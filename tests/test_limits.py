"""Limits that hold, over real sockets: the header budget (431), header and body timeouts, the
connection cap (503), and at most one line a second about what was turned away."""

from __future__ import annotations

import asyncio
import errno
import re

from hookbin.config import Limits
from hookbin.notices import Refusals

WAIT = 15.0
"""Upper bound for anything below that should happen within a second or so (never asserted as a time)."""


async def _connect(server):
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (or resets it)."""
    chunks = []
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), WAIT):
            chunks.append(chunk)
    except (ConnectionResetError, BrokenPipeError):
        pass
    return b"".join(chunks)


async def _eventually(predicate, what: str) -> None:
    for _ in range(int(WAIT / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def _headers(count: int, size: int) -> bytes:
    return b"".join(b"X-H%05d: " % n + b"v" * (size - 12) + b"\r\n" for n in range(count))


async def test_headers_over_the_budget_get_431_and_are_not_stored(start_hookbin, http):
    lines: list[str] = []
    server = await start_hookbin(notify=lines.append)
    reader, writer = await _connect(server)
    writer.write(b"POST /big HTTP/1.1\r\nHost: x\r\n" + _headers(100, 1024) + b"Content-Length: 2\r\n\r\nok")
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Connection: close" in answer
    assert server.store.count() == 0
    assert server.refusals.refused == 1
    assert len(lines) == 1 and re.fullmatch(
        r"refused a connection from 127\.0\.0\.1:\d+: headers over 64 KiB \(431\)", lines[0]
    )
    # The catcher is unharmed.
    async with http.post(server.url + "/after", data=b"fine") as response:
        assert response.status == 200


async def test_headers_sent_a_few_bytes_at_a_time_are_measured_to_the_blank_line(start_hookbin):
    budget = 4096
    server = await start_hookbin(limits=Limits(max_header_bytes=budget))
    head = b"POST /fits HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
    head += _headers(1, budget - len(head) - 2) + b"\r\n"  # exactly the budget, blank line included
    assert len(head) == budget
    reader, writer = await _connect(server)
    for start in range(0, len(head), 7):  # the blank line straddles two writes
        writer.write(head[start : start + 7])
        await writer.drain()
    # A body far bigger than the budget, arriving with the end of the headers, is not header bytes.
    writer.write(b"b" * 5000)
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    writer.close()
    assert status_line == b"HTTP/1.1 200 OK\r\n"
    await _eventually(lambda: server.store.count() == 1, "the request is stored")
    assert server.store.list_captures(limit=1)[0].body == b"b" * 5000

    reader, writer = await _connect(server)
    writer.write(head.replace(b"/fits", b"/fitsX"))  # one byte over
    assert (await _answer(reader)).startswith(b"HTTP/1.1 431 ")
    writer.close()


async def test_more_header_lines_than_allowed_get_431(start_hookbin):
    server = await start_hookbin()
    reader, writer = await _connect(server)
    writer.write(b"GET / HTTP/1.1\r\n" + b"a: b\r\n" * 1001 + b"\r\n")
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert server.store.count() == 0


async def test_pipelined_requests_with_bodies_are_each_measured_on_their_own(start_hookbin):
    server = await start_hookbin(limits=Limits(max_header_bytes=1024))
    one = b"POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n" + b"z" * 3000
    reader, writer = await _connect(server)
    writer.write(one % 1 + one % 2 + (one % 3).replace(b"Host: x", b"Host: x\r\nConnection: close"))
    answer = await _answer(reader)
    writer.close()
    assert answer.count(b"HTTP/1.1 200 OK") == 3
    assert sorted(c.path for c in server.store.list_captures(limit=10)) == ["/p1", "/p2", "/p3"]


async def test_half_sent_headers_are_answered_408_and_closed_after_the_header_timeout(start_hookbin):
    lines: list[str] = []
    server = await start_hookbin(limits=Limits(header_timeout=0.3), notify=lines.append)
    reader, writer = await _connect(server)
    writer.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n")  # and never the rest
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert server.store.count() == 0 and server.refusals.refused == 1
    assert lines[0].endswith("headers not complete after 300ms (408)")


async def test_a_slowloris_dripping_header_lines_is_still_cut_at_the_timeout(start_hookbin):
    server = await start_hookbin(limits=Limits(header_timeout=0.5))
    reader, writer = await _connect(server)
    writer.write(b"GET / HTTP/1.1\r\n")

    async def drip() -> None:
        for n in range(int(WAIT / 0.05)):
            writer.write(b"X-%d: x\r\n" % n)
            await asyncio.sleep(0.05)

    dripping = asyncio.create_task(drip())
    try:
        answer = await _answer(reader)
    finally:
        dripping.cancel()
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(start_hookbin):
    lines: list[str] = []
    server = await start_hookbin(limits=Limits(header_timeout=0.3), notify=lines.append)
    reader, writer = await _connect(server)
    assert await _answer(reader) == b""
    writer.close()
    assert server.refusals.refused == 1
    assert lines[0].endswith(": sent nothing in 300ms")


async def test_an_idle_kept_alive_connection_is_closed_quietly(start_hookbin):
    server = await start_hookbin(limits=Limits(header_timeout=0.3))
    reader, writer = await _connect(server)
    writer.write(b"POST /once HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
    answer = await _answer(reader)  # the answer, then the close once idle for the timeout
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.count(b"HTTP/1.1") == 1
    assert server.refusals.refused == 0  # an idle keep-alive is no refusal


async def test_a_slow_answer_is_not_cut_by_the_header_timeout(start_hookbin):
    server = await start_hookbin("200 delay=1s", limits=Limits(header_timeout=0.2))
    reader, writer = await _connect(server)
    writer.write(b"POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
    status_line = await asyncio.wait_for(reader.readline(), WAIT)
    writer.close()
    assert status_line == b"HTTP/1.1 200 OK\r\n"


async def test_pipelined_slow_answers_are_all_given(start_hookbin):
    # The second request waits for the first one's answer, then takes its own time: neither wait
    # is the client's fault, so the header timeout must not close the connection meanwhile.
    server = await start_hookbin("200 delay=500ms", limits=Limits(header_timeout=0.3))
    reader, writer = await _connect(server)
    request = b"POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
    writer.write(request % 1 + (request % 2).replace(b"Host: x", b"Host: x\r\nConnection: close"))
    answer = await _answer(reader)
    writer.close()
    assert answer.count(b"HTTP/1.1 200 OK") == 2


async def test_a_stalled_body_is_answered_408_and_kept_truncated(start_hookbin):
    server = await start_hookbin(limits=Limits(body_timeout=0.3))
    reader, writer = await _connect(server)
    writer.write(b"POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nfirst part")
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"Connection: close" in answer
    capture = server.store.list_captures(limit=1)[0]
    assert (capture.path, capture.body, capture.truncated) == ("/stall", b"first part", True)
    assert capture.response.status == 408 and "stalled" in capture.response.reason


async def test_a_slow_body_that_keeps_moving_is_not_cut(start_hookbin):
    server = await start_hookbin(limits=Limits(body_timeout=3))
    reader, writer = await _connect(server)
    writer.write(b"POST /trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n")
    for _ in range(10):
        await asyncio.sleep(0.05)
        writer.write(b"x")
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert server.store.list_captures(limit=1)[0].body == b"x" * 10


async def test_connections_beyond_the_cap_get_503_and_service_resumes_when_one_closes(start_hookbin, http):
    lines: list[str] = []
    server = await start_hookbin(limits=Limits(max_connections=3), notify=lines.append)
    held = []
    for _ in range(3):
        reader, writer = await _connect(server)
        writer.write(b"POST /held HTTP/1.1\r\n")  # half-sent: holds its slot
        held.append((reader, writer))
    await _eventually(lambda: server.guard.open == 3, "three connections admitted")
    reader, writer = await _connect(server)
    writer.write(b"POST /fourth HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
    answer = await _answer(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert lines == [lines[0]] and "3 connections already open (503)" in lines[0]

    held.pop()[1].close()
    await _eventually(lambda: server.guard.open == 2, "a slot is free")
    async with http.post(server.url + "/after", data=b"ok") as response:
        assert response.status == 200
    assert server.store.count() == 1  # only /after: nothing over the cap was stored
    for _, writer in held:
        writer.close()


async def test_a_flood_of_refusals_is_one_line_then_a_count(start_hookbin):
    lines: list[str] = []
    server = await start_hookbin(limits=Limits(max_connections=1), notify=lines.append)
    _, first = await _connect(server)
    await _eventually(lambda: server.guard.open == 1, "the slot is taken")
    for _ in range(30):
        reader, writer = await _connect(server)
        assert (await _answer(reader)).startswith(b"HTTP/1.1 503 ")
        writer.close()

    def said() -> int:
        return sum(int(line.split()[0]) for line in lines[1:])

    await _eventually(lambda: said() == 29, "the held-back refusals are counted in summary lines")
    first.close()
    assert "(503)" in lines[0]
    assert all(
        re.fullmatch(r"\d+ more turned away in the last second: \d+ over the connection cap", line)
        for line in lines[1:]
    )
    assert server.refusals.refused == 30


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.scheduled: list[tuple[float, object]] = []

    def schedule(self, delay: float, callback) -> None:
        self.scheduled.append((self.now + delay, callback))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [item for item in self.scheduled if item[0] <= self.now]
        self.scheduled = [item for item in self.scheduled if item[0] > self.now]
        for _, callback in due:
            callback()


def test_refusals_say_at_most_one_line_a_second_and_count_the_rest():
    clock = _Clock()
    lines: list[str] = []
    refusals = Refusals(lines.append, clock.schedule, clock=lambda: clock.now)
    refusals.reject("no token", "rejected POST /a: no token (404)")
    for _ in range(5):
        refusals.reject("no token", "x")
    refusals.refuse("headers too large", "y")
    assert lines == ["rejected POST /a: no token (404)"]
    clock.advance(1.0)
    assert lines[1] == "6 more turned away in the last second: 5 no token, 1 headers too large"
    refusals.refuse("headers too large", "z")  # within a second of the summary: held again
    assert len(lines) == 2
    clock.advance(1.0)
    assert lines[2] == "1 more turned away in the last second: 1 headers too large"
    clock.advance(5.0)
    refusals.refuse("over the connection cap", "said at once after a quiet spell")
    assert lines[3] == "said at once after a quiet spell"
    assert (refusals.rejected, refusals.refused) == (6, 3)


def test_a_failing_notice_never_breaks_the_count():
    def broken(line: str) -> None:
        raise OSError("stderr is gone")

    refusals = Refusals(broken, lambda delay, callback: None)
    refusals.refuse("headers too large", "line")
    assert refusals.refused == 1


async def test_accept_failures_are_counted_lines_not_tracebacks(start_hookbin, caplog):
    lines: list[str] = []
    server = await start_hookbin(notify=lines.append)
    loop = asyncio.get_running_loop()
    # What asyncio's selector loop reports for each accept() that fails for want of descriptors.
    for _ in range(50):
        loop.call_exception_handler(
            {
                "message": "socket.accept() out of system resource",
                "exception": OSError(errno.EMFILE, "Too many open files"),
            }
        )
    assert server.refusals.refused == 50
    assert lines == [
        "could not accept a connection: Too many open files (raise `ulimit -n` or lower --max-connections)"
    ]
    assert "Traceback" not in caplog.text
    loop.call_exception_handler({"message": "something else"})  # other loop errors still reach the log
    assert "something else" in caplog.text
