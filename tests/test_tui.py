"""The Textual app under `run_test`: live rows, tabs, answer keys against a real server, filter, copy, hostile text."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import threading
import time
from pathlib import Path

import aiohttp
import pytest
from rich.console import Console

from hookbin.access import Access, url_with_token
from hookbin.model import Capture, ResponseGiven
from hookbin.responder import Responder
from hookbin.server.runner import HookbinServer
from hookbin.store import open_store
from hookbin.tui.app import DETAIL_INTERVAL, CaptureList, HookbinApp
from hookbin.tui.screens import HelpScreen
from hookbin.tui.widgets.detail import DetailPane
from tests.conftest import refusals_said
from tests.factories import tcapture

SAMPLE = (Path(__file__).resolve().parent.parent / "hookbin" / "samples" / "segmanta-survey.json").read_bytes()
HOSTILE = [
    "[bold]loud[/bold]",
    "[/x]",
    "[link=https://evil.example]click[/link]",
    "\x1b[2J\x1b]52;c;aGk=\x07",
    "nul\x00del\x7f",
    "c1\x9bcsi",
    "bidi\u202eevil\u2066x",
    "[red",
    "$var",
    "\\[escaped]",
]


pytestmark = pytest.mark.usefixtures("utc")  # times on screen are local: make them UTC


def plain(renderable, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def view_text(app: HookbinApp, tab: str) -> str:
    return plain(app.query_one(f"#{tab}-view").content)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "c.db") as opened:
        yield opened


def make_app(store, tmp_path, responder=None, **kw) -> HookbinApp:
    return HookbinApp(
        store,
        responder or Responder("200"),
        url="http://127.0.0.1:8080",
        admin_url="http://127.0.0.1:8081",
        export_dir=tmp_path / "exports",
        **kw,
    )


async def wait_for(pilot, predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await pilot.pause(0.02)


async def settle(pilot, timeout: float = 60.0) -> None:
    """Wait until the app's workers (decoding the detail, reading the list or deliveries,
    copying) are done and their results shown: no tab of the detail still says "loading…", and
    no redraw of the detail is held back (following redraws it at most once a second)."""
    app = pilot.app
    detail = app.query_one(DetailPane)

    def drawn() -> bool:
        return not detail.lines_pending and app._detail_pending is None

    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        running = [worker for worker in app.workers if not worker.is_finished]
        if not running and drawn():
            await pilot.pause()  # a result may have started another load (a resize, say)
            if drawn() and all(worker.is_finished for worker in app.workers):
                return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not settled: workers {running}, detail loading {detail.lines_pending}, "
                f"held back {app._detail_pending}"
            )
        if running:
            await app.workers.wait_for_complete(running)
        else:
            await asyncio.sleep(0.01)


async def test_captures_appear_live_from_the_store_thread(store, tmp_path):
    store.add(tcapture(seq=1, path="/before"))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(CaptureList)
        assert table.row_count == 1
        # The store's writer thread delivers these; the app must pick them all up.
        writer = threading.Thread(
            target=lambda: [store.submit(tcapture(seq=n, path=f"/live/{n}")) for n in range(2, 202)]
        )
        writer.start()
        writer.join()
        await wait_for(pilot, lambda: table.row_count == 201)
        assert app.counts["received"] == 200
        # Following: the newest row is selected and shown.
        assert table.cursor_row == 200
        await wait_for(pilot, lambda: "/live/201" in view_text(app, "summary"))


async def test_rows_are_bounded_but_nothing_is_lost(store, tmp_path):
    app = make_app(store, tmp_path, max_rows=50)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(1, 131):
            store.submit(tcapture(seq=n))
        await wait_for(pilot, lambda: app.counts["received"] == 130)
        # The list keeps the newest max_rows.
        assert 50 <= app.query_one(CaptureList).row_count <= 75
        assert store.count() == 130
        await wait_for(pilot, lambda: app.selected is not None and app.selected.id == tcapture(seq=130).id)


async def test_retention_deletes_in_the_store_without_resetting_the_screen(store, tmp_path):
    store.keep_at_most(5)
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(1, 21):
            store.submit(tcapture(seq=n))
        await wait_for(pilot, lambda: app.counts["received"] == 20)
        await pilot.pause(0.3)
        assert app.counts["received"] == 20, "a deletion is not a clear: the counters keep counting"
        assert app.query_one(CaptureList).row_count == 20
        assert store.count() == 5


async def test_selection_and_every_tab(store, tmp_path):
    store.add(
        tcapture(
            seq=1,
            path="/segmanta/csat",
            query_string="crm=CUST-1042&crm=2",
            body=SAMPLE,
            headers=(("Content-Type", "application/json"), ("X-Dup", "a"), ("X-Dup", "b")),
            status=503,
            attempt=2,
            delivery_key="sha256:abc",
            delivery_source="hash",
        )
    )
    store.add(tcapture(seq=2, path="/other", body=b"{}"))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("up")
        await settle(pilot)
        assert app.selected.path == "/segmanta/csat"
        assert not app.following
        assert "paused" in plain(app.query_one("#status").content)
        summary = view_text(app, "summary")
        assert "Customer Satisfaction Survey" in summary and "CUST-1042" in summary
        await pilot.press("2")
        assert app.query_one("TabbedContent").active == "headers"
        headers = view_text(app, "headers")
        assert headers.index("X-Dup") < headers.index("b")
        assert headers.count("X-Dup") == 2
        await pilot.press("3")
        assert '"survey_name": "Customer Satisfaction Survey"' in view_text(app, "body")
        await pilot.press("4")
        query = view_text(app, "query")
        assert query.count("crm") >= 3 and "CUST-1042" in query
        await pilot.press("5")
        response = view_text(app, "response")
        assert "Answered 503" in response and "attempt" in response and "sha256:abc" in response
        await pilot.press("6")
        assert view_text(app, "raw").startswith("POST /segmanta/csat?crm=CUST-1042&crm=2 HTTP/1.1")


async def test_invalid_json_is_marked_and_explained(store, tmp_path):
    store.add(tcapture(seq=1, body=b'{"survey_id": 12,\n "results": [}'))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        body = view_text(app, "body")
        assert "invalid JSON" in body and "line 2" in body
        (row,) = app.query_one(CaptureList).get_row_at(0)
        assert "⚠" in row.plain


async def test_each_answer_key_changes_what_the_next_real_request_gets(tmp_path):
    store = open_store(tmp_path / "c.db")
    responder = Responder("200")
    server = HookbinServer(store, responder, port=0, admin_port=0)
    await server.start()
    app = make_app(store, tmp_path, responder)
    try:
        async with app.run_test(size=(120, 40)) as pilot, aiohttp.ClientSession() as http:
            # A generous wait for an answer (a busy machine is slow), a short one to see a delay.
            async def status_of_next(wait: float = 60) -> int | str:
                try:
                    async with http.post(server.url + "/k", data=b"x", timeout=aiohttp.ClientTimeout(total=wait)) as r:
                        return r.status
                except aiohttp.ServerDisconnectedError:
                    return "closed"
                except aiohttp.ClientOSError:
                    return "reset"
                except TimeoutError:
                    return "timeout"

            await pilot.press("e")
            assert await status_of_next() == 500
            await pilot.press("e")
            assert await status_of_next() == 503
            await pilot.press("e")
            assert await status_of_next() == 429
            await pilot.press("o")
            assert await status_of_next() == 200
            await pilot.press("f")
            assert await status_of_next() == "closed"
            await pilot.press("f")
            assert await status_of_next() in ("reset", "closed")
            await pilot.press("d")
            await pilot.pause()
            await pilot.press(*"3s", "enter")  # the prompt's text is selected: typing replaces it
            assert responder.spec.text == "200 delay=3s"
            assert await status_of_next(wait=1) == "timeout"
            await pilot.press("s")
            await pilot.pause()
            await pilot.press(*"418,200", "enter")
            assert await status_of_next() == 418
            assert "418,200" in plain(app.query_one("#badge").content)
            # An invalid spec is refused in the prompt; the answer stays.
            await pilot.press("s")
            await pilot.pause()
            await pilot.press(*"5x3", "enter")
            assert "'5x3'" in plain(app.screen.query_one("#prompt-error").content)
            await pilot.press("escape")
            assert responder.spec.text == "418,200"
            await wait_for(pilot, lambda: app.counts["received"] == 8)
    finally:
        await server.stop()
        store.close()


async def test_a_sender_that_hangs_up_is_shown_as_gone_not_as_2xx(tmp_path):
    store = open_store(tmp_path / "c.db")
    server = HookbinServer(store, Responder("200 delay=3s"), port=0, admin_port=0)
    await server.start()
    app = make_app(store, tmp_path, server.responder)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            # The sender hangs up once hookbin has its request, waiting out the delay. (A client
            # timeout could fire first on a busy machine, before the request was even sent.)
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            await wait_for(pilot, lambda: store.count() == 1)
            writer.close()
            table = app.query_one(CaptureList)
            await wait_for(pilot, lambda: table.row_count == 1 and table.newest.sender_gone_ms is not None)
            assert " gone " in plain(table.get_row_at(0)[0])
            status = plain(app.query_one("#status").content)
            assert "received 1  2xx 0  errors 0  not delivered 1" in status
            await wait_for(pilot, lambda: "gone: sender hung up after" in view_text(app, "response"))
            response = view_text(app, "response")
            assert response.startswith("Answered 200  after a delay of 3s")
            assert "; the 200 was never delivered" in response
            assert "sender hung up after" in view_text(app, "delivery")
            assert "not accepted yet" in view_text(app, "delivery")
    finally:
        await server.stop()
        store.close()


async def test_n_starts_a_new_run_that_the_header_shows_and_real_retries_feel(tmp_path):
    store = open_store(tmp_path / "c.db")
    responder = Responder("503,200")
    server = HookbinServer(store, responder, port=0, admin_port=0)
    await server.start()  # run 1: the answer given at start
    app = make_app(store, tmp_path, responder)
    try:
        async with app.run_test(size=(120, 40)) as pilot, aiohttp.ClientSession() as http:

            async def post() -> tuple[int, int | None]:
                async with http.post(server.url + "/seg", data=b"same") as r:
                    capture = store.get((await r.json())["id"])
                    return r.status, capture.attempt

            assert "run 1  answering 503,200" in plain(app.query_one("#badge").content)
            assert [await post(), await post()] == [(503, 1), (200, 2)]
            await pilot.press("n")
            assert responder.run == 2 and responder.spec.text == "503,200"
            assert "run 2  answering 503,200" in plain(app.query_one("#badge").content)
            assert await post() == (503, 1)  # the same delivery, repeated from its first step
            await pilot.press("o")  # every answer key starts a run as well
            assert "run 3  answering 200" in plain(app.query_one("#badge").content)
            await wait_for(pilot, lambda: app.counts["received"] == 3)
            await pilot.press("D")
            await wait_for(pilot, lambda: "Deliveries in run 3 (0)" in plain(app.screen.query_one("Label").content))
            await pilot.press("escape")
            commands = [command.title for command in app.get_system_commands(app.screen)]
            assert "Start a new run" in commands
            await pilot.press("question_mark")
            await pilot.pause()
            assert any("new run: the same answer" in plain(widget.content) for widget in app.screen.query("Static"))
        assert store.get_run(2).spec == "503,200" and store.get_run(3).spec == "200"
    finally:
        await server.stop()
        store.close()


async def test_filter_by_status_method_path_and_text(store, tmp_path):
    store.add(tcapture(seq=1, path="/segmanta/a", status=503))
    store.add(tcapture(seq=2, path="/health", method="GET", status=200))
    store.add(tcapture(seq=3, path="/segmanta/b", body=b'{"crm_id": "CUST-7"}', status=200))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(CaptureList)
        await pilot.press("slash", *"status:5xx", "enter")
        await settle(pilot)  # the list is read again in a worker thread
        assert [app._rows[k].path for k in app._rows] == ["/segmanta/a"]
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"path:/segmanta/* cust-7", "enter")
        await settle(pilot)
        assert [app._rows[k].path for k in app._rows] == ["/segmanta/b"]
        # A live capture that matches the filter appears; one that does not stays out.
        store.add(tcapture(seq=4, path="/segmanta/c", body=b"CUST-7"))
        store.add(tcapture(seq=5, path="/elsewhere", body=b"CUST-7"))
        await wait_for(pilot, lambda: app.counts["received"] == 2)
        assert [app._rows[k].path for k in app._rows] == ["/segmanta/b", "/segmanta/c"]
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 5


async def test_copy_as_curl_and_body(store, tmp_path):
    store.add(
        tcapture(
            seq=1,
            path="/hook",
            query_string="a=1",
            body=b'{"x": "it\'s"}',
            headers=(("Content-Type", "application/json"), ("X-Sig", "v1,abc")),
        )
    )
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await settle(pilot)  # the copy keys read the capture and write the file in a thread
        saved = tmp_path / "exports" / f"{tcapture(seq=1).id}.curl.sh"
        command = saved.read_text().strip()
        assert app.clipboard == command
        assert command.startswith("curl -X POST 'http://127.0.0.1:8080/hook?a=1'")
        assert "-H 'X-Sig: v1,abc'" in command
        await pilot.press("y")
        await settle(pilot)
        assert app.clipboard == '{"x": "it\'s"}'


async def test_clear_asks_first(store, tmp_path):
    store.add(tcapture(seq=1))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+l", "n")
        assert store.count() == 1
        await pilot.press("ctrl+l", "y")
        await wait_for(pilot, lambda: app.query_one(CaptureList).row_count == 0)
        assert store.count() == 0


async def test_pause_holds_new_rows_until_resumed(store, tmp_path):
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        assert not app.following
        store.add(tcapture(seq=1))
        await wait_for(pilot, lambda: app.counts["received"] == 1)
        assert app.query_one(CaptureList).row_count == 0
        assert "1 new" in plain(app.query_one("#status").content)
        await pilot.press("space")
        await settle(pilot)  # resuming reads the held rows in a worker thread
        assert app.query_one(CaptureList).row_count == 1


async def test_resuming_with_nothing_held_shows_the_newest_capture(store, tmp_path):
    store.add(tcapture(seq=1, path="/older"))
    store.add(tcapture(seq=2, path="/newest"))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("up")  # onto the older row: following stops
        await settle(pilot)
        assert not app.following and app.selected is not None and app.selected.path == "/older"
        await pilot.press("space")  # nothing arrived meanwhile: the cursor goes back to the newest
        await settle(pilot)
        assert app.following
        assert app.selected is not None and app.selected.path == "/newest"
        assert "/newest" in view_text(app, "summary")


async def test_help_screen_lists_the_keys(store, tmp_path):
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_text_is_shown_escaped_and_cannot_crash_the_app(store, tmp_path, hostile):
    raw = hostile.encode("utf-8")
    store.add(
        Capture(
            id="t00000000001",
            received_at=tcapture(seq=1).received_at,
            method="POST",
            path="/" + hostile,
            query_string="q=" + hostile,
            headers=((hostile, hostile), ("Content-Type", "text/plain")),
            body=raw,
            body_size=len(raw),
            response=ResponseGiven(status=200, rule=hostile, spec="200", reason=hostile),
            delivery_key=hostile,
            attempt=1,
        )
    )
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in "123456":
            await pilot.press(key)
            text = view_text(
                app, {"1": "summary", "2": "headers", "3": "body", "4": "query", "5": "response", "6": "raw"}[key]
            )
            for char in "\x1b\x00\x7f\x9b\u202e\u2066\x07":
                assert char not in text
        row = " ".join(cell.plain for cell in app.query_one(CaptureList).get_row_at(0))
        assert hostile.split("\x1b")[0][:4] in row or "\\x" in row
        notify_line = json.dumps(hostile)
        app.notice(notify_line)  # notices are plain text too
        await pilot.pause()


async def test_delivery_tab_and_deliveries_screen(store, tmp_path):
    for seq, (status, attempt) in enumerate([(503, 1), (503, 2), (200, 3)], start=1):
        store.add(
            tcapture(
                seq=seq,
                path="/segmanta/csat",
                status=status,
                attempt=attempt,
                delivery_key="sha256:1696daea75797a7e",
                delivery_source="hash",
                run=1,
            )
        )
    store.add(tcapture(seq=4, path="/other", delivery_key="sha256:ffff000011112222", attempt=1, run=1))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("up", "7")
        await settle(pilot)
        timeline = view_text(app, "delivery")
        assert "3 attempt(s), accepted at attempt #3" in timeline
        assert [line.split()[0:2] for line in timeline.splitlines() if "#" in line[:6]] == [
            ["#1", "14:05:10.123"],
            ["#2", "14:05:11.123"],
            ["▶", "#3"],
        ]
        assert "+1.00s  503" in timeline
        await pilot.press("D")
        await settle(pilot)
        screen_table = app.screen.query_one("DataTable")
        assert screen_table.row_count == 2
        await pilot.press("up", "enter")
        await settle(pilot)  # the list is read again, for the chosen delivery, in a worker thread
        assert sorted(c.attempt for c in app._rows.values()) == [1, 2, 3]
        assert app.filter.delivery_key == "sha256:1696daea75797a7e"


async def test_large_json_is_a_tree_filled_as_branches_open(store, tmp_path):
    document = {"survey_id": 1, "results": [{"id": n, "name": f"page {n}", "tag": "[red]x"} for n in range(2000)]}
    store.add(tcapture(seq=1, body=json.dumps(document).encode()))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        tree = app.query_one("#body-tree")
        assert tree.display and not app.query_one("#body-view").display
        labels = [child.label.plain for child in tree.root.children]
        assert labels == ["survey_id = 1", "results [2000]"]
        results = tree.root.children[1]
        assert not results.children  # not built until opened
        results.expand()
        await pilot.pause()
        assert len(results.children) == 501 and results.children[-1].label.plain.startswith("… 1500 more")
        first = results.children[0]
        first.expand()
        await pilot.pause()
        assert [c.label.plain for c in first.children] == ["id = 0", 'name = "page 0"', 'tag = "[red]x"']
        # A small document goes back to highlighted text.
        store.add(tcapture(seq=2, body=b'{"a": 1}'))
        small = tcapture(seq=2).id
        await wait_for(pilot, lambda: app._detail.capture is not None and app._detail.capture.id == small)
        await settle(pilot)
        assert not tree.display and app.query_one("#body-view").display


async def test_following_survives_bursts_and_stops_only_when_the_user_moves(store, tmp_path):
    app = make_app(store, tmp_path, max_rows=100)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(CaptureList)
        for burst in range(5):
            for n in range(40):
                store.submit(tcapture(seq=burst * 40 + n + 1))
            await pilot.pause(0.05)
        await wait_for(pilot, lambda: app.counts["received"] == 200)
        assert app.following  # nothing pressed: still following
        await wait_for(pilot, lambda: app.selected is not None and app.selected.id == tcapture(seq=200).id)
        assert table.cursor_row == table.row_count - 1
        await pilot.press("k")
        assert not app.following
        looking_at = app.selected.id
        for n in range(201, 261):
            store.submit(tcapture(seq=n))
        await wait_for(pilot, lambda: app.counts["received"] == 260)
        assert app.selected.id == looking_at  # the burst did not drag the cursor away
        assert "60 new" in plain(app.query_one("#status").content)


async def test_the_detail_shows_the_highlighted_request_once_redraws_settle(store, tmp_path):
    # The list highlights its first row before the cursor jumps to the newest; that early
    # highlight used to be redrawn late, leaving the oldest request under the newest's cursor.
    for seq in (1, 2, 3):
        store.add(tcapture(seq=seq, path=f"/hook/{seq}"))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(2 * DETAIL_INTERVAL)  # past any throttled redraw
        await settle(pilot)
        assert app.query_one(CaptureList).cursor_row == 2
        assert app.selected is not None and app.selected.path == "/hook/3"
        assert "/hook/3" in view_text(app, "summary")


async def test_leaving_the_deliveries_screen_keeps_the_request_in_view(store, tmp_path):
    # Issue 8: the Deliveries table's highlights reached the app's list handler, so after `D`,
    # `esc` a row stayed highlighted while the detail said "Waiting for requests" and `c` refused.
    for seq in (1, 2, 3):
        store.add(tcapture(seq=seq, path=f"/hook/{seq}", delivery_key=f"sha256:{seq:016x}", attempt=1, run=1))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("up", "up")
        await pilot.press("escape")
        await settle(pilot)
        assert app.selected is not None and app.selected.path == "/hook/3"
        assert "/hook/3" in view_text(app, "summary")
        await pilot.press("c")
        await settle(pilot)
        assert (tmp_path / "exports" / f"{tcapture(seq=3).id}.curl.sh").exists()
        # The same while paused on an older request.
        await pilot.press("up", "D")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.selected is not None and app.selected.path == "/hook/2"
        assert "/hook/2" in view_text(app, "summary")


async def test_enter_opens_the_detail_but_choosing_a_delivery_stays_in_the_list(store, tmp_path):
    for seq in (1, 2):
        store.add(
            tcapture(
                seq=seq, path=f"/hook/{seq}", body=b"line\n" * 200, delivery_key=f"sha256:{seq:016x}", attempt=1, run=1
            )
        )
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is app.query_one("#summary-view")  # arrows now scroll the request
        app.query_one(CaptureList).focus()
        await pilot.press("3", "enter")
        await pilot.pause()
        assert app.focused is app.query_one("#body-view")
        # Enter on the Deliveries screen is that screen's: the list, now showing the chosen
        # delivery's attempts, keeps the keys.
        app.query_one(CaptureList).focus()
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert app.filter is not None and app.filter.delivery_key == f"sha256:{2:016x}"
        assert app.focused is app.query_one(CaptureList)


async def test_poison_charset_and_a_gzip_bomb_are_shown_not_fatal(store, tmp_path):
    # charset=\xff used to kill the app 0.2 s after start (the newest row is shown at once).
    bomb = gzip.compress(gzip.compress(b"\0" * (128 * 2**20)))
    store.add(
        tcapture(
            seq=1,
            path="/bomb",
            body=bomb,
            headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip, gzip")),
        )
    )
    store.add(tcapture(seq=2, path="/cs", body=b"hi", headers=(("Content-Type", "text/plain; charset=\udcff\udcfe"),)))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        seen: dict[str, str] = {}
        for key in ["up", "down"] * 20:  # which row is shown first depends on timing; visit both
            await settle(pilot)
            if app.selected is not None:
                seen[app.selected.path] = view_text(app, "body")
            if len(seen) == 2:
                break
            await pilot.press(key)
            await settle(pilot)
        assert "unknown charset '\\udcff\\udcfe'; decoded as UTF-8" in seen["/cs"] and "hi" in seen["/cs"]
        assert "gzip: decoded 3.9 MiB of at least 128 MiB (gzip's own count)" in seen["/bomb"]
        assert "--raw` prints the body's exact bytes" in seen["/bomb"]
        assert app.is_running


async def test_the_header_counts_rejected_probes_and_shows_the_url_with_the_token(tmp_path):
    store = open_store(tmp_path / "c.db")
    token = "tok3n-for-the-tui"
    server = HookbinServer(store, Responder("200"), port=0, admin_port=0, access=Access(token=token))
    await server.start()
    app = make_app(store, tmp_path, public_url=url_with_token("https://abc.ngrok.app/segmanta", token),
                   refusals=server.refusals)  # fmt: skip
    server.refusals.emit = app.notice  # as `hookbin serve` wires it
    try:
        async with app.run_test(size=(120, 40)) as pilot, aiohttp.ClientSession() as http:
            assert f"paste into Segmanta: https://abc.ngrok.app/{token}/segmanta" in plain(
                app.query_one("#urls").content
            )

            async def probe(path: str) -> int:
                async with http.post(server.url + path, data=b"{}") as response:
                    return response.status

            assert await probe("/") == 404  # the first, said in full
            assert await asyncio.gather(probe("/segmanta"), probe("/.env")) == [404, 404]
            async with http.post(f"{server.url}/{token}/segmanta", data=b"{}") as response:
                assert response.status == 200

            # The first rejection is said at once, the rest summed up in a line a second later
            # (the two sent together may fall either side of that second on a busy machine).
            def said() -> list[str]:
                return [notification.message for notification in app._notifications]

            await wait_for(pilot, lambda: refusals_said(said(), "no token") == 3)
            assert said()[0].startswith("rejected POST / from 127.0.0.1:") and said()[0].endswith("no token (404)")
            assert any("more turned away in the last second: " in line for line in said()[1:])
            status = plain(app.query_one("#status").content)
            assert "received 1" in status and "rejected 3" in status
    finally:
        await server.stop()
        store.close()


async def test_the_header_counts_requests_the_parser_refused(tmp_path):
    store = open_store(tmp_path / "c.db")
    server = HookbinServer(store, Responder("200"), port=0, admin_port=0)
    await server.start()
    app = make_app(store, tmp_path, refusals=server.refusals)
    server.refusals.emit = app.notice  # as `hookbin serve` wires it
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for raw in (b"post / HTTP/1.1\r\n\r\n", b"WEBHOOK / HTTP/1.1\r\n\r\n", bytes.fromhex("1603010200")):
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(raw)
                assert (await reader.read()).startswith(b"HTTP/1.0 400")
                writer.close()
            await wait_for(pilot, lambda: "refused 3" in plain(app.query_one("#status").content))
            notices = [notification.message for notification in app._notifications]
            assert notices[0].startswith("refused a request from 127.0.0.1 that is not valid HTTP: Invalid method")
    finally:
        await server.stop()
        store.close()
