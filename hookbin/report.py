"""The retry report: how each sender retries, recovered from the deliveries hookbin caught (pure).

Per sender (its User-Agent, else the path it posts to): how many attempts a delivery takes,
the gaps between attempts (overall and per step, #1 -> #2, #2 -> #3, ..., which is what
recovers a schedule such as "after 1 s, then after 2 s"; each measured from the moment the
previous attempt ended, when the sender got its answer or hung up), how long it waits for an
answer before hanging up (its timeout), whether it tried again after each kind of answer,
whether it waited as long as a Retry-After asked, whether it stopped once a delivery was
accepted, and which deliveries were never accepted (an answer the sender hung up on is not an
acceptance, whatever its status).

`hookbin.expectations` checks the report against a user's expectations, for CI.
Every text that came from a sender is passed through `textsafe.safe` in the rendered forms;
`Report.to_dict()` keeps the raw values (JSON escapes them).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from hookbin.deliveries import Attempt, Delivery
from hookbin.model import DROPS

RETRY_AFTER_TOLERANCE = 0.5
"""Seconds a sender may retry earlier than a Retry-After asked and still count as honouring it."""

STATUS_CLASSES = ("2xx", "3xx", "4xx", "410", "429", "5xx", "timeout", "fault", "unknown")
"""The kinds of answer the report tells apart, in display order (a `1xx` goes last)."""

CLASS_NOTES = {
    "2xx": "accepted",
    "3xx": "redirect",
    "4xx": "client error (not 410/429)",
    "410": "gone",
    "429": "too many requests",
    "5xx": "server error",
    "timeout": "sender hung up before the answer (delay=, drip=)",
    "fault": "connection closed or reset",
    "unknown": "no answer recorded",
}

CASES_SHOWN = 20  # examples kept per list in the report (keys, Retry-After cases)


def status_class(attempt: Attempt) -> str:
    """Which kind of answer the sender got for `attempt` (see `STATUS_CLASSES`).

    A dropped connection is `fault`; an answer the sender hung up on before it was complete is
    `timeout`, whatever its status (so is one held back by `delay=` or `drip=` whose outcome
    was not recorded); 410 and 429 have classes of their own.
    """
    if attempt.fault in DROPS:
        return "fault"
    if not attempt.reached:
        return "timeout"
    if attempt.status is None:
        return "unknown"
    if attempt.status in (410, 429):
        return str(attempt.status)
    return f"{attempt.status // 100}xx"


# ------------------------------------------------------------------------------ the report


@dataclass(frozen=True, slots=True)
class Spread:
    """Count, min, median and max of some numbers (None when there are none)."""

    count: int = 0
    min: float | None = None
    median: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        data = sorted(values)
        if not data:
            return cls()
        return cls(len(data), data[0], float(statistics.median(data)), data[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "min": _round(self.min),
            "median": _round(self.median),
            "max": _round(self.max),
        }


@dataclass(frozen=True, slots=True)
class Gap:
    """Seconds between attempt `from_attempt` and attempt `to_attempt` of the same delivery."""

    from_attempt: int
    to_attempt: int
    seconds: Spread

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_attempt, "to": self.to_attempt, **self.seconds.to_dict()}


@dataclass(frozen=True, slots=True)
class AfterAnswer:
    """For one kind of answer: how often the sender tried the delivery again after it."""

    status_class: str
    seen: int
    retried: int
    """A later attempt of the same delivery arrived."""
    not_retried: int
    """None did, and the capture window is long enough that one would have been seen."""
    pending: int
    """None did yet, but the last attempt is too recent to tell (n/a)."""

    def to_dict(self) -> dict[str, Any]:
        return {"seen": self.seen, "yes": self.retried, "no": self.not_retried, "n-a": self.pending}


@dataclass(frozen=True, slots=True)
class RetryAfterCase:
    """An answer with Retry-After that the sender followed with another attempt."""

    key: str
    attempt: int
    asked: float
    """Seconds hookbin asked for."""
    waited: float
    """Seconds from hookbin's answer to the sender's next attempt."""
    honoured: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "attempt": self.attempt,
            "asked": _round(self.asked),
            "waited": _round(self.waited),
            "honoured": self.honoured,
        }


class DeliveryRow(NamedTuple):
    """One delivery as the report saw it (a named tuple, as `deliveries.Attempt`: one per delivery)."""

    key: str
    attempts: int
    accepted_at_attempt: int | None
    first_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "attempts": self.attempts,
            "accepted_at_attempt": self.accepted_at_attempt,
            "first_at": self.first_at.isoformat(timespec="microseconds"),
        }


@dataclass(frozen=True, slots=True)
class SenderReport:
    """How one sender retried."""

    sender: str
    deliveries: int
    attempts_total: int
    accepted: int
    attempts: Spread
    """Attempts per delivery (the attempts captured)."""
    intervals: Spread
    """Seconds from the end of one attempt (the sender got its answer, or hung up) to the next
    attempt of the same delivery, over every delivery: the sender's backoff."""
    gaps: tuple[Gap, ...]
    """Per step: #1 -> #2, #2 -> #3, ... (by stored attempt number)."""
    sender_timeout: Spread
    """Seconds from an attempt's arrival until the sender hung up without the whole answer."""
    after: tuple[AfterAnswer, ...]
    retry_after_honoured: int
    retry_after_ignored: int
    retry_after_unfollowed: int
    """Answers with Retry-After that no attempt followed (or one came before the answer was sent)."""
    retry_after_cases: tuple[RetryAfterCase, ...]
    """Examples: every ignored case first, then honoured ones, at most 20."""
    stopped_after_success: int
    continued_after_success: int
    continued_keys: tuple[str, ...]
    """Deliveries tried again after a 2xx (at most 20)."""
    never_accepted: tuple[str, ...]
    """Keys of the deliveries no attempt of which was answered 2xx (all of them)."""
    rows: tuple[DeliveryRow, ...]

    @property
    def honours_retry_after(self) -> str:
        """`yes`, `no`, or `n-a` when no retry followed a Retry-After."""
        if self.retry_after_ignored:
            return "no"
        return "yes" if self.retry_after_honoured else "n-a"

    @property
    def stops_after_success(self) -> str:
        """`yes`, `no`, or `n-a` when no delivery was answered 2xx."""
        if self.continued_after_success:
            return "no"
        return "yes" if self.stopped_after_success else "n-a"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "deliveries": self.deliveries,
            "attempts_total": self.attempts_total,
            "accepted": self.accepted,
            "never_accepted": list(self.never_accepted),
            "attempts_per_delivery": self.attempts.to_dict(),
            "intervals": self.intervals.to_dict(),
            "gaps": [gap.to_dict() for gap in self.gaps],
            "sender_timeout": self.sender_timeout.to_dict(),
            "retried_after": {row.status_class: row.to_dict() for row in self.after},
            "retry_after": {
                "honoured": self.retry_after_honoured,
                "ignored": self.retry_after_ignored,
                "n-a": self.retry_after_unfollowed,
                "verdict": self.honours_retry_after,
                "cases": [case.to_dict() for case in self.retry_after_cases],
            },
            "stops_after_success": {
                "stopped": self.stopped_after_success,
                "continued": self.continued_after_success,
                "verdict": self.stops_after_success,
                "continued_keys": list(self.continued_keys),
            },
            "deliveries_detail": [row.to_dict() for row in self.rows],
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The retry report over some deliveries, one section per sender."""

    senders: tuple[SenderReport, ...]
    deliveries: int
    attempts: int
    first_at: datetime | None
    last_at: datetime | None
    now: datetime | None
    """The moment "too recent to tell" was judged against."""
    runs: tuple[int, ...] = ()
    """The runs the deliveries come from, in order."""
    scope: str = ""
    """Which captures were looked at, for the heading: `in run 7 (answering 503, since …)`."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": list(self.runs),
            "deliveries": self.deliveries,
            "attempts": self.attempts,
            "first_at": _iso(self.first_at),
            "last_at": _iso(self.last_at),
            "now": _iso(self.now),
            "senders": [sender.to_dict() for sender in self.senders],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="microseconds")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _class_order(name: str) -> tuple[int, str]:
    return (STATUS_CLASSES.index(name) if name in STATUS_CLASSES else len(STATUS_CLASSES), name)


# ------------------------------------------------------------------ facts, then the report


class DeliveryFacts(NamedTuple):
    """What the report reads of one delivery."""

    key: str
    run: int | None
    attempts: int
    accepted_at_attempt: int | None
    first_at: datetime
    last_at: datetime
    last_class: str
    """The `status_class` of its last attempt."""
    first_success: int | None
    """The position (1 = first) of its first attempt answered 2xx (`status_class`), else None."""
    order: int
    """Its place among all deliveries reported on (see `deliveries.group_deliveries`)."""


class RetryAfterFact(NamedTuple):
    """An answer with Retry-After that reached the sender: what it asked, how long the sender waited."""

    key: str
    attempt: int
    asked: float
    waited: float | None
    """Seconds from the answer to the next attempt; None when none came."""


@dataclass(frozen=True, slots=True)
class SenderFacts:
    """What the report reads of one sender's deliveries: from grouped deliveries (`sender_facts`),
    or aggregated by SQLite (`SQLiteStore.report_facts`; a test shows the two agree)."""

    sender: str
    deliveries: tuple[DeliveryFacts, ...]
    """In order: by their first attempt's arrival, then its id."""
    attempts_total: int
    intervals: Spread
    """`SenderReport.intervals`."""
    gaps: tuple[Gap, ...]
    """`SenderReport.gaps`, in order."""
    sender_timeout: Spread
    answers: dict[str, tuple[int, int]]
    """Per status class: attempts answered so, and how many of them a later attempt followed."""
    retry_after: tuple[RetryAfterFact, ...]
    """In order of the deliveries, then of their attempts."""


def sender_facts(sender: str, deliveries: list[tuple[int, Delivery]]) -> SenderFacts:
    """The facts of one sender's deliveries, each with its place among all deliveries."""
    intervals: list[float] = []
    gaps: dict[tuple[int, int], list[float]] = {}
    timeouts: list[float] = []
    answers: dict[str, list[int]] = {}
    retry_after: list[RetryAfterFact] = []
    facts: list[DeliveryFacts] = []
    for order, delivery in deliveries:
        attempts = delivery.attempts
        classes = [status_class(attempt) for attempt in attempts]
        for index, attempt in enumerate(attempts):
            following = attempts[index + 1] if index + 1 < len(attempts) else None
            counts = answers.setdefault(classes[index], [0, 0])
            counts[0] += 1
            counts[1] += following is not None
            if following is not None:
                # `backoff`: from the end of the attempt before. Never below zero: a drip cut
                # short by hookbin stopping ended before its planned end.
                backoff = following.backoff
                seconds = max(0.0, backoff.total_seconds()) if backoff is not None else 0.0
                intervals.append(seconds)
                if following.number == attempt.number + 1:
                    gaps.setdefault((attempt.number, following.number), []).append(seconds)
            if attempt.sender_gone_ms is not None:
                timeouts.append(attempt.sender_gone_ms / 1000)
            elif attempt.retry_after is not None:  # else never seen
                waited = None
                if following is not None:
                    waited = (following.received_at - attempt.received_at).total_seconds()
                    waited -= attempt.delay_ms / 1000
                retry_after.append(RetryAfterFact(delivery.key, attempt.number, attempt.retry_after, waited))
        success = classes.index("2xx") + 1 if "2xx" in classes else None
        facts.append(
            DeliveryFacts(
                delivery.key,
                delivery.run,
                len(attempts),
                delivery.accepted_at_attempt,
                delivery.first_at,
                delivery.last_at,
                classes[-1],
                success,
                order,
            )
        )
    return SenderFacts(
        sender,
        tuple(facts),
        sum(fact.attempts for fact in facts),
        Spread.of(intervals),
        tuple(Gap(a, b, Spread.of(values)) for (a, b), values in sorted(gaps.items())),
        Spread.of(timeouts),
        {name: (seen, retried) for name, (seen, retried) in answers.items()},
        tuple(retry_after),
    )


def _sender_report(facts: SenderFacts, now: datetime) -> SenderReport:
    # A last attempt more recent than this may still get a retry: too early to say "no".
    window = 2 * facts.intervals.max if facts.intervals.max is not None else 0.0
    after_counts = {name: [seen, retried, 0, 0] for name, (seen, retried) in facts.answers.items()}
    stopped = continued = 0
    continued_keys: list[str] = []
    never: list[str] = []
    rows: list[DeliveryRow] = []
    for delivery in facts.deliveries:
        counts = after_counts[delivery.last_class]
        if (now - delivery.last_at).total_seconds() < window:
            counts[3] += 1
        else:
            counts[2] += 1
        if delivery.first_success is not None:
            if delivery.first_success < delivery.attempts:
                continued += 1
                continued_keys.append(delivery.key)
            else:
                stopped += 1
        if delivery.accepted_at_attempt is None:
            never.append(delivery.key)
        rows.append(DeliveryRow(delivery.key, delivery.attempts, delivery.accepted_at_attempt, delivery.first_at))
    cases: list[RetryAfterCase] = []
    honoured = ignored = unfollowed = 0
    for fact in facts.retry_after:
        if fact.waited is None or fact.waited < 0:  # no retry, or one before the answer went out
            unfollowed += 1
        else:
            ok = fact.waited >= fact.asked - RETRY_AFTER_TOLERANCE
            honoured += ok
            ignored += not ok
            cases.append(RetryAfterCase(fact.key, fact.attempt, fact.asked, fact.waited, ok))
    cases.sort(key=lambda case: case.honoured)  # ignored ones first; stable otherwise
    return SenderReport(
        sender=facts.sender,
        deliveries=len(facts.deliveries),
        attempts_total=facts.attempts_total,
        accepted=len(facts.deliveries) - len(never),
        attempts=Spread.of(delivery.attempts for delivery in facts.deliveries),
        intervals=facts.intervals,
        gaps=facts.gaps,
        sender_timeout=facts.sender_timeout,
        after=tuple(
            AfterAnswer(name, *counts)
            for name, counts in sorted(after_counts.items(), key=lambda item: _class_order(item[0]))
        ),
        retry_after_honoured=honoured,
        retry_after_ignored=ignored,
        retry_after_unfollowed=unfollowed,
        retry_after_cases=tuple(cases[:CASES_SHOWN]),
        stopped_after_success=stopped,
        continued_after_success=continued,
        continued_keys=tuple(continued_keys[:CASES_SHOWN]),
        never_accepted=tuple(never),
        rows=tuple(rows),
    )


def build_report(deliveries: Iterable[Delivery], now: datetime | None = None, scope: str = "") -> Report:
    """The retry report over `deliveries`, one section per sender (busiest first).

    Args:
        deliveries: as made by `deliveries.group_deliveries`.
        now: when the captures were looked at; a delivery's last attempt counts as "not
            retried" only once it is older than twice the longest gap the sender showed.
            Defaults to the newest attempt's arrival.
        scope: which captures these are (`in run 7 …`), said in the heading.
    """
    by_sender: dict[str, list[tuple[int, Delivery]]] = {}
    for order, delivery in enumerate(deliveries):
        by_sender.setdefault(delivery.sender, []).append((order, delivery))
    return report_of([sender_facts(sender, members) for sender, members in by_sender.items()], now, scope)


def report_of(senders: Iterable[SenderFacts], now: datetime | None = None, scope: str = "") -> Report:
    """The retry report from the facts of each sender's deliveries (see `build_report`)."""
    facts = list(senders)
    every = [delivery for sender in facts for delivery in sender.deliveries]
    # The first of equal moments in the deliveries' order, as min() and max() over them find it.
    first = min(every, key=lambda d: (d.first_at, d.order), default=None)
    last = max(every, key=lambda d: (d.last_at, -d.order), default=None)
    if now is None and last is not None:
        now = last.last_at
    # `now` is None only when there are no deliveries, and so no senders.
    reports = [] if now is None else [_sender_report(sender, now) for sender in facts]
    reports.sort(key=lambda s: (-s.deliveries, s.sender))
    return Report(
        senders=tuple(reports),
        deliveries=len(every),
        attempts=sum(sender.attempts_total for sender in facts),
        first_at=None if first is None else first.first_at,
        last_at=None if last is None else last.last_at,
        now=now,
        runs=tuple(sorted({d.run for d in every if d.run is not None})),
        scope=scope,
    )
