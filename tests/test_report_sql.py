"""The report read by SQLite (`SQLiteStore.report_facts`) is the report of the grouped deliveries
(`build_report`, the Python reference), figure for figure: on generated traffic (retries, five
runs, captures from before runs and without keys, dropped connections, senders that hung up,
Retry-After) and on random attempts with what is rare there (equal arrival times, times stored
in another zone, attempt numbers 0 or missing, times in fractions of a millisecond,
Retry-After as a date, senders named by text that is not UTF-8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookbin.deliveries import Delivery, group_deliveries
from hookbin.model import Capture, ResponseGiven
from hookbin.report import build_report, report_of, sender_facts
from hookbin.report_text import render_markdown, render_text
from hookbin.store import Filter, SQLiteStore, open_store
from tests.test_lists import generated as generated  # the fixture: 3,000 generated captures

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def assert_same_report(store: SQLiteStore, flt: Filter | None, now: datetime | None) -> None:
    """The facts exactly (every number unrounded), then the report in every form."""
    by_sender: dict[str, list[tuple[int, Delivery]]] = {}
    for order, delivery in enumerate(group_deliveries(store.iter_summaries(flt))):
        by_sender.setdefault(delivery.sender, []).append((order, delivery))
    expected = {sender: sender_facts(sender, members) for sender, members in by_sender.items()}
    assert {facts.sender: facts for facts in store.report_facts(flt)} == expected
    reference = build_report(group_deliveries(store.iter_summaries(flt)), now=now, scope="in all runs")
    report = report_of(store.report_facts(flt), now=now, scope="in all runs")
    assert report.to_dict() == reference.to_dict()
    assert render_text(report) == render_text(reference)
    assert render_markdown(report) == render_markdown(reference)


@pytest.mark.parametrize(
    "flt",
    [None, Filter(run=1), Filter(run=5), Filter(since=START + timedelta(minutes=3)), Filter(status="5xx")],
    ids=["all", "run 1", "run 5", "since", "5xx"],
)
def test_the_report_read_in_sql_is_the_report_of_the_grouped_deliveries(generated, flt):
    report = report_of(generated.report_facts(flt))
    assert report.deliveries > 20 and report.senders  # something to compare
    last = report.last_at
    assert last is not None
    # Some last attempts too recent to tell whether a retry follows, then none; and `now` by default.
    for now in (last + timedelta(seconds=5), last + timedelta(days=1), None):
        assert_same_report(generated, flt, now)


def test_the_generated_traffic_exercises_every_part_of_the_report(generated):
    report = report_of(generated.report_facts())
    senders = report.senders
    assert len(senders) >= 4
    assert any(s.retry_after_honoured for s in senders) and any(s.retry_after_unfollowed for s in senders)
    assert any(s.sender_timeout.count for s in senders) and any(s.continued_after_success for s in senders)
    assert any(s.never_accepted for s in senders) and any(len(s.gaps) > 2 for s in senders)
    assert {row.status_class for s in senders for row in s.after} >= {"2xx", "410", "429", "5xx", "timeout", "fault"}


def test_an_empty_store_reports_nothing(tmp_path):
    with open_store(tmp_path / "empty.db") as store:
        assert store.report_facts() == []
        assert_same_report(store, None, None)
        assert_same_report(store, None, START)


# ------------------------------------------------------------------- random attempts

_ZONES = (UTC, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)))
_RETRY_AFTER = (None, None, "30", "0", " 2 ", "1.5", "Sun, 01 Mar 2026 09:00:40 GMT", "soon")


@st.composite
def attempts(draw: st.DrawFn) -> list[Capture]:
    """Up to 40 captures of a few deliveries, each answered in one of the ways the report tells apart."""
    made = []
    for n in range(draw(st.integers(0, 40))):
        fault = draw(st.sampled_from([None, None, "close", "reset", "drip"]))
        status = draw(st.sampled_from([200, 200, 204, 301, 404, 410, 429, 500, 503]))
        retry_after = draw(st.sampled_from(_RETRY_AFTER))
        response = ResponseGiven(
            status=status,
            headers=() if retry_after is None else (("Retry-After", retry_after),),
            delay_ms=draw(st.sampled_from([0.0, 0.0, 0.0005, 0.0015, 1.5, 999.9995, 2500.0])),
            fault=fault,
            drip_ms=draw(st.sampled_from([0.0, 300.0, 1234.5675])) if fault == "drip" else 0.0,
            delivered=draw(st.sampled_from([None, True, True, False])),
            sender_gone_ms=draw(st.sampled_from([None, None, None, 0.0005, 750.25, 30000.0])),
        )
        agent = draw(st.sampled_from([None, "", "Segmanta-Webhooks/1.0", "path /a", "UA \udcff", "caf\u00e9"]))
        moment = START + timedelta(seconds=draw(st.integers(0, 30)), microseconds=draw(st.sampled_from([0, 1, 500])))
        made.append(
            Capture(
                id=f"c{n:05d}{draw(st.sampled_from('ab'))}",
                received_at=moment.astimezone(draw(st.sampled_from(_ZONES))),
                method="POST",
                path=draw(st.sampled_from(["/a", "/b", "/\udcff"])),
                headers=() if agent is None else (("User-Agent", agent),),
                body=b"{}",
                body_size=2,
                response=draw(st.sampled_from([response, response, response, None])),
                delivery_key=draw(st.sampled_from(["k1", "k2", "k3", "\udcfe", None])),
                delivery_source="test",
                attempt=draw(st.sampled_from([None, 0, 1, 2, 3, 5])),
                run=draw(st.sampled_from([None, 1, 2])),
            )
        )
    return made


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(attempts(), st.sampled_from([None, 0, 3, 20, 3600]))
def test_on_random_attempts_sql_and_python_give_the_same_report(captures, later):
    with open_store(":memory:") as store:
        store.import_captures(captures)
        now = None if later is None else START + timedelta(seconds=30 + later)
        assert_same_report(store, None, now)
        assert_same_report(store, Filter(run=1), now)
