"""hookbin.segmanta: recognising and summarising Segmanta deliveries; the packaged samples."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookbin import segmanta
from hookbin.segmanta import looks_like_segmanta, summarize, summary_lines, survey_name_of

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "hookbin" / "samples"
EXAMPLES = ROOT / "examples" / "segmanta"
WARNINGS_HEAD = "Warnings (the delivery differs from the documented shape):"
TS = "2026-03-01T14:05:09.123456+00:00"


def load(kind: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"segmanta-{kind}.json").read_text(encoding="utf-8"))


def delivery(*pages: Any, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "custom_params": {"crm_id": "CUST-1042"},
        "results": list(pages),
        "survey_id": 1234,
        "survey_name": "Customer Satisfaction Survey",
    }
    doc.update(top)
    return doc


def page(type_: Any = "RatingQuestionPage", *answers: Any, name: Any = "Q?", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "has_variants": False,
        "id": 5012,
        "name": name,
        "questions": [{"answers": list(answers), "id": 7001, "tag": None, "text": name}],
        "tag": None,
        "type": type_,
    }
    result.update(extra)
    return result


def answer(**fields: Any) -> dict[str, Any]:
    return {"comment": "", "created": TS, "id": 90001, "updated": TS, **fields}


def body_lines(doc: Any) -> list[str]:
    """The summary lines after the three header lines."""
    summary = summarize(doc)
    assert summary is not None
    return summary_lines(summary)[3:]


# --------------------------------------------------------------------------- samples


def test_samples_are_valid_json_in_the_documented_shape():
    for kind in ("question", "survey"):
        doc = load(kind)
        assert sorted(doc) == ["custom_params", "results", "survey_id", "survey_name"]
        assert doc["survey_name"] == "Customer Satisfaction Survey"
        assert doc["custom_params"] == {"crm_id": "CUST-1042", "seg_erid": "u-88"}
        for item in doc["results"]:
            expected = {"has_variants", "id", "name", "questions", "tag", "type"}
            if item["has_variants"]:
                expected |= {"variant_id", "variant_name"}
            assert set(item) == expected
            for question in item["questions"]:
                assert set(question) == {"answers", "id", "tag", "text"}
                for ans in question["answers"]:
                    assert {"comment", "created", "id", "updated"} <= set(ans)
                    assert ans["created"].endswith("+00:00")


def test_examples_readme_says_synthetic_and_names_the_guess():
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    assert "MultiRatingQuestionPage" in text and "guess" in text
    assert "hookbin send --to" in text and "curl -X POST" in text


def test_pyproject_ships_the_samples():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "samples/*.json" in config["tool"]["setuptools"]["package-data"]["hookbin"]


def test_question_sample_summary():
    summary = summarize(load("question"))
    assert summary is not None
    assert summary.event_guess == "question"
    assert summary.event_guess_reason == (
        "1 answered page: looks like On question completion (a guess: Segmanta does not say)"
    )
    assert summary.answer_count == 1
    assert summary.warnings == ()
    assert summary_lines(summary) == [
        'Segmanta survey "Customer Satisfaction Survey" (id 1234)',
        "Event: On question completion (a guess from the shape: 1 answered page)",
        "Custom params: crm_id=CUST-1042, seg_erid=u-88",
        "1. How satisfied are you with our support?  [Rating, tag csat]",
        "     4",
    ]


def test_survey_sample_summary():
    summary = summarize(load("survey"))
    assert summary is not None
    assert summary.survey_id == "1234"
    assert summary.survey_name == "Customer Satisfaction Survey"
    assert summary.custom_params == (("crm_id", "CUST-1042"), ("seg_erid", "u-88"))
    assert summary.event_guess == "survey"
    assert summary.event_guess_reason == (
        "7 answered pages: looks like On survey completion (a guess: Segmanta does not say)"
    )
    assert summary.answer_count == 10
    assert summary.warnings == ()
    assert summary_lines(summary) == [
        'Segmanta survey "Customer Satisfaction Survey" (id 1234)',
        "Event: On survey completion (a guess from the shape: 7 answered pages)",
        "Custom params: crm_id=CUST-1042, seg_erid=u-88",
        "1. How satisfied are you with our support?  [Rating, tag csat]",
        "     4",
        "2. Which channel did you use?  [Image choice, Variant Two (51526)]",
        '     Live chat — comment: "fast"',
        "3. How likely are you to recommend us to a friend or colleague?  [NPS, tag nps]",
        "     9",
        "4. The agent understood my problem.  [Opinion scale]",
        "     5",
        "5. How long did you wait for an answer (minutes)?  [Slider]",
        "     12",
        "6. Rate each part of your experience  [Multi rating]",
        "     Response time: 3",
        "     Friendliness: 5",
        "     Solution quality: 4",
        "7. Tell us about your product  [Rating, tag product]",
        "   a. How easy is the product to use?  [tag ease]",
        '        4 — comment: "The setup wizard was confusing at first."',
        "   b. How well does it meet your needs?  [tag fit]",
        "        5",
    ]


def test_survey_sample_structured_fields():
    summary = summarize(load("survey"))
    assert summary is not None
    image = summary.pages[1]
    assert (image.id, image.type, image.type_label, image.variant) == (
        "5013",
        "ImageChoiceQuestionPage",
        "Image choice",
        "Variant Two (51526)",
    )
    chosen = image.questions[0].answers[0]
    assert (chosen.item, chosen.value, chosen.subject, chosen.comment) == ("Live chat", None, None, "fast")
    assert chosen.created == "2026-03-01T14:05:30.482910+00:00"
    multi = summary.pages[5].questions[0].answers
    assert [(a.subject, a.value, a.value_text) for a in multi] == [
        ("Response time", "3", "Response time: 3"),
        ("Friendliness", "5", "Friendliness: 5"),
        ("Solution quality", "4", "Solution quality: 4"),
    ]
    two = summary.pages[6]
    assert [q.tag for q in two.questions] == ["ease", "fit"]
    assert two.answer_count == 2
    slider = summary.pages[4].questions[0].answers[0]
    assert slider.updated == "2026-03-01T14:06:07.019342+00:00"


def test_survey_name_of():
    assert survey_name_of(load("survey")) == "Customer Satisfaction Survey"
    assert survey_name_of({"survey_name": "X", "results": []}) == "X"
    assert survey_name_of({"survey_name": 42, "results": []}) == "42"
    assert survey_name_of({"survey_name": None, "results": []}) is None
    assert survey_name_of({"survey_name": "Not a delivery"}) is None
    assert survey_name_of({"survey_name": ["x"], "results": []}) is None
    assert survey_name_of("text") is None


# --------------------------------------------------------------------------- page types


def test_every_documented_page_type_has_its_label():
    cases = [
        ("RatingQuestionPage", answer(value=4), "Rating", "4"),
        ("LikertQuestionPage", answer(value=2), "Opinion scale", "2"),
        ("SliderQuestionPage", answer(value=73.5), "Slider", "73.5"),
        ("NPSQuestionPage", answer(value=10), "NPS", "10"),
        ("ImageChoiceQuestionPage", answer(item={"id": 1, "name": "Cat", "tag": None}), "Image choice", "Cat"),
        (
            "MultiRatingQuestionPage",
            answer(subject={"id": 2, "name": "Speed", "tag": None}, value=3),
            "Multi rating",
            "Speed: 3",
        ),
    ]
    for type_, ans, label, shown in cases:
        assert body_lines(delivery(page(type_, ans))) == [f"1. Q?  [{label}]", f"     {shown}"], type_


def test_multiple_choice_type_name_is_unknown_so_it_is_shown_raw():
    doc = delivery(page("MultipleChoiceQuestionPage", answer(item={"id": 1, "name": "Email", "tag": "e"})))
    assert body_lines(doc) == ["1. Q?  [MultipleChoiceQuestionPage]", "     Email"]


def test_unknown_page_type_is_shown_raw_without_warning():
    doc = delivery(page("MatrixGridPage", answer(value=1)))
    summary = summarize(doc)
    assert summary is not None
    assert summary.pages[0].type == "MatrixGridPage"
    assert summary.pages[0].type_label == "MatrixGridPage"
    assert summary.warnings == ()


def test_page_type_missing_or_not_a_string():
    doc = delivery(page(None, answer(value=1)), page(17, answer(value=2)))
    summary = summarize(doc)
    assert summary is not None
    assert [(p.type, p.type_label) for p in summary.pages] == [(None, "Unknown"), (None, "Unknown")]
    assert summary.warnings == ("page 1: no type", "page 2: type is a number, expected a page type name")
    assert body_lines(doc)[2:5] == ["2. Q?  [Unknown]", "     unrecognised fields: type", "       type: 17"]


def test_variants():
    with_both = page(
        "ImageChoiceQuestionPage",
        answer(item={"name": "A"}),
        has_variants=True,
        variant_id=51526,
        variant_name="Variant Two",
    )
    id_only = page("RatingQuestionPage", answer(value=1), has_variants=True, variant_id=7)
    name_only = page("RatingQuestionPage", answer(value=1), has_variants=True, variant_name="B")
    neither = page("RatingQuestionPage", answer(value=1), has_variants=True)
    summary = summarize(delivery(with_both, id_only, name_only, neither))
    assert summary is not None
    assert [p.variant for p in summary.pages] == [
        "Variant Two (51526)",
        "variant 7",
        "B",
        "variant not given",
    ]
    assert summary.warnings == ("page 4: has_variants is true but no variant_id or variant_name",)
    assert summary_lines(summary)[3] == "1. Q?  [Image choice, Variant Two (51526)]"


def test_page_without_variants_has_none():
    summary = summarize(delivery(page("RatingQuestionPage", answer(value=1))))
    assert summary is not None and summary.pages[0].variant is None


# --------------------------------------------------------------------------- several questions and answers


def test_several_questions_and_answers_on_one_page():
    doc = delivery(
        {
            "has_variants": False,
            "id": 1,
            "name": "About you",
            "questions": [
                {
                    "answers": [answer(value=3), answer(value=4, comment="changed my mind")],
                    "id": 1,
                    "tag": "q1",
                    "text": "First?",
                },
                {"answers": [], "id": 2, "tag": None, "text": "Second?"},
                {"answers": [answer(item={"id": 9, "name": "Red", "tag": None})], "id": 3, "tag": None, "text": None},
            ],
            "tag": None,
            "type": "RatingQuestionPage",
        }
    )
    summary = summarize(doc)
    assert summary is not None
    assert summary.answer_count == 3
    assert summary.warnings == ()
    assert summary_lines(summary)[3:] == [
        "1. About you  [Rating]",
        "   a. First?  [tag q1]",
        "        3",
        '        4 — comment: "changed my mind"',
        "   b. Second?",
        "        (no answers)",
        "   c. (no question text)",
        "        Red",
    ]


def test_single_question_with_its_own_tag_shows_it_on_the_page_line():
    doc = delivery(page("NPSQuestionPage", answer(value=7)))
    doc["results"][0]["questions"][0]["tag"] = "nps-q"
    assert body_lines(doc)[0] == "1. Q?  [NPS, question tag nps-q]"


def test_event_guess_from_the_shape():
    one = summarize(delivery(page("RatingQuestionPage", answer(value=1))))
    unanswered = summarize(delivery(page("RatingQuestionPage"), page("RatingQuestionPage", answer(value=1))))
    empty = summarize(delivery())
    assert one is not None and unanswered is not None and empty is not None
    assert one.event_guess == "question"
    assert unanswered.event_guess == "survey"
    assert unanswered.event_guess_reason == (
        "2 pages, 1 answered: looks like On survey completion (a guess: Segmanta does not say)"
    )
    assert summary_lines(unanswered)[1] == "Event: On survey completion (a guess from the shape: 2 pages, 1 answered)"
    assert empty.event_guess == "survey"
    assert summary_lines(empty)[1:] == [
        "Event: On survey completion (a guess from the shape: no pages)",
        "Custom params: crm_id=CUST-1042",
        "(no pages)",
    ]


# --------------------------------------------------------------------------- malformed deliveries


def test_missing_results():
    assert summarize({"survey_id": 1, "survey_name": "S"}) is None  # too little to call it Segmanta
    summary = summarize({"survey_id": 1, "survey_name": "S", "custom_params": {}})
    assert summary is not None
    assert summary.pages == ()
    assert summary.warnings == ("no results",)
    assert summary_lines(summary) == [
        'Segmanta survey "S" (id 1)',
        "Event: On survey completion (a guess from the shape: no pages)",
        "Custom params: none",
        "(no pages)",
        WARNINGS_HEAD,
        "  - no results",
    ]


def test_results_not_a_list():
    summary = summarize({"survey_id": 1, "survey_name": "S", "results": "oops"})
    assert summary is not None
    assert summary.warnings == ("results is a string, not a list",)
    assert summary_lines(summary)[3:6] == ["unrecognised fields: results", "  results: oops", "(no pages)"]
    assert summarize({"results": "oops", "survey_id": 1}) is None  # one key is not enough here
    lone = summarize({"survey_id": 1, "survey_name": "S", "results": page("NPSQuestionPage", answer(value=8))})
    assert lone is not None
    assert [p.type_label for p in lone.pages] == ["NPS"]
    assert lone.warnings == ("results is an object, not a list; read as a list of one",)


def test_null_fields_everywhere():
    def nulled(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: nulled(child) for key, child in value.items()}
        if isinstance(value, list):
            return [nulled(child) for child in value]
        return None

    summary = summarize(nulled(load("survey")))
    assert summary is not None
    lines = summary_lines(summary)
    assert lines[:6] == [
        "Segmanta survey (no name)",
        "Event: On survey completion (a guess from the shape: 7 answered pages)",
        "Custom params: crm_id=null, seg_erid=null",
        "1. (no page text)  [Unknown]",
        "     (no answer value)",
        "2. (no page text)  [Unknown]",
    ]
    assert all(p.variant is None for p in summary.pages)
    assert "page 1: no type" in summary.warnings

    containers_nulled = {
        "custom_params": None,
        "results": [dict.fromkeys(page(), None)],
        "survey_id": None,
        "survey_name": None,
    }
    summary = summarize(containers_nulled)
    assert summary is not None
    assert summary_lines(summary)[3:5] == ["1. (no page text)  [Unknown]", "     (no questions)"]
    assert "page 1: questions is null, not a list" in summary.warnings


def test_strings_instead_of_numbers_read_the_same():
    doc = load("survey")
    doc["survey_id"] = "1234"
    for item in doc["results"]:
        item["id"] = str(item["id"])
        if "variant_id" in item:
            item["variant_id"] = str(item["variant_id"])
        for question in item["questions"]:
            for ans in question["answers"]:
                if "value" in ans:
                    ans["value"] = str(ans["value"])
    assert summary_lines(summarize(doc)) == summary_lines(summarize(load("survey")))


def test_answers_with_neither_item_nor_value():
    doc = delivery(page("RatingQuestionPage", answer(), answer(value=None, item=None), answer(comment="just a note")))
    assert body_lines(doc)[1:] == [
        "     (no answer value)",
        "     (no answer value)",
        '     (no answer value) — comment: "just a note"',
    ]


def test_item_and_subject_in_odd_shapes():
    doc = delivery(
        page(
            "ImageChoiceQuestionPage",
            answer(item="Plain text"),
            answer(item={"id": 12}),
            answer(item={}),
            answer(item={"name": ["a", "b"]}),
            answer(subject={"name": "Speed"}),
            answer(item={"name": "Cat"}, value=2),
        )
    )
    summary = summarize(doc)
    assert summary is not None
    assert [a.value_text for a in summary.pages[0].questions[0].answers] == [
        "Plain text",
        "item 12",
        "(item without a name)",
        "(item without a name)",
        "Speed",
        "Cat: 2",
    ]
    assert summary.warnings == (
        "page 1, answer 1: item is a string, expected an object",
        "page 1, answer 2: item has no name",
        "page 1, answer 3: item has no name",
        "page 1, answer 4: item.name is a list, expected a single value",
    )
    assert body_lines(doc)[4:7] == [
        "     (item without a name)",
        "       unrecognised fields: item.name",
        '         item.name: ["a", "b"]',
    ]


def test_non_dict_answers():
    doc = delivery(page("RatingQuestionPage", 4, None, ["x"], "Yes", True, answer(value=5)))
    summary = summarize(doc)
    assert summary is not None
    assert body_lines(doc)[1:8] == [
        "     4",
        "     null",
        '     ["x"]',
        "     Yes",
        "     true",
        "     5",
        WARNINGS_HEAD,
    ]
    assert summary.answer_count == 6
    assert summary.warnings == (
        "page 1, answer 1: a number, not an object; shown as the value",
        "page 1, answer 2: null, not an object; shown as the value",
        "page 1, answer 3: a list, not an object; shown as the value",
        "page 1, answer 4: a string, not an object; shown as the value",
        "page 1, answer 5: a boolean, not an object; shown as the value",
    )


def test_non_dict_pages_and_questions_are_shown_in_place_with_warnings():
    broken_questions = page("RatingQuestionPage")
    broken_questions["questions"] = ["text", {"answers": [answer(value=1)], "text": "Q?"}]
    doc = delivery(1, "two", None, broken_questions)
    summary = summarize(doc)
    assert summary is not None
    assert [p.number for p in summary.pages] == [1, 2, 3, 4]
    # Page N is results[N-1] in the display and in the warnings alike.
    assert summary_lines(summary)[3:] == [
        "1. (not a question page) 1",
        "2. (not a question page) two",
        "3. (not a question page) null",
        "4. Q?  [Rating]",
        "   a. (not a question) text",
        "   b. Q?",
        "        1",
        WARNINGS_HEAD,
        "  - page 1: a number, not an object",
        "  - page 2: a string, not an object",
        "  - page 3: null, not an object",
        "  - page 4, question a: a string, not an object",
    ]


def test_odd_top_level_fields():
    doc = delivery(
        page("RatingQuestionPage", answer(value=1)),
        custom_params=["crm_id", "x"],
        survey_id={"n": 1},
        survey_name=3.5,
        extra={"x": 1},
    )
    summary = summarize(doc)
    assert summary is not None
    assert summary.custom_params == ()
    assert summary_lines(summary)[:7] == [
        'Segmanta survey "3.5"',
        "Event: On question completion (a guess from the shape: 1 answered page)",
        "Custom params: none",
        "unrecognised fields: custom_params, survey_id, extra",
        '  custom_params: ["crm_id", "x"]',
        '  survey_id: {"n": 1}',
        '  extra: {"x": 1}',
    ]
    assert summary.warnings == (
        "survey_id is an object, expected a single value",
        "custom_params is a list, expected an object",
    )
    params = summarize(delivery(custom_params={"n": 5, "b": True, "o": {"k": [1]}, "z": None}))
    assert params is not None
    assert params.custom_params == (("n", "5"), ("b", "true"), ("o", '{"k": [1]}'), ("z", "null"))


def test_unknown_fields_are_shown_under_their_survey_page_and_answer():
    doc = load("survey")
    doc["respondent"] = {"id": "r-1"}
    doc["results"][0]["weight"] = 2
    doc["results"][0]["questions"][0]["answers"][0]["score"] = [1, 2]
    summary = summarize(doc)
    assert summary is not None
    assert summary.warnings == ()  # unknown fields are expected: flagged, not warned about
    assert summary_lines(summary)[3:11] == [
        "unrecognised fields: respondent",
        '  respondent: {"id": "r-1"}',
        "1. How satisfied are you with our support?  [Rating, tag csat]",
        "     unrecognised fields: weight",
        "       weight: 2",
        "     4",
        "       unrecognised fields: score",
        "         score: [1, 2]",
    ]
    assert summary_lines(summary)[11:] == summary_lines(summarize(load("survey")))[5:]


def test_line_breaks_and_long_text_stay_on_one_line():
    doc = delivery(page("RatingQuestionPage", answer(value=1, comment="a\r\nb\nc"), name="Line one\nline two"))
    lines = body_lines(doc)
    assert lines == ["1. Line one line two  [Rating]", '     1 — comment: "a b c"']
    long = body_lines(delivery(page("RatingQuestionPage", answer(value=1), name="x" * 5000)))
    assert len(long[0]) < 600 and "…" in long[0]


def test_deeply_nested_junk():
    deep: Any = "bottom"
    for _ in range(5000):
        deep = {"k": [deep]}
    doc = delivery(
        page("RatingQuestionPage", answer(value=deep, item={"name": deep}, comment=deep), name=deep, tag=deep),
        deep,
        custom_params={"deep": deep},
        survey_name=deep,
    )
    summary = summarize(doc)
    assert summary is not None
    lines = summary_lines(summary)
    assert all(len(line) < 1200 for line in lines)
    assert "results[1]: not an object, skipped" not in summary.warnings  # a dict: read as a page


def test_the_longest_integers_json_reads_are_cut_in_the_summary():
    digits = "9" * 4300  # the most digits json.loads reads (and str() writes back)
    doc = json.loads(
        json.dumps(delivery(page("RatingQuestionPage", answer(value=0))))
        .replace('"value": 0', f'"value": {digits}')
        .replace('"survey_id": 1234', f'"survey_id": -{digits}')
    )
    lines = summary_lines(summarize(doc))
    assert "(id -999" in lines[0] and len(lines[0]) < 600 and lines[0].endswith("…)")
    assert lines[-1].startswith("     999") and lines[-1].endswith("…")


# --------------------------------------------------------------------------- recognising


GITHUB_PUSH = {
    "ref": "refs/heads/main",
    "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "0000000000000000000000000000000000000000",
    "repository": {"id": 186853002, "name": "hello", "full_name": "octo/hello", "owner": {"login": "octo"}},
    "pusher": {"name": "octo", "email": "octo@example.com"},
    "commits": [{"id": "abc", "message": "Fix", "added": [], "removed": [], "modified": ["README.md"]}],
    "head_commit": None,
}
STRIPE_EVENT = {
    "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
    "object": "event",
    "api_version": "2022-11-15",
    "created": 1686089970,
    "data": {"object": {"id": "pi_3", "object": "payment_intent", "amount": 2000, "currency": "usd"}},
    "livemode": False,
    "pending_webhooks": 0,
    "request": {"id": None, "idempotency_key": None},
    "type": "payment_intent.succeeded",
}
STRIPE_LIST = {"object": "list", "url": "/v1/charges", "has_more": False, "data": [{"id": "ch_1", "amount": 100}]}
SEARCH_RESULTS = {"count": 2, "next": None, "results": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
QUIZ_RESULTS = {"results": [{"name": "Quiz 1", "questions": [{"text": "2+2?", "correct": True}]}]}
TYPEFORM = {
    "event_id": "01H",
    "event_type": "form_response",
    "form_response": {"form_id": "lT4Z3j", "answers": [{"type": "number", "number": 4}]},
}
SURVEYMONKEY = {"name": "My hook", "event_type": "response_completed", "resources": {"survey_id": "123"}}


def test_looks_like_segmanta_on_ordinary_json():
    for doc in (
        GITHUB_PUSH,
        STRIPE_EVENT,
        STRIPE_LIST,
        SEARCH_RESULTS,
        QUIZ_RESULTS,
        TYPEFORM,
        SURVEYMONKEY,
        {"results": [1, 2]},
        {"results": []},
        {"results": [{}]},
        {"results": None},
        {"survey_id": 5},
        [load("survey")],
        "survey_id",
        12,
        None,
        [],
    ):
        assert not looks_like_segmanta(doc), doc
        assert summarize(doc) is None
        assert survey_name_of(doc) is None


def test_looks_like_segmanta_on_deliveries():
    assert looks_like_segmanta(load("question"))
    assert looks_like_segmanta(load("survey"))
    assert looks_like_segmanta({"results": [], "survey_name": "S"})
    assert looks_like_segmanta({"results": [], "survey_id": None})
    assert looks_like_segmanta({"results": [{"type": "SomethingQuestionPage"}]})
    assert looks_like_segmanta({"results": [{"has_variants": False}]})
    assert looks_like_segmanta({"results": ["junk", {"questions": [{"answers": []}]}]})


def test_module_is_pure():
    source = Path(segmanta.__file__).read_text(encoding="utf-8")
    for name in ("aiohttp", "textual", "rich"):
        assert f"import {name}" not in source and f"from {name}" not in source
    assert segmanta.__doc__ and segmanta.__doc__.splitlines()[0].strip()


# --------------------------------------------------------------------------- never raises

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=40,
)
segmanta_keys = st.sampled_from(
    [
        "survey_id",
        "survey_name",
        "custom_params",
        "results",
        "questions",
        "answers",
        "item",
        "subject",
        "value",
        "comment",
        "type",
        "has_variants",
        "variant_id",
        "variant_name",
        "name",
        "text",
        "tag",
        "id",
    ]
)
segmanta_ish = st.recursive(
    json_scalars | st.sampled_from(["RatingQuestionPage", "ImageChoiceQuestionPage", "XQuestionPage"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(segmanta_keys, children, max_size=8),
    max_leaves=40,
)


def exercise(doc: Any) -> None:
    looks_like_segmanta(doc)
    survey_name_of(doc)
    summary = summarize(doc)
    if summary is not None:
        lines = summary_lines(summary)
        assert lines and all(isinstance(line, str) for line in lines)
        assert summary.event_guess in ("question", "survey")
        assert summary.answer_count == sum(p.answer_count for p in summary.pages)


@given(json_values)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_never_raises_on_arbitrary_json(doc):
    exercise(doc)
    exercise({"results": [doc], "survey_id": doc, "survey_name": doc, "custom_params": doc})


@given(segmanta_ish)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_never_raises_on_segmanta_like_json(doc):
    exercise(doc)
    exercise({"results": doc if isinstance(doc, list) else [doc], "survey_name": "S"})


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


SURVEY_PATHS = _paths(load("survey"))


@given(
    st.sampled_from(["question", "survey"]),
    st.lists(st.tuples(st.integers(0, len(SURVEY_PATHS) - 1), json_values), min_size=1, max_size=6),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_never_raises_on_samples_with_fields_replaced(kind, replacements):
    doc = copy.deepcopy(load(kind))
    for index, new in replacements:
        path = SURVEY_PATHS[index]
        if not path:
            continue
        target: Any = doc
        try:
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = new
        except (KeyError, IndexError, TypeError):
            continue  # the path no longer exists after an earlier replacement
    exercise(doc)
    if isinstance(doc.get("results"), list):
        assert summarize(doc) is not None
