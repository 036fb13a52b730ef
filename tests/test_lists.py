"""Lists read summaries, not bodies: `CaptureSummary` as the store keeps it, read a page at a
time, filled in for old databases by m006, and `report`/`deliveries` computed from summaries
exactly as from the whole captures (on generated traffic with retries, runs, dropped
connections, senders that hung up, Retry-After, changed bodies and captures without keys)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fill_store import fill, traffic
from hookbin.deliveries import group_deliveries, with_diffs
from hookbin.model import Capture, Forwarded, ResponseGiven
from hookbin.report import build_report
from hookbin.store import CapturesAdded, Filter, capture_matches, open_store
from hookbin.store.migrations import MIGRATIONS, m006_summaries
from hookbin.store.rows import capture_row, text_column
from hookbin.summaries import _NOT_QUICK, _quick_read, settled, summary_of
from tests.factories import tcapture
from tests.test_hostile_views import captures as hostile_captures
from tests.test_hostile_views import json_bodies, json_values


def _wire(text: str) -> str:
    """Text as it can come off the wire: bytes that are not UTF-8 as surrogate escapes."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")


def _storable(capture: Capture) -> Capture:
    """A hostile capture as a sender can make one: the request line from the wire, the peer
    address from the socket (the store keeps it as strict UTF-8)."""
    line = {name: _wire(getattr(capture, name)) for name in ("method", "path", "query_string")}
    return replace(capture, remote="127.0.0.1:1234", **line)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_captures())
def test_a_stored_summary_is_the_summary_of_the_capture_whatever_a_sender_sent(capture):
    capture = _storable(capture)
    with open_store(":memory:") as store:
        store.import_captures([capture])
        stored = store.get(capture.id)  # its answer's times as the JSON form keeps them
        assert list(store.iter_summaries()) == [summary_of(capture)] == [summary_of(stored)]


QUICK_CASES = [
    b'{"survey_name": "CSAT", "results": []}',
    b'{"survey_id": 123456789012345678901234567890, "survey_name": null, "results": []}',  # over 64 bits
    b'{"survey_id": 1.5e3, "results": []}',
    b'{"survey_id": 18446744073709551615, "results": []}',
    b'{"survey_name": "\\ud800", "results": []}',  # a lone surrogate: json reads it, orjson refuses
    b'{"survey_id": NaN, "results": []}',
    b'{"a": 1e400}',
    b'{"a": ' + b"[" * 399 + b"]" * 399 + b"}",
    b'{"a": ' + b"[" * 1010 + b"]" * 1010 + b"}",  # too deep for json, not for orjson
    b'{"survey_name": "x"} trailing',
    b'{"survey_name": "caf\xc3\xa9", "results": []}',
    b'{"survey_name": "caf\xe9", "results": []}',  # not UTF-8
]
QUICK_TYPES = ["application/json", "application/json; charset=utf-8", "application/json; charset=latin-1", ""]


@pytest.mark.parametrize("content_type", QUICK_TYPES)
@pytest.mark.parametrize("body", QUICK_CASES)
def test_the_quick_json_read_summarises_as_the_exact_one(monkeypatch, body, content_type):
    capture = tcapture(seq=1, body=body, headers=(("Content-Type", content_type),) if content_type else ())
    quick = summary_of(capture)
    if body == QUICK_CASES[0] and content_type.startswith("application/json; charset=utf"):
        assert _quick_read(capture.body, capture.headers) is not _NOT_QUICK  # the quick read is what is tested
    monkeypatch.setattr("hookbin.summaries.orjson", None)
    assert quick == summary_of(capture)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(json_bodies, json_values.map(lambda doc: json.dumps({"survey_id": doc, "results": []}).encode())))
def test_the_quick_json_read_summarises_any_json_body_as_the_exact_one(body):
    capture = tcapture(seq=1, body=body)
    quick = summary_of(capture)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("hookbin.summaries.orjson", None)
        assert quick == summary_of(capture)


def test_a_delivery_id_that_is_not_utf8_is_kept_and_found():
    # aiohttp reads a header byte that is not UTF-8 as a surrogate escape; a JSON id may hold any
    # lone surrogate. Either used to fail the whole batch of captures it was committed with.
    odd = [
        tcapture(seq=n, delivery_key=key, delivery_source="header:webhook-id")
        for n, key in enumerate(["ab\udcffcd", "x\ud800", "plain"])
    ]
    with open_store(":memory:") as store:
        store.import_captures(odd)
        for capture in odd:
            assert store.get(capture.id) == capture
            assert [c.id for c in store.list_captures(flt=Filter(delivery_key=capture.delivery_key))] == [capture.id]
        assert [s.group_key for s in store.iter_summaries()] == ["ab\udcffcd", "x\ud800", "plain"]


def test_a_body_that_trips_the_reading_is_summarised_without_it_and_its_batch_stored(monkeypatch):
    def tripped(*args: object) -> None:
        raise RecursionError("a body no decoder foresaw")

    monkeypatch.setattr("hookbin.summaries._quick_read", tripped)
    monkeypatch.setattr("hookbin.summaries.sniff_json", tripped)
    made = [tcapture(seq=1, delivery_key="k1"), tcapture(seq=2, headers=(("User-Agent", "ua"),))]
    with open_store(":memory:") as store:
        store.submit_many(made, lambda error: None)
        store.flush()
        assert [c.id for c in store.list_captures()] == [made[1].id, made[0].id]
        summaries = store.list_summaries()
    assert [(s.survey, s.invalid_json, s.group_key, s.user_agent) for s in summaries] == [
        (None, False, f"capture:{made[1].id}", "ua"),
        (None, False, "k1", None),
    ]


def test_the_store_hands_subscribers_the_summaries_it_wrote():
    """A list row needs no parse of the body: the event of a batch carries its summaries."""
    heard: list[CapturesAdded] = []
    made = [c for batch in traffic(60, seed=2) for c in batch]
    with open_store(":memory:") as store:
        store.subscribe(lambda event: heard.append(event) if isinstance(event, CapturesAdded) else None)
        store.submit_many(made[:30], lambda error: None)
        store.import_captures(made[30:])
        store.flush()
        written = list(store.iter_summaries())
    told = sorted((s for event in heard for s in event.summaries), key=lambda s: s.id)
    assert told == written == [summary_of(c) for c in made]


def test_what_became_of_an_answer_reaches_the_summary():
    held = ResponseGiven(status=200, body=b"12345678", delay_ms=90_000, fault="drip", drip_ms=30_000)
    capture = tcapture(seq=1, response=held)
    with open_store(":memory:") as store:
        store.add(capture)
        assert store.list_summaries()[0].note == "held back: the 200 is dripped over 30.0 s after 90 s"
        gone = replace(held, delivered=False, sender_gone_ms=10_000, bytes_sent=3)
        store.record_outcome(capture, gone).result()
        [summary] = store.list_summaries()
    assert (
        summary
        == summary_of(replace(capture, response=gone))
        == settled(summary_of(capture), replace(capture, response=gone))
    )
    forwarded = replace(capture, response=gone, forward=Forwarded("http://127.0.0.1:3000/hook", 201, 3.5, None, 15))
    assert settled(summary_of(capture), forwarded) == summary_of(forwarded)  # a row redrawn, no body read
    assert summary.outcome == "gone" and summary.delivered is False
    assert (
        summary.note
        == gone.note
        == "sender hung up after 10.0 s, 3 of 8 body bytes sent; the 200 was never fully delivered"
    )


@pytest.mark.parametrize("newest_first", [False, True])
def test_streaming_reads_pages_and_keeps_the_order_limit_and_offset(monkeypatch, newest_first):
    monkeypatch.setattr("hookbin.store.queries.SUMMARY_PAGE", 3)
    monkeypatch.setattr("hookbin.store.queries.ID_PAGE", 2)
    made = [tcapture(seq=n, run=1 + n % 2, method="GET" if n % 3 else "POST") for n in range(11)]
    with open_store(":memory:") as store:
        store.import_captures(made)
        for flt in (None, Filter(run=2), Filter(method="post")):
            every = [c for c in (made[::-1] if newest_first else made) if capture_matches(c, flt)]
            for limit, offset in ((None, 0), (4, 0), (4, 3), (100, 2), (3, 20)):
                want = every[offset:][:limit]
                summaries = list(store.iter_summaries(flt, newest_first=newest_first, limit=limit, offset=offset))
                assert summaries == [summary_of(c) for c in want]
                whole = list(store.iter_captures(flt, newest_first=newest_first, limit=limit, offset=offset))
                assert whole == want
        assert store.list_summaries(5, 1) == [summary_of(c) for c in store.list_captures(5, 1)]


OLD_INSERT = (
    "INSERT INTO captures (id, received_at, method, path, query_string, headers, body, body_size, truncated, "
    "remote, status, response, delivery_key, delivery_source, attempt, signature_scheme, signature_valid, "
    "signature_reason, run) VALUES (?, ?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?)"
)


def _stored_as_before_m006(path, captures: list[Capture]) -> None:
    """A database as hookbin wrote it before the summary columns: the migrations before m006, old rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(MIGRATIONS[: MIGRATIONS.index(m006_summaries)], 1):
        migration(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    rows = []
    for capture in captures:
        row = list(capture_row(capture)[:19])  # the columns of then, keys bound as text as then
        row[12:14] = [capture.delivery_key, capture.delivery_source]
        rows.append(row)
    conn.executemany(OLD_INSERT, rows)
    conn.close()


def test_m007_packs_the_summaries_m006_wrote_a_column_each(tmp_path):
    made = [c for batch in traffic(300, seed=4) for c in batch]
    made.append(tcapture(seq=10**6, headers=(("User-Agent", "UA \udcff"),), delivery_key="k\udcff"))
    _stored_as_before_m006(tmp_path / "m6.db", made[:-1])
    conn = sqlite3.connect(tmp_path / "m6.db", isolation_level=None)
    conn.text_factory = text_column
    conn.execute("BEGIN")
    m006_summaries(conn)  # as main shipped it: a column for each of the summary's fields
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(m006_summaries) + 1}")
    conn.execute("COMMIT")
    conn.close()
    with open_store(tmp_path / "m6.db") as store:
        store.import_captures(made[-1:])
        assert [store.get(c.id) for c in made] == made
        assert list(store.iter_summaries()) == [summary_of(c) for c in sorted(made, key=lambda c: c.id)]
    columns = [row[1] for row in sqlite3.connect(tmp_path / "m6.db").execute("PRAGMA table_info(captures)")]
    assert "survey" not in columns and columns[-4:] == ["group_key", "summary", "headers", "body"]


def test_m006_fills_in_the_summaries_of_existing_captures_and_puts_bodies_last(tmp_path):
    made = [c for batch in traffic(400, seed=3) for c in batch]
    made.append(tcapture(seq=10**6, path="/caf\udce9", body=b'{"survey_name": "broken', status=503))
    made.append(tcapture(seq=10**6 + 1, headers=(("User-Agent", "UA \udcff"),), body=b"a=1&b=2"))
    _stored_as_before_m006(tmp_path / "old.db", made)
    with open_store(tmp_path / "old.db") as store:
        assert [store.get(c.id) for c in made] == made
        assert list(store.iter_summaries()) == [summary_of(c) for c in sorted(made, key=lambda c: c.id)]
        assert store.list_summaries(1)[0].user_agent == "UA \udcff"
    conn = sqlite3.connect(tmp_path / "old.db")
    columns = [row[1] for row in conn.execute("PRAGMA table_info(captures)")]
    assert columns[-2:] == ["headers", "body"]  # a row's other columns are read without its body
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"captures_delivery", "captures_run"} <= indexes
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A store of 3,000 generated captures (see benchmarks/fill_store.py)."""
    path = tmp_path_factory.mktemp("lists") / "generated.db"
    with open_store(path) as store:
        fill(store, 3000, seed=7)
    store = open_store(path)
    yield store
    store.close()


def test_generated_traffic_has_what_the_comparison_needs(generated):
    summaries = list(generated.iter_summaries())
    assert len(summaries) == 3000
    assert {s.run for s in summaries} == {None, 1, 2, 3, 4, 5}
    assert {s.outcome for s in summaries} >= {"200", "503", "500", "429", "410", "close", "reset", "gone"}
    assert any(s.retry_after for s in summaries) and any(s.delivered is None and s.delay_ms for s in summaries)
    assert any(s.delivery_key is None for s in summaries) and any(s.invalid_json for s in summaries)
    assert sum(a.body_changed for d in group_deliveries(summaries) for a in d.attempts) > 10


@pytest.mark.parametrize("run", [None, 1, 5])
def test_deliveries_and_the_report_from_summaries_are_those_of_the_whole_captures(generated, run):
    flt = Filter(run=run)
    whole = group_deliveries(generated.list_oldest_first(flt))
    listed = [with_diffs(d, generated.get) for d in group_deliveries(generated.iter_summaries(flt))]
    assert [d.to_dict() for d in listed] == [d.to_dict() for d in whole]
    last = max(d.last_at for d in whole)
    for now in (last + timedelta(seconds=5), last + timedelta(days=1)):  # some too recent to tell, then none
        assert build_report(listed, now=now).to_dict() == build_report(whole, now=now).to_dict()


@pytest.mark.parametrize("run", [None, 3])
def test_the_newest_deliveries_chosen_in_sql_are_the_last_ones_grouped(generated, run):
    flt = Filter(run=run)
    whole = group_deliveries(generated.list_oldest_first(flt))
    for limit in (1, 7, 50, len(whole) - 1, len(whole), len(whole) + 5):
        total, summaries = generated.newest_deliveries(flt, limit)
        assert total == len(whole)
        newest = [with_diffs(d, generated.get) for d in group_deliveries(summaries)[-limit:]]
        assert [d.to_dict() for d in newest] == [d.to_dict() for d in whole[-limit:]]
