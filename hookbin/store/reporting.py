"""The retry report's facts read by SQLite from the summary columns: `Reporting.report_facts`.

`hookbin.report.sender_facts` reads the same facts from grouped deliveries, Python objects
made per attempt (a summary, then an `Attempt`); over 100,000 captures that cost more than the
2 s `hookbin report` may take. Here SQLite reads only the summary's fields the report needs
and derives what the report reads of each attempt (its status class, whether it was accepted,
its arrival and end in microseconds); Python puts each delivery's attempts in order and adds
them up per sender, one plain tuple per attempt. Ordering and adding up in SQL as well (a
window over run and group key, GROUP BY, medians by rank) was slower: SQLite sorted all the
attempts for each, where Python sorts each delivery's few.

Each expression below names the Python definition it follows; tests/test_report_sql.py checks
on a varied store that both give the same report. Times are whole microseconds, as `datetime`
counts them, so that every difference and comparison is the one Python makes.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hookbin.durations import parse_retry_after
from hookbin.model import DROPS
from hookbin.store.filters import Filter, compile_filter
from hookbin.store.queries import ARRIVAL
from hookbin.store.rows import text_of

if TYPE_CHECKING:  # the report is read when a report is made, not whenever the store is opened (serve)
    from hookbin.report import SenderFacts

_DROPS = ", ".join(f"'{fault}'" for fault in DROPS)
_US = "CAST(strftime('%s', substr(arrival, 1, 19)) AS INTEGER) * 1000000 + CAST(substr(arrival, 21, 6) AS INTEGER)"
"""An arrival (ISO text in UTC, to the microsecond) in microseconds since 1970."""
_REACHED = (
    f"CASE WHEN delivered IS NOT NULL THEN delivered = 1 "
    f"ELSE coalesce(fault, '') NOT IN ({_DROPS}, 'drip') AND delay_ms <= 0 END"
)
"""`model.reached_sender`."""
_CLASS = (
    f"CASE WHEN fault IN ({_DROPS}) THEN 'fault' WHEN NOT {_REACHED} THEN 'timeout' "
    "WHEN status IS NULL THEN 'unknown' WHEN status IN (410, 429) THEN CAST(status AS TEXT) "
    "ELSE (status / 100) || 'xx' END"
)
"""`report.status_class` (statuses are never negative: SQL's division is Python's `//`)."""
_ENDED = (
    "CAST(round(1000 * CASE WHEN gone IS NOT NULL THEN gone WHEN delivered IS NULL THEN 0 "
    "ELSE delay_ms + CASE WHEN fault = 'drip' THEN drip_ms ELSE 0.0 END END) AS INTEGER)"
)
"""`deliveries.Attempt.ended_at`, in microseconds after the arrival. The store keeps milliseconds
to the microsecond (`model.kept_ms`), so a thousand times them is a whole number but for the
float's last bits: SQLite's round() (half away from zero) meets no half, and gives the
microseconds `timedelta(milliseconds=…)` does."""

_ATTEMPTS = f"""
WITH picked AS (
    SELECT id, run, group_key, received_at, {ARRIVAL} AS arrival, attempt, status,
        json_extract(summary, '$[0]') AS fault, json_extract(summary, '$[1]') AS delay_ms,
        json_extract(summary, '$[2]') AS drip_ms, json_extract(summary, '$[3]') AS delivered,
        json_extract(summary, '$[4]') AS gone, json_extract(summary, '$[7]') AS retry_after,
        json_extract(summary, '$[10]') AS agent, path
    FROM captures{{where}}
)
SELECT run, group_key, arrival, coalesce(attempt, 0), id, attempt, {_CLASS},
    coalesce(fault, '') NOT IN ({_DROPS}) AND status BETWEEN 200 AND 299 AND {_REACHED}, {_US}, {_ENDED}, gone,
    CASE WHEN retry_after IS NOT NULL AND status IS NOT NULL AND gone IS NULL THEN CAST(retry_after AS BLOB) END,
    delay_ms, received_at, CAST(agent AS BLOB), CAST(path AS BLOB)
FROM picked
"""
"""Every attempt reported on, with what the report reads of it: run and group key (its
delivery), its place in the delivery's order (arrival in UTC, stored attempt number or 0,
id), the stored attempt number, status class, whether it was accepted, its arrival and its
end (`Attempt.ended_at`: microseconds after the arrival), when the sender hung up, the
Retry-After of an answer the sender got, the delay, the arrival as stored, and the
User-Agent and path that name the sender. Python orders the attempts: SQLite's sort of them
all cost more than sorting each delivery's few."""


class _Delivery:
    """A delivery while its attempts are read (mutable; becomes a `DeliveryFacts`)."""

    __slots__ = (
        "accepted_at",
        "arrival",
        "count",
        "first_at",
        "id",
        "key",
        "last_at",
        "last_class",
        "run",
        "sender",
        "success",
        "waits",
    )

    def __init__(self, key: bytes, run: int | None, sender: str, first_at: str, arrival: str, capture_id: str) -> None:
        self.key, self.run, self.sender = key, run, sender
        self.first_at = self.last_at = first_at
        self.arrival, self.id = arrival, capture_id
        self.count = 0
        self.accepted_at: int | None = None
        self.success: int | None = None
        self.last_class = ""
        self.waits: list[tuple[str, int, float, float | None]] = []
        """`RetryAfterFact`s' fields."""


class _Sender:
    """What is added up of one sender's attempts."""

    __slots__ = ("answers", "gaps", "intervals", "timeouts")

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self.gaps: dict[tuple[int, int], list[float]] = {}
        self.timeouts: list[float] = []
        self.answers: dict[str, list[int]] = {}


class Reporting:
    """The report's half of `SQLiteStore` (see the module docstring)."""

    def _reading(self) -> AbstractContextManager[sqlite3.Cursor]:
        """The reading connection, its rows plain tuples (`SQLiteStore` provides it)."""
        raise NotImplementedError

    def report_facts(self, flt: Filter | None = None) -> list[SenderFacts]:
        """The facts `report.report_of` makes the retry report of, for the captures `flt` selects:
        what `report.sender_facts` gives for their deliveries (`group_deliveries`).

        Raises:
            StoreError: for a bad status in `flt`, or a store that cannot be read.
        """
        compiled = compile_filter(flt)
        grouped: dict[tuple[int | None, bytes], list[tuple[Any, ...]]] = {}
        with self._reading() as cursor:
            for row in cursor.execute(_ATTEMPTS.format(where=compiled.where), compiled.args):
                grouped.setdefault((row[0], row[1]), []).append(row)
        deliveries: list[_Delivery] = []
        senders: dict[str, _Sender] = {}
        for (run, key), attempts in grouped.items():
            if len(attempts) > 1:
                attempts.sort(key=_in_order)
            first = attempts[0]
            agent, path = first[14], first[15]
            # `Delivery.sender`: its first attempt's User-Agent, else `path /the/path`.
            name = (
                agent.decode("utf-8", "surrogatepass") if agent else "path " + path.decode("utf-8", "surrogateescape")
            )
            delivery = _Delivery(key, run, name, first[13], first[2], first[4])
            deliveries.append(delivery)
            sender = senders.get(name) or senders.setdefault(name, _Sender())
            _add_attempts(delivery, sender, attempts)
        return _facts(deliveries, senders)


def _in_order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A delivery's attempts in `group_deliveries`' order: by arrival, attempt number, id."""
    return row[2:5]


def _add_attempts(delivery: _Delivery, sender: _Sender, attempts: list[tuple[Any, ...]]) -> None:
    """Add up the attempts of one delivery, in order (see `report.sender_facts`)."""
    ended_before = number = 0
    last = len(attempts)
    for position, row in enumerate(attempts, 1):
        attempt, answer_class, accepted, us, ended, gone, header, delay_ms, received_at = row[5:14]
        number_before, number = number, attempt or position  # `Attempt.number`
        if position > 1:
            seconds = max(0, us - ended_before) / 10**6  # the backoff, never below zero
            sender.intervals.append(seconds)
            if number == number_before + 1:
                sender.gaps.setdefault((number_before, number), []).append(seconds)
        ended_before = us + ended
        until_next = attempts[position][8] - us if position < last else None
        counts = sender.answers.get(answer_class) or sender.answers.setdefault(answer_class, [0, 0])
        counts[0] += 1
        counts[1] += until_next is not None
        if accepted and delivery.accepted_at is None:
            delivery.accepted_at = number
        if answer_class == "2xx" and delivery.success is None:
            delivery.success = position
        if gone is not None:
            sender.timeouts.append(gone / 1000)
        elif header is not None:
            sent = datetime.fromisoformat(received_at) + timedelta(milliseconds=delay_ms)
            asked = parse_retry_after(header.decode("utf-8", "surrogatepass"), sent)
            if asked is not None:
                waited = None if until_next is None else until_next / 10**6 - delay_ms / 1000
                delivery.waits.append((text_of(delivery.key) or "", number, asked, waited))
    delivery.count = last
    delivery.last_class = attempts[-1][6]
    delivery.last_at = attempts[-1][13]


def _facts(deliveries: list[_Delivery], senders: dict[str, _Sender]) -> list[SenderFacts]:
    """Each sender's facts, its deliveries in `group_deliveries`' order."""
    from hookbin.report import DeliveryFacts, Gap, RetryAfterFact, SenderFacts, Spread

    deliveries.sort(key=lambda d: (d.arrival, d.id))
    facts: dict[str, list[DeliveryFacts]] = {name: [] for name in senders}
    waits: dict[str, list[RetryAfterFact]] = {name: [] for name in senders}
    for order, d in enumerate(deliveries):
        facts[d.sender].append(
            DeliveryFacts(
                text_of(d.key) or "",
                d.run,
                d.count,
                d.accepted_at,
                datetime.fromisoformat(d.first_at),
                datetime.fromisoformat(d.last_at),
                d.last_class,
                d.success,
                order,
            )
        )
        waits[d.sender] += [RetryAfterFact(*wait) for wait in d.waits]
    return [
        SenderFacts(
            name,
            tuple(facts[name]),
            sum(d.attempts for d in facts[name]),
            Spread.of(sender.intervals),
            tuple(Gap(a, b, Spread.of(values)) for (a, b), values in sorted(sender.gaps.items())),
            Spread.of(sender.timeouts),
            {answer: (seen, retried) for answer, (seen, retried) in sender.answers.items()},
            tuple(waits[name]),
        )
        for name, sender in senders.items()
    ]
