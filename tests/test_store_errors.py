"""When the store cannot write (full, read-only, locked), the sender gets 500 naming the real
cause, the log and the TUI hear it once, and storing resumes by itself when the cause goes.

A full database is made with SQLite's page limit (`PRAGMA max_page_count`), which fails a
write exactly as a full disk does (SQLITE_FULL); tests/reliability/test_disk_full.py fills a
real disk (a small tmpfs, where it can mount one) and a file size limit under a real `serve`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from hookbin.responder import Responder
from hookbin.store import StoreFailed, StoreRecovered, open_store
from hookbin.tui.app import HookbinApp
from tests.factories import tcapture

BIG = b'{"padding": "' + b"x" * 40_000 + b'"}'
"""A body that needs new database pages wherever it lands."""
NO_LIMIT = 1_073_741_823


def pragma(store, statement: str) -> None:
    """Run a PRAGMA on the store's own connection (under its lock, as its writer would)."""
    with store._lock:
        store._conn.execute(statement)


def cap_at_current_size(store) -> None:
    with store._lock:
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count={pages}")


async def post(http, url, body=BIG):
    async with http.post(url, data=body) as answer:
        return answer.status, await answer.json()


async def settle(store) -> None:
    await asyncio.to_thread(store.flush)


async def test_a_full_database_answers_500_naming_it_says_so_once_and_recovers(start_hookbin, http):
    server = await start_hookbin()
    events = []
    server.store.subscribe(events.append)
    assert (await post(http, server.url + "/before"))[0] == 200
    cap_at_current_size(server.store)
    answers = [await post(http, server.url + f"/full/{n}") for n in range(3)]
    expected = "could not store the capture: the database reached its size limit (database or disk is full)"
    assert answers == [(500, {"ok": False, "error": expected})] * 3
    await settle(server.store)
    trouble = [event for event in events if not hasattr(event, "captures")]
    assert trouble == [StoreFailed(cause="the database reached its size limit (database or disk is full)", count=1)]
    assert trouble[0].line == (
        "could not store 1 request(s): the database reached its size limit (database or disk is full); "
        "senders get 500 until it is fixed, and hookbin keeps trying"
    )

    pragma(server.store, f"PRAGMA max_page_count={NO_LIMIT}")
    assert (await post(http, server.url + "/after"))[0] == 200
    await settle(server.store)
    assert [event for event in events if not hasattr(event, "captures")][1:] == [StoreRecovered(lost=3)]
    assert [c.path for c in server.store.list_captures()] == ["/after", "/before"]


async def test_a_read_only_database_answers_500_naming_it(start_hookbin, http):
    server = await start_hookbin()
    pragma(server.store, "PRAGMA query_only=1")  # writes fail as on a read-only file (SQLITE_READONLY)
    status, answer = await post(http, server.url + "/ro", b"{}")
    assert (status, answer["error"]) == (
        500,
        "could not store the capture: the database is read-only (attempt to write a readonly database)",
    )
    pragma(server.store, "PRAGMA query_only=0")
    assert (await post(http, server.url + "/rw", b"{}"))[0] == 200


async def test_a_database_another_program_locks_answers_500_naming_it(start_hookbin, http, tmp_path):
    server = await start_hookbin(db=tmp_path / "locked.db")
    pragma(server.store, "PRAGMA busy_timeout=50")
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        status, answer = await post(http, server.url + "/locked", b"{}")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (status, answer["error"]) == (
        500,
        "could not store the capture: another program is holding the database locked (database is locked)",
    )
    assert (await post(http, server.url + "/free", b"{}"))[0] == 200


def test_a_second_cause_is_said_too_and_the_lost_count_covers_both(tmp_path):
    with open_store(tmp_path / "c.db") as store:
        events = []
        store.subscribe(events.append)
        cap_at_current_size(store)
        with pytest.raises(Exception, match="size limit"):
            store.add(tcapture(seq=1, body=BIG))
        pragma(store, f"PRAGMA max_page_count={NO_LIMIT}")
        pragma(store, "PRAGMA query_only=1")
        for seq in (2, 3):
            with pytest.raises(Exception, match="read-only"):
                store.add(tcapture(seq=seq))
        pragma(store, "PRAGMA query_only=0")
        store.add(tcapture(seq=4))
        store.flush()
    assert [type(event).__name__ for event in events] == [
        "StoreFailed",
        "StoreFailed",
        "StoreRecovered",
        "CapturesAdded",
    ]
    assert events[2] == StoreRecovered(lost=3)


async def test_the_tui_says_when_storing_fails_and_when_it_works_again(tmp_path):
    with open_store(tmp_path / "c.db") as store:
        app = HookbinApp(
            store, Responder("200"), url="http://127.0.0.1:8080", admin_url=None, export_dir=tmp_path / "exports"
        )
        async with app.run_test(size=(120, 40)) as pilot:

            def messages() -> list[str]:
                return [notification.message for notification in app._notifications]

            async def wait_for_message(start: str) -> None:
                for _ in range(250):
                    if any(message.startswith(start) for message in messages()):
                        return
                    await pilot.pause(0.02)
                raise AssertionError(f"no notice starting {start!r}: {messages()}")

            cap_at_current_size(store)
            failed = threading.Thread(target=lambda: store.submit(tcapture(seq=1, body=BIG)).exception())
            failed.start()
            failed.join()
            await wait_for_message("could not store 1 request(s): the database reached its size limit")
            pragma(store, f"PRAGMA max_page_count={NO_LIMIT}")
            await asyncio.to_thread(store.add, tcapture(seq=2))
            await wait_for_message("storing again; 1 request(s) could not be stored meanwhile")
            assert not any("rollback" in message for message in messages())
