"""hookbin.jsonlines: `path = value` lines for any JSON body, and the short text of one value."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hookbin.jsonlines import compact, generic_lines, scalar_text


def test_generic_lines():
    doc = {"a": {"b": [{"c": "value"}, 2]}, "odd key": True, "": None, "e": {}, "l": [], "t": "x\ny"}
    assert generic_lines(doc) == [
        'a.b[0].c = "value"',
        "a.b[1] = 2",
        '["odd key"] = true',
        '[""] = null',
        "e = {}",
        "l = []",
        't = "x\\ny"',
    ]
    assert generic_lines(3.5) == ["(document) = 3.5"]
    assert generic_lines([[1], {"k": "v"}]) == ["[0][0] = 1", '[1].k = "v"']


def test_generic_lines_is_bounded():
    doc = {"items": [{"n": i, "s": "y" * 1000} for i in range(500)]}
    lines = generic_lines(doc, max_lines=10)
    assert len(lines) == 11
    assert lines[-1] == "… 990 more values not shown"
    assert lines[1].startswith('items[0].s = "yyy') and lines[1].endswith("…")
    assert len(lines[1]) < 150
    assert generic_lines({"k": "v"}, max_lines=0) == ['k = "v"']
    long_key = generic_lines({"k" * 500: 1})[0]
    assert len(long_key) < 100


def test_generic_lines_any_depth():
    deep: Any = "bottom"
    for _ in range(5000):
        deep = {"k": [deep]}
    shown = generic_lines(deep, max_lines=5)
    assert len(shown) == 1 and shown[0].endswith('= "bottom"') and "…" in shown[0]
    assert generic_lines([deep, deep], max_lines=1)[-1] == "… 1 more value not shown"


def test_what_json_reads_has_a_text():
    doc = json.loads('{"big": ' + "9" * 4300 + ', "nan": NaN, "inf": -Infinity, "u": "\\ud800"}')
    lines = generic_lines(doc, max_value=20)
    assert lines == ["big = " + "9" * 20 + "…", "nan = nan", "inf = -inf", 'u = "\ud800"']


def test_scalar_text_and_compact():
    assert [scalar_text(v) for v in ("x", None, True, False, 3, 1.5)] == ["x", "null", "true", "false", "3", "1.5"]
    assert scalar_text({"a": [1, "b"]}) == '{"a": [1, "b"]}'
    assert compact({"k": "v" * 500}, limit=20) == '{"k": "' + "v" * 13 + "…"
    nested: Any = 1
    for _ in range(10):
        nested = [nested]
    assert compact(nested) == "[" * 8 + "…" + "]" * 8  # seven levels opened, the eighth elided


json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=40,
).map(json.dumps)


@given(json_text, st.integers(0, 60))
@settings(max_examples=300)
def test_any_json_body_gives_bounded_lines(text, max_lines):
    lines = generic_lines(json.loads(text), max_lines=max_lines)
    assert 1 <= len(lines) <= max(1, max_lines) + 1
    assert all(isinstance(line, str) and "\n" not in line for line in lines)
