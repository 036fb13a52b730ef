"""Segmanta deliveries read as CRM answers: whose they are, and each answer in readable form.

A delivery is `{custom_params, results: [pages], survey_id, survey_name}`; each page has
`questions`, each question `answers`. Both hook events (On question completion, On survey
completion) have this shape, so one reader serves both: the event only changes how many pages
arrive. Everything is read loosely, since any field may be missing, null or of another type:

- a body that is not a JSON object with a `results` list, or that names no customer, raises
  `Unusable` with the reason (the receiver parks it for review, it never answers 4xx);
- an answer whose shape is not documented is kept verbatim (`kind` "unknown", `raw` as sent);
- a part that cannot be attached at all (a page without a `questions` list, an answer
  without an id) becomes a line in `Delivery.problems`, and the rest is still attached.

Standard library only, so it can be tested, and copied, on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PAGE_TYPES",
    "Answer",
    "CustomerRef",
    "Delivery",
    "Unusable",
    "canonical",
    "read_delivery",
]

PAGE_TYPES: dict[str, str] = {
    "RatingQuestionPage": "rating",
    "LikertQuestionPage": "opinion scale",
    "SliderQuestionPage": "slider",
    "NPSQuestionPage": "NPS",
    "ImageChoiceQuestionPage": "image choice",
    # Segmanta documents neither name; these are guesses. The answer's shape decides how it is
    # read, so a different real name changes only the label.
    "MultipleChoiceQuestionPage": "multiple choice",
    "MultiRatingQuestionPage": "multi rating",
}
"""Labels for the page `type` strings; other types are labelled with the type as sent."""

_PROBLEMS_KEPT = 20  # problem lines kept per delivery; the rest are counted


class Unusable(ValueError):
    """A delivery that can never be attached as it is; the message is the reason, one line."""


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """Who the answers belong to, from the survey link's query (`custom_params`)."""

    crm_id: str | None
    """`custom_params.crm_id`: the CRM customer id, when the survey link carried it."""
    seg_erid: str | None
    """`custom_params.seg_erid`: Segmanta's external respondent id, matched to `external_id`."""

    def describe(self) -> str:
        """`crm_id "CUST-1" and seg_erid "u-8"`, for reasons and logs (JSON-quoted, so ASCII)."""
        parts = [
            f"{name} {json.dumps(value)}"
            for name, value in (("crm_id", self.crm_id), ("seg_erid", self.seg_erid))
            if value is not None
        ]
        return " and ".join(parts) or "no customer id"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer, with the survey, page and question it belongs to."""

    key: str
    """The answer's `id` as text: what makes a delivery idempotent (`90001` and `"90001"` are one)."""
    answer_id: Any
    """The answer's `id` as sent (a number in the documented shape)."""
    survey_id: Any
    survey_name: str | None
    page_id: Any
    page: str | None
    """The page's text (`name`)."""
    page_type: str | None
    """The page `type` as sent, e.g. `RatingQuestionPage`."""
    page_label: str
    """`rating`, `image choice`, ... (see `PAGE_TYPES`), else the type as sent, else `unknown`."""
    page_tag: Any
    variant_id: Any
    variant_name: str | None
    question_id: Any
    question: str | None
    """The question's text."""
    question_tag: Any
    kind: str
    """How the answer reads: `value` (rating, opinion scale, slider, NPS), `choice` (an `item`:
    multiple or image choice), `subject value` (multi rating), or `unknown` (kept verbatim)."""
    readable: str | None
    """The answer as a person reads it: `4`, `Live chat`, `Response time: 3`; None when unknown."""
    value: Any
    item: str | None
    """The chosen option's name."""
    subject: str | None
    """The rated subject's name (multi rating)."""
    comment: str | None
    created: str | None
    updated: str | None
    raw: dict[str, Any]
    """The answer object exactly as sent."""

    def record(self) -> dict[str, Any]:
        """The answer as the CRM shows it (every field but `key`)."""
        return {
            "answer_id": self.answer_id,
            "survey_id": self.survey_id,
            "survey_name": self.survey_name,
            "page_id": self.page_id,
            "page": self.page,
            "page_type": self.page_type,
            "page_label": self.page_label,
            "page_tag": self.page_tag,
            "variant_id": self.variant_id,
            "variant_name": self.variant_name,
            "question_id": self.question_id,
            "question": self.question,
            "question_tag": self.question_tag,
            "kind": self.kind,
            "answer": self.readable,
            "value": self.value,
            "item": self.item,
            "subject": self.subject,
            "comment": self.comment,
            "created": self.created,
            "updated": self.updated,
            "raw": self.raw,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """A usable delivery: the customer reference, the answers, and what could not be read."""

    customer: CustomerRef
    survey_id: Any
    survey_name: str | None
    event: str
    """`question completion` or `survey completion`: a guess from the shape (one page with one
    question, or more). Segmanta does not say, and the CRM treats both alike."""
    answers: tuple[Answer, ...]
    problems: tuple[str, ...]
    """Parts that could not be attached, one line each (at most 20, then a count)."""


def canonical(value: Any) -> str:
    """`value` as compact, key-sorted JSON: equal answers give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------------------------- reading


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _ident(value: Any) -> str | None:
    """An id as text: a non-empty string or an integer; anything else is no id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _scalar(value: Any) -> Any:
    """`value` when it is a JSON scalar, else None (ids and tags are scalars in the documented shape)."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else None


def _readable(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _name(holder: dict[str, Any], key: str) -> str | None:
    """The `name` of an `item` or `subject` object (documented `{id, name, tag}`)."""
    thing = holder.get(key)
    if not isinstance(thing, dict):
        return None
    name = thing.get("name")
    return name if isinstance(name, str) else None if name is None else _readable(name)


def _read_answer(raw: dict[str, Any], context: dict[str, Any]) -> Answer:
    item = _name(raw, "item")
    subject = _name(raw, "subject")
    value = raw.get("value")
    if item is not None:
        kind, readable = "choice", item
    elif subject is not None and "value" in raw:
        kind, readable = "subject value", f"{subject}: {_readable(value)}"
    elif "value" in raw:
        kind, readable = "value", _readable(value)
    else:
        kind, readable = "unknown", None
    return Answer(
        key=_ident(raw.get("id")) or "",
        answer_id=_scalar(raw.get("id")),
        kind=kind,
        readable=readable,
        value=value if "value" in raw else None,
        item=item,
        subject=subject,
        comment=_text(raw.get("comment")),
        created=_text(raw.get("created")),
        updated=_text(raw.get("updated")),
        raw=raw,
        **context,
    )


def _guess_event(pages: list[Any]) -> str:
    questions = [page.get("questions") for page in pages if isinstance(page, dict)]
    asked = sum(len(q) for q in questions if isinstance(q, list))
    return "question completion" if len(pages) == 1 and asked == 1 else "survey completion"


def read_delivery(body: bytes) -> Delivery:
    """The delivery in `body`, or `Unusable` saying why it can never be attached as it is."""
    try:
        # JSON on the wire is UTF-8 (RFC 8259); json.loads would also guess UTF-16 and UTF-32.
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise Unusable("body is not UTF-8 text") from None
    except ValueError as exc:
        raise Unusable(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise Unusable("body is JSON nested too deeply to read") from None
    if not isinstance(document, dict):
        raise Unusable(f"body is JSON but not an object (a {type(document).__name__})")
    params = document.get("custom_params")
    params = params if isinstance(params, dict) else {}
    customer = CustomerRef(_ident(params.get("crm_id")), _ident(params.get("seg_erid")))
    if customer.crm_id is None and customer.seg_erid is None:
        raise Unusable("no customer id: custom_params has neither crm_id nor seg_erid")
    pages = document.get("results")
    if not isinstance(pages, list):
        raise Unusable("results is not a list of question pages")
    survey = {"survey_id": _scalar(document.get("survey_id")), "survey_name": _text(document.get("survey_name"))}
    answers: list[Answer] = []
    problems: list[str] = []
    for p, page in enumerate(pages):
        if not isinstance(page, dict):
            problems.append(f"results[{p}] is not a question page")
            continue
        page_type = _text(page.get("type"))
        has_variant = page.get("has_variants") is True
        page_context = {
            **survey,
            "page_id": _scalar(page.get("id")),
            "page": _text(page.get("name")),
            "page_type": page_type,
            "page_label": PAGE_TYPES.get(page_type or "", page_type or "unknown"),
            "page_tag": _scalar(page.get("tag")),
            "variant_id": _scalar(page.get("variant_id")) if has_variant else None,
            "variant_name": _text(page.get("variant_name")) if has_variant else None,
        }
        questions = page.get("questions")
        if not isinstance(questions, list):
            problems.append(f"results[{p}] has no questions list")
            continue
        for q, question in enumerate(questions):
            where = f"results[{p}].questions[{q}]"
            if not isinstance(question, dict) or not isinstance(question.get("answers"), list):
                problems.append(f"{where} has no answers list")
                continue
            context = {
                **page_context,
                "question_id": _scalar(question.get("id")),
                "question": _text(question.get("text")),
                "question_tag": _scalar(question.get("tag")),
            }
            for a, raw in enumerate(question["answers"]):
                if not isinstance(raw, dict):
                    problems.append(f"{where}.answers[{a}] is not an answer object")
                elif _ident(raw.get("id")) is None:
                    problems.append(f"{where}.answers[{a}] has no id, so it cannot be attached exactly once")
                else:
                    answers.append(_read_answer(raw, context))
    if len(problems) > _PROBLEMS_KEPT:
        problems[_PROBLEMS_KEPT:] = [f"and {len(problems) - _PROBLEMS_KEPT} more"]
    return Delivery(
        customer=customer,
        survey_id=survey["survey_id"],
        survey_name=survey["survey_name"],
        event=_guess_event(pages),
        answers=tuple(answers),
        problems=tuple(problems),
    )
