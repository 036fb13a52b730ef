"""The `show` page's body: long bodies are cut before they are escaped, and say what was left out."""

from __future__ import annotations

import json

from hookbin.bodies import SHOWN_CHARS
from hookbin.textout import body_text, capture_page
from tests.factories import tcapture

FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


def test_long_json_shows_the_start_indented_and_how_to_get_the_rest():
    capture = tcapture(body=json.dumps([{"n": n} for n in range(100_000)]).encode())
    page = capture_page(capture)
    assert '  [\n    {\n      "n": 0\n    },' in page
    assert page.count('"n": ') < 100_000
    assert (
        f"… the indented JSON goes on past {SHOWN_CHARS:,} characters; the rest is not shown: "
        f"`hookbin show {capture.id} --raw` prints the body's exact bytes"
    ) in page


def test_long_text_is_escaped_only_as_far_as_it_is_shown():
    body = b"\x1b" * (2 * SHOWN_CHARS)
    text = body_text(tcapture(body=body, headers=(("Content-Type", "text/plain"),)))
    first, last = text.rsplit("\n", 1)
    assert first == "\\x1b" * SHOWN_CHARS
    assert last.startswith(f"… {SHOWN_CHARS:,} more bytes not shown: ")


def test_many_form_fields_are_counted_not_all_shown():
    body = b"&".join(b"f%d=%%1b[2J" % n for n in range(100_000))
    text = body_text(tcapture(body=body, headers=FORM))
    assert text.startswith("f0 = \\x1b[2J\nf1 = \\x1b[2J\n")
    assert len(text) < 2 * SHOWN_CHARS
    shown = text.count(" = ")
    assert text.splitlines()[-1].startswith(f"… {100_000 - shown:,} more fields not shown: ")


def test_one_huge_form_value_is_cut_before_it_is_escaped():
    text = body_text(tcapture(body=b"big=" + b"%00" * (3 * SHOWN_CHARS), headers=FORM))
    assert text == "big = " + "\\x00" * SHOWN_CHARS + "…"


def test_multipart_parts_are_capped_too():
    parts = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="p%d"\r\n\r\n%s\r\n' % (n, b"v" * 1000) for n in range(1000)
    )
    text = body_text(
        tcapture(body=parts + b"--b--\r\n", headers=(("Content-Type", "multipart/form-data; boundary=b"),))
    )
    assert text.startswith("p0 = " + "v" * 1000)
    assert "more parts not shown" in text.splitlines()[-1]


def test_a_short_body_has_no_note():
    assert body_text(tcapture(body=b'{"a": 1}')) == '{\n  "a": 1\n}'
