"""The SQLite store: round trips, filters, durability across connections, migrations, events."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hookbin.model import Forwarded, ResponseGiven, Run
from hookbin.store import (
    CapturesAdded,
    CapturesDeleted,
    Filter,
    OutcomeRecorded,
    StoreBusy,
    StoreCleared,
    StoreError,
    open_store,
)
from hookbin.store.migrations import SCHEMA_VERSION
from hookbin.store.rows import response_column, rows_per_insert
from hookbin.summaries import summary_of
from tests.factories import BASE_TIME, tcapture


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "captures.db") as opened:
        yield opened


def test_round_trip_keeps_every_byte_and_header_order(store):
    capture = tcapture(
        path="/caf\udcc3/x",  # an undecodable byte in the path, kept as a surrogate escape
        query_string="a=1&b=2&a=3",
        headers=(("X-Dup", "1"), ("Content-Type", "application/json"), ("x-dup", "2"), ("X-Raw", "\udcff")),
        body=b"\x00\xff{not json",
    )
    store.add(capture)
    again = store.get(capture.id)
    assert again == capture
    assert again.query == [("a", "1"), ("b", "2"), ("a", "3")]
    assert [v for k, v in again.headers if k.lower() == "x-dup"] == ["1", "2"]


def test_committed_capture_is_visible_from_a_second_connection(store):
    capture = tcapture()
    store.add(capture)
    other = sqlite3.connect(store.path)
    try:
        rows = other.execute("SELECT id, body FROM captures").fetchall()
    finally:
        other.close()
    assert rows == [(capture.id, capture.body)]


def test_list_is_newest_first_with_limit_and_offset(store):
    captures = [tcapture(seq=n) for n in range(1, 6)]
    for capture in captures:
        store.submit(capture)
    store.flush()
    assert [c.id for c in store.list_captures(limit=2)] == [captures[4].id, captures[3].id]
    assert [c.id for c in store.list_captures(limit=2, offset=2)] == [captures[2].id, captures[1].id]
    assert store.count() == 5


def test_filters(store):
    store.add(tcapture(seq=1, method="POST", path="/segmanta/a", status=503))
    store.add(tcapture(seq=2, method="GET", path="/health", body=b"", status=200))
    store.add(tcapture(seq=3, method="POST", path="/segmanta/b", body=b'{"crm_id": "CUST-1042"}', status=200))
    assert [c.path for c in store.list_captures(flt=Filter(method="post"))] == ["/segmanta/b", "/segmanta/a"]
    assert [c.path for c in store.list_captures(flt=Filter(path="/segmanta/*"))] == ["/segmanta/b", "/segmanta/a"]
    assert [c.path for c in store.list_captures(flt=Filter(status="5xx"))] == ["/segmanta/a"]
    assert [c.path for c in store.list_captures(flt=Filter(status="200"))] == ["/segmanta/b", "/health"]
    assert [c.path for c in store.list_captures(flt=Filter(text="cust-1042"))] == ["/segmanta/b"]
    assert store.count(Filter(text="HEALTH")) == 1
    with pytest.raises(StoreError, match="bad status filter"):
        store.list_captures(flt=Filter(status="five"))


def test_get_by_unique_suffix_or_prefix(store):
    one, two = tcapture(seq=101), tcapture(seq=202)
    store.add(one)
    store.add(two)
    assert store.get("0101") == one
    assert store.get("nope") is None
    with pytest.raises(StoreError, match="matches several"):
        store.get("t000")


def test_events_follow_commits_and_clear(store):
    seen = []
    got = threading.Event()

    def on_event(event):
        seen.append(event)
        got.set()

    unsubscribe = store.subscribe(on_event)
    capture = tcapture()
    store.add(capture)
    assert got.wait(5)
    assert seen == [CapturesAdded((capture,), (summary_of(capture),))]
    assert store.clear() == 1
    assert seen[-1] == StoreCleared()
    assert store.count() == 0
    unsubscribe()
    store.add(tcapture())
    store.flush()
    assert len(seen) == 2


def test_an_outcome_or_a_forward_result_is_a_second_write_with_its_own_event(tmp_path):
    path = tmp_path / "captures.db"
    seen = []
    with open_store(path) as store:
        store.subscribe(seen.append)
        held = tcapture(response=ResponseGiven(status=200, delay_ms=5000))
        store.add(held)
        gone = replace(held.response, delivered=False, sender_gone_ms=2000.0)
        assert store.record_outcome(held, gone).result(5) == replace(held, response=gone)
        assert store.get(held.id).response == gone
        assert seen[-1] == OutcomeRecorded(replace(held, response=gone), held.response)
        # What the app answered a mirrored copy comes later, the same way, and keeps the outcome.
        answered = Forwarded(url="http://127.0.0.1:3000/hook", status=201, latency_ms=12.5, size=2)
        settled = replace(held, response=gone)
        assert store.record_outcome(settled, forward=answered).result(5) == replace(settled, forward=answered)
        assert (store.get(held.id).response, store.get(held.id).forward) == (gone, answered)
        assert seen[-1] == OutcomeRecorded(replace(settled, forward=answered), gone)
        # An outcome for a capture deleted meanwhile changes nothing and tells nobody.
        store.clear()
        store.record_outcome(held, gone).result(5)
        assert store.count() == 0 and isinstance(seen[-1], StoreCleared)
        store.add(held)
    with open_store(path) as store:
        assert store.get(held.id).response.delivered is None  # the re-added capture, as first stored


def test_data_survives_reopen_and_schema_is_versioned(tmp_path):
    path = tmp_path / "captures.db"
    with open_store(path) as first:
        capture = tcapture()
        first.submit(capture)  # not awaited: close() must still commit it
    with open_store(path) as second:
        assert second.get(capture.id) == capture
        assert second.schema_version == SCHEMA_VERSION


# The schema hookbin 0.1.0 made, as SQL split on `;` (before migrations were functions).
SCHEMA_1 = """
    CREATE TABLE captures (
        id TEXT PRIMARY KEY, received_at TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
        query_string TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
        body_size INTEGER NOT NULL, truncated INTEGER NOT NULL, remote TEXT NOT NULL,
        status INTEGER, response TEXT, delivery_key TEXT, delivery_source TEXT, attempt INTEGER,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX captures_delivery ON captures(delivery_key, id);
    PRAGMA user_version = 1;
"""


def test_a_database_made_by_hookbin_0_1_opens_and_keeps_working(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_1)
    row = {
        "id": "t00000000001",
        "received_at": "2026-03-01T14:05:10.123456+00:00",
        "method": b"POST",
        "path": b"/caf\xc3",  # not UTF-8
        "query_string": b"a=1",
        "headers": '[["Content-Type", "application/json"], ["X-Raw", "\\udcff"]]',
        "body": b'{"crm_id": "CUST-1"}',
        "body_size": 20,
        "truncated": 0,
        "remote": "127.0.0.1:5000",
        "status": 503,
        "response": '{"status": 503, "body": "busy", "body_encoding": "utf-8"}',
        "delivery_key": "k1",
        "delivery_source": "header:webhook-id",
        "attempt": 2,
        "extra": "{}",
    }
    values = ", ".join(
        "CAST(? AS TEXT)" if isinstance(value, bytes) and name != "body" else "?" for name, value in row.items()
    )
    conn.execute(f"INSERT INTO captures ({', '.join(row)}) VALUES ({values})", tuple(row.values()))
    conn.commit()
    conn.close()
    with open_store(path) as store:
        old = store.get("t00000000001")
        assert store.schema_version == SCHEMA_VERSION
        assert (old.path, old.headers, old.body, old.attempt, old.run) == (
            "/caf\udcc3",
            (("Content-Type", "application/json"), ("X-Raw", "\udcff")),
            b'{"crm_id": "CUST-1"}',
            2,
            1,  # what was caught before runs is run 1, so the next serve starts run 2
        )
        assert store.last_run() == 1 and store.get_run(1).started_at == old.received_at
        assert old.response == ResponseGiven(status=503, body=b"busy")
        assert old.received_at == BASE_TIME.replace(second=10)
        new = tcapture(seq=2)
        store.add(new)
        assert [c.id for c in store.list_captures()] == [new.id, old.id]
        found = store.list_captures(flt=Filter(text="content-type: APPLICATION/json", status="5xx"))
        assert [c.id for c in found] == [old.id]
        # Captures from before --verify read as unchecked, and filter so.
        assert old.signature is None and store.count(Filter(signature="none")) == 2
        assert old.forward is None  # nor was anything forwarded before serve --forward
    with open_store(path) as again:
        assert again.count() == 2
    conn = sqlite3.connect(path)
    assert "extra" not in [row[1] for row in conn.execute("PRAGMA table_info(captures)")]
    conn.close()


def test_corrupt_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "captures.db"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(StoreError, match=r"cannot use database .*not a database"):
        open_store(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "captures.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this hookbin"):
        open_store(path)


def test_unwritable_location_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create"):
        open_store(blocker / "sub" / "captures.db")


def test_memory_store_works_and_keeps_nothing():
    with open_store(":memory:") as store:
        store.add(tcapture())
        assert store.count() == 1
    with open_store(":memory:") as store:
        assert store.count() == 0


def test_runs_are_recorded_and_numbered_across_reopening(tmp_path):
    path = tmp_path / "c.db"
    with open_store(path) as store:
        assert store.last_run() == 0
        store.record_run(Run(1, BASE_TIME, "500,500,200", ("/health => 200",)))
        store.add(tcapture(seq=1, run=1))
        store.add(tcapture(seq=2, run=2))  # a run whose start was not recorded still counts
        assert store.last_run() == 2
    with open_store(path) as store:
        assert store.last_run() == 2
        assert store.get_run(1) == Run(1, BASE_TIME, "500,500,200", ("/health => 200",))
        assert store.get_run(2) is None
        assert [c.run for c in store.list_captures(flt=Filter(run=1))] == [1]


def test_a_batch_is_one_commit_one_callback_one_event(store):
    events = []
    store.subscribe(events.append)
    calls = []
    done = threading.Event()
    captures = [tcapture(seq=n) for n in range(1, 4)]

    def on_done(error):
        calls.append(error)
        done.set()

    store.submit_many(captures, on_done)
    assert done.wait(5)
    store.flush()
    assert calls == [None]
    assert [e.captures for e in events] == [tuple(captures)]
    assert store.count() == 3


@pytest.mark.parametrize("parameters", [250_000, 999])  # SQLite's limit since 3.32, and before
def test_a_large_batch_is_stored_whole_and_in_order(tmp_path, parameters):
    """A batch goes in as a few multi-row INSERTs."""
    with open_store(tmp_path / "c.db") as store:
        store._conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, parameters)
        store._chunk = rows_per_insert(store._conn)
        captures = [tcapture(seq=n, body=b"%d" % n, headers=(("X-N", str(n)),)) for n in range(1, 204)]
        failed = threading.Event()
        store.submit_many(captures, lambda error: failed.set() if error else None)
        store.flush()
        assert not failed.is_set()
        assert store.list_oldest_first() == captures


def test_a_duplicate_in_a_batch_fails_the_whole_batch_and_keeps_none_of_it(store):
    captures = [tcapture(seq=n) for n in range(5)]
    errors = []
    store.submit_many([*captures, captures[2]], errors.append)
    store.flush()
    assert len(errors) == 1 and isinstance(errors[0], StoreError)
    assert store.count() == 0


def test_a_failed_commit_reaches_every_waiter(tmp_path):
    store = open_store(tmp_path / "c.db")
    try:
        store.add(tcapture(seq=1))
        with pytest.raises(StoreError, match="could not store the capture"):
            store.add(tcapture(seq=1))  # the same id again: the insert fails
        assert store.count() == 1
    finally:
        store.close()


# -- retention, deleting by filter, importing, streaming ----------------------------------------


def test_retention_deletes_the_oldest_in_the_same_commit_and_says_which(store):
    events = []
    store.subscribe(events.append)
    store.import_captures([tcapture(seq=n) for n in range(3)])
    store.keep_at_most(4)
    store.submit_many([tcapture(seq=n) for n in range(3, 6)], lambda error: None)
    store.flush()
    assert [c.id for c in store.iter_oldest_first()] == [tcapture(seq=n).id for n in range(2, 6)]
    assert events[-1] == CapturesDeleted((tcapture(seq=0).id, tcapture(seq=1).id))
    store.keep_at_most(None)
    store.add(tcapture(seq=6))
    assert store.count() == 5


def test_retention_counts_again_after_another_connection_changed_the_file(store):
    store.keep_at_most(3)
    for n in range(3):
        store.add(tcapture(seq=n))
    other = sqlite3.connect(store.path)
    other.execute("DELETE FROM captures WHERE id = ?", (tcapture(seq=0).id,))
    other.commit()
    other.close()
    store.add(tcapture(seq=3))
    assert store.count() == 3, "the other connection's delete made room: nothing more is pruned"
    store.add(tcapture(seq=4))
    assert [c.id for c in store.iter_oldest_first()] == [tcapture(seq=n).id for n in (2, 3, 4)]


def test_delete_by_filter_removes_exactly_what_the_filter_selects(store):
    events = []
    store.import_captures([tcapture(seq=n, status=503 if n % 2 else 200) for n in range(6)])
    store.subscribe(events.append)
    flt = Filter(before=BASE_TIME + timedelta(seconds=4), status="5xx")
    assert store.delete(flt) == 2
    assert events == [CapturesDeleted((tcapture(seq=1).id, tcapture(seq=3).id))]
    assert [c.id for c in store.iter_oldest_first()] == [tcapture(seq=n).id for n in (0, 2, 4, 5)]
    assert store.delete() == 4 and isinstance(events[-1], StoreCleared)


def test_import_keeps_ids_and_times_and_never_overwrites(store):
    first = tcapture(seq=1, body=b"first")
    assert store.import_captures([first]) == (1, 0)
    assert store.import_captures([tcapture(seq=1, body=b"other"), tcapture(seq=2), tcapture(seq=2)]) == (1, 2)
    assert store.get(first.id) == first


def test_streaming_sees_every_capture_across_pages_and_filters(store, monkeypatch):
    monkeypatch.setattr("hookbin.store.queries.ID_PAGE", 3)
    store.import_captures([tcapture(seq=n, method="GET" if n % 3 else "POST") for n in range(10)])
    assert [c.id for c in store.iter_oldest_first()] == [tcapture(seq=n).id for n in range(10)]
    posts = store.iter_oldest_first(Filter(method="post"))
    assert [c.id for c in posts] == [tcapture(seq=n).id for n in (0, 3, 6, 9)]


def test_one_writer_per_database_and_readers_alongside(tmp_path):
    path = tmp_path / "c.db"
    with open_store(path, writer=True) as writer:
        writer.announce(url="http://127.0.0.1:8123")
        with pytest.raises(StoreBusy) as refused:
            open_store(path, writer=True)
        assert str(refused.value) == (
            f"another hookbin (pid {os.getpid()}) is serving {path} on port 8123 "
            "(http://127.0.0.1:8123/); stop it, or serve another --db"
        )
        with open_store(path) as reader:
            assert reader.count() == 0
    with open_store(path, writer=True) as again:  # closing the first let go of the lock
        assert again.count() == 0


@settings(max_examples=150, deadline=None)
@given(
    headers=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=3),
    body=st.binary(max_size=24) | st.text(max_size=24).map(lambda text: text.encode("utf-8", "surrogatepass")),
    duration=st.floats(min_value=0, max_value=1e7),
)
@example(headers=[("X-Bytes", "\udc80 not UTF-8")], body=b"\xff", duration=0.1)  # orjson refuses: json writes it
def test_the_response_column_reads_back_as_json_writes_it(headers, body, duration):
    """orjson (the fast extra) or json may write the column: it reads back the same either way."""
    response = ResponseGiven(201, headers=tuple(headers), body=body, duration_ms=duration, delivered=True)
    assert json.loads(response_column(response)) == json.loads(json.dumps(response.to_dict()))
