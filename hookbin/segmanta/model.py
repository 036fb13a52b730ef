"""The summary of a Segmanta delivery as data: pages, questions and answers as display text,
the fields not understood as they arrived, and the JSON form `hookbin show --json` carries.

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from hookbin.segmanta.text import summary_lines, verbatim

__all__ = ["AnswerSummary", "Fields", "PageSummary", "QuestionSummary", "SegmantaSummary"]

Fields = tuple[tuple[str, Any], ...]
"""Unrecognised fields: (key, value as parsed) in the order they arrived; keys of an answer's
`item`/`subject` object are written `item.KEY`."""

_JSON_DEPTH = 100
"""Unrecognised values nested deeper than this go into the JSON form as compact text: a value
`json.loads` could just read may be too deep for `json.dumps` to write back."""


@dataclass(frozen=True, slots=True)
class AnswerSummary:
    """One `answers[]` item, as display text."""

    id: str | None
    """The answer's `id`, as text."""
    value_text: str
    """The readable answer: the chosen item's name, the number, `subject: value`, or
    `(no answer value)` when the answer carries none of them."""
    item: str | None = None
    """For item answers (multiple or image choice): the chosen option's name."""
    subject: str | None = None
    """For multi-rating answers: the rated subject's name."""
    value: str | None = None
    """For value answers (rating, NPS, opinion scale, slider, multi rating): the number, as text."""
    comment: str | None = None
    """The respondent's comment; Segmanta sends `""` when there is none."""
    created: str | None = None
    """When the answer was created, as sent (e.g. `2026-03-01T14:05:09.123456+00:00`)."""
    updated: str | None = None
    """When the answer was last changed, as sent."""
    unrecognised: Fields = ()
    """Fields the summary does not understand, shown as they arrived."""


@dataclass(frozen=True, slots=True)
class QuestionSummary:
    """One `questions[]` item of a page."""

    id: str | None
    """The question's `id`, as text."""
    text: str | None
    """The question's text."""
    tag: str | None
    """The editor tag, or None."""
    answers: tuple[AnswerSummary, ...] = ()
    """The answers given, in the order sent."""
    unrecognised: Fields = ()
    """Fields the summary does not understand, shown as they arrived."""
    stray: str | None = None
    """For a `questions[]` item that is not an object: the item as text, shown in its place."""


@dataclass(frozen=True, slots=True)
class PageSummary:
    """One `results[]` item: a question page."""

    number: int
    """The page's number in the display and in warnings: its position in `results`, from 1."""
    id: str | None
    """The page's `id`, as text."""
    name: str | None
    """The page's text (`name`)."""
    type: str | None
    """The raw `type` string, e.g. `RatingQuestionPage`; None when missing or not a string."""
    type_label: str
    """Human label: `Rating`, `Image choice`, `NPS`, `Opinion scale`, `Slider`,
    `Multi rating`, else the raw type, or `Unknown`."""
    tag: str | None
    """The editor tag, or None."""
    variant: str | None
    """The variant shown, e.g. `Variant Two (51526)`; None for a page without variants."""
    questions: tuple[QuestionSummary, ...] = ()
    """The page's questions, in the order sent."""
    merged: bool = False
    """True when the page's one question repeats the page text (or has none): its answers are
    shown directly under the page, and warnings name no question."""
    unrecognised: Fields = ()
    """Fields the summary does not understand, shown as they arrived."""
    stray: str | None = None
    """For a `results[]` item that is not an object: the item as text, shown in its place."""

    @property
    def answer_count(self) -> int:
        """How many answers this page carries, over all its questions."""
        return sum(len(q.answers) for q in self.questions)


@dataclass(frozen=True, slots=True)
class SegmantaSummary:
    """What a Segmanta delivery says, as display text."""

    survey_id: str | None
    """`survey_id`, as text."""
    survey_name: str | None
    """`survey_name`."""
    custom_params: tuple[tuple[str, str], ...]
    """`custom_params` (the survey link's query parameters) in order, values as text."""
    pages: tuple[PageSummary, ...]
    """One per `results[]` item, in order."""
    event_guess: str
    """`question` or `survey`: which hook event the shape suggests. Only a guess: the body
    does not say which event sent it."""
    event_guess_reason: str
    """Why, e.g. `1 answered page: looks like On question completion (a guess: Segmanta
    does not say)`."""
    answer_count: int
    """Answers over all pages and questions."""
    warnings: tuple[str, ...] = ()
    """What did not fit the documented shape, e.g. `page 3: a string, not an object`."""
    unrecognised: Fields = ()
    """Top-level fields the summary does not understand, shown as they arrived."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `hookbin show --json` carries as `summary`: every field read (ids and
        times too), `unrecognised` as `[key, value]` pairs with each value as it arrived, and
        `lines`, the text `hookbin show` prints."""
        return {**_plain(self), "lines": summary_lines(self)}


def _shallow(value: Any, limit: int) -> bool:
    """True when `value` nests lists and objects at most `limit` levels deep (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if level >= limit:
            return False
        stack.extend((child, level + 1) for child in children)
    return True


def _plain(node: Any) -> Any:
    """A summary dataclass (or a tuple of them) as JSON-ready dicts and lists."""
    if isinstance(node, (AnswerSummary, QuestionSummary, PageSummary, SegmantaSummary)):
        out = {f.name: _plain(getattr(node, f.name)) for f in fields(node) if f.name != "unrecognised"}
        out["unrecognised"] = [
            [key, value if _shallow(value, _JSON_DEPTH) else verbatim(value)] for key, value in node.unrecognised
        ]
        return out
    if isinstance(node, tuple):
        return [_plain(item) for item in node]
    return node
