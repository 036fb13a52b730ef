"""`hookbin help specs`: the grammar as a user reads it, checked against the parser it explains."""

from __future__ import annotations

import re

import pytest

from hookbin.commands.common import ExitStatus
from hookbin.spec import parse_rule, parse_spec
from hookbin.topics import SPECS

# Every word the parser reads, and the modes and chance forms (spec.py's grammar).
WORDS = ["ok", "timeout", "close", "reset", "delay=", "drip=", "retry-after=", "delivery:", "global:", "% ", "else"]


@pytest.mark.parametrize("word", WORDS)
def test_every_word_of_the_grammar_is_explained(word):
    assert word in SPECS


def example_specs() -> list[str]:
    """The examples in the text: the first column of its two-column lines (`  500,500,200   fail …`)."""
    return [match.group(1) for match in re.finditer(r"^  (\S.*?) {2,}\S", SPECS, re.MULTILINE)]


def test_every_example_in_the_help_is_a_spec_the_parser_takes():
    examples = [e for e in example_specs() if e != "STATUS" and not e.endswith(("DURATION", "VALUE"))]
    assert "500,500,200" in examples and "30% 503 else 200 delay=1s" in examples and len(examples) >= 10
    for example in examples:
        parse_spec(example)
    rules = re.findall(r"--rule '([^']+)'", SPECS)
    assert len(rules) == 2
    for rule in rules:
        parse_rule(rule)


def test_help_specs_prints_the_grammar_and_serve_and_respond_point_to_it(invoke):
    result = invoke("help", "specs")
    assert result.exit_code == 0 and result.stdout == SPECS
    for command in ("serve", "respond"):
        assert "hookbin help specs" in invoke(command, "--help").stdout
    assert "specs" in invoke("help").stdout
    unknown = invoke("help", "rules")
    assert (
        unknown.exit_code == ExitStatus.USAGE and unknown.stderr == "hookbin: error: no help topic 'rules': try specs\n"
    )
