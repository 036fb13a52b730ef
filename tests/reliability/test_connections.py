"""500 connections at once, slow clients among fast senders: every fast request is answered and
stored exactly once, with its own body and delivery key; the slow ones are answered 408 (and
stored as such when their headers were complete) or closed when idle, as the limits say;
nothing is stored that was not answered, and everything answered is stored.

The slow clients, each on its own connection, all open while the fast senders run:
- slow headers: a header byte now and then, never the blank line: 408 after `--header-timeout`,
  not stored (there is no request to store);
- stalled bodies: complete headers, part of the body, then nothing: 408 after `--body-timeout`,
  stored with the part that arrived, marked cut;
- idle keep-alives: one request, answered 200 and stored, then silence until hookbin closes;
- dribblers: headers and body in small pieces, within the limits: 200, stored whole.
The rest of the 500 (`--max-connections`, default) are fast senders, one connection each, kept
alive for several requests. Once all 500 are open, a 501st connection is answered 503: proof
that hookbin held all of them at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import aiohttp

from tests.reliability.load import integrity, send_all, stored_by

MAX_CONNECTIONS = 500
SLOW_HEADERS = STALLED_BODIES = IDLE = 30
DRIBBLERS = 20
SLOW = SLOW_HEADERS + STALLED_BODIES + IDLE + DRIBBLERS
FAST = MAX_CONNECTIONS - SLOW
PER_FAST = 5
TIMEOUT = "8s"
"""`--header-timeout` and `--body-timeout`: the slow clients stay open (and counted) that long,
ample for the fast senders to open their connections on a busy machine."""
PAUSE = 0.05
"""Between a dribbler's pieces: far inside the limits."""
WAIT = 60.0
"""Upper bound for any one answer (never asserted as a time)."""


def body_of(kind: str, n: int) -> bytes:
    return b'{"marker": "%s-%d", "padding": "%s"}' % (kind.encode(), n, b"z" * 1000)


def request_head(kind: str, n: int, length: int) -> bytes:
    return (
        f"POST /{kind}/{n} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"webhook-id: {kind}-{n}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def fast_request(n: int) -> tuple[str, bytes, dict[str, str]]:
    return f"/fast/{n}", body_of("fast", n), {"Content-Type": "application/json", "webhook-id": f"fast-{n}"}


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 answer from `reader`: (status, body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await asyncio.wait_for(reader.readexactly(length), WAIT)


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """What arrives until hookbin closes the connection."""
    try:
        return await asyncio.wait_for(reader.read(), WAIT)
    except ConnectionResetError:
        return b""


class SlowClients:
    """The slow clients of one hookbin: each a coroutine giving what its client saw."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ready = 0
        """Slow clients connected and as far as they go before `released`."""
        self.released = asyncio.Event()
        """Set once all 500 connections were seen open: the dribblers may finish."""

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def slow_headers(self, n: int) -> int:
        reader, writer = await self._connect()
        writer.write(b"POST /slow-headers/%d HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " % n)
        self.ready += 1
        answering = asyncio.ensure_future(read_answer(reader))
        try:
            while not answering.done():  # one more byte of the header now and then
                writer.write(b"s")
                await asyncio.wait([answering], timeout=0.5)
        except ConnectionError:
            pass
        status, _ = await answering
        writer.close()
        return status

    async def stalled_body(self, n: int) -> int:
        reader, writer = await self._connect()
        body = body_of("stalled", n)
        writer.write(request_head("stalled", n, len(body) + 5000) + body)
        self.ready += 1
        status, _ = await read_answer(reader)
        writer.close()
        return status

    async def idle(self, n: int) -> tuple[int, bytes]:
        reader, writer = await self._connect()
        body = body_of("idle", n)
        writer.write(request_head("idle", n, len(body)) + body)
        status, _ = await read_answer(reader)
        self.ready += 1
        left = await until_closed(reader)  # hookbin closes it after --header-timeout
        writer.close()
        return status, left

    async def dribble(self, n: int) -> int:
        reader, writer = await self._connect()
        body = body_of("dribble", n)
        data = request_head("dribble", n, len(body)) + body
        pieces = [data[start : start + 100] for start in range(0, len(data), 100)]
        for index, piece in enumerate(pieces):
            if index == len(pieces) - 1:
                self.ready += 1
                await self.released.wait()
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(PAUSE)
        status, _ = await read_answer(reader)
        writer.close()
        return status


async def test_500_connections_with_slow_clients_mixed_in_lose_and_mix_up_nothing(serve, tmp_path):
    db = tmp_path / "c.db"
    served = serve("--no-tui", "--db", str(db), "--header-timeout", TIMEOUT, "--body-timeout", TIMEOUT, quiet=True)
    port = int(served.url.rsplit(":", 1)[1])
    slow = SlowClients(port)
    opened: list[object] = []
    tracing = aiohttp.TraceConfig()

    async def connection_opened(*args: Any) -> None:
        opened.append(args)

    tracing.on_connection_create_end.append(connection_opened)
    fast = [fast_request(n) for n in range(FAST * PER_FAST)]
    try:
        slow_clients: list[Awaitable[list[Any]]] = [
            asyncio.gather(*(slow.slow_headers(n) for n in range(SLOW_HEADERS))),
            asyncio.gather(*(slow.stalled_body(n) for n in range(STALLED_BODIES))),
            asyncio.gather(*(slow.idle(n) for n in range(IDLE))),
            asyncio.gather(*(slow.dribble(n) for n in range(DRIBBLERS))),
        ]
        gathered = asyncio.gather(*slow_clients)
        while slow.ready < SLOW and not gathered.done():
            await asyncio.sleep(0.01)
        connector = aiohttp.TCPConnector(limit=FAST)
        timeout = aiohttp.ClientTimeout(total=WAIT)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, trace_configs=[tracing]) as session:
            # One request per sender at once: each opens its own connection and keeps it.
            first = await send_all(session, served.url, fast[:FAST], FAST)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            over_the_cap = await until_closed(reader)
            writer.close()
            slow.released.set()
            rest = await send_all(session, served.url, fast[FAST:], FAST)
        slow_headers, stalled, idle, dribbled = await gathered
    finally:
        code, _, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err

    assert over_the_cap.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), over_the_cap
    assert len(opened) == FAST  # every fast connection stayed open throughout
    assert [status for status, _ in first + rest] == [200] * len(fast)
    assert slow_headers == [408] * SLOW_HEADERS
    assert stalled == [408] * STALLED_BODIES
    assert idle == [(200, b"")] * IDLE  # closed when idle, nothing stray after the answer
    assert dribbled == [200] * DRIBBLERS
    assert "headers not complete after 8s (408)" in err

    assert integrity(db) == "ok"
    stored = stored_by(db, lambda capture: capture.path)
    expected = {
        **{f"/fast/{n}": ("fast", n, 200) for n in range(FAST * PER_FAST)},
        **{f"/stalled/{n}": ("stalled", n, 408) for n in range(STALLED_BODIES)},
        **{f"/idle/{n}": ("idle", n, 200) for n in range(IDLE)},
        **{f"/dribble/{n}": ("dribble", n, 200) for n in range(DRIBBLERS)},
    }
    assert sorted(stored) == sorted(expected)  # every answered request, and nothing else
    for path, (kind, n, status) in expected.items():
        (capture,) = stored[path]  # exactly once
        assert capture.response is not None and capture.response.status == status, path
        assert (capture.delivery_key, capture.delivery_source) == (f"{kind}-{n}", "header:webhook-id"), path
        assert capture.body == body_of(kind, n), path
        assert capture.truncated == (kind == "stalled"), path
