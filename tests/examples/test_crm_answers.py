"""examples/crm_receiver/answers.py on any body: it reads what it can, and never fails otherwise."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]


def _load_answers() -> Any:
    # The example is a script directory, not a package: load its module by path.
    spec = importlib.util.spec_from_file_location("crm_receiver_answers", ROOT / "examples/crm_receiver/answers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building the classes
    spec.loader.exec_module(module)
    return module


answers = _load_answers()

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["id", "name", "value", "item", "subject", "comment", "updated", "answers", "questions", "x"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)
answer_objects = (
    st.dictionaries(
        st.sampled_from(["id", "item", "subject", "value", "comment", "created", "updated", "text"]), json_values
    )
    | json_values
)
deliveries = st.fixed_dictionaries(
    {
        "custom_params": st.fixed_dictionaries({}, optional={"crm_id": json_values, "seg_erid": json_values})
        | json_values,
        "results": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from([*answers.PAGE_TYPES, "OpenTextQuestionPage"]) | json_values,
                    "has_variants": json_values,
                    "variant_id": json_values,
                    "id": json_values,
                    "name": json_values,
                    "questions": st.lists(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "answers": st.lists(answer_objects, max_size=3) | json_values,
                                "id": json_values,
                                "text": json_values,
                            },
                        )
                        | json_values,
                        max_size=3,
                    )
                    | json_values,
                },
            )
            | json_values,
            max_size=4,
        )
        | json_values,
    },
    optional={"survey_id": json_values, "survey_name": json_values},
)


def _answer_objects_in(document: Any) -> list[Any]:
    """Every answer object with a usable id, walking the documented shape."""
    found = []
    for page in document.get("results") if isinstance(document.get("results"), list) else []:
        questions = page.get("questions") if isinstance(page, dict) else None
        for question in questions if isinstance(questions, list) else []:
            if isinstance(question, dict) and isinstance(question.get("answers"), list):
                found += [a for a in question["answers"] if isinstance(a, dict) and answers._ident(a.get("id"))]
    return found


@settings(max_examples=300, deadline=None)
@given(deliveries)
def test_every_identified_answer_is_read_and_kept_verbatim(document):
    try:
        delivery = answers.read_delivery(json.dumps(document).encode())
    except answers.Unusable as exc:
        assert "\n" not in str(exc)
        return
    expected = _answer_objects_in(document)
    assert [a.raw for a in delivery.answers] == expected
    for answer in delivery.answers:
        record = answer.record()
        assert json.loads(answers.canonical(record)) == json.loads(json.dumps(record))
        assert answer.kind in ("value", "choice", "subject value", "unknown")
        assert (answer.readable is None) == (answer.kind == "unknown")
    assert delivery.event in ("question completion", "survey completion")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_read_or_refused_with_a_reason(body):
    try:
        answers.read_delivery(body)
    except answers.Unusable as exc:
        assert str(exc) and "\n" not in str(exc)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000, "body is JSON nested too deeply to read"),
        (b'{"custom_params": {"crm_id": "C"}, "results": [], "survey_id": NaN}', "body is not JSON: NaN is not JSON"),
        ('{"custom_params": {"crm_id": "C"}, "results": []}'.encode("utf-16"), "body is not UTF-8 text"),
        (
            b'{"custom_params": {"crm_id": true, "seg_erid": ""}, "results": []}',
            "no customer id: custom_params has neither crm_id nor seg_erid",
        ),
        (b'{"custom_params": {"crm_id": "C"}, "results": {}}', "results is not a list of question pages"),
    ],
)
def test_unusable_bodies_say_why(body, reason):
    with pytest.raises(answers.Unusable) as caught:
        answers.read_delivery(body)
    assert str(caught.value) == reason


def test_a_utf8_byte_order_mark_is_allowed_and_ids_are_compared_as_text():
    body = '\ufeff{"custom_params": {"crm_id": 1042}, "results": [{"questions": [{"answers": [{"id": " 7 "}]}]}]}'
    delivery = answers.read_delivery(body.encode())
    assert delivery.customer == answers.CustomerRef("1042", None)
    [answer] = delivery.answers
    assert (answer.key, answer.answer_id, answer.kind, answer.page_label) == ("7", " 7 ", "unknown", "unknown")
    assert delivery.event == "question completion"
