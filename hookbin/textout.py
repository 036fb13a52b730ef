"""Plain-text views of captures for the shell: the live one-line log, `ls` rows and `show` pages.

Pure: every piece of captured text passes through `textsafe` before it is returned. Each view
of a capture is `guarded`: should one still fail on something a sender sent, it shows one
line, "could not show this capture: …", instead of taking the command or the TUI down.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from hookbin.bodies import (
    HEX_PREVIEW_BYTES,
    SHOWN_CHARS,
    BodyView,
    Part,
    cut_note,
    decode_body,
    decode_capture,
)
from hookbin.durations import format_size
from hookbin.model import Capture, Forwarded, Run, header_get_all
from hookbin.segmanta import summarize, summary_lines
from hookbin.summaries import CaptureSummary, summary_of
from hookbin.textsafe import safe, safe_bytes

if TYPE_CHECKING:  # only replay's answers are shown with them: `serve` need not load the outgoing code
    from hookbin.outgoing import Answer, OutgoingRequest

PATH_WIDTH = 48

_P = ParamSpec("_P")
_R = TypeVar("_R")
_F = TypeVar("_F")


def could_not_show(exc: BaseException) -> str:
    """The one line a view shows in place of a capture it failed on."""
    return "could not show this capture: " + safe(f"{type(exc).__name__}: {exc}", limit=300)


def guarded(fallback: Callable[[str], _F]) -> Callable[[Callable[_P, _R]], Callable[_P, _R | _F]]:
    """Make a view of one capture show `fallback(could_not_show(exc))` instead of raising.

    Views run on whatever a stranger sent; this is their one guard, so a bug met by one
    capture costs one row or one pane, never the `ls` listing or the TUI.
    """

    def decorate(view: Callable[_P, _R]) -> Callable[_P, _R | _F]:
        @functools.wraps(view)
        def guarded_view(*args: _P.args, **kwargs: _P.kwargs) -> _R | _F:
            try:
                return view(*args, **kwargs)
            except Exception as exc:
                return fallback(could_not_show(exc))

        return guarded_view

    return decorate


def local_time(moment: datetime, *, date: bool = False) -> str:
    """A capture time in the machine's local zone, to the millisecond."""
    if moment.tzinfo is UTC:
        local = moment + _local_offset(moment)  # still marked UTC: only its fields are used
    else:
        local = moment.astimezone()
    text = local.isoformat(" ", "milliseconds")
    return text[:23] if date else text[11:23]


_offsets: tuple[datetime, datetime, timedelta] | None = None
"""The local zone's offset from UTC for one minute: (start, end, offset)."""


def _local_offset(moment: datetime) -> timedelta:
    """The local zone's offset at `moment` (UTC), looked up once a minute: zones change offset
    on whole minutes, and the headless log shows a time for every request."""
    global _offsets
    known = _offsets
    if known is None or not known[0] <= moment < known[1]:
        start = moment.replace(second=0, microsecond=0)
        known = _offsets = (start, start + timedelta(minutes=1), moment.astimezone().utcoffset() or timedelta())
    return known[2]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _note(item: Capture | CaptureSummary) -> str:
    """Whether the sender got the answer, after two spaces; nothing when there is nothing to add."""
    if isinstance(item, CaptureSummary):
        note = item.note
    else:
        note = item.response.note if item.response else ""
    return f"  {note}" if note else ""


@guarded(str)
def capture_line(capture: Capture, *, date: bool = False) -> str:
    """One line: time, method, path, status answered, size, attempt, id, whether the sender got
    the answer when there is something to say, and what the app answered when forwarded."""
    size = format_size(capture.body_size) + ("!" if capture.truncated else "")
    attempt = f"#{capture.attempt}" if capture.attempt else ""
    forward = f"  forward {forward_summary(capture.forward)}" if capture.forward else ""
    return (
        f"{local_time(capture.received_at, date=date)}  {safe(capture.method, limit=10):<7} "
        f"{_fit(safe(capture.url_path), PATH_WIDTH):<{PATH_WIDTH}} {capture.outcome:>5}  "
        f"{size:>9} {attempt:>4}  {capture.id}{_note(capture)}{forward}"
    )


def answering_text(spec: str, rules: tuple[str, ...] | list[str] = ()) -> str:
    """`answering 500,500,200 and 2 rules`: what hookbin answers, in a few words."""
    more = f" and {len(rules)} rule{'s' if len(rules) != 1 else ''}" if rules else ""
    return f"answering {safe(spec, limit=60)}{more}"


def run_text(number: int, run: Run | None = None) -> str:
    """`run 7 (answering 503, since 2026-03-01 14:05:09.123)`, or `run 7` when the run was not recorded."""
    if run is None or run.spec is None:
        return f"run {number}"
    return f"run {number} ({answering_text(run.spec, run.rules)}, since {local_time(run.started_at, date=True)})"


def short_key(key: str | None) -> str:
    """A delivery key short enough for a column: the hash's first 8 hex digits, or the id's start."""
    if not key:
        return "-"
    if key.startswith("sha256:"):
        return key[7:15]
    return _fit(safe(key), 14)


def signature_word(capture: Capture | CaptureSummary) -> str:
    """`valid`, `invalid`, or `-` when no signature was checked: the `ls` column, as `sig:` filters it."""
    if capture.signature is None:
        return "-"
    return "valid" if capture.signature.valid else "invalid"


def signature_text(capture: Capture) -> str:
    """The `--verify` verdict with its reason (`github: does not match`), or why there is none."""
    if capture.signature is None:
        return "not checked (serve without --verify)"
    return safe(capture.signature.summary)


def forward_word(capture: Capture | CaptureSummary) -> str:
    """The `ls` forward column: the app's status; `refused`, `timeout` or `error` when it gave no
    usable answer; `-` when the capture was not forwarded (or, in mirror mode, not yet)."""
    forward = capture.forward
    if forward is None:
        return "-"
    if forward.status is not None and forward.error is None:
        return str(forward.status)
    error = forward.error or ""
    if error == "connection refused":
        return "refused"
    return "timeout" if error.startswith("timeout") else "error"


def forward_summary(forward: Forwarded) -> str:
    """`201  12 ms  15 B`, or `connection refused  3 ms`: the app's answer to a forward, safe to print."""
    millis = f"{forward.latency_ms:.0f} ms"
    error = safe(forward.error or "no answer", limit=200)
    if forward.status is None:
        return f"{error}  {millis}"
    line = f"{forward.status}  {millis}  {format_size(forward.size or 0)}"
    return f"{line}  ({error})" if forward.error else line


def forward_text(capture: Capture) -> str:
    """The forward result and where it went: `201  12 ms  15 B  from http://127.0.0.1:3000/hook`."""
    if capture.forward is None:
        return "not forwarded"
    return f"{forward_summary(capture.forward)}  from {safe(capture.forward.url, limit=200)}"


@guarded(str)
def list_row(item: Capture | CaptureSummary) -> str:
    """An `ls` row: date and time, method, path, status, signature, forward, size, attempt, delivery,
    survey, id, and whether the sender got the answer when there is something to say."""
    capture = item if isinstance(item, CaptureSummary) else summary_of(item)
    survey = capture.survey or ""
    return (
        f"{local_time(capture.received_at, date=True)}  {safe(capture.method, limit=10):<7} "
        f"{_fit(safe(capture.url_path), 32):<32} {capture.outcome:>5}  {signature_word(capture):<7} "
        f"{forward_word(capture):<7} "
        f"{format_size(capture.body_size) + ('!' if capture.truncated else ''):>9} "
        f"{('#' + str(capture.attempt)) if capture.attempt else '':>4}  {short_key(capture.delivery_key):<14} "
        f"{_fit(safe(survey), 28):<28}  {capture.id}{_note(capture)}"
    )


def _from(capture: Capture) -> str:
    """The TCP peer, and what X-Forwarded-For claims (shown, never trusted: any sender can set it)."""
    text = safe(capture.remote) or "-"
    forwarded = header_get_all(capture.headers, "X-Forwarded-For")
    if forwarded:
        text += f" (X-Forwarded-For: {safe(', '.join(forwarded), limit=200)}, as claimed by the sender)"
    return text


@guarded(str)
def capture_page(capture: Capture) -> str:
    """Everything about one capture: request, headers, decoded body, the answer given."""
    lines = [
        f"{safe(capture.method)} {safe(capture.url_path)}",
        f"id        {capture.id}",
        f"received  {capture.received_at.isoformat(timespec='microseconds')}",
        f"from      {_from(capture)}",
        f"delivery  {safe(capture.delivery_key or '-')} ({safe(capture.delivery_source or '-')}), "
        f"attempt {capture.attempt or '-'}" + (f" in run {capture.run}" if capture.run is not None else ""),
        f"signature {signature_text(capture)}",
        *([f"forward   {forward_text(capture)}"] if capture.forward else []),
        "",
        "Headers",
    ]
    width = max((len(safe(name)) for name, _ in capture.headers), default=0)
    lines += [f"  {safe(name):<{width}}  {safe(value)}" for name, value in capture.headers]
    if capture.query:
        lines += ["", "Query"]
        lines += [f"  {safe(name)} = {safe(value)}" for name, value in capture.query]
    view = decode_capture(capture)
    summary = summarize(view.json) if view.kind == "json" else None
    if summary is not None:
        lines += ["", "Summary"]
        lines += ["  " + safe(line) for line in summary_lines(summary)]
    lines += ["", _body_heading(capture, view)]
    lines += ["  " + line for line in body_text(capture, view).splitlines()]
    response = capture.response
    if response is not None:
        lines += ["", "Response given"]
        details = [f"status {response.outcome}"]
        if response.delay_ms:
            details.append(f"after {response.delay_ms / 1000:g}s")
        if response.fault == "drip":
            details.append(f"dripped over {response.drip_ms / 1000:g}s")
        lines.append("  " + ", ".join(details))
        if response.note:
            lines.append("  " + response.note)
        why = []
        if response.rule:
            why.append(f"rule {safe(response.rule)}")
        if response.spec:
            why.append(f"spec {safe(response.spec)}")
        if response.step:
            why.append(f"step {response.step}")
        if response.reason:
            why.append(safe(response.reason))
        if why:
            lines.append("  because " + ", ".join(why))
        lines += [f"  {safe(name)}: {safe(value)}" for name, value in response.headers]
        if response.body:
            lines.append("  " + safe_bytes(response.body, limit=2000))
    return "\n".join(lines)


def _body_heading(capture: Capture, view: BodyView) -> str:
    parts = [f"Body ({view.kind}, {format_size(capture.body_size)}"]
    if capture.truncated:
        parts.append(f", truncated: first {format_size(len(capture.body))} kept")
    if view.content_encoding:
        parts.append(f", {safe(view.content_encoding)}")
    return "".join(parts) + ")"


def body_problems(view: BodyView) -> list[str]:
    """What went wrong decoding the body, one line each (Content-Encoding, charset, multipart)."""
    return [safe(problem) for problem in (view.encoding_error, view.charset_error, view.multipart_error) if problem]


def body_text(capture: Capture, view: BodyView | None = None, *, notes: bool = True) -> str:
    """The decoded body as text: pretty JSON, form fields, parts, text, or a hex dump.

    At most about SHOWN_CHARS characters of the body are shown (each cut before it is
    escaped); what is left out is counted, with the command that prints the exact bytes.

    Args:
        capture: The capture whose body to show.
        view: Its decoded body, when the caller has it already.
        notes: Start with `! problem` lines (`body_problems`, invalid JSON); False when
            the caller shows those itself.
    """
    if view is None:
        view = decode_capture(capture)
    return view_text(view, f"`hookbin show {capture.id} --raw` prints the body's exact bytes", notes=notes)


def view_text(view: BodyView, exact: str, *, notes: bool = True) -> str:
    """A decoded body as text (see `body_text`), for captures and replay answers alike;
    `exact` says where the exact bytes are when some are left out."""
    lines = [f"! {problem}" for problem in body_problems(view)]
    left_out = cut_note(view)
    if view.kind == "empty":
        out = "(empty)"
    elif view.kind in ("json", "text"):
        out = safe(view.pretty, multiline=True)
    elif view.kind == "invalid_json":
        lines.append(f"! invalid JSON: {safe(view.json_error or '')}")
        out = safe(view.pretty, multiline=True)
    elif view.kind == "form":
        out, left_out = _capped(
            (f"{safe(name, limit=SHOWN_CHARS)} = {safe(value, limit=SHOWN_CHARS)}" for name, value in view.form),
            len(view.form),
            "field",
        )
    elif view.kind == "multipart":
        out, left_out = _capped(map(_part_row, view.parts), len(view.parts), "part")
    else:
        out = f"{view.summary}\n{view.hex_preview}"
        if view.decoded_size > HEX_PREVIEW_BYTES:
            left_out = "the hex dump shows the start only"
    if left_out or view.encoding_cut:
        left_out = f"{left_out or 'the rest was not decoded'}: {exact}"
        out += f"\n… {left_out}"
    return "\n".join([*lines, out]) if notes else out


def _part_row(part: Part) -> str:
    label = safe(part.name or "(no name)", limit=200)
    if part.filename is not None:
        return (
            f"{label}: file {safe(part.filename, limit=200)} "
            f"({safe(part.content_type or '?', limit=200)}, {format_size(part.size)})"
        )
    if part.text is not None:
        return f"{label} = {safe(part.text, multiline=True, limit=SHOWN_CHARS)}"
    return f"{label}: {format_size(part.size)} of binary"


def _capped(rows: Iterable[str], total: int, noun: str) -> tuple[str, str | None]:
    """Rows until about SHOWN_CHARS characters are out, and how many were left out."""
    out: list[str] = []
    length = 0
    for row in rows:
        if length > SHOWN_CHARS:
            rest = total - len(out)
            return "\n".join(out), f"{rest:,} more {noun}{'s' * (rest != 1)} not shown"
        out.append(row)
        length += len(row) + 1
    return "\n".join(out), None


ANSWER_BODY_SHOWN = 4000
"""Most characters of an answer's body `answer_text` prints."""
ANSWER_PREVIEW = 400
"""Most characters of an answer's body `answer_preview` shows."""


def _answer_body(answer: Answer, limit: int) -> list[str]:
    """The answer's body decoded as `show` decodes a capture's, cut to about `limit` characters."""
    view = decode_body(answer.body, answer.headers, truncated=answer.cut)
    if view.kind == "empty":
        return []
    body = view_text(view, "`hookbin replay --json` gives the bytes read")
    if len(body) > limit:
        body = body[:limit] + f"\n… {len(body) - limit:,} more characters (`hookbin replay --json` gives them)"
    elif answer.cut:
        body += f"\n… only the first {format_size(len(answer.body))} were read"
    return body.splitlines()


@guarded(str)
def answer_text(capture_id: str, request: OutgoingRequest, answer: Answer, *, full: bool = True) -> str:
    """A replay and its answer: `ID  METHOD URL  STATUS REASON  LATENCY  SIZE`, then with `full`
    the answer's headers and its body decoded (at most ANSWER_BODY_SHOWN characters)."""
    lines = [f"{capture_id}  {safe(request.method, limit=10)} {safe(request.url)}  {answer.summary()}"]
    if full and answer.answered:
        lines += [f"  {safe(name)}: {safe(value)}" for name, value in answer.headers]
        body = _answer_body(answer, ANSWER_BODY_SHOWN)
        if body:
            lines += ["", *("  " + line for line in body)]
    return "\n".join(lines)


@guarded(str)
def answer_preview(answer: Answer) -> str:
    """An answer in a few lines: the summary, then the start of the decoded body."""
    return "\n".join([answer.summary(), *_answer_body(answer, ANSWER_PREVIEW)])
