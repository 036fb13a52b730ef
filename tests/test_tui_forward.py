"""The TUI under `serve --forward`: a real hookbin forwards to a real app; the list marks each
forward, the Response tab says what the app answered, and a mirrored result redraws its row."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from hookbin.responder import Responder
from hookbin.server.runner import HookbinServer
from hookbin.store import open_store
from hookbin.tui.app import CaptureList
from tests.test_forward import BODY, forwarding
from tests.test_replay import unused_port
from tests.test_tui import make_app, plain, view_text, wait_for


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("mirror", [False, True], ids=["app", "mirror"])
async def test_the_tui_marks_forwards_and_shows_the_apps_answer(tmp_path, start_app, mirror):
    release = asyncio.Event()

    async def created(request: web.BaseRequest) -> web.Response:
        if mirror:
            await release.wait()  # so the row is drawn before the result comes in
        return web.Response(status=201, text="attached")

    crm = await start_app(created)
    store = open_store(tmp_path / "c.db")
    responder = Responder("200")
    server = HookbinServer(store, responder, port=0, admin_port=0, forwarder=forwarding(crm.url, mirror=mirror))
    await server.start()
    app = make_app(store, tmp_path, responder)
    try:
        async with app.run_test(size=(140, 40)) as pilot, aiohttp.ClientSession() as http:
            async with http.post(server.url + "/segmanta", data=BODY) as response:
                assert response.status == (200 if mirror else 201)
            await wait_for(pilot, lambda: app.counts["received"] == 1)
            table = app.query_one(CaptureList)
            (capture,) = app._rows.values()
            if mirror:
                assert "↪" not in table.get_row(capture.id)[0].plain  # not answered yet
                release.set()
            await wait_for(pilot, lambda: "↪" in table.get_row(capture.id)[0].plain)
            await wait_for(pilot, lambda: "forward" in view_text(app, "response"))
            assert "forward  201  " in view_text(app, "response")
            assert f"B  from {crm.url}/segmanta" in view_text(app, "response")
            assert ("Answered 200" if mirror else "Answered 201") in view_text(app, "response")
    finally:
        release.set()
        await server.stop()
        store.close()


@pytest.mark.usefixtures("utc")
async def test_the_tui_shows_an_app_that_is_down(tmp_path):
    store = open_store(tmp_path / "c.db")
    responder = Responder("200")
    down = forwarding(f"http://127.0.0.1:{unused_port()}")
    server = HookbinServer(store, responder, port=0, admin_port=0, forwarder=down)
    await server.start()
    app = make_app(store, tmp_path, responder)
    try:
        async with app.run_test(size=(140, 40)) as pilot, aiohttp.ClientSession() as http:
            async with http.post(server.url + "/segmanta", data=BODY) as response:
                assert response.status == 502
            await wait_for(pilot, lambda: "connection refused" in view_text(app, "response"))
            (capture,) = app._rows.values()
            marks = app.query_one(CaptureList).get_row(capture.id)[0]
            assert "↪" in marks.plain and any("red" in str(span.style) for span in marks.spans)
            assert "Answered 502" in view_text(app, "response")
    finally:
        await server.stop()
        store.close()


def palette_choice(app) -> str:
    """The command the open palette would run on enter ("" while it has none highlighted)."""
    found = app.screen.query("CommandList")
    if not found or found.first().highlighted is None:
        return ""
    options = found.first()
    return str(options.get_option_at_index(options.highlighted).prompt)


async def test_in_app_mode_the_header_names_the_app_and_answer_keys_do_not_pretend(tmp_path):
    store = open_store(tmp_path / "c.db")
    responder = Responder("200")
    app = make_app(store, tmp_path, responder, answered_by="the app at http://127.0.0.1:3000 answers")
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            badge = plain(app.query_one("#badge").content)
            assert "the app at http://127.0.0.1:3000 answers" in badge and "answering" not in badge
            await pilot.press("e")
            await pilot.pause()
            assert responder.spec.text == "200"  # the app answers: no error was set
            assert "answer keys apply with --forward-mode mirror" in " ".join(
                str(n.message) for n in app._notifications
            )
            # The command palette's answer commands are the same keys: they do not pretend either.
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Answer an error")
            await wait_for(pilot, lambda: "Answer an error" in palette_choice(app))
            await pilot.press("enter")
            await pilot.pause()
            assert responder.spec.text == "200"
            await pilot.press("n")
            await wait_for(pilot, lambda: "run 2" in plain(app.query_one("#badge").content))
    finally:
        store.close()
