"""`serve --forward` keeps its connections to the app open: many requests, few connections.

Real hookbin, real apps on loopback. Connections are counted at the app, by the peer port each
request came from. The apps that misbehave do what real servers do: close a connection after an
answer without saying so, close a kept one just as the next request comes, stop and start again.
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from tests.raw_receiver import OK
from tests.test_forward import BODY, forwarding
from tests.test_replay import unused_port


def peer_port(request: web.BaseRequest) -> int:
    assert request.transport is not None
    return int(request.transport.get_extra_info("peername")[1])


async def post_all(http, url: str, count: int, *, at_once: int = 1) -> list[int]:
    """POST `count` requests to `url`, `at_once` at a time; the statuses, in order."""
    gate = asyncio.Semaphore(at_once)

    async def one(number: int) -> int:
        async with gate, http.post(url, data=BODY, headers={"X-Number": str(number)}) as response:
            await response.read()
            return response.status

    return list(await asyncio.gather(*(one(number) for number in range(count))))


async def test_many_forwarded_requests_share_a_few_connections_to_the_app(start_hookbin, start_app, http):
    peers: list[int] = []

    async def created(request: web.BaseRequest) -> web.Response:
        peers.append(peer_port(request))
        await asyncio.sleep(0.01)  # long enough for requests to overlap
        return web.Response(status=201, text="ok")

    app = await start_app(created)
    server = await start_hookbin(forwarder=forwarding(app.url))
    assert await post_all(http, server.url + "/hook", 40, at_once=10) == [201] * 40
    assert len(app.seen) == 40 and {seen[3] for seen in app.seen} == {BODY}
    # At most one connection per request in flight, each used again: not one per request.
    assert len(set(peers)) <= 10
    server.store.flush()
    assert [c.forward.status for c in server.store.list_captures()] == [201] * 40


async def test_an_app_that_closes_each_connection_after_answering_gets_every_request(start_hookbin, raw_receiver, http):
    server = await start_hookbin(forwarder=forwarding(raw_receiver.url))
    assert await post_all(http, server.url + "/hook", 20) == [201] * 20
    assert len(raw_receiver.requests) == 20  # each once: none lost, none sent twice


async def test_an_app_saying_connection_close_gets_a_new_connection_each_time(start_hookbin, start_app, http):
    peers: list[int] = []

    async def closing(request: web.BaseRequest) -> web.Response:
        peers.append(peer_port(request))
        return web.Response(status=201, headers={"Connection": "close"})

    app = await start_app(closing)
    server = await start_hookbin(forwarder=forwarding(app.url))
    assert await post_all(http, server.url + "/hook", 5) == [201] * 5
    assert len(app.seen) == 5 and len(set(peers)) == 5


async def test_a_kept_connection_the_app_closes_as_the_next_request_comes_is_not_a_502(start_hookbin, http):
    """The race an app's own keep-alive limit makes: the request goes again on a new connection."""
    arrived: list[bytes] = []

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answers the first request as if the connection stays open, then drops the second unanswered.
        try:
            for answering in (True, False):
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                arrived.append(head + await reader.readexactly(int(length[1]) if length else 0))
                if answering:
                    writer.write(OK)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    app = await asyncio.start_server(answer_once, "127.0.0.1", 0)
    try:
        port = app.sockets[0].getsockname()[1]
        server = await start_hookbin(forwarder=forwarding(f"http://127.0.0.1:{port}"))
        assert await post_all(http, server.url + "/hook", 4) == [201] * 4
        numbers = [re.search(rb"X-Number: (\d+)", raw)[1] for raw in arrived]  # type: ignore[index]
        # Every request arrived; those the app dropped unanswered arrived again, straight after.
        assert sorted(set(numbers)) == [b"0", b"1", b"2", b"3"]
        assert [n for i, n in enumerate(numbers) if i == 0 or n != numbers[i - 1]] == [b"0", b"1", b"2", b"3"]
    finally:
        app.close()
        await app.wait_closed()


async def test_an_app_that_stops_gets_502s_then_every_request_once_it_is_back(start_hookbin, http):
    port = unused_port()

    async def created(request: web.BaseRequest) -> web.Response:
        await request.read()
        return web.Response(status=201)

    async def start() -> web.ServerRunner:
        runner = web.ServerRunner(web.Server(created), shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    app = await start()
    server = await start_hookbin(forwarder=forwarding(f"http://127.0.0.1:{port}"))
    try:
        assert await post_all(http, server.url + "/hook", 3) == [201] * 3
        await app.cleanup()  # the app stops: the connections hookbin kept are closed under it
        assert await post_all(http, server.url + "/hook", 2) == [502] * 2
        app = await start()
        assert await post_all(http, server.url + "/hook", 3) == [201] * 3
    finally:
        await app.cleanup()
    server.store.flush()
    errors = [c.forward.error for c in server.store.list_oldest_first()]
    assert errors == [None] * 3 + ["connection refused"] * 2 + [None] * 3


async def test_stopping_hookbin_cuts_a_forward_short_and_keeps_the_capture(start_hookbin, start_app, http):
    release = asyncio.Event()

    async def stuck(request: web.BaseRequest) -> web.Response:
        await release.wait()
        return web.Response(status=201)

    app = await start_app(stuck)
    server = await start_hookbin(forwarder=forwarding(app.url))
    posting = asyncio.ensure_future(post_all(http, server.url + "/hook", 1))
    try:
        for _ in range(500):
            if app.seen:
                break
            await asyncio.sleep(0.01)
        await server.stop()  # what Ctrl+C does: the sender is answered, not left waiting
        assert await posting == [502]
    finally:
        release.set()
    (capture,) = server.store.list_captures()
    assert capture.body == BODY and capture.forward.error == "hookbin stopped before the app answered"
