"""Plain-text views of captures for the shell: the live one-line log, `ls` rows and `show` pages.

Pure: every piece of captured text passes through `textsafe` before it is returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hookbin.bodies import BodyView, decode_capture
from hookbin.durations import format_size
from hookbin.model import Capture
from hookbin.segmanta import summarize, summary_lines, survey_name_of
from hookbin.textsafe import safe, safe_bytes

PATH_WIDTH = 48


def local_time(moment: datetime, *, date: bool = False) -> str:
    """A capture time in the machine's local zone, to the millisecond."""
    local = moment.astimezone()
    text = local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    return (local.strftime("%Y-%m-%d ") + text) if date else text


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def capture_line(capture: Capture, *, date: bool = False) -> str:
    """One line: time, method, path, status answered, size, attempt, id."""
    size = format_size(capture.body_size) + ("!" if capture.truncated else "")
    attempt = f"#{capture.attempt}" if capture.attempt else ""
    return (
        f"{local_time(capture.received_at, date=date)}  {safe(capture.method, limit=10):<7} "
        f"{_fit(safe(capture.url_path), PATH_WIDTH):<{PATH_WIDTH}} {capture.outcome:>5}  "
        f"{size:>9} {attempt:>4}  {capture.id}"
    )


def short_key(key: str | None) -> str:
    """A delivery key short enough for a column: the hash's first 8 hex digits, or the id's start."""
    if not key:
        return "-"
    if key.startswith("sha256:"):
        return key[7:15]
    return _fit(safe(key), 14)


def json_document(capture: Capture) -> Any:
    """The body parsed as JSON (after Content-Encoding), or None."""
    view = decode_capture(capture)
    return view.json if view.kind == "json" else None


def list_row(capture: Capture) -> str:
    """An `ls` row: date and time, method, path, status, size, attempt, delivery, survey, id."""
    survey = survey_name_of(json_document(capture)) or ""
    return (
        f"{local_time(capture.received_at, date=True)}  {safe(capture.method, limit=10):<7} "
        f"{_fit(safe(capture.url_path), 32):<32} {capture.outcome:>5}  "
        f"{format_size(capture.body_size) + ('!' if capture.truncated else ''):>9} "
        f"{('#' + str(capture.attempt)) if capture.attempt else '':>4}  {short_key(capture.delivery_key):<14} "
        f"{_fit(safe(survey), 28):<28}  {capture.id}"
    )


def capture_page(capture: Capture) -> str:
    """Everything about one capture: request, headers, decoded body, the answer given."""
    lines = [
        f"{safe(capture.method)} {safe(capture.url_path)}",
        f"id        {capture.id}",
        f"received  {capture.received_at.isoformat(timespec='microseconds')}",
        f"from      {safe(capture.remote) or '-'}",
        f"delivery  {safe(capture.delivery_key or '-')} ({capture.delivery_source or '-'}), "
        f"attempt {capture.attempt or '-'}",
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


def body_text(capture: Capture, view: BodyView | None = None) -> str:
    """The decoded body as text: pretty JSON, form fields, parts, text, or a hex dump.

    Pass `view` when the caller has already decoded the body.
    """
    if view is None:
        view = decode_capture(capture)
    notes = []
    if view.encoding_error:
        notes.append(f"! {safe(view.encoding_error)}")
    if getattr(view, "charset_error", None):
        notes.append(f"! {safe(view.charset_error)}")
    if view.multipart_error:
        notes.append(f"! {safe(view.multipart_error)}")
    if view.kind == "empty":
        out = "(empty)"
    elif view.kind == "json":
        out = safe(view.pretty, multiline=True)
    elif view.kind == "invalid_json":
        notes.append(
            f"! invalid JSON: {safe(view.json_error or '')}"
        )
        out = safe(view.pretty, multiline=True)
    elif view.kind == "form":
        out = "\n".join(f"{safe(name)} = {safe(value)}" for name, value in view.form)
    elif view.kind == "multipart":
        rows = []
        for part in view.parts:
            label = safe(part.name or "(no name)")
            if part.filename is not None:
                rows.append(
                    f"{label}: file {safe(part.filename)!s} ({safe(part.content_type or '?')}, "
                    f"{format_size(part.size)})"
                )
            elif part.text is not None:
                rows.append(f"{label} = {safe(part.text, multiline=True)}")
            else:
                rows.append(f"{label}: {format_size(part.size)} of binary")
        out = "\n".join(rows)
    elif view.kind == "text":
        out = safe(view.text or "", multiline=True)
    else:
        out = f"{view.summary}\n{view.hex_preview}"
    return "\n".join([*notes, out])
