"""The TUI's list holds rows, not captures: no body stays in memory for a row, the detail reads the
capture it shows from the store, and results read for something no longer asked for are dropped."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable

import pytest

from hookbin.model import Capture
from hookbin.store import Filter, open_store
from hookbin.summaries import CaptureSummary
from hookbin.tui.widgets.capture_list import CaptureList
from tests.factories import tcapture
from tests.test_tui import make_app, plain, settle, view_text, wait_for

pytestmark = pytest.mark.usefixtures("utc")

MIB = 2**20


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "c.db") as opened:
        yield opened


def big_bodies_alive(least: int = MIB) -> list[str]:
    """The ids of the captures still in memory whose body has at least `least` bytes."""
    gc.collect()
    return [o.id for o in gc.get_objects() if isinstance(o, Capture) and len(o.body) >= least]


def hold_list_reads(store, held: Callable[[Filter | None], bool]) -> tuple[threading.Event, threading.Event]:
    """Make `store.list_summaries` (how the list reads its rows) wait, for the filters `held`
    chooses, until the second event returned is set; the first is set once such a read has started."""
    reading, release = threading.Event(), threading.Event()
    list_summaries = store.list_summaries

    def held_list(*args, **kw):
        if held(kw.get("flt")):
            reading.set()
            release.wait(10)
        return list_summaries(*args, **kw)

    store.list_summaries = held_list
    return reading, release


def big_json(n: int) -> bytes:
    """A JSON object of over a mebibyte, different for each `n`."""
    return json.dumps({"n": n, "records": [{"id": i, "name": f"record {i}"} for i in range(40_000)]}).encode()


async def test_rows_hold_no_body_whether_read_at_start_or_arriving_live(store, tmp_path):
    for n in range(1, 6):
        store.add(tcapture(seq=n, path=f"/stored/{n}", body=big_json(n)))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(CaptureList)
        await wait_for(pilot, lambda: table.row_count == 5)
        writer = threading.Thread(
            target=lambda: [store.submit(tcapture(seq=n, path=f"/live/{n}", body=big_json(n))) for n in range(6, 11)]
        )
        writer.start()
        writer.join()
        await wait_for(pilot, lambda: table.row_count == 10)
        store.add(tcapture(seq=11, path="/small"))  # followed: the detail now shows a small body
        await wait_for(pilot, lambda: app._detail.capture is not None and app._detail.capture.path == "/small")
        await settle(pilot)
        assert all(isinstance(row, CaptureSummary) and not hasattr(row, "body") for row in app._rows.values())
        assert big_bodies_alive() == []
        # The rows still say what each body was.
        assert "MiB" in plain(table.get_row(tcapture(seq=7).id)[0])


async def test_choosing_a_row_reads_its_capture_and_shows_a_large_body(store, tmp_path):
    big = big_json(0)
    store.add(tcapture(seq=1, path="/big", body=big))
    store.add(tcapture(seq=2, path="/small"))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app._detail.capture is not None and app._detail.capture.path == "/small")
        await pilot.press("up")
        await wait_for(pilot, lambda: f"{len(big):,} bytes" in view_text(app, "summary"), timeout=30)
        assert app._detail.capture is not None and app._detail.capture.body == big
        await settle(pilot)
        await pilot.press("3")  # the Body tab: a document this large is a tree
        await pilot.pause()
        tree = app.query_one("#body-tree")
        assert tree.display
        assert [child.label.plain for child in tree.root.children] == ["n = 0", "records [40000]"]
        # The copy keys read it too: `y` copies the whole body.
        await pilot.press("y")
        await settle(pilot)
        assert any(f"body ({len(big):,} bytes" in n.message for n in app._notifications)


async def test_a_capture_read_for_a_row_no_longer_chosen_is_dropped(store, tmp_path):
    store.add(tcapture(seq=1, path="/slow"))
    store.add(tcapture(seq=2, path="/quick"))
    store.add(tcapture(seq=3, path="/newest"))
    app = make_app(store, tmp_path)
    slow_id = tcapture(seq=1).id
    release = threading.Event()
    reading_slow = threading.Event()
    read = store.get

    def held_read(capture_id: str) -> Capture | None:
        if capture_id == slow_id:
            reading_slow.set()
            release.wait(10)
        return read(capture_id)

    async with app.run_test(size=(120, 40)) as pilot:
        app._detail._read = held_read
        await wait_for(pilot, lambda: app._detail.capture is not None and app._detail.capture.path == "/newest")
        await pilot.press("up", "up")  # to /quick, then /slow, whose read is held
        await wait_for(pilot, reading_slow.is_set)
        await pilot.press("down")  # back to /quick before /slow was read
        await wait_for(pilot, lambda: "/quick" in view_text(app, "summary"))
        release.set()
        await settle(pilot)
        await pilot.pause(0.2)
        assert app._detail.capture is not None and app._detail.capture.path == "/quick"
        assert "/quick" in view_text(app, "summary") and "/slow" not in view_text(app, "summary")


async def test_rows_read_for_an_old_filter_are_dropped_and_arrivals_meanwhile_kept(store, tmp_path):
    for n in range(1, 4):
        store.add(tcapture(seq=n, path=f"/a/{n}"))
        store.add(tcapture(seq=10 + n, path=f"/b/{n}"))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(CaptureList)
        await wait_for(pilot, lambda: table.row_count == 6)
        reading_a, release = hold_list_reads(store, lambda flt: flt is not None and flt.path == "/a/*")
        await pilot.press("slash")
        app.query_one("#filter").value = "path:/a/*"
        await pilot.press("enter")
        await wait_for(pilot, reading_a.is_set)
        app.query_one("#filter").value = "path:/b/*"
        await pilot.press("slash", "enter")
        await wait_for(pilot, lambda: [row.path for row in app._rows.values()] == ["/b/1", "/b/2", "/b/3"])
        store.add(tcapture(seq=20, path="/b/new"))  # arrives while /a/* is still being read
        store.add(tcapture(seq=21, path="/a/new"))
        await wait_for(pilot, lambda: "/b/new" in [row.path for row in app._rows.values()])
        release.set()
        await settle(pilot)
        await pilot.pause(0.3)
        assert [row.path for row in app._rows.values()] == ["/b/1", "/b/2", "/b/3", "/b/new"]


async def test_captures_arriving_while_the_list_reloads_are_not_lost(store, tmp_path):
    store.add(tcapture(seq=1, path="/first"))
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(CaptureList)
        await wait_for(pilot, lambda: table.row_count == 1)
        reading, release = hold_list_reads(store, lambda flt: True)
        await pilot.press("slash")
        app.query_one("#filter").value = "method:POST"
        await pilot.press("enter")
        await wait_for(pilot, reading.is_set)
        for n in range(2, 6):
            store.add(tcapture(seq=n, path=f"/during/{n}"))
        await wait_for(pilot, lambda: app.counts["received"] == 4)
        release.set()
        await wait_for(pilot, lambda: table.row_count == 5)
        assert [row.path for row in app._rows.values()] == ["/first", *(f"/during/{n}" for n in range(2, 6))]


async def test_a_capture_stored_while_the_list_is_first_read_is_listed(store, tmp_path):
    store.add(tcapture(seq=1, path="/before"))
    reading, release = hold_list_reads(store, lambda flt: True)
    app = make_app(store, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, reading.is_set)
        store.add(tcapture(seq=2, path="/while-reading"))  # after the read began, before its rows arrived
        release.set()
        await wait_for(pilot, lambda: app.query_one(CaptureList).row_count == 2)
        assert [row.path for row in app._rows.values()] == ["/before", "/while-reading"]
