"""The one gate for untrusted text: nothing that can act on a terminal gets through."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from hookbin.textsafe import safe, safe_bytes

DANGEROUS = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def test_escapes_are_visible_and_exact():
    assert safe("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert safe("\x00\x7f\x9b") == "\\x00\\x7f\\x9b"
    assert safe("bidi\u202eevil\u2066") == "bidi\\u202eevil\\u2066"
    assert safe("line\u2028sep") == "line\\u2028sep"
    assert safe("tab\there\nnext") == "tab\\x09here\\x0anext"
    assert safe("tab\there\nnext", multiline=True) == "tab\there\nnext"
    assert safe("caf\u00e9 [bold]ok[/bold] 😀") == "caf\u00e9 [bold]ok[/bold] 😀"  # printable stays as is


def test_undecodable_bytes_show_as_the_byte():
    assert safe_bytes(b"ok\xff\xfe") == "ok\\xff\\xfe"
    assert safe("\udcff") == "\\xff"


def test_limit_cuts_with_an_ellipsis():
    assert safe("x" * 10, limit=4) == "xxxx…"
    assert safe("xxxx", limit=4) == "xxxx"


@given(st.text(alphabet=st.characters(codec=None), max_size=200), st.booleans())
def test_nothing_dangerous_survives(text, multiline):
    out = safe(text, multiline=multiline)
    allowed = {"\n", "\t"} if multiline else set()
    for ch in out:
        if ch in allowed:
            continue
        assert unicodedata.category(ch) not in DANGEROUS or ch == " ", repr(ch)
        assert ch.isprintable()


@given(st.binary(max_size=200))
def test_any_bytes_become_printable_text(data):
    out = safe_bytes(data)
    assert out.isprintable()
    out.encode("utf-8")  # no lone surrogates left
