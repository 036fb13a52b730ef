"""The retry report as text for a terminal (`render_text`) and as Markdown (`render_markdown`),
and `seconds_text`, the way every duration in them is written (pure).

Every text that came from a sender is passed through `textsafe.safe` (text) or escaped for
Markdown here; `hookbin.report` makes the `Report` these render.
"""

from __future__ import annotations

from typing import Any

from hookbin.report import CASES_SHOWN, CLASS_NOTES, Report, SenderReport, Spread
from hookbin.textout import local_time
from hookbin.textsafe import safe


def seconds_text(value: float | None) -> str:
    """`0.30s`, `2.00s`, `12.5s`, `2m05s`, `1h02m` (`-` for None)."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}s"
    if value < 60:
        return f"{value:.1f}s"
    total = round(value)
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def _count(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _spread_text(spread: Spread, fmt: Any) -> str:
    if not spread.count:
        return "none"
    return f"min {fmt(spread.min)}, median {fmt(spread.median)}, max {fmt(spread.max)}"


def _window(report: Report) -> str:
    if report.first_at is None or report.last_at is None:
        return ""
    first = local_time(report.first_at, date=True)
    last = local_time(report.last_at, date=report.first_at.date() != report.last_at.date())
    return f", {first} to {last}"


def _timeout_text(sender: SenderReport) -> str:
    spread = sender.sender_timeout
    if not spread.count:
        return "none seen: the sender never hung up before an answer was complete"
    return f"{_spread_text(spread, seconds_text)} ({spread.count} hung up)"


def _scope(report: Report) -> str:
    return f" {report.scope}" if report.scope else ""


def _retry_after_text(sender: SenderReport) -> str:
    return (
        f"{sender.honours_retry_after}: {sender.retry_after_honoured} honoured, "
        f"{sender.retry_after_ignored} ignored, {sender.retry_after_unfollowed} not followed by a retry"
    )


def _success_text(sender: SenderReport) -> str:
    return (
        f"{sender.stops_after_success}: {sender.stopped_after_success} stopped, "
        f"{sender.continued_after_success} tried again"
    )


def _keys_text(keys: tuple[str, ...], render: Any) -> str:
    if not keys:
        return "none"
    shown = ", ".join(render(key) for key in keys[:CASES_SHOWN])
    return shown + (f" (+{len(keys) - CASES_SHOWN} more)" if len(keys) > CASES_SHOWN else "")


def render_text(report: Report) -> str:
    """The report for a terminal: plain text, sender text made safe."""
    lines = [
        f"hookbin retry report{_scope(report)}: {report.deliveries} deliveries, {report.attempts} attempts, "
        f"{len(report.senders)} sender(s){_window(report)}"
    ]
    if not report.senders:
        lines.append("no captures to report on")
    for sender in report.senders:
        lines += [
            "",
            f"sender {safe(sender.sender, limit=120)}",
            f"  deliveries           {sender.deliveries}: {sender.accepted} accepted, "
            f"{len(sender.never_accepted)} never accepted",
            f"  attempts/delivery    {_spread_text(sender.attempts, _count)}",
            f"  gap between attempts {_spread_text(sender.intervals, seconds_text)}"
            + (
                f" ({sender.intervals.count} gap{'s' if sender.intervals.count != 1 else ''})"
                if sender.intervals.count
                else ""
            ),
        ]
        for gap in sender.gaps:
            label = f"#{gap.from_attempt} -> #{gap.to_attempt}"
            lines.append(
                f"    {label:<18} median {seconds_text(gap.seconds.median)} "
                f"(min {seconds_text(gap.seconds.min)}, max {seconds_text(gap.seconds.max)}; {gap.seconds.count} seen)"
            )
        lines.append(f"  sender timeout       {_timeout_text(sender)}")
        lines.append(f"  retried after        {'answer':<8} {'seen':>5} {'yes':>5} {'no':>5} {'n/a':>5}")
        for row in sender.after:
            lines.append(
                f"                       {row.status_class:<8} {row.seen:>5} {row.retried:>5} "
                f"{row.not_retried:>5} {row.pending:>5}  {CLASS_NOTES.get(row.status_class, '')}"
            )
        lines += [
            f"  Retry-After honoured {_retry_after_text(sender)}",
            f"  stops after success  {_success_text(sender)}",
            f"  never accepted       {_keys_text(sender.never_accepted, lambda k: safe(k, limit=60))}",
        ]
    return "\n".join(lines)


_MD_SPECIAL = "\\`*_[]<>|#"


def _md(text: str, limit: int | None = 120) -> str:
    out = safe(text, limit=limit)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in out)


def render_markdown(report: Report) -> str:
    """The report as Markdown (a table per sender), e.g. for a CI job summary."""
    lines = [
        "# hookbin retry report",
        "",
        f"{_md(report.scope[:1].upper() + report.scope[1:], None) + ': ' if report.scope else ''}"
        f"{report.deliveries} deliveries, {report.attempts} attempts, "
        f"{len(report.senders)} sender(s){_window(report)}.",
    ]
    for sender in report.senders:
        lines += [
            "",
            f"## {_md(sender.sender)}",
            "",
            "| measure | value |",
            "|---|---|",
            f"| deliveries | {sender.deliveries} ({sender.accepted} accepted, "
            f"{len(sender.never_accepted)} never accepted) |",
            f"| attempts per delivery | {_spread_text(sender.attempts, _count)} |",
            f"| gap between attempts | {_spread_text(sender.intervals, seconds_text)} |",
        ]
        for gap in sender.gaps:
            lines.append(
                f"| gap #{gap.from_attempt} → #{gap.to_attempt} | median {seconds_text(gap.seconds.median)} "
                f"(min {seconds_text(gap.seconds.min)}, max {seconds_text(gap.seconds.max)}; "
                f"{gap.seconds.count} seen) |"
            )
        lines += [
            f"| sender timeout | {_timeout_text(sender)} |",
            f"| honours Retry-After | {_retry_after_text(sender)} |",
            f"| stops after success | {_success_text(sender)} |",
            f"| never accepted | {_keys_text(sender.never_accepted, lambda k: _md(k, 60))} |",
            "",
            "| answer | seen | retried | not retried | n/a |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in sender.after:
            note = CLASS_NOTES.get(row.status_class, "")
            lines.append(
                f"| {row.status_class} ({note}) | {row.seen} | {row.retried} | {row.not_retried} | {row.pending} |"
            )
    if not report.senders:
        lines += ["", "No captures to report on."]
    return "\n".join(lines)
