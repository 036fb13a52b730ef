"""Rich renderables for the TUI, built from captures: rows, the answer badge, and each detail tab.

Every piece of captured text goes through `textsafe.safe` and into a `rich.text.Text`, which
is never parsed as markup; nothing here formats captured data into a markup string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from hookbin.bodies import BodyView
from hookbin.deliveries import Delivery
from hookbin.durations import format_size
from hookbin.jsonlines import generic_lines
from hookbin.model import Capture, Forwarded, outcome_text
from hookbin.segmanta import summarize, summary_rows
from hookbin.signatures.check import SignatureCheck
from hookbin.spec import Spec
from hookbin.summaries import CaptureSummary
from hookbin.textout import body_problems, body_text, forward_text, guarded, local_time, signature_text
from hookbin.textsafe import safe, safe_bytes

PATH_LIMIT = 200
PRETTY_LIMIT = 200_000
"""Most characters of pretty JSON shown with highlighting; longer JSON is shown plain."""
RAW_LIMIT = 100_000
"""Most body bytes the Raw tab shows."""


def status_style(status: int | None, fault: str | None = None, gone: bool = False) -> str:
    if gone:
        return "bold magenta"
    if fault in ("close", "reset"):
        return "bold yellow"
    if status is None:
        return "dim"
    if status < 300:
        return "bold green"
    if status < 400:
        return "bold cyan"
    return "bold red"


def spec_style(spec: Spec) -> str:
    """Green for plain success, red when any step answers an error, yellow for delays and faults."""
    steps = [*spec.steps, *([spec.else_step] if spec.else_step else [])]
    if any(step.fault or step.delay for step in steps):
        return "black on yellow"
    if all(step.status < 400 for step in steps):
        return "black on green"
    return "white on red"


def answer_badge(spec: Spec, run: int | None = None, answered_by: str | None = None) -> Text:
    """`run 7  answering 500,500,200`, the answer coloured by what it does to the sender;
    `answered_by` (serve --forward in app mode) names who answers instead of the spec."""
    badge = Text()
    if run is not None:
        badge.append(f" run {run} ", style="bold reverse")
    if answered_by is not None:
        badge.append(f" {safe(answered_by, limit=80)} ", style="bold")
    else:
        badge.append(f" answering {spec.text} ", style=f"bold {spec_style(spec)}")
    return badge


def _outcome_style(capture: Capture) -> str:
    response = capture.response
    if response is None:
        return status_style(None)
    return status_style(response.status, response.fault, response.sender_gone_ms is not None)


def _row_marker(row: CaptureSummary) -> Text:
    marks = Text()
    if row.truncated:
        marks.append("✂", style="yellow")
    if row.invalid_json:
        marks.append("⚠", style="red")
    if row.signature is not None:
        marks.append_text(signature_badge(row.signature))
    marks.append_text(forward_badge(row.forward))
    return marks


def forward_badge(forward: Forwarded | None) -> Text:
    """↪ for a forwarded capture: dim green when the app answered below 500, bold red when it
    answered 5xx or gave no usable answer; nothing when not forwarded (or, mirrored, not yet)."""
    if forward is None:
        return Text()
    if forward.status is not None and forward.status < 500 and forward.error is None:
        return Text("↪", style="dim green")
    return Text("↪", style="bold red")


def signature_badge(check: SignatureCheck | None) -> Text:
    """✗ in bold red for a signature that is not valid, a dim ✓ for a valid one, nothing unchecked."""
    if check is None:
        return Text()
    if check.valid:
        return Text("✓", style="dim green")
    return Text("✗", style="bold white on red")


def _signature_line(capture: Capture) -> Text:
    """The verdict and its reason, for the Headers tab (the headers it was read from)."""
    line = Text("signature  ", style="dim")
    line.append(
        signature_text(capture),
        style="" if capture.signature is None else "green" if capture.signature.valid else "bold red",
    )
    return line


ROW_HEADER = f"{'time':<12}  {'method':<7} {'status':<6} {'size':>9} {'try':<4} {'':<2} path"
"""The list's column header, aligned with `row_line`."""


@guarded(Text)
def row_line(row: CaptureSummary) -> Text:
    """The list row as one line: time, method, status, size, attempt, markers, path.

    One cell per row rather than one per column: Textual measures every new cell, and
    under a burst that measuring was the list's largest cost. The path comes last so a
    narrow terminal cuts only the path.
    """
    attempt = row.attempt or 0
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(local_time(row.received_at), style="dim")
    line.append(f"  {safe(row.method, limit=7):<7} ", style="bold")
    line.append(f"{row.outcome:<6}", style=status_style(row.status, row.fault, row.sender_gone_ms is not None))
    line.append(f" {format_size(row.body_size):>9} ")
    line.append(f"{'#' + str(attempt) if attempt else '':<4}", style="magenta" if attempt > 1 else "dim")
    marks = _row_marker(row)
    line.append(" ")
    line.append_text(marks)
    line.append(" " * (3 - marks.cell_len))
    line.append(safe(row.url_path, limit=PATH_LIMIT))
    return line


def _lines(lines: list[str]) -> Text:
    return Text("\n".join(safe(line) for line in lines))


def _summary_text(rows: list[tuple[str, bool]]) -> Text:
    """The Segmanta summary; its `unrecognised fields: …` lines stand out so none is missed."""
    text = Text()
    for index, (line, flagged) in enumerate(rows):
        if index:
            text.append("\n")
        text.append(safe(line), style="bold yellow" if flagged else "")
    return text


@guarded(Text)
def summary_view(capture: Capture, view: BodyView) -> RenderableType:
    """Segmanta summary, or a compact key/value view of other JSON, or a short description."""
    head = Text()
    head.append(f"{safe(capture.method)} ", style="bold")
    head.append(safe(capture.url_path, limit=PATH_LIMIT))
    head.append(f"   {view.summary}", style="dim")
    if view.kind == "json":
        summary = summarize(view.json)
        if summary is not None:
            return Group(head, Text(), _summary_text(summary_rows(summary)))
        return Group(head, Text(), _lines(generic_lines(view.json, max_lines=300)))
    if view.kind == "invalid_json":
        return Group(head, Text(), Text(f"invalid JSON: {safe(view.json_error or '')}", style="red"))
    return Group(head, Text(), Text(body_text(capture, view)))


def json_scalar(value: object) -> Text:
    """A JSON leaf value, coloured by type, cut to one short line."""
    style = "green" if isinstance(value, str) else "magenta" if isinstance(value, bool) or value is None else "yellow"
    # Leaves come from json.loads, so json.dumps can write each one back.
    return Text(safe(json.dumps(value, ensure_ascii=False), limit=200), style=style)


@guarded(Text)
def headers_view(capture: Capture) -> RenderableType:
    """The headers, under the signature verdict when `--verify` checked one."""
    if capture.signature is None:
        return headers_table(capture)
    return Group(_signature_line(capture), Text(), headers_table(capture))


@guarded(Text)
def headers_table(capture: Capture) -> RenderableType:
    table = Table(show_header=True, header_style="bold", expand=True, box=None)
    table.add_column("Name", style="cyan", no_wrap=True, ratio=1)
    table.add_column("Value", ratio=3, overflow="fold")
    for name, value in capture.headers:
        table.add_row(Text(safe(name)), Text(safe(value)))
    if not capture.headers:
        table.add_row(Text("(no headers)", style="dim"), Text(""))
    return table


@guarded(Text)
def body_view(capture: Capture, view: BodyView) -> RenderableType:
    """Pretty, highlighted JSON; the raw text and the parse error for invalid JSON; else text."""
    notes: list[RenderableType] = []
    if capture.truncated:
        notes.append(
            Text(
                f"✂ body cut at the size limit: first {format_size(len(capture.body))} "
                f"of {format_size(capture.body_size)} kept",
                style="yellow",
            )
        )
    notes += [Text(f"! {problem}", style="yellow") for problem in body_problems(view)]
    if view.kind == "json" and not view.pretty_cut and len(view.pretty) <= PRETTY_LIMIT:
        return Group(
            *notes,
            Syntax(
                safe(view.pretty, multiline=True), "json", theme="ansi_dark", word_wrap=True, background_color="default"
            ),
        )
    if view.kind == "invalid_json":
        where = ""
        if view.json_error_line is not None:
            where = f" (line {view.json_error_line}, column {view.json_error_col})"
        notes += [Text(f"⚠ invalid JSON: {safe(view.json_error or '')}{where}", style="bold red"), Text()]
    return Group(*notes, Text(body_text(capture, view, notes=False)))


@guarded(Text)
def query_view(capture: Capture) -> RenderableType:
    if not capture.query_string:
        return Text("(no query string)", style="dim")
    table = Table(show_header=True, header_style="bold", expand=True, box=None)
    table.add_column("Name", style="cyan", ratio=1)
    table.add_column("Value", ratio=3, overflow="fold")
    for name, value in capture.query:
        table.add_row(Text(safe(name)), Text(safe(value)))
    return Group(Text(f"?{safe(capture.query_string)}", style="dim"), Text(), table)


@guarded(Text)
def response_view(capture: Capture) -> RenderableType:
    response = capture.response
    if response is None:
        return Text("(no answer recorded)", style="dim")
    out = Text()
    out.append("Answered ", style="bold")
    out.append(outcome_text(response.status, response.fault), style=status_style(response.status, response.fault))
    facts: list[str] = []
    if response.delay_ms:
        facts.append(f"after a delay of {response.delay_ms / 1000:g}s")
    if response.fault == "drip":
        facts.append(f"body dripped over {response.drip_ms / 1000:g}s")
    if response.fault in ("close", "reset"):
        facts.append("connection " + ("closed without an answer" if response.fault == "close" else "reset"))
    if facts:
        out.append("  " + ", ".join(facts))
    gone = response.sender_gone_ms is not None
    if response.note:
        out.append("\n")
        out.append(f"{response.outcome}: {response.note}" if gone else response.note, style=_outcome_style(capture))
    out.append("\n\n")
    why = [
        ("rule", response.rule or "(none: the default answer)"),
        ("spec", response.spec or "-"),
        ("sequence step", str(response.step) if response.step else "-"),
        ("delivery", f"{capture.delivery_key or '-'} ({capture.delivery_source or '-'})"),
        ("attempt", str(capture.attempt or "-")),
        ("signature", signature_text(capture)),
        ("decided in", f"{response.duration_ms:.1f} ms"),
    ]
    if capture.forward is not None:
        why.append(("forward", forward_text(capture)))
    if response.reason:
        why.insert(0, ("reason", response.reason))
    for label, value in why:
        out.append(f"{label:>14}  ", style="dim")
        out.append(safe(value) + "\n")
    out.append("\n")
    for name, value in response.headers:
        out.append(safe(name), style="cyan")
        out.append(": " + safe(value) + "\n")
    if response.body:
        out.append("\n" + safe_bytes(response.body, multiline=True, limit=5000))
    return out


def attempt_status(status: int | None, fault: str | None, gone: bool = False) -> Text:
    return Text(outcome_text(status, fault, gone), style=status_style(status, fault, gone))


@guarded(Text)
def delivery_view(delivery: Delivery | None, selected_id: str | None) -> RenderableType:
    """The selected capture's delivery: every attempt, the gaps between them, body changes."""
    if delivery is None:
        return Text("(no delivery)", style="dim")
    out = Text()
    out.append(f"delivery {safe(delivery.key)}", style="bold")
    out.append(f"  ({safe(delivery.source)}, sender {safe(delivery.sender)})\n", style="dim")
    accepted = f"accepted at attempt #{delivery.accepted_at_attempt}" if delivery.accepted else "not accepted yet"
    out.append(f"{len(delivery.attempts)} attempt(s), {accepted}\n\n")
    for attempt in delivery.attempts:
        marker = "▶ " if attempt.capture_id == selected_id else "  "
        gap = f"+{attempt.since_previous.total_seconds():.2f}s" if attempt.since_previous else ""
        out.append(f"{marker}#{attempt.number:<3} {local_time(attempt.received_at)}  {gap:>10}  ")
        out.append_text(attempt_status(attempt.status, attempt.fault, attempt.sender_gone_ms is not None))
        if attempt.delay_ms:
            out.append(f"  after {attempt.delay_ms / 1000:g}s", style="yellow")
        if attempt.sender_gone_ms is not None:
            out.append(f"  sender hung up after {attempt.sender_gone_ms / 1000:.2f}s", style="magenta")
        if attempt.retry_after is not None:
            out.append(f"  Retry-After {attempt.retry_after:g}s", style="cyan")
        if attempt.body_changed:
            out.append("  body changed", style="magenta")
        out.append("\n")
        for line in attempt.diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            out.append(f"        {safe(line)}\n", style=style)
    return out


@guarded(Text)
def raw_view(capture: Capture) -> Text:
    """The request as it came over the wire, every non-printable byte made visible."""
    text = Text()
    text.append(f"{safe(capture.method)} {safe(capture.url_path)} HTTP/1.1\n", style="bold")
    for name, value in capture.headers:
        text.append(safe(name), style="cyan")
        text.append(f": {safe(value)}\n")
    text.append("\n")
    text.append(safe_bytes(capture.body[:RAW_LIMIT], multiline=True))
    if len(capture.body) > RAW_LIMIT:
        text.append(
            f"\n… {len(capture.body) - RAW_LIMIT:,} more bytes: `hookbin show {capture.id} --raw` prints them all",
            style="dim",
        )
    return text


def count_line(counts: Mapping[str, int], *, rejected: int = 0, refused: int = 0) -> Text:
    """The counters: requests received and how they were answered (`received`, and each of
    `model.counter_of`'s; faults and not delivered once there are any); requests rejected for
    want of the token or credentials, and connections refused by a limit, when there were any."""
    text = Text()
    text.append(f"received {counts.get('received', 0)}  ")
    text.append(f"2xx {counts.get('2xx', 0)}", style="green")
    text.append("  ")
    text.append(f"errors {counts.get('errors', 0)}", style="red")
    if counts.get("faults"):
        text.append(f"  faults {counts['faults']}", style="yellow")
    if counts.get("not_delivered"):
        text.append(f"  not delivered {counts['not_delivered']}", style="magenta")
    if rejected:
        text.append(f"  rejected {rejected}", style="magenta")
    if refused:
        text.append(f"  refused {refused}", style="magenta")
    return text
