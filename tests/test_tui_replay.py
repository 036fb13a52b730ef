"""The TUI's `r` and `R` under Pilot, replaying to a real raw receiver through the replay client."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web

from hookbin.client.replay import Connections, replay
from hookbin.responder import Responder
from hookbin.store import open_store
from hookbin.tui.app import HookbinApp
from hookbin.tui.screens import PromptScreen
from tests.factories import tcapture
from tests.test_tui_tmux import Tmux, curl, free_port

ROOT = Path(__file__).resolve().parent.parent

BODY = b'{"survey_id": 1234, "custom_params": {"crm_id": "CUST-1042"}}'
HEADERS = (("Content-Type", "application/json"), ("X-Dup", "1"), ("x-dup", "2"), ("Connection", "close"))


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "c.db") as store:
        store.add(tcapture(seq=1, path="/segmanta/csat", query_string="a=1&a=2", headers=HEADERS, body=BODY))
        yield store


def make_app(store, **options) -> HookbinApp:
    return HookbinApp(store, Responder("200"), url="http://127.0.0.1:8080", **options)


def toasts(app: HookbinApp) -> list[str]:
    """The text of every notification on screen."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def until(pilot, predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await pilot.pause(0.05)


async def test_r_asks_for_the_receiver_once_then_replays_and_shows_the_answer(store, raw_receiver):
    app = make_app(store, replay=replay)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("r")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("end", "ctrl+u", *"localhost:3000", "enter")  # refused: no scheme
        assert isinstance(app.screen, PromptScreen) and not raw_receiver.requests
        await pilot.press("end", "ctrl+u", *raw_receiver.url, *"/api", "enter")
        await until(pilot, lambda: any("201 Created" in text for text in toasts(app)))
        assert raw_receiver.requests == [
            b"POST /api/segmanta/csat?a=1&a=2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b"X-Dup: 1\r\nx-dup: 2\r\nContent-Length: %d\r\n\r\n" % (raw_receiver.port, len(BODY)) + BODY
        ]
        [shown] = toasts(app)
        assert f"POST /segmanta/csat?a=1&a=2 → {raw_receiver.url}/api" in shown
        assert "201 Created" in shown and " ms  12 B" in shown and '"ok": true' in shown
        # The receiver is remembered: the next r sends at once.
        await pilot.press("r")
        await raw_receiver.wait_for(2)
        assert not isinstance(app.screen, PromptScreen)
        # R asks again, prefilled; escape leaves the target as it was and sends nothing.
        await pilot.press("R")
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one("#prompt-input").value == raw_receiver.url + "/api"
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert len(raw_receiver.requests) == 2 and app.replayer.target == raw_receiver.url + "/api"


async def test_replay_to_from_serve_sends_at_once_and_failures_are_shown(store, raw_receiver):
    hostile = b"\x1b]52;c;eA==\x07busy"  # OSC 52: would write the clipboard
    raw_receiver.answer = b"HTTP/1.1 503 Busy\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\n" + hostile
    app = make_app(store, replay=replay, replay_to=raw_receiver.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("r")
        await until(pilot, lambda: any("503 Busy" in text for text in toasts(app)))
        [shown] = toasts(app)
        assert "\x1b" not in shown and "\\x1b]52;c;eA==\\x07busy" in shown
        await raw_receiver.stop()
        await pilot.press("r")
        await until(pilot, lambda: any("connection refused" in text for text in toasts(app)))


async def test_replays_share_one_connection_to_the_receiver(store, start_app):
    peers: list[int] = []

    async def accepted(request):
        peers.append(request.transport.get_extra_info("peername")[1])
        return web.Response(status=202)

    receiver = await start_app(accepted)
    connections = Connections()  # what `hookbin serve` hands the TUI
    app = make_app(store, replay=connections.replay, replay_to=receiver.url)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            for count in (1, 2, 3):
                await pilot.press("r")
                await until(pilot, lambda: len(receiver.seen) == count)  # noqa: B023
                await until(pilot, lambda: len(toasts(app)) == count)  # noqa: B023
    finally:
        await connections.close()
    assert len(peers) == 3 and len(set(peers)) == 1


async def test_without_a_replay_client_r_says_so(store):
    app = make_app(store)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert any("replay is not available here" in text for text in toasts(app))
        assert not isinstance(app.screen, PromptScreen)


@pytest.mark.skipif(not (shutil.which("tmux") and shutil.which("curl")), reason="needs tmux and curl")
async def test_serve_replay_to_in_a_real_terminal(tmp_path, raw_receiver):
    """`hookbin serve --replay-to` in tmux: a request caught with curl, `r`, the receiver gets it."""
    port = free_port()
    command = (
        f"cd {tmp_path} && PYTHONPATH={ROOT} {sys.executable} -m hookbin serve --port {port} "
        f"--db {tmp_path / 'c.db'} --replay-to {raw_receiver.url}/api; sleep 30"
    )
    tmux = Tmux(f"hookbin-replay-{os.getpid()}", command)
    try:
        await asyncio.to_thread(tmux.wait_for, f"listening on http://127.0.0.1:{port}/")
        sent = await asyncio.to_thread(
            curl, f"http://127.0.0.1:{port}/segmanta/csat?a=1", "-H", "Content-Type: application/json", "--data", BODY
        )
        assert sent == "200"
        # The detail pane names the request once it is selected (the list row alone may come first).
        await asyncio.to_thread(tmux.wait_for, "POST /segmanta/csat")
        tmux.keys("r")
        await raw_receiver.wait_for(1)
        assert raw_receiver.requests[0].startswith(b"POST /api/segmanta/csat?a=1 HTTP/1.1\r\n")
        assert raw_receiver.requests[0].endswith(b"\r\n\r\n" + BODY)
        await asyncio.to_thread(tmux.wait_for, "201 Created")
        tmux.keys("q")
    finally:
        tmux.close()
