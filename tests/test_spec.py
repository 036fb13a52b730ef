"""hookbin.spec: the response-spec and rule grammar, its data, canonical text and errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookbin import spec as spec_module
from hookbin.spec import (
    Rule,
    RuleError,
    Spec,
    SpecError,
    Step,
    parse_header_line,
    parse_rule,
    parse_spec,
)

# --------------------------------------------------------------------------- grammar: every word


def test_status_word():
    assert parse_spec("503").steps == (Step(status=503),)
    assert parse_spec("100").steps[0].status == 100
    assert parse_spec("599").steps[0].status == 599


def test_ok_is_200():
    assert parse_spec("ok") == parse_spec("200")


def test_status_defaults_to_200_when_only_other_words():
    assert parse_spec("delay=2s").steps == (Step(status=200, delay=2.0),)
    assert parse_spec("retry-after=5").steps[0].status == 200


def test_close_and_reset():
    assert parse_spec("close").steps == (Step(fault="close"),)
    assert parse_spec("reset").steps == (Step(fault="reset"),)
    assert parse_spec("close delay=5s").steps == (Step(fault="close", delay=5.0),)


def test_drip():
    assert parse_spec("drip=30s").steps == (Step(fault="drip", drip=30.0),)
    assert parse_spec("500 drip=1m").steps == (Step(status=500, fault="drip", drip=60.0),)


def test_delay_any_length():
    assert parse_spec("200 delay=65s").steps[0].delay == 65.0
    assert parse_spec("delay=10m").steps[0].delay == 600.0
    assert parse_spec("delay=250ms").steps[0].delay == 0.25
    assert parse_spec("delay=1m30s").steps[0].delay == 90.0


def test_timeout_is_a_ten_minute_delay():
    assert parse_spec("timeout") == parse_spec("delay=10m")
    assert parse_spec("504 timeout").steps == (Step(status=504, delay=600.0),)


def test_retry_after_seconds_and_date_as_given():
    assert parse_spec("429 retry-after=30").steps == (Step(status=429, retry_after="30"),)
    spec = parse_spec("503 retry-after=Wed, 21 Oct 2015 07:28:00 GMT,200")
    assert spec.steps == (
        Step(status=503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),
        Step(status=200),
    )


def test_retry_after_value_keeps_its_case():
    spec = parse_spec("RETRY-AFTER=Wed, 21 Oct 2015 07:28:00 GMT")
    assert spec.steps[0].retry_after == "Wed, 21 Oct 2015 07:28:00 GMT"


def test_words_are_case_insensitive_and_spacing_is_free():
    assert parse_spec("  GLOBAL :  500  DELAY=2S ,  Close ,OK  ") == Spec(
        steps=(Step(status=500, delay=2.0), Step(fault="close"), Step()),
        mode="global",
    )


def test_sequence_and_modes():
    assert parse_spec("500,500,200").steps == (Step(500), Step(500), Step(200))
    assert parse_spec("500,500,200").mode == "delivery"
    assert parse_spec("delivery: 500,200").mode == "delivery"
    assert parse_spec("global:500,200").mode == "global"


def test_chance():
    spec = parse_spec("30% 503")
    assert spec.chance == pytest.approx(0.3)
    assert spec.steps == (Step(503),)
    assert spec.else_step == Step()
    spec = parse_spec("30% 503 else 200 delay=1s")
    assert spec.else_step == Step(200, delay=1.0)
    assert parse_spec("0% 500").chance == 0.0
    assert parse_spec("100% 500").chance == 1.0
    assert parse_spec("2.5% reset else 204").chance == pytest.approx(0.025)


# --------------------------------------------------------------------------- canonical text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("200", "200"),
        ("ok", "200"),
        ("500, 500 ,200", "500,500,200"),
        ("429 RETRY-AFTER=30", "429 retry-after=30"),
        ("retry-after=30 429", "429 retry-after=30"),
        ("200 delay=65s", "200 delay=1m5s"),
        ("delay=90", "200 delay=1m30s"),
        ("timeout", "200 delay=10m"),
        ("drip=2s", "200 drip=2s"),
        ("delay=5s close", "close delay=5s"),
        ("reset", "reset"),
        ("delivery: 500,200", "500,200"),
        ("Global:503", "global: 503"),
        ("30% 503", "30% 503"),
        ("30%   503   ELSE   200 delay=1s", "30% 503 else 200 delay=1s"),
        ("30% 503 else ok", "30% 503"),
        ("7% 500", "7% 500"),
        (
            "503 retry-after=Wed,  21 Oct 2015 07:28:00 GMT, 200",
            "503 retry-after=Wed,  21 Oct 2015 07:28:00 GMT,200",
        ),
    ],
)
def test_canonical_text(text, canonical):
    spec = parse_spec(text)
    assert spec.text == canonical
    assert str(spec) == canonical
    assert parse_spec(canonical) == spec
    assert parse_spec(canonical).text == canonical


def test_step_and_rule_text():
    assert Step(429, delay=2.0, retry_after="30").text == "429 delay=2s retry-after=30"
    assert str(Step()) == "200"
    rule = parse_rule("post  /segmanta/*   =>  500, 500, 200")
    assert rule.text == "POST /segmanta/* => 500,500,200"
    assert str(rule) == rule.text
    assert parse_rule(rule.text) == rule


def test_spec_built_directly_has_canonical_text():
    spec = Spec(steps=(Step(500), Step(200)), mode="global")
    assert spec.text == "global: 500,200"
    assert parse_spec(spec.text) == spec
    assert Spec(steps=(Step(503),), chance=0.3) == parse_spec("30% 503")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Step(status=600),
        lambda: Step(status=500, fault="close"),
        lambda: Step(fault="explode"),
        lambda: Step(delay=-1),
        lambda: Step(fault="reset", retry_after="5"),
        lambda: Step(retry_after="a,b"),
        lambda: Spec(steps=()),
        lambda: Spec(mode="sometimes"),
        lambda: Spec(chance=1.5),
        lambda: Spec(steps=(Step(), Step()), chance=0.5),
        lambda: Spec(else_step=Step(500)),
    ],
)
def test_invalid_data_is_refused(make):
    with pytest.raises(ValueError):
        make()


# --------------------------------------------------------------------------- errors


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    return str(info.value)


def test_error_messages_exact():
    assert _error("5x3") == (
        "bad response spec '5x3': '5x3' is not a status (100-599), close, reset, ok, timeout, "
        "delay=, drip= or retry-after="
    )
    assert _error("500 close") == "bad response spec '500 close': close does not send a status ('500 close')"
    assert _error("reset 404") == "bad response spec 'reset 404': reset does not send a status ('reset 404')"
    assert _error("500 404") == "bad response spec '500 404': two statuses in one step ('500 404')"
    assert _error("delay=2x") == "bad response spec 'delay=2x': bad duration '2x': use e.g. 250ms, 2s, 1m30s"
    assert _error("") == "bad response spec '': empty; use e.g. 200, 500,500,200 or 30% 503"
    assert _error("sometimes: 500") == (
        "bad response spec 'sometimes: 500': unknown mode 'sometimes': use delivery: or global:"
    )


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("600", "'600'"),
        ("99", "'99'"),
        ("500,banana,200", "'banana'"),
        ("500,5x3", "'5x3'"),
        ("ok 500", "two statuses"),
        ("close 500", "close does not send a status"),
        ("close reset", "'close reset'"),
        ("close drip=1s", "'close drip=1s'"),
        ("delay=1s delay=2s", "two delays"),
        ("timeout delay=2s", "two delays"),
        ("retry-after=1 retry-after=2", "retry-after= given twice"),
        ("retry-after=", "retry-after= needs a value"),
        ("close retry-after=5", "retry-after="),
        ("drip=forever", "'forever'"),
        ("delay=-1s", "'-1s'"),
        ("500,,200", "empty step"),
        ("500,", "empty step"),
        (",500", "empty step"),
        ("global:", "no steps after 'global:'"),
        ("   ", "empty"),
        ("130% 503", "chance 130% is not between 0% and 100%"),
        ("x% 503", "'x%'"),
        ("30%", "'30%' needs a step"),
        ("30% 503 else", "'else' needs a step"),
        ("30% 503 else 200 else 500", "'else' given twice"),
        ("30% 503,200", "no sequence"),
        ("global: 30% 503", "takes no mode"),
        ("500 else 200", "'else' only follows a chance"),
        ("500,30% 503", "'30%'"),
        ("bogus: 500", "unknown mode 'bogus'"),
        ("retry-after:30", "'retry-after:' should be 'retry-after='"),
    ],
)
def test_error_names_the_bad_part(text, bad_part):
    message = _error(text)
    assert message.startswith(f"bad response spec {text!r}: ")
    assert bad_part in message
    assert "\n" not in message


def test_error_is_a_value_error_and_one_line_even_for_newlines():
    message = _error("500\n5x3")
    assert "\n" not in message
    assert issubclass(SpecError, ValueError)


def test_rule_errors():
    with pytest.raises(RuleError) as info:
        parse_rule("POST /x 500")
    assert str(info.value) == "bad rule 'POST /x 500': missing '=>', write e.g. 'POST /hooks/* => 500,200'"
    with pytest.raises(RuleError, match=r"^bad rule '/x => 5x3': '5x3' is not a status"):
        parse_rule("/x => 5x3")
    with pytest.raises(RuleError, match="missing the response spec"):
        parse_rule("/x =>")
    with pytest.raises(RuleError, match="missing the path glob"):
        parse_rule("=> 500")
    with pytest.raises(RuleError, match="glob 'POST' never matches"):
        parse_rule("POST => 500")
    with pytest.raises(RuleError, match="is not \\[METHOD\\] GLOB"):
        parse_rule("POST /x /y => 500")
    with pytest.raises(RuleError, match="'P\\(ST' is not an HTTP method"):
        parse_rule("P(ST /x => 500")
    assert issubclass(RuleError, SpecError)


# --------------------------------------------------------------------------- rules


def test_parse_rule_forms():
    expected = Rule("POST", "/segmanta/*", parse_spec("500,500,200"))
    assert parse_rule("POST /segmanta/* => 500,500,200") == expected
    assert parse_rule("/health => 200") == Rule(None, "/health", parse_spec("200"))
    rule = parse_rule("* /x/** => 503")
    assert rule.method is None
    assert rule.text == "/x/** => 503"
    assert parse_rule("GET /r=>global:500,200").spec.mode == "global"


def test_rule_glob_matches_across_slashes_and_method_filter():
    rule = parse_rule("POST /hooks/* => 500")
    assert rule.matches("POST", "/hooks/a")
    assert rule.matches("post", "/hooks/a/b/c")
    assert not rule.matches("GET", "/hooks/a")
    assert not rule.matches("POST", "/other/hooks/a")
    assert not rule.matches("POST", "/HOOKS/a")
    any_method = parse_rule("/x?/[ab] => 200")
    assert any_method.matches("PUT", "/x1/a")
    assert not any_method.matches("PUT", "/x1/c")


# --------------------------------------------------------------------------- header lines


def test_parse_header_line():
    assert parse_header_line("X-Test: 1") == ("X-Test", "1")
    assert parse_header_line("X-Empty:") == ("X-Empty", "")
    assert parse_header_line("Link:  <a>; rel=next  ") == ("Link", "<a>; rel=next")
    assert parse_header_line("X-Time: 12:30") == ("X-Time", "12:30")


@pytest.mark.parametrize(
    ("line", "bad_part"),
    [
        ("no colon here", "no ':'"),
        (": value", "empty name"),
        ("Bad Name: 1", "'Bad Name' is not a header name"),
        ("X-A\x01: 1", "is not a header name"),
        ("X-A: 1\r\nX-Injected: 2", "line break"),
        ("X-A: 1\n", "line break"),
    ],
)
def test_parse_header_line_rejects(line, bad_part):
    with pytest.raises(SpecError) as info:
        parse_header_line(line)
    message = str(info.value)
    assert message.startswith(f"bad header {line!r}")
    assert bad_part in message
    assert "\n" not in message


# --------------------------------------------------------------------------- the module itself


def test_docstring_documents_the_grammar():
    doc = spec_module.__doc__
    assert doc.splitlines()[0].startswith("What to answer, as text")
    for line in (
        'spec   := [mode ":"] steps | chance',
        'mode   := "delivery" | "global"            (default: delivery)',
        'chance := PERCENT "%" " " step [" else " step]',
        '"retry-after=" VALUE',
    ):
        assert line in doc


# --------------------------------------------------------------------------- properties

_GRAMMAR_ALPHABET = "0123456789 ,:%=.-abcdefghiklmnoprstuwyABCDEGKLORST\t"
_WORDS = [
    "200",
    "500",
    "429",
    "503",
    "ok",
    "OK",
    "close",
    "reset",
    "timeout",
    "else",
    "30%",
    "100%",
    "0.5%",
    "delay=2s",
    "delay=1m30s",
    "DELAY=250ms",
    "drip=5s",
    "retry-after=30",
    "retry-after=Wed, 21 Oct 2015 07:28:00 GMT",
    "global:",
    "delivery:",
    ",",
    ":",
    "%",
    "=",
    "delay=",
    "drip=x",
    "600",
    "5x3",
    "",
]


@settings(max_examples=300)
@given(st.one_of(st.text(), st.text(alphabet=_GRAMMAR_ALPHABET)))
def test_parse_spec_raises_only_spec_error(text):
    try:
        spec = parse_spec(text)
    except SpecError as exc:
        assert "\n" not in str(exc)
    else:
        assert parse_spec(spec.text) == spec


@settings(max_examples=300)
@given(st.lists(st.sampled_from(_WORDS), max_size=8), st.sampled_from([" ", "  ", ",", " , ", "\t"]))
def test_parse_spec_on_word_soup_raises_only_spec_error(words, separator):
    text = separator.join(words)
    try:
        spec = parse_spec(text)
    except SpecError:
        return
    assert parse_spec(spec.text) == spec
    assert parse_spec(spec.text).text == spec.text


_seconds = st.one_of(
    st.just(0.0),
    st.sampled_from([0.25, 1.5, 65.0, 90.0, 600.0, 3600.5]),
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
)
_retry_after = st.one_of(
    st.none(),
    st.integers(0, 10**6).map(str),
    st.just("Wed, 21 Oct 2015 07:28:00 GMT"),
    st.just("Sunday, 06-Nov-94 08:49:37 GMT"),
    st.just("Sun Nov  6 08:49:37 1994"),
)


@st.composite
def _steps(draw):
    kind = draw(st.sampled_from([None, "close", "reset", "drip"]))
    delay = draw(_seconds)
    if kind in ("close", "reset"):
        return Step(fault=kind, delay=delay)
    return Step(
        status=draw(st.integers(100, 599)),
        delay=delay,
        fault=kind,
        drip=draw(_seconds) if kind == "drip" else 0.0,
        retry_after=draw(_retry_after),
    )


@st.composite
def _specs(draw):
    if draw(st.booleans()):
        return Spec(
            steps=tuple(draw(st.lists(_steps(), min_size=1, max_size=5))),
            mode=draw(st.sampled_from(["delivery", "global"])),
        )
    percent = draw(st.one_of(st.integers(0, 100), st.decimals(0, 100, places=3, allow_nan=False)))
    return Spec(
        steps=(draw(_steps()),),
        chance=float(percent) / 100,
        else_step=draw(st.one_of(st.none(), _steps())),
    )


@settings(max_examples=300)
@given(_specs())
def test_canonical_text_reparses_to_an_equal_spec(spec):
    again = parse_spec(spec.text)
    assert again == spec
    assert again.text == spec.text


@settings(max_examples=200)
@given(_specs(), st.sampled_from(["GET", "POST", "*", None]), st.sampled_from(["/", "/x/*", "/a/**/b", "*"]))
def test_rule_text_reparses_to_an_equal_rule(spec, method, glob):
    rule = Rule(method, glob, spec)
    assert parse_rule(rule.text) == rule
