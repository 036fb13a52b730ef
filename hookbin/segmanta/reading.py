"""Reading a Segmanta delivery: recognising one, and `summarize`, which turns any parsed JSON of
that shape into a `SegmantaSummary` without raising and without dropping a field.

Standard library only.
"""

from __future__ import annotations

from typing import Any

from hookbin.jsonlines import scalar_text
from hookbin.segmanta.model import AnswerSummary, PageSummary, QuestionSummary, SegmantaSummary
from hookbin.segmanta.text import EVENT_NAMES, letter, shape, verbatim

__all__ = ["TYPE_LABELS", "looks_like_segmanta", "summarize", "survey_label", "survey_name_of"]

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
NO_KNOWN_VALUE = "(no answer value in a known field)"
"""`AnswerSummary.value_text` when the answer has no known value but unrecognised fields,
which may well hold the answer (e.g. a free-text `answer_text`)."""

_LOOK_AHEAD = 50  # results[] items examined by looks_like_segmanta
_GUESS_NOTE = "a guess: Segmanta does not say"

# The keys the summary reads at each level of a delivery (the documented shape).
_SURVEY_KEYS = frozenset({"custom_params", "results", "survey_id", "survey_name"})
_PAGE_KEYS = frozenset({"has_variants", "id", "name", "questions", "tag", "type", "variant_id", "variant_name"})
_QUESTION_KEYS = frozenset({"answers", "id", "tag", "text"})
_ANSWER_KEYS = frozenset({"comment", "created", "id", "item", "subject", "updated", "value"})
_NAMED_KEYS = frozenset({"id", "name", "tag"})  # an answer's `item` or `subject`


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
        "survey_id" in document and "survey_name" in document and ("results" in document or "custom_params" in document)
    )


def _single(value: Any) -> str | None:
    """A single value as text; None for null and for lists and objects."""
    return None if value is None or isinstance(value, (dict, list)) else scalar_text(value)


def survey_name_of(document: Any) -> str | None:
    """The survey name of a Segmanta delivery, else None."""
    if not looks_like_segmanta(document):
        return None
    return _single(document.get("survey_name"))


def survey_label(document: Any) -> str | None:
    """The survey for a column in `hookbin ls`: its name, else `survey id 1234`, else None."""
    name = survey_name_of(document)
    if name is not None or not looks_like_segmanta(document):
        return name
    ident = _single(document.get("survey_id"))
    return None if ident is None else f"survey id {ident}"


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


def _leftover(holder: dict[str, Any], known: frozenset[str], odd: set[str], prefix: str = "") -> list[tuple[str, Any]]:
    """The fields of `holder` not understood: unknown keys, and known keys named in `odd`."""
    return [(prefix + str(key), value) for key, value in holder.items() if key not in known or key in odd]


class _Reader:
    """Builds the summary, collecting warnings as it goes.

    Each object's reader passes an `odd` set down: a known key whose value could not be read
    is added to it, and the object's unrecognised fields are its unknown keys plus those.
    """

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, where: str, text: str) -> None:
        self.warnings.append(f"{where}: {text}" if where else text)

    def scalar(self, holder: dict[str, Any], key: str, where: str, odd: set[str], label: str = "") -> str | None:
        """`holder[key]` as text: None when missing or null, or (flagged) when a list or object."""
        value = holder.get(key)
        if isinstance(value, (dict, list)):
            self.warn(where, f"{label or key} is {_kind(value)}, expected a single value")
            odd.add(key)
        return _single(value)

    def named(
        self, answer: dict[str, Any], key: str, where: str, odd: set[str], extra: list[tuple[str, Any]]
    ) -> str | None:
        """An `item` or `subject` object's name (documented `{id, name, tag}`), as text.

        The object's own unrecognised fields go to `extra` as `KEY.FIELD`.
        """
        value = answer.get(key)
        if value is None:
            return None
        if isinstance(value, list):
            self.warn(where, f"{key} is a list, expected an object")
            odd.add(key)
            return None
        if not isinstance(value, dict):
            self.warn(where, f"{key} is {_kind(value)}, expected an object")
            return scalar_text(value)
        inner: set[str] = set()
        name = self.scalar(value, "name", where, inner, f"{key}.name")
        ident = self.scalar(value, "id", where, inner, f"{key}.id")
        self.scalar(value, "tag", where, inner, f"{key}.tag")  # not shown, but never hidden when odd
        extra.extend(_leftover(value, _NAMED_KEYS, inner, f"{key}."))
        if name is not None:
            return name
        if "name" not in inner:
            self.warn(where, f"{key} has no name")
        return f"{key} {ident}" if ident is not None else f"({key} without a name)"

    def items(self, holder: dict[str, Any], key: str, where: str, odd: set[str]) -> list[Any]:
        """`holder[key]` as a list: a lone object is read as a list of one."""
        value = holder.get(key)
        if isinstance(value, list):
            return value
        if key not in holder:
            self.warn(where, f"no {key}")
        elif isinstance(value, dict):
            self.warn(where, f"{key} is an object, not a list; read as a list of one")
            return [value]
        elif value is None:
            self.warn(where, f"{key} is null, not a list")
        else:
            self.warn(where, f"{key} is {_kind(value)}, not a list")
            odd.add(key)
        return []

    # The document, top down.

    def document(self, document: dict[str, Any]) -> SegmantaSummary:
        odd: set[str] = set()
        survey_id = self.scalar(document, "survey_id", "", odd)
        survey_name = self.scalar(document, "survey_name", "", odd)
        params = self.custom_params(document, odd)
        pages: list[PageSummary] = []
        for number, raw in enumerate(self.items(document, "results", "", odd), 1):
            if isinstance(raw, dict):
                pages.append(self.page(raw, number))
            else:
                self.warn(f"page {number}", f"{_kind(raw)}, not an object")
                pages.append(PageSummary(number, None, None, None, "", None, None, stray=verbatim(raw)))
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
            unrecognised=tuple(_leftover(document, _SURVEY_KEYS, odd)),
        )

    def custom_params(self, document: dict[str, Any], odd: set[str]) -> tuple[tuple[str, str], ...]:
        value = document.get("custom_params")
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.warn("", f"custom_params is {_kind(value)}, expected an object")
            odd.add("custom_params")
            return ()
        return tuple((key, scalar_text(val)) for key, val in value.items())

    def page(self, page: dict[str, Any], number: int) -> PageSummary:
        where = f"page {number}"
        odd: set[str] = set()
        name = self.scalar(page, "name", where, odd)
        raw_type = page.get("type")
        if isinstance(raw_type, str) and raw_type:
            kind: str | None = raw_type
            label = TYPE_LABELS.get(raw_type, raw_type)
        else:
            kind = None
            label = "Unknown"
            if raw_type is None:
                self.warn(where, "no type")
            else:
                self.warn(where, f"type is {_kind(raw_type)}, expected a page type name")
                odd.add("type")
        has_variants = page.get("has_variants")
        if has_variants is not None and not isinstance(has_variants, bool):
            self.warn(where, f"has_variants is {_kind(has_variants)}, expected true or false")
            odd.add("has_variants")
        raw_questions = self.items(page, "questions", where, odd)
        # A page whose one question repeats the page text shows its answers directly.
        merged = not raw_questions or (
            len(raw_questions) == 1
            and isinstance(raw_questions[0], dict)
            and _single(raw_questions[0].get("text")) in (None, name)
        )
        questions: list[QuestionSummary] = []
        for index, raw in enumerate(raw_questions):
            qwhere = where if merged else f"{where}, question {letter(index)}"
            if isinstance(raw, dict):
                questions.append(self.question(raw, qwhere))
            else:
                self.warn(qwhere, f"{_kind(raw)}, not an object")
                questions.append(QuestionSummary(None, None, None, stray=verbatim(raw)))
        return PageSummary(
            number=number,
            id=self.scalar(page, "id", where, odd),
            name=name,
            type=kind,
            type_label=label,
            tag=self.scalar(page, "tag", where, odd),
            variant=self.variant(page, where, odd),
            questions=tuple(questions),
            merged=merged,
            unrecognised=tuple(_leftover(page, _PAGE_KEYS, odd)),
        )

    def variant(self, page: dict[str, Any], where: str, odd: set[str]) -> str | None:
        name = self.scalar(page, "variant_name", where, odd)
        ident = self.scalar(page, "variant_id", where, odd)
        if name is not None and ident is not None:
            return f"{name} ({ident})"
        if name is not None:
            return name
        if ident is not None:
            return f"variant {ident}"
        if page.get("has_variants") is True:
            self.warn(where, "has_variants is true but no variant_id or variant_name")
            return "variant not given"
        return None

    def question(self, question: dict[str, Any], where: str) -> QuestionSummary:
        odd: set[str] = set()
        answers: list[AnswerSummary] = []
        for number, raw in enumerate(self.items(question, "answers", where, odd), 1):
            if isinstance(raw, dict):
                answers.append(self.answer(raw, f"{where}, answer {number}"))
            else:
                self.warn(f"{where}, answer {number}", f"{_kind(raw)}, not an object; shown as the value")
                text = verbatim(raw)
                answers.append(AnswerSummary(id=None, value_text=text, value=text))
        return QuestionSummary(
            id=self.scalar(question, "id", where, odd),
            text=self.scalar(question, "text", where, odd),
            tag=self.scalar(question, "tag", where, odd),
            answers=tuple(answers),
            unrecognised=tuple(_leftover(question, _QUESTION_KEYS, odd)),
        )

    def answer(self, answer: dict[str, Any], where: str) -> AnswerSummary:
        odd: set[str] = set()
        extra: dict[str, list[tuple[str, Any]]] = {"item": [], "subject": []}
        item = self.named(answer, "item", where, odd, extra["item"])
        subject = self.named(answer, "subject", where, odd, extra["subject"])
        value = self.scalar(answer, "value", where, odd)
        ident = self.scalar(answer, "id", where, odd)
        comment = self.scalar(answer, "comment", where, odd)
        created = self.scalar(answer, "created", where, odd)
        updated = self.scalar(answer, "updated", where, odd)
        # In arrival order; an item's or subject's own fields stand where that key stood.
        unrecognised: list[tuple[str, Any]] = []
        for key, field in answer.items():
            if key not in _ANSWER_KEYS or key in odd:
                unrecognised.append((str(key), field))
            elif key in extra:
                unrecognised.extend(extra[key])
        # Segmanta sends one of subject and item; should both come, neither is dropped.
        label = " / ".join(part for part in (subject, item) if part is not None) or None
        if label is not None and value is not None:
            value_text = f"{label}: {value}"
        elif label is not None:
            value_text = label
        elif value is not None:
            value_text = value
        else:
            value_text = NO_KNOWN_VALUE if unrecognised else NO_ANSWER_VALUE
        return AnswerSummary(
            id=ident,
            value_text=value_text,
            item=item,
            subject=subject,
            value=value,
            comment=comment,
            created=created,
            updated=updated,
            unrecognised=tuple(unrecognised),
        )


def _event_guess(pages: list[PageSummary]) -> tuple[str, str]:
    # On question completion sends the one page just answered; On survey completion sends
    # every page. A one-page survey therefore looks like a question event: only a guess.
    guess = "question" if len(pages) == 1 else "survey"
    return guess, f"{shape(pages)}: looks like {EVENT_NAMES[guess]} ({_GUESS_NOTE})"


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
