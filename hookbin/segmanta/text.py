"""The text of a Segmanta summary: `summary_lines` for `hookbin show` and the TUI's Summary tab.

Standard library only. The lines are built from untrusted input and are not made safe for a
terminal here: callers pass each through `hookbin.textsafe`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hookbin.jsonlines import compact, scalar_text

if TYPE_CHECKING:
    from hookbin.segmanta.model import Fields, PageSummary, QuestionSummary, SegmantaSummary

__all__ = ["EVENT_NAMES", "FLAG", "letter", "shape", "summary_lines", "summary_rows", "verbatim"]

FLAG = "unrecognised fields: "
"""Starts the line that names the fields shown as they arrived (the TUI highlights it)."""

EVENT_NAMES = {"question": "On question completion", "survey": "On survey completion"}
"""The hook events as Segmanta's editor names them, by `SegmantaSummary.event_guess`."""

_CLIP = 500  # longest value shown by summary_lines
_VERBATIM_DEPTH = 40  # levels of an unrecognised value written out before {…}


def verbatim(value: Any) -> str:
    """A value as it arrived: strings as they are, anything else as compact JSON (cut at 500 characters)."""
    if isinstance(value, (dict, list)):
        return compact(value, limit=_CLIP, depth=_VERBATIM_DEPTH)
    return scalar_text(value)


def letter(index: int) -> str:
    """`a` for the first question of a page, … `z`, `aa`, `ab` …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def shape(pages: tuple[PageSummary, ...] | list[PageSummary]) -> str:
    """`5 answered pages`, `3 pages, 1 answered` or `no pages`."""
    if not pages:
        return "no pages"
    answered = sum(1 for page in pages if page.answer_count)
    if answered == len(pages):
        return _plural(answered, "answered page")
    return f"{_plural(len(pages), 'page')}, {answered} answered"


def _line(text: str, limit: int = _CLIP) -> str:
    """One display line: line breaks become spaces, long text is cut with `…`."""
    if len(text) > limit:
        text = text[:limit] + "…"
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


@dataclass
class _Out:
    """The lines being written, and which of them are `unrecognised fields: …` lines."""

    lines: list[str]
    flags: set[int] = field(default_factory=set)


def _brackets(parts: list[str]) -> str:
    return f"  [{', '.join(parts)}]" if parts else ""


def _flagged(out: _Out, fields: Fields, indent: str, prefix: str = "") -> None:
    """The `unrecognised fields: …` line, then each field as `key: value`, as it arrived."""
    if not fields:
        return
    out.flags.add(len(out.lines))
    out.lines.append(indent + _line(FLAG + ", ".join(prefix + key for key, _ in fields)))
    out.lines.extend(f"{indent}  {_line(prefix + key, 100)}: {_line(verbatim(value))}" for key, value in fields)


def summary_lines(summary: SegmantaSummary) -> list[str]:
    """A plain-text rendering of `summary` for `hookbin show`, one string per line.

    Values are display text from the sender: pass each line through `hookbin.textsafe`.
    """
    return _render(summary).lines


def summary_rows(summary: SegmantaSummary) -> list[tuple[str, bool]]:
    """`summary_lines`, each with True when it is an `unrecognised fields: …` line.

    Said here rather than read from the text, which a sender's value could imitate.
    """
    out = _render(summary)
    return [(line, index in out.flags) for index, line in enumerate(out.lines)]


def _render(summary: SegmantaSummary) -> _Out:
    head = "Segmanta survey"
    head += f' "{_line(summary.survey_name)}"' if summary.survey_name is not None else " (no name)"
    if summary.survey_id is not None:
        head += f" (id {_line(summary.survey_id)})"
    event = EVENT_NAMES.get(summary.event_guess, str(summary.event_guess))
    out = _Out([head, f"Event: {event} (a guess from the shape: {shape(summary.pages)})"])
    if summary.custom_params:
        params = ", ".join(f"{_line(key, 100)}={_line(value, 200)}" for key, value in summary.custom_params)
        out.lines.append(f"Custom params: {params}")
    else:
        out.lines.append("Custom params: none")
    _flagged(out, summary.unrecognised, "")
    if not summary.pages:
        out.lines.append("(no pages)")
    for page in summary.pages:
        _append_page(out, page)
    if summary.warnings:
        out.lines.append("Warnings (the delivery differs from the documented shape):")
        out.lines.extend(f"  - {_line(warning)}" for warning in summary.warnings)
    return out


def _append_page(out: _Out, page: PageSummary) -> None:
    if page.stray is not None:
        out.lines.append(f"{page.number}. (not a question page) {_line(page.stray)}")
        return
    parts = [page.type_label]
    if page.tag is not None:
        parts.append(f"tag {_line(page.tag, 100)}")
    if page.variant is not None:
        parts.append(_line(page.variant, 200))
    if page.merged and page.questions:
        qtag = page.questions[0].tag
        if qtag is not None and qtag != page.tag:
            parts.append(f"question tag {_line(qtag, 100)}")
    name = _line(page.name) if page.name is not None else "(no page text)"
    out.lines.append(f"{page.number}. {name}{_brackets(parts)}")
    _flagged(out, page.unrecognised, "     ")
    if page.merged:
        if page.questions:
            # The one question's own fields, named as such: the page line stands for both.
            _flagged(out, page.questions[0].unrecognised, "     ", "question.")
            _append_answers(out, page.questions[0], "     ")
        else:
            out.lines.append("     (no questions)")
        return
    for index, question in enumerate(page.questions):
        mark = letter(index)
        if question.stray is not None:
            out.lines.append(f"   {mark}. (not a question) {_line(question.stray)}")
            continue
        text = _line(question.text) if question.text is not None else "(no question text)"
        tag = [f"tag {_line(question.tag, 100)}"] if question.tag is not None else []
        out.lines.append(f"   {mark}. {text}{_brackets(tag)}")
        _flagged(out, question.unrecognised, "        ")
        _append_answers(out, question, "        ")


def _append_answers(out: _Out, question: QuestionSummary, indent: str) -> None:
    if not question.answers:
        out.lines.append(f"{indent}(no answers)")
    for answer in question.answers:
        text = _line(answer.value_text)
        if answer.comment:
            text += f' — comment: "{_line(answer.comment)}"'
        out.lines.append(indent + text)
        _flagged(out, answer.unrecognised, indent + "  ")
