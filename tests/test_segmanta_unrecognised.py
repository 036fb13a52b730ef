"""hookbin.segmanta never hides what arrived: fields it does not understand are shown as they
came, flagged, under their answer, question, page or the survey; the JSON form carries them."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookbin.jsonlines import quote, scalar_text
from hookbin.segmanta import TYPE_LABELS, summarize, summary_lines, summary_rows, survey_label
from tests.test_segmanta import TS, answer, delivery, load, page

FREE_TEXT = {"id": 9, "answer_text": "call me back about my invoice"}  # the shape from issue 8


def lines_of(doc: Any) -> list[str]:
    summary = summarize(doc)
    assert summary is not None
    return summary_lines(summary)


# --------------------------------------------------------------------------- shown and flagged


def test_a_free_text_answer_under_an_unknown_key_is_shown_not_hidden():
    doc = delivery(page("FreeTextQuestionPage", FREE_TEXT, name="Anything else?"))
    assert lines_of(doc)[3:] == [
        "1. Anything else?  [FreeTextQuestionPage]",
        "     (no answer value in a known field)",
        "       unrecognised fields: answer_text",
        "         answer_text: call me back about my invoice",
    ]
    summary = summarize(doc)
    assert summary is not None and summary.warnings == ()
    assert summary.pages[0].questions[0].answers[0].unrecognised == (("answer_text", "call me back about my invoice"),)


def test_an_answer_with_nothing_at_all_still_says_no_answer_value():
    assert lines_of(delivery(page("RatingQuestionPage", answer())))[4:] == ["     (no answer value)"]


def test_unknown_fields_of_an_item_are_named_with_the_item():
    chosen = answer(item={"id": 4, "name": "Other", "tag": None, "other_text": "by carrier pigeon"})
    assert lines_of(delivery(page("ImageChoiceQuestionPage", chosen)))[4:] == [
        "     Other",
        "       unrecognised fields: item.other_text",
        "         item.other_text: by carrier pigeon",
    ]


def test_an_answer_with_both_subject_and_item_shows_both():
    both = answer(subject={"name": "Speed"}, item={"id": 3, "name": "Fast"}, value=2)
    assert lines_of(delivery(page("MultiRatingQuestionPage", both)))[4:] == ["     Speed / Fast: 2"]


def test_fields_keep_their_arrival_order_and_values_their_json_form():
    odd = {"z": 1, "comment": "", "item": {"name": "A", "q": None}, "value": {"x": [1, "two"]}, "a": True}
    lines = lines_of(delivery(page("ImageChoiceQuestionPage", odd)))
    assert lines[4:10] == [
        "     A",
        "       unrecognised fields: z, item.q, value, a",
        "         z: 1",
        "         item.q: null",
        '         value: {"x": [1, "two"]}',
        "         a: true",
    ]
    assert lines[11] == "  - page 1, answer 1: value is an object, expected a single value"


def test_question_fields_on_a_merged_page_and_on_a_page_of_several_questions():
    merged = page("RatingQuestionPage", answer(value=3))
    merged["questions"][0]["hint"] = "1 is worst"
    several = page("RatingQuestionPage", name="About you")
    several["questions"] = [
        {"answers": [answer(value=1)], "id": 1, "tag": None, "text": "First?", "hint": "be honest"},
        {"answers": [], "id": 2, "tag": None, "text": "Second?", "required": False},
    ]
    assert lines_of(delivery(merged, several))[3:] == [
        "1. Q?  [Rating]",
        "     unrecognised fields: question.hint",
        "       question.hint: 1 is worst",
        "     3",
        "2. About you  [Rating]",
        "   a. First?",
        "        unrecognised fields: hint",
        "          hint: be honest",
        "        1",
        "   b. Second?",
        "        unrecognised fields: required",
        "          required: false",
        "        (no answers)",
    ]


def test_bookkeeping_of_the_wrong_kind_is_shown_not_dropped():
    odd = page("RatingQuestionPage", answer(value=2, id=[1, 2], created={"at": "noon"}), has_variants="yes")
    lines = lines_of(delivery(odd))
    assert lines[3:11] == [
        "1. Q?  [Rating]",
        "     unrecognised fields: has_variants",
        "       has_variants: yes",
        "     2",
        "       unrecognised fields: created, id",
        '         created: {"at": "noon"}',
        "         id: [1, 2]",
        "Warnings (the delivery differs from the documented shape):",
    ]
    assert lines[11:] == [
        "  - page 1: has_variants is a string, expected true or false",
        "  - page 1, answer 1: id is a list, expected a single value",
        "  - page 1, answer 1: created is an object, expected a single value",
    ]  # warnings in the order the summary reads; the fields above in the order they arrived


def test_warnings_use_the_page_numbers_of_the_display():
    two = page("RatingQuestionPage", name="Two questions")
    two["questions"] = [
        {"answers": [answer(value=1), answer(item=[1])], "text": "A?"},
        {"answers": [answer(value=[2])], "text": "B?"},
    ]
    doc = delivery("junk", page(None, answer(value=5)), two)
    lines = lines_of(doc)
    assert [line for line in lines if line[:2] in ("1.", "2.", "3.")] == [
        "1. (not a question page) junk",
        "2. Q?  [Unknown]",
        "3. Two questions  [Rating]",
    ]
    assert lines[lines.index("Warnings (the delivery differs from the documented shape):") + 1 :] == [
        "  - page 1: a string, not an object",
        "  - page 2: no type",
        "  - page 3, question a, answer 2: item is a list, expected an object",
        "  - page 3, question b, answer 1: value is a list, expected a single value",
    ]


def test_long_and_multiline_unknown_values_stay_on_one_bounded_line():
    doc = delivery(page("RatingQuestionPage", answer(value=1, note="line one\nline two", blob="x" * 5000)))
    lines = lines_of(doc)
    assert "         note: line one line two" in lines
    blob = next(line for line in lines if line.startswith("         blob: "))
    assert len(blob) < 600 and blob.endswith("x…")


def test_rows_mark_only_the_flag_lines_a_sender_cannot_fake_one():
    doc = delivery(page("RatingQuestionPage", answer(value="unrecognised fields: fake", note="n")))
    summary = summarize(doc)
    assert summary is not None
    flagged = [line for line, flag in summary_rows(summary) if flag]
    assert flagged == ["       unrecognised fields: note"]
    assert "     unrecognised fields: fake" in summary_lines(summary)


# --------------------------------------------------------------------------- the JSON form


def test_to_dict_carries_everything_read_and_the_unrecognised_values_as_they_came():
    doc = delivery(page("FreeTextQuestionPage", FREE_TEXT), respondent={"ip": "203.0.113.9", "tries": [1, 2]})
    summary = summarize(doc)
    assert summary is not None
    form = json.loads(json.dumps(summary.to_dict()))
    assert form["survey_id"] == "1234" and form["answer_count"] == 1
    assert form["unrecognised"] == [["respondent", {"ip": "203.0.113.9", "tries": [1, 2]}]]
    only = form["pages"][0]
    assert (only["number"], only["type"], only["merged"], only["stray"]) == (1, "FreeTextQuestionPage", True, None)
    given = only["questions"][0]["answers"][0]
    assert given["id"] == "9" and given["value_text"] == "(no answer value in a known field)"
    assert given["unrecognised"] == [["answer_text", "call me back about my invoice"]]
    assert form["lines"] == summary_lines(summary)
    full = summarize(load("survey"))
    assert full is not None
    first = full.to_dict()["pages"][0]["questions"][0]["answers"][0]
    assert (first["id"], first["created"], first["value"]) == ("90001", "2026-03-01T14:05:09.123456+00:00", "4")


def test_to_dict_writes_a_too_deep_unknown_value_as_text():
    deep: Any = "bottom"
    for _ in range(300):
        deep = [deep]
    summary = summarize(delivery(page("RatingQuestionPage", answer(value=1, deep=deep))))
    assert summary is not None
    written = summary.to_dict()["pages"][0]["questions"][0]["answers"][0]["unrecognised"]
    assert written[0][0] == "deep" and isinstance(written[0][1], str) and written[0][1].startswith("[[[")
    json.dumps(summary.to_dict(), indent=2)


# --------------------------------------------------------------------------- ls


def test_survey_label_falls_back_to_the_id():
    assert survey_label(load("survey")) == "Customer Satisfaction Survey"
    assert survey_label({"survey_id": 1234, "results": []}) == "survey id 1234"
    assert survey_label({"survey_id": 1234, "survey_name": None, "results": []}) == "survey id 1234"
    assert survey_label({"survey_id": {"x": 1}, "survey_name": ["n"], "results": []}) is None
    assert survey_label({"survey_id": 1234}) is None  # not recognised as Segmanta
    assert survey_label("text") is None


# --------------------------------------------------------------------------- the property


small_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16)
# Any JSON value, small enough that a flagged value is never cut at 500 characters.
anything = st.recursive(
    small_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
).filter(lambda value: len(json.dumps(value, ensure_ascii=False)) < 400)


def either(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The documented kind of value, or anything at all."""
    return right | anything


named = st.fixed_dictionaries(
    {}, optional={"id": either(st.integers()), "name": either(st.text(max_size=16)), "tag": anything, "other": anything}
)
an_answer = st.fixed_dictionaries(
    {},
    optional={
        "comment": either(st.text(max_size=16)),
        "created": either(st.just(TS)),
        "id": either(st.integers()),
        "item": named | anything,
        "subject": named | anything,
        "updated": either(st.just(TS)),
        "value": either(st.integers()),
        "answer_text": anything,
        "extra": anything,
    },
)
a_question = st.fixed_dictionaries(
    {},
    optional={
        "answers": st.lists(an_answer | anything, max_size=3) | anything,
        "id": either(st.integers()),
        "tag": either(st.none()),
        "text": either(st.text(max_size=16)),
        "hint": anything,
    },
)
a_page = st.fixed_dictionaries(
    {},
    optional={
        "has_variants": either(st.booleans()),
        "id": either(st.integers()),
        "name": either(st.text(max_size=16)),
        "questions": st.lists(a_question | anything, max_size=3) | a_question | anything,
        "tag": either(st.none()),
        "type": either(st.sampled_from([*TYPE_LABELS, "FreeTextQuestionPage"])),
        "variant_id": either(st.integers()),
        "variant_name": either(st.text(max_size=16)),
        "weight": anything,
    },
)
shaped_results = st.lists(a_page | anything, max_size=4) | a_page | anything

# What the summary reads at each level; what it reads and leaves out of the text (ids, times,
# has_variants, a known type shown by its label); and which keys hold the next level.
KNOWN = {
    "page": {"has_variants", "id", "name", "questions", "tag", "type", "variant_id", "variant_name"},
    "question": {"answers", "id", "tag", "text"},
    "answer": {"comment", "created", "id", "item", "subject", "updated", "value"},
    "named": {"id", "name", "tag"},
}
LEFT_OUT = {"page": {"id"}, "question": {"id"}, "answer": {"id", "created", "updated"}, "named": {"id", "tag"}}
LIST_OF = {"results": "page", "questions": "question", "answers": "answer"}


def scalars(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for child in value.values() for leaf in scalars(child)]
    if isinstance(value, list):
        return [leaf for child in value for leaf in scalars(child)]
    return [value]


def must_show(value: Any, role: str) -> list[Any]:
    """The scalars under `value` (at `role` in the documented shape) that the text must show."""
    if role in LIST_OF:
        if isinstance(value, (list, dict)):
            items = value if isinstance(value, list) else [value]
            return [leaf for item in items for leaf in must_show(item, LIST_OF[role] if isinstance(item, dict) else "")]
        return [] if value is None else [value]  # null is "not given"; anything else is flagged
    if not role or not isinstance(value, dict):
        return scalars(value)  # not understood: shown whole
    found: list[Any] = []
    for key, child in value.items():
        if key not in KNOWN[role]:
            found += scalars(child)
        elif child is None:
            continue
        elif key in ("questions", "answers"):
            found += must_show(child, key)
        elif key in ("item", "subject"):
            found += must_show(child, "named")
        elif isinstance(child, (dict, list)):
            found += scalars(child)
        elif key == "has_variants":
            found += [] if isinstance(child, bool) else [child]
        elif key == "type":
            found += [] if child in TYPE_LABELS else [child]
        elif key not in LEFT_OUT[role]:
            found.append(child)
    return found


def one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def assert_every_scalar_shown(doc: dict[str, Any]) -> None:
    summary = summarize(doc)
    assert summary is not None
    text = "\n".join(summary_lines(summary))
    expected = must_show(doc["results"], "results") + scalars({k: v for k, v in doc.items() if k == "extra"})
    for leaf in expected:
        forms = [one_line(scalar_text(leaf))] + ([quote(leaf)] if isinstance(leaf, str) else [])
        assert any(form in text for form in forms), (leaf, text)


@given(anything)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_every_scalar_under_results_is_shown_for_any_json(results):
    assert_every_scalar_shown({"survey_id": 1, "survey_name": "S", "results": results})


@given(shaped_results, st.none() | anything)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_every_scalar_under_results_is_shown_for_loosely_shaped_deliveries(results, extra):
    assert_every_scalar_shown({"survey_id": 1, "survey_name": "S", "results": results, "extra": extra})


def relabel(value: Any, counter: list[int]) -> Any:
    """Every string and number replaced by a token that occurs nowhere else."""
    if isinstance(value, dict):
        return {key: relabel(child, counter) for key, child in value.items()}
    if isinstance(value, list):
        return [relabel(child, counter) for child in value]
    if isinstance(value, bool) or value is None:
        return value
    counter[0] += 1
    return f"tok{counter[0]:04d}x" if isinstance(value, str) else 9_000_000 + counter[0]


@given(shaped_results, st.none() | anything)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_every_distinct_value_under_results_is_shown(results, extra):
    # Unique tokens make "appears in the text" exact: no value can pass by matching another.
    doc = relabel({"survey_id": 1, "survey_name": "S", "results": results, "extra": extra}, [0])
    assert_every_scalar_shown(doc)
