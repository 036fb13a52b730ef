"""Segmanta webhook deliveries: recognise them and summarise them as readable survey answers.

Segmanta posts JSON shaped `{custom_params, results: [question pages], survey_id, survey_name}`
(see `examples/segmanta/README.md`). Real deliveries are treated loosely: any field may be
missing, null or of another type, unknown fields and page types appear. Nothing here raises
for any value `json.loads` makes; odd shapes give generic fallbacks and a warning instead.

Everything returned is display text built from untrusted input. It is *not* made safe for a
terminal here: callers pass it through `hookbin.textsafe` like any other sender text.

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookbin.jsonlines import compact, scalar_text

__all__ = [
    "TYPE_LABELS",
    "AnswerSummary",
    "PageSummary",
    "QuestionSummary",
    "SegmantaSummary",
    "looks_like_segmanta",
    "summarize",
    "summary_lines",
    "survey_name_of",
]

TYPE_LABELS: dict[str, str] = {
    "RatingQuestionPage": "Rating",
    "ImageChoiceQuestionPage": "Image choice",
    "NPSQuestionPage": "NPS",
    "LikertQuestionPage": "Opinion scale",
    "SliderQuestionPage": "Slider",
    # Segmanta does not document the multi-rating page's type name: this one is a guess,
    # the placeholder used by the synthetic samples.
    "MultiRatingQuestionPage": "Multi rating",
}
"""Human labels for the documented page `type` strings (plus one guessed name)."""

NO_ANSWER_VALUE = "(no answer value)"
"""`AnswerSummary.value_text` for an answer that carries neither item, subject nor value."""

_CLIP = 500  # longest value shown by summary_lines
_LOOK_AHEAD = 50  # results[] items examined by looks_like_segmanta
_EVENT_NAMES = {"question": "On question completion", "survey": "On survey completion"}
_GUESS_NOTE = "a guess: Segmanta does not say"


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


@dataclass(frozen=True, slots=True)
class PageSummary:
    """One `results[]` item: a question page."""

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
    """The `results[]` pages that were objects, in order."""
    event_guess: str
    """`question` or `survey`: which hook event the shape suggests. Only a guess: the body
    does not say which event sent it."""
    event_guess_reason: str
    """Why, e.g. `1 answered page: looks like On question completion (a guess: Segmanta
    does not say)`."""
    answer_count: int
    """Answers over all pages and questions."""
    warnings: tuple[str, ...] = ()
    """What did not fit the documented shape, e.g. `results[2]: not an object, skipped`."""


# --------------------------------------------------------------------------- recognising


def _is_page_like(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    kind = item.get("type")
    if isinstance(kind, str) and kind.endswith("QuestionPage"):
        return True
    if "has_variants" in item:
        return True
    questions = item.get("questions")
    if isinstance(questions, list):
        return any(isinstance(q, dict) and isinstance(q.get("answers"), list) for q in questions[:_LOOK_AHEAD])
    return False


def looks_like_segmanta(document: Any) -> bool:
    """True when `document` (parsed JSON) has the shape of a Segmanta webhook delivery.

    That is an object whose `results` is a list and which has a `survey_id` or `survey_name`
    key, or whose `results` items look like question pages (a `type` ending in
    `QuestionPage`, a `has_variants` key, or `questions` with `answers` lists). An object with
    both `survey_id` and `survey_name` and a `results` or `custom_params` key also counts even
    when `results` is not a list (a damaged delivery is still shown as one, with a warning).
    `{"results": [1, 2]}` alone is not Segmanta.
    """
    if not isinstance(document, dict):
        return False
    results = document.get("results")
    has_survey_key = "survey_id" in document or "survey_name" in document
    if isinstance(results, list):
        if has_survey_key:
            return True
        return any(_is_page_like(item) for item in results[:_LOOK_AHEAD])
    return (
        "survey_id" in document
        and "survey_name" in document
        and ("results" in document or "custom_params" in document)
    )


def survey_name_of(document: Any) -> str | None:
    """The survey name of a Segmanta delivery (for a column in `hookbin ls`), else None."""
    if not looks_like_segmanta(document):
        return None
    name = document.get("survey_name")
    if isinstance(name, str):
        return name
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        return str(name)
    return None


# --------------------------------------------------------------------------- display text


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object" if isinstance(value, dict) else "a list"


class _Reader:
    """Builds the summary, collecting warnings as it goes."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def scalar(self, holder: dict[str, Any], key: str, where: str) -> str | None:
        """`holder[key]` as text: None when missing or null; containers become compact JSON."""
        value = holder.get(key)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            self.warn(f"{where}.{key}: {_kind(value)}, expected a single value")
        return scalar_text(value)

    def named(self, holder: dict[str, Any], key: str, where: str) -> str | None:
        """An `item` or `subject` object's name (documented `{id, name, tag}`), as text."""
        value = holder.get(key)
        if value is None:
            return None
        if isinstance(value, dict):
            name = value.get("name")
            if isinstance(name, (dict, list)):
                self.warn(f"{where}.{key}.name: {_kind(name)}, expected a string")
                return compact(name)
            if name is not None:
                return scalar_text(name)
            ident = value.get("id")
            self.warn(f"{where}.{key}: no name")
            if ident is not None and not isinstance(ident, (dict, list)):
                return f"{key} {scalar_text(ident)}"
            return f"({key} without a name)"
        self.warn(f"{where}.{key}: {_kind(value)}, expected an object")
        return scalar_text(value)

    def items(self, holder: dict[str, Any], key: str, where: str) -> list[Any]:
        """`holder[key]` as a list: a lone object is read as a list of one."""
        value = holder.get(key)
        if isinstance(value, list):
            return value
        if key not in holder:
            self.warn(f"{where}: no {key}")
        elif isinstance(value, dict):
            self.warn(f"{where}.{key}: an object, not a list; read as a list of one")
            return [value]
        else:
            self.warn(f"{where}.{key}: {_kind(value)}, not a list; ignored")
        return []

    # The document, top down.

    def document(self, document: dict[str, Any]) -> SegmantaSummary:
        survey_id = self.scalar(document, "survey_id", "survey")
        survey_name = self.scalar(document, "survey_name", "survey")
        params = self.custom_params(document.get("custom_params"))
        pages: list[PageSummary] = []
        for index, raw in enumerate(self.items(document, "results", "survey")):
            where = f"results[{index}]"
            if isinstance(raw, dict):
                pages.append(self.page(raw, where))
            else:
                self.warn(f"{where}: not an object, skipped")
        guess, reason = _event_guess(pages)
        return SegmantaSummary(
            survey_id=survey_id,
            survey_name=survey_name,
            custom_params=params,
            pages=tuple(pages),
            event_guess=guess,
            event_guess_reason=reason,
            answer_count=sum(page.answer_count for page in pages),
            warnings=tuple(self.warnings),
        )

    def custom_params(self, value: Any) -> tuple[tuple[str, str], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.warn(f"custom_params: {_kind(value)}, expected an object; ignored")
            return ()
        return tuple((key, scalar_text(val)) for key, val in value.items())

    def page(self, page: dict[str, Any], where: str) -> PageSummary:
        raw_type = page.get("type")
        if isinstance(raw_type, str) and raw_type:
            kind: str | None = raw_type
            label = TYPE_LABELS.get(raw_type, raw_type)
        else:
            kind = None
            label = "Unknown"
            if raw_type is None:
                self.warn(f"{where}: no type")
            else:
                self.warn(f"{where}.type: {_kind(raw_type)}, expected a page type name")
        questions: list[QuestionSummary] = []
        for index, raw in enumerate(self.items(page, "questions", where)):
            qwhere = f"{where}.questions[{index}]"
            if isinstance(raw, dict):
                questions.append(self.question(raw, qwhere))
            else:
                self.warn(f"{qwhere}: not an object, skipped")
        return PageSummary(
            id=self.scalar(page, "id", where),
            name=self.scalar(page, "name", where),
            type=kind,
            type_label=label,
            tag=self.scalar(page, "tag", where),
            variant=self.variant(page, where),
            questions=tuple(questions),
        )

    def variant(self, page: dict[str, Any], where: str) -> str | None:
        name = self.scalar(page, "variant_name", where)
        ident = self.scalar(page, "variant_id", where)
        if name is not None and ident is not None:
            return f"{name} ({ident})"
        if name is not None:
            return name
        if ident is not None:
            return f"variant {ident}"
        if page.get("has_variants") is True:
            self.warn(f"{where}: has_variants is true but no variant_id or variant_name")
            return "variant not given"
        return None

    def question(self, question: dict[str, Any], where: str) -> QuestionSummary:
        answers: list[AnswerSummary] = []
        for index, raw in enumerate(self.items(question, "answers", where)):
            awhere = f"{where}.answers[{index}]"
            if isinstance(raw, dict):
                answers.append(self.answer(raw, awhere))
            elif isinstance(raw, (str, int, float)):  # bool included: shown as true/false
                self.warn(f"{awhere}: {_kind(raw)}, not an object; shown as the value")
                text = scalar_text(raw)
                answers.append(AnswerSummary(id=None, value_text=text, value=text))
            else:
                self.warn(f"{awhere}: {_kind(raw)}, not an object; skipped")
        return QuestionSummary(
            id=self.scalar(question, "id", where),
            text=self.scalar(question, "text", where),
            tag=self.scalar(question, "tag", where),
            answers=tuple(answers),
        )

    def answer(self, answer: dict[str, Any], where: str) -> AnswerSummary:
        item = self.named(answer, "item", where)
        subject = self.named(answer, "subject", where)
        value = self.scalar(answer, "value", where)
        label = subject if subject is not None else item
        if label is not None and value is not None:
            value_text = f"{label}: {value}"
        elif label is not None:
            value_text = label
        elif value is not None:
            value_text = value
        else:
            value_text = NO_ANSWER_VALUE
        return AnswerSummary(
            id=self.scalar(answer, "id", where),
            value_text=value_text,
            item=item,
            subject=subject,
            value=value,
            comment=self.scalar(answer, "comment", where),
            created=self.scalar(answer, "created", where),
            updated=self.scalar(answer, "updated", where),
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _shape(pages: tuple[PageSummary, ...] | list[PageSummary]) -> str:
    """`5 answered pages`, `3 pages, 1 answered` or `no pages`."""
    if not pages:
        return "no pages"
    answered = sum(1 for page in pages if page.answer_count)
    if answered == len(pages):
        return _plural(answered, "answered page")
    return f"{_plural(len(pages), 'page')}, {answered} answered"


def _event_guess(pages: list[PageSummary]) -> tuple[str, str]:
    # On question completion sends the one page just answered; On survey completion sends
    # every page. A one-page survey therefore looks like a question event: only a guess.
    guess = "question" if len(pages) == 1 else "survey"
    return guess, f"{_shape(pages)}: looks like {_EVENT_NAMES[guess]} ({_GUESS_NOTE})"


def summarize(document: Any) -> SegmantaSummary | None:
    """Summarise a parsed Segmanta delivery; None when `document` does not look like one.

    Never raises: fields of the wrong type give generic text and an entry in `warnings`.
    """
    try:
        if not looks_like_segmanta(document):
            return None
        return _Reader().document(document)
    except Exception as exc:  # a last resort: the reader is meant to handle every shape
        return SegmantaSummary(
            survey_id=None,
            survey_name=None,
            custom_params=(),
            pages=(),
            event_guess="survey",
            event_guess_reason=f"no pages: could not read the delivery ({_GUESS_NOTE})",
            answer_count=0,
            warnings=(f"could not read the delivery: {type(exc).__name__}",),
        )


# --------------------------------------------------------------------------- rendering


def _line(text: str, limit: int = _CLIP) -> str:
    """One display line: line breaks become spaces, long text is cut with `…`."""
    if len(text) > limit:
        text = text[:limit] + "…"
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _brackets(parts: list[str]) -> str:
    return f"  [{', '.join(parts)}]" if parts else ""


def _answer_line(answer: AnswerSummary) -> str:
    text = _line(answer.value_text)
    if answer.comment:
        text += f' — comment: "{_line(answer.comment)}"'
    return text


def summary_lines(summary: SegmantaSummary) -> list[str]:
    """A plain-text rendering of `summary` for `hookbin show`, one string per line.

    Values are display text from the sender: pass each line through `hookbin.textsafe`.
    """
    head = "Segmanta survey"
    head += f' "{_line(summary.survey_name)}"' if summary.survey_name is not None else " (no name)"
    if summary.survey_id is not None:
        head += f" (id {_line(summary.survey_id)})"
    event = _EVENT_NAMES.get(summary.event_guess, str(summary.event_guess))
    lines = [head, f"Event: {event} (a guess from the shape: {_shape(summary.pages)})"]
    if summary.custom_params:
        params = ", ".join(f"{_line(key, 100)}={_line(value, 200)}" for key, value in summary.custom_params)
        lines.append(f"Custom params: {params}")
    else:
        lines.append("Custom params: none")
    if not summary.pages:
        lines.append("(no pages)")
    for number, page in enumerate(summary.pages, 1):
        parts = [page.type_label]
        if page.tag is not None:
            parts.append(f"tag {_line(page.tag, 100)}")
        if page.variant is not None:
            parts.append(_line(page.variant, 200))
        # A page holding one question that repeats the page text shows its answers directly.
        single = len(page.questions) == 1 and page.questions[0].text in (None, page.name)
        if single:
            qtag = page.questions[0].tag
            if qtag is not None and qtag != page.tag:
                parts.append(f"question tag {_line(qtag, 100)}")
        name = _line(page.name) if page.name is not None else "(no page text)"
        lines.append(f"{number}. {name}{_brackets(parts)}")
        if single:
            _append_answers(lines, page.questions[0], "     ")
            continue
        if not page.questions:
            lines.append("     (no questions)")
        for index, question in enumerate(page.questions):
            letter = _letter(index)
            text = _line(question.text) if question.text is not None else "(no question text)"
            tag = [f"tag {_line(question.tag, 100)}"] if question.tag is not None else []
            lines.append(f"   {letter}. {text}{_brackets(tag)}")
            _append_answers(lines, question, "        ")
    if summary.warnings:
        lines.append("Warnings (the delivery differs from the documented shape):")
        lines.extend(f"  - {_line(warning)}" for warning in summary.warnings)
    return lines


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _append_answers(lines: list[str], question: QuestionSummary, indent: str) -> None:
    if not question.answers:
        lines.append(f"{indent}(no answers)")
    for answer in question.answers:
        lines.append(indent + _answer_line(answer))
