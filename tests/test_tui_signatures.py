"""The TUI with `--verify`: a real hookbin checks real requests; the list marks them, the tabs say why, `/` filters."""

from __future__ import annotations

import aiohttp
import pytest

from hookbin.responder import Responder
from hookbin.server.runner import HookbinServer
from hookbin.store import open_store
from hookbin.tui.app import CaptureList
from tests.test_tui import make_app, settle, view_text, wait_for
from tests.test_verify import GITHUB_BODY, GITHUB_SECRET, GITHUB_SIGNATURE, post, verifiers


@pytest.mark.usefixtures("utc")
async def test_the_tui_marks_invalid_signatures_says_why_and_filters_them(tmp_path):
    store = open_store(tmp_path / "c.db")
    responder = Responder("200")
    server = HookbinServer(store, responder, port=0, admin_port=0, verifiers=verifiers("github:" + GITHUB_SECRET))
    await server.start()
    app = make_app(store, tmp_path, responder)
    try:
        async with app.run_test(size=(120, 40)) as pilot, aiohttp.ClientSession() as http:
            await post(http, server, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE}, path="/genuine")
            await post(http, server, GITHUB_BODY + b"!", {"X-Hub-Signature-256": GITHUB_SIGNATURE}, path="/forged")
            await wait_for(pilot, lambda: app.counts["received"] == 2)
            table = app.query_one(CaptureList)
            rows = {c.path: table.get_row(c.id)[0].plain for c in app._rows.values()}
            assert "✓" in rows["/genuine"] and "✗" not in rows["/genuine"]
            assert "✗" in rows["/forged"]
            # The detail follows the newest request, the forged one, and says why on two tabs.
            await wait_for(pilot, lambda: "does not match" in view_text(app, "headers"))
            assert "signature  github: does not match" in view_text(app, "headers")
            assert "signature  github: does not match" in view_text(app, "response")
            await pilot.press("slash", *"sig:invalid", "enter")
            await settle(pilot)  # the list is read again in a worker thread
            assert [c.path for c in app._rows.values()] == ["/forged"]
            await pilot.press("slash")
            await pilot.pause()
            await pilot.press(*"sig:valid", "enter")
            await settle(pilot)
            assert [c.path for c in app._rows.values()] == ["/genuine"]
    finally:
        await server.stop()
        store.close()
