"""`serve --forward`: a real hookbin in front of a real app on loopback, both on port 0.

The app records what reached it and answers as each test says; senders are real HTTP clients
(aiohttp, and curl retrying on its own). What is checked is what a developer would notice: what
the sender got back, what the app received, and what `ls`, `show` and the JSON forms say.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web

from hookbin.access import Access
from hookbin.client.replay import Connections
from hookbin.model import Capture, Forwarded, ResponseGiven, utcnow
from hookbin.server.forward import Forwarder
from hookbin.store import OutcomeRecorded, open_store
from hookbin.textout import capture_line, capture_page, forward_word, list_row
from tests.commands.conftest import serve
from tests.test_replay import EXACT, host, unused_port

__all__ = ["serve"]  # the fixture, for the headless test
BODY = b'{"survey_id": 1234, "results": [{"id": 5012, "value": 4}]}'


def forwarding(url: str, *, mirror: bool = False, timeout: float = 10.0, keep: int = 64 * 1024) -> Forwarder:
    """A forwarder as `hookbin serve --forward URL` makes one."""
    return Forwarder(url, Connections(), timeout=timeout, keep=keep, mirror=mirror)


async def until(check: Callable[[], object], seconds: float = 10.0) -> None:
    """Wait until `check()` is true (what the app said in mirror mode arrives after the answer)."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("gave up waiting")


async def test_app_up_the_sender_gets_the_apps_answer_and_the_app_the_request(start_hookbin, start_app, http):
    async def created(request: web.BaseRequest) -> web.Response:
        return web.Response(
            status=201, body=b'{"crm": "attached"}', headers={"Content-Type": "application/json", "X-Crm": "C-77"}
        )

    app = await start_app(created)
    server = await start_hookbin(forwarder=forwarding(app.url + "/api"))
    headers = [("Content-Type", "application/json"), ("X-Dup", "a"), ("x-dup", "b"), ("Webhook-Id", "msg_1")]
    async with http.post(server.url + "/segmanta/hook?survey=1234&x=", data=BODY, headers=headers) as response:
        assert response.status == 201
        assert await response.read() == b'{"crm": "attached"}'
        assert response.headers["X-Crm"] == "C-77" and response.headers["Content-Type"] == "application/json"
        captured_id = response.headers["X-Hookbin-Id"]

    method, target, sent, body = app.seen[0]
    assert (method, target, body) == ("POST", "/api/segmanta/hook?survey=1234&x=", BODY)
    # Every header the sender sent, in its order and spelling, duplicates kept; Host is the app's.
    capture = server.store.get(captured_id)
    assert [pair for pair in sent if pair[0].lower() != "host"] == [
        pair for pair in capture.headers if pair[0].lower() not in ("host", "connection")
    ]
    assert dict((name.lower(), value) for name, value in sent)["host"] == app.url.removeprefix("http://")

    assert capture.body == BODY and capture.response.status == 201
    assert capture.response.body == b'{"crm": "attached"}' and capture.response.reason == "the app's answer (--forward)"
    assert capture.forward == Forwarded(
        url=app.url + "/api/segmanta/hook?survey=1234&x=", status=201, latency_ms=capture.forward.latency_ms, size=19
    )
    assert capture.forward.latency_ms > 0
    assert capture.to_dict()["forward"]["status"] == 201
    assert f"forward   201  {capture.forward.latency_ms:.0f} ms  19 B  from {app.url}/api/segmanta" in (
        capture_page(capture)
    )
    assert " 201  -       201 " in list_row(capture)  # status, signature, forward
    assert capture_line(capture).endswith(f"  forward 201  {capture.forward.latency_ms:.0f} ms  19 B")


@pytest.mark.parametrize("raw", EXACT.values(), ids=EXACT.keys())
async def test_the_app_gets_exactly_what_the_sender_sent_as_replay_would_send_it(start_hookbin, raw_receiver, raw):
    server = await start_hookbin(forwarder=forwarding(raw_receiver.url))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(raw.replace(b"{host}", b"hookbin.example"))
    await writer.drain()
    answer = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")  # the raw receiver's answer
    assert raw_receiver.requests == [raw.replace(b"{host}", host(raw_receiver))]


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, a real client that retries on its own")
async def test_app_answering_500_the_sender_sees_500_and_curl_retries_until_it_accepts(
    start_hookbin, start_app, tmp_path, shell_env
):
    answers = iter([500, 500, 200])

    async def flaky(request: web.BaseRequest) -> web.Response:
        return web.json_response({"attempt": len(app.seen)}, status=next(answers))

    app = await start_app(flaky)
    server = await start_hookbin(forwarder=forwarding(app.url))
    (tmp_path / "body.json").write_bytes(BODY)
    # -q: no .curlrc; a retry truncates the output file, which /dev/null cannot be.
    retrying = "curl -q -sS --retry 2 --retry-delay 1 -w %{http_code} -H Content-Type:application/json".split()
    curl = await asyncio.create_subprocess_exec(
        *retrying,
        *("-o", str(tmp_path / "answer"), "--data-binary", f"@{tmp_path / 'body.json'}", server.url + "/segmanta"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=shell_env,
    )
    out, err = await curl.communicate()
    assert (curl.returncode, out) == (0, b"200"), err
    assert json.loads((tmp_path / "answer").read_bytes()) == {"attempt": 3}  # the app's own answer
    assert len(app.seen) == 3 and {seen[3] for seen in app.seen} == {BODY}
    server.store.flush()
    captures = server.store.list_oldest_first()
    assert [(c.attempt, c.outcome, c.forward.status) for c in captures] == [
        (1, "500", 500),
        (2, "500", 500),
        (3, "200", 200),
    ]


async def test_app_down_the_sender_gets_502_with_a_clear_body_and_the_capture_is_kept(start_hookbin, http):
    port = unused_port()
    server = await start_hookbin(forwarder=forwarding(f"http://127.0.0.1:{port}"))
    async with http.post(server.url + "/hook?a=1", data=BODY) as response:
        assert response.status == 502
        answer = await response.json()
    assert answer == {
        "ok": False,
        "id": answer["id"],
        "error": f"forward to http://127.0.0.1:{port}/hook?a=1 failed: connection refused",
    }
    capture = server.store.get(answer["id"])
    assert capture.body == BODY and capture.outcome == "502"
    assert (capture.forward.status, capture.forward.error, capture.forward.size) == (None, "connection refused", None)
    assert forward_word(capture) == "refused"
    assert "forward   connection refused  " in capture_page(capture)


async def test_app_slower_than_the_sender_its_own_timeout_applies_and_is_recorded(start_hookbin, start_app):
    release = asyncio.Event()

    async def slow(request: web.BaseRequest) -> web.Response:
        await release.wait()
        return web.Response(status=202, text="finally")

    app = await start_app(slow)
    server = await start_hookbin(forwarder=forwarding(app.url))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as impatient:
        with pytest.raises(TimeoutError):
            async with impatient.post(server.url + "/hook", data=BODY) as response:
                await response.read()
    await until(lambda: app.seen)
    release.set()  # the app answers after the sender gave up: hookbin still records both
    await until(lambda: server.store.count() == 1)
    capture = server.store.list_captures()[0]
    assert capture.body == BODY and capture.outcome == "gone"
    assert capture.response.status == 202 and capture.response.note.startswith("sender hung up after ")
    assert (capture.forward.status, capture.forward.size, capture.forward.error) == (202, 7, None)


async def test_app_slower_than_the_forward_timeout_gives_504_and_records_the_timeout(start_hookbin, start_app, http):
    async def never(request: web.BaseRequest) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    app = await start_app(never)
    server = await start_hookbin(forwarder=forwarding(app.url, timeout=0.2))
    async with http.post(server.url + "/hook", data=BODY) as response:
        assert response.status == 504
        answer = await response.json()
    assert answer["error"].endswith("failed: timeout after 200ms")
    capture = server.store.get(answer["id"])
    assert capture.forward.error == "timeout after 200ms" and forward_word(capture) == "timeout"


async def test_an_answer_too_large_or_broken_is_not_passed_on(start_hookbin, start_app, http):
    async def huge(request: web.BaseRequest) -> web.Response:
        return web.Response(body=b"x" * 5000)

    app = await start_app(huge)
    server = await start_hookbin(forwarder=forwarding(app.url, keep=1024))
    async with http.post(server.url + "/hook", data=BODY) as response:
        assert response.status == 502
        answer = await response.json()
    assert answer["error"].endswith("failed: answer over 1 KiB: not passed on")
    forward = server.store.get(answer["id"]).forward
    assert (forward.status, forward.size) == (200, 5000) and forward_word(server.store.get(answer["id"])) == "error"


async def test_mirror_mode_the_sender_gets_hookbins_answer_and_the_app_a_copy(start_hookbin, start_app, http):
    async def created(request: web.BaseRequest) -> web.Response:
        return web.Response(status=201, text="ok")

    app = await start_app(created)
    server = await start_hookbin("503", forwarder=forwarding(app.url, mirror=True))
    events: list[OutcomeRecorded] = []
    server.store.subscribe(lambda event: events.append(event) if isinstance(event, OutcomeRecorded) else None)
    async with http.post(server.url + "/hook", data=BODY) as response:
        assert response.status == 503
        captured_id = response.headers["X-Hookbin-Id"]
    await until(lambda: events)
    assert [(seen[1], seen[3]) for seen in app.seen] == [("/hook", BODY)]
    capture = server.store.get(captured_id)
    assert capture.response.status == 503 and capture.response.spec == "503"
    assert (capture.forward.status, capture.forward.size) == (201, 2)
    (event,) = events  # the forward result comes the way an answer's outcome does
    assert (event.capture.id, event.capture.forward, event.previous.status) == (captured_id, capture.forward, 503)


async def test_mirror_mode_keeps_both_the_senders_hang_up_and_the_apps_answer(start_hookbin, start_app):
    async def created(request: web.BaseRequest) -> web.Response:
        return web.Response(status=201, text="ok")

    app = await start_app(created)
    server = await start_hookbin("200 delay=5s", forwarder=forwarding(app.url, mirror=True))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as impatient:
        with pytest.raises(TimeoutError):
            async with impatient.post(server.url + "/hook", data=BODY) as response:
                await response.read()
    await until(lambda: (c := server.store.list_captures()) and c[0].forward and c[0].outcome == "gone")
    capture = server.store.list_captures()[0]
    assert capture.forward.status == 201 and capture.response.sender_gone_ms is not None and app.seen


async def test_mirror_mode_with_the_app_down_answers_as_configured_and_records_why(start_hookbin, http):
    server = await start_hookbin(forwarder=forwarding(f"http://127.0.0.1:{unused_port()}", mirror=True))
    async with http.post(server.url + "/hook", data=BODY) as response:
        assert response.status == 200
        captured_id = response.headers["X-Hookbin-Id"]
    await until(lambda: server.store.get(captured_id).forward is not None)
    assert server.store.get(captured_id).forward.error == "connection refused"


@pytest.mark.parametrize("mirror", [False, True], ids=["app", "mirror"])
async def test_requests_hookbin_refuses_itself_are_not_forwarded(start_hookbin, start_app, http, mirror):
    async def created(request: web.BaseRequest) -> web.Response:
        return web.Response(status=201)

    app = await start_app(created)
    server = await start_hookbin(forwarder=forwarding(app.url, mirror=mirror), max_body=16)
    async with http.post(server.url + "/hook", data=BODY) as response:
        assert response.status == 413
    await server.stop()  # a mirrored copy would have been recorded by now
    assert app.seen == [] and server.store.list_captures()[0].forward is None


async def test_under_a_token_the_app_gets_the_path_after_it(start_hookbin, start_app, http):
    async def created(request: web.BaseRequest) -> web.Response:
        return web.Response(status=201)

    app = await start_app(created)
    server = await start_hookbin(forwarder=forwarding(app.url), access=Access(token="s3cr3t-t0ken"))
    async with http.post(server.url + "/s3cr3t-t0ken/segmanta?x=1", data=BODY) as response:
        assert response.status == 201
    assert app.seen[0][1] == "/segmanta?x=1"


def test_a_forward_to_hookbin_itself_is_refused_as_a_loop():
    assert forwarding("http://127.0.0.1:8080/x").points_at("127.0.0.1", 8080)
    assert forwarding("http://localhost:8080").points_at("127.0.0.1", 8080)
    assert forwarding("http://127.0.0.1:8080").points_at("0.0.0.0", 8080)
    assert not forwarding("http://127.0.0.1:3000").points_at("127.0.0.1", 8080)
    assert not forwarding("http://192.0.2.7:8080").points_at("0.0.0.0", 8080)


def test_serve_says_in_one_line_when_the_forward_url_is_itself(invoke, tmp_path):
    port = unused_port()
    result = invoke("serve", "--no-tui", "--db", str(tmp_path / "c.db"), "--port", str(port), "--admin-port", "0",
                    "--forward", f"http://127.0.0.1:{port}/")  # fmt: skip
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"--forward http://127.0.0.1:{port}/ is this hookbin itself: each request would loop" in result.stderr


def test_serve_refuses_a_forward_url_it_cannot_send_to(invoke):
    result = invoke("serve", "--no-tui", "--db", ":memory:", "--forward", "ftp://example.test/")
    assert result.exit_code == 2
    assert "http:// or https://" in result.stderr and "Traceback" not in result.output


def test_headless_mirror_mode_logs_each_request_then_again_with_what_the_app_said(tmp_path, serve, recorder):
    recorder.forget()
    served = serve("--no-tui", "--db", str(tmp_path / "c.db"), "--respond", "503", "--forward", recorder.url,
                   "--forward-mode", "mirror")  # fmt: skip
    assert served.post("/segmanta?x=1", BODY)[0] == 503
    assert recorder.next().target == b"/segmanta?x=1"
    first = served.proc.stdout.readline().rstrip("\n")
    second = served.proc.stdout.readline().rstrip("\n")  # again, once the app answered its copy
    code, _, err = served.stop()
    assert code == 0 and f"forwarding a copy of each request to {recorder.url}; senders get hookbin's answers" in err
    assert "/segmanta?x=1" in first and " 503 " in first and "forward" not in first
    assert second.startswith(first) and second[len(first) :].startswith("  forward 200  ")


def test_the_start_line_says_the_app_answers_not_the_simulated_answer(tmp_path, serve, recorder):
    app = serve("--no-tui", "--db", str(tmp_path / "a.db"), "--respond", "503", "--forward", recorder.url)
    mirror = serve("--no-tui", "--db", str(tmp_path / "m.db"), "--respond", "503", "--forward", recorder.url,
                   "--forward-mode", "mirror")  # fmt: skip
    assert f"(run 1, the app at {recorder.url} answers)" in app.banner and "503" not in app.banner
    assert "(run 1, answering 503)" in mirror.banner
    assert app.stop()[0] == 0 and mirror.stop()[0] == 0


def test_ls_and_show_and_their_json_carry_the_forward(tmp_path, invoke):
    db = str(tmp_path / "f.db")
    with open_store(db) as store:
        store.add(
            Capture(
                id="0000000000ab",
                received_at=utcnow(),
                method="POST",
                path="/hook",
                response=ResponseGiven(status=502),
                forward=Forwarded(url="http://127.0.0.1:3000/hook", error="connection refused", latency_ms=1.5),
            )
        )
    listed = invoke("ls", "--db", db, "--json", "--all-runs")
    assert json.loads(listed.stdout)["forward"] == {
        "url": "http://127.0.0.1:3000/hook",
        "status": None,
        "latency_ms": 1.5,
        "error": "connection refused",
        "size": None,
    }
    assert "  502  -       refused " in invoke("ls", "--db", db, "--all-runs").stdout
    shown = invoke("show", "0000000000ab", "--db", db)
    assert "forward   connection refused  2 ms  from http://127.0.0.1:3000/hook" in shown.stdout
    as_json = json.loads(invoke("show", "0000000000ab", "--db", db, "--json").stdout)
    assert as_json["forward"]["error"] == "connection refused"
