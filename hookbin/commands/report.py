"""`hookbin report` (how each sender retried, with checks for CI) and `hookbin deliveries` (attempt timelines)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import click

from hookbin.commands.common import (
    CONTEXT,
    ExitStatus,
    chosen_run,
    cycles_unchecked,
    db_option,
    open_db,
    run_options,
    run_scope,
)
from hookbin.deliveries import Attempt, Delivery, group_deliveries, with_diffs
from hookbin.durations import parse_duration
from hookbin.expectations import check
from hookbin.model import Capture, outcome_text, utcnow
from hookbin.report import report_of
from hookbin.report_text import render_markdown, render_text, seconds_text
from hookbin.store import Filter
from hookbin.textout import local_time
from hookbin.textsafe import safe


def parse_since(text: str, now: datetime | None = None, *, option: str = "--since") -> datetime:
    """`10m`, `2h`, `90s` (that long before `now`) or an ISO time (local when it names no zone), in UTC.

    `option` is the option the text was given to, for the error message.

    Raises:
        ValueError: naming `text` when it is neither.
    """
    try:
        seconds = parse_duration(text)
    except ValueError:
        pass
    else:
        try:
            return (now or utcnow()) - timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(f"bad {option} {text!r}: too long ago") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"bad {option} {text!r}: use a duration such as 10m or 2h, or a time such as 2026-03-01T14:05"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a time as the user reads clocks: local
    return moment.astimezone(UTC)


def moment_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """A click callback reading a duration ago or a time with `parse_since` (`--since`, `--before`)."""
    if value is None:
        return None
    try:
        return parse_since(value, option=param.opts[0])
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class Loaded(NamedTuple):
    """Deliveries as `report` and `deliveries` read them."""

    deliveries: list[Delivery]
    total: int
    """How many deliveries there are (more than `deliveries` when only the newest were read)."""
    scope: str
    """Which captures these are (see `run_scope`)."""
    load: Callable[[str], Capture | None]
    """The store's `get`, while the store is open."""


since_option = click.option(
    "--since",
    default=None,
    callback=moment_callback,
    metavar="10m|ISO-TIME",
    help="Only captures from this long ago (10m, 2h) or since this time (2026-03-01T14:05).",
)


@contextmanager
def _deliveries(db: str, since: datetime | None, run: int | None, all_runs: bool, newest: int) -> Iterator[Loaded]:
    """The newest `newest` deliveries in the chosen run (see `run_options`) since `since`, how
    many there are, and which run that is, with the store open for `with_diffs`. Grouped from
    summaries: no body is read."""
    with open_db(db) as store, cycles_unchecked():
        chosen = chosen_run(store, run, all_runs)
        total, summaries = store.newest_deliveries(Filter(since=since, run=chosen), newest)
        deliveries = group_deliveries(summaries)[-newest:]
        yield Loaded(deliveries, total, run_scope(store, chosen), store.get)


# ------------------------------------------------------------------------------------- report


@click.command("report", context_settings=CONTEXT)
@db_option
@since_option
@run_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the report.",
)
@click.option(
    "--expect-max-attempts",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Fail if any delivery took more than N attempts.",
)
@click.option(
    "--expect-min-attempts",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Fail if a delivery never accepted was tried fewer than N times.",
)
@click.option(
    "--expect-retry-after-honoured",
    is_flag=True,
    help="Fail unless every retry after a Retry-After waited that long (0.5 s tolerance).",
)
@click.option(
    "--expect-stop-after-success", is_flag=True, help="Fail if a delivery was tried again after hookbin answered 2xx."
)
@click.pass_context
def report_command(
    ctx: click.Context,
    db: str,
    since: datetime | None,
    run: int | None,
    all_runs: bool,
    fmt: str,
    expect_max_attempts: int | None,
    expect_min_attempts: int | None,
    expect_retry_after_honoured: bool,
    expect_stop_after_success: bool,
) -> None:
    """How each sender retried in the latest run: attempts, gaps between them, reactions to each answer.

    With --expect-* options, exits 1 and prints one line per unmet expectation on stderr.

    \b
    Examples:
      hookbin report
      hookbin report --all-runs --since 1h
      hookbin report --format markdown >> "$GITHUB_STEP_SUMMARY"
      hookbin report --expect-max-attempts 3 --expect-stop-after-success
    """
    with open_db(db) as store, cycles_unchecked():
        chosen = chosen_run(store, run, all_runs)
        # SQLite reads and orders the attempts (no capture read whole, no body): the same figures
        # as `build_report` over the grouped deliveries, in less than half the time.
        facts = store.report_facts(Filter(since=since, run=chosen))
        report = report_of(facts, now=utcnow(), scope=run_scope(store, chosen))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif fmt == "markdown":
        click.echo(render_markdown(report))
    else:
        click.echo(render_text(report))
    violations = check(
        report,
        expect_max_attempts=expect_max_attempts,
        expect_min_attempts=expect_min_attempts,
        expect_honours_retry_after=expect_retry_after_honoured,
        expect_stops_after_success=expect_stop_after_success,
    )
    for violation in violations:
        click.echo(f"hookbin: expectation not met: {violation}", err=True)
    if violations:
        ctx.exit(ExitStatus.ERROR)


# --------------------------------------------------------------------------------- deliveries


def _answer_text(attempt: Attempt) -> str:
    """What hookbin answered (`200 delay=5.00s`), and whether the sender stayed for it."""
    extras = []
    if attempt.delay_ms:
        extras.append(f"delay={seconds_text(attempt.delay_ms / 1000)}")
    if attempt.fault == "drip":
        extras.append("drip")
    if attempt.retry_after is not None:
        extras.append(f"retry-after={seconds_text(attempt.retry_after)}")
    text = " ".join([outcome_text(attempt.status, attempt.fault), *extras])
    if attempt.sender_gone_ms is None:
        return text
    return (
        f"{attempt.outcome}: sender hung up after {seconds_text(attempt.sender_gone_ms / 1000)}; "
        f"the {text} was never delivered"
    )


def delivery_block(delivery: Delivery, *, show_run: bool = False) -> str:
    """One delivery for the terminal: a heading, then one line per attempt and any body diff.

    `show_run` adds the delivery's run to the heading (for listings of several runs).
    """
    first = delivery.attempts[0]
    run = f"  run {delivery.run}" if show_run and delivery.run is not None else ""
    lines = [
        f"{safe(delivery.key, limit=40)}  {safe(delivery.source, limit=40)}  "
        f"{safe(first.method, limit=10)} {safe(first.path, limit=60)}  sender {safe(delivery.sender, limit=60)}{run}"
    ]
    for attempt in delivery.attempts:
        gap = "" if attempt.since_previous is None else "+" + seconds_text(attempt.since_previous.total_seconds())
        line = f"  #{attempt.number:<3} {local_time(attempt.received_at)}  {gap:>8}  {_answer_text(attempt)}"
        if attempt.body_changed:
            line += "  body changed"
        lines.append(line)
        lines += [f"        {safe(diff_line)}" for diff_line in attempt.diff]
    count = len(delivery.attempts)
    outcome = f"accepted at #{delivery.accepted_at_attempt}" if delivery.accepted else "never accepted"
    lines.append(f"  {count} attempt{'s' if count != 1 else ''}, {outcome}")
    return "\n".join(lines)


@click.command("deliveries", context_settings=CONTEXT)
@db_option
@since_option
@run_options
@click.option(
    "--limit", "-n", default=50, show_default=True, type=click.IntRange(1), help="Show the newest N deliveries."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery (NDJSON).")
def deliveries_command(
    db: str, since: datetime | None, run: int | None, all_runs: bool, limit: int, as_json: bool
) -> None:
    """Each delivery of the latest run with its attempts: when, the gap since the one before,
    what hookbin answered.

    A changed body between attempts is marked and shown as a diff.

    \b
    Examples:
      hookbin deliveries --since 10m
      hookbin deliveries --run 3
      hookbin deliveries --json | jq '.attempts | length'
    """
    with _deliveries(db, since, run, all_runs, newest=limit) as loaded:
        for index, delivery in enumerate(loaded.deliveries):
            delivery = with_diffs(delivery, loaded.load)  # the bodies of the deliveries shown only
            if as_json:
                click.echo(json.dumps(delivery.to_dict()))
            else:
                if index:
                    click.echo("")
                click.echo(delivery_block(delivery, show_run=all_runs))
    if not as_json:
        total = loaded.total
        click.echo(
            f"{len(loaded.deliveries)} of {total} deliver{'y' if total == 1 else 'ies'}"
            + (f" {loaded.scope}" if loaded.scope else ""),
            err=True,
        )
