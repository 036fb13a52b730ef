"""The TUI's Summary tab for a Segmanta delivery with fields hookbin does not know: shown as
they arrived, the `unrecognised fields` lines highlighted, nothing a sender sends parsed or
passed to the terminal raw."""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.text import Text

from hookbin.bodies import decode_capture
from hookbin.samples import sample_bytes
from hookbin.tui.render import summary_view
from tests.factories import tcapture

HOSTILE_KEY = "note\x1b]52;c;aGk=\x07[/x]"


def delivery_with_unknown_fields() -> bytes:
    document = json.loads(sample_bytes("question"))
    document["results"][0]["questions"][0]["answers"] = [
        {"id": 9, "answer_text": "call me back about my invoice", HOSTILE_KEY: "[link=https://evil.example]x"},
        {"id": 10, "value": "unrecognised fields: fake"},
    ]
    document["language"] = "en"
    return json.dumps(document).encode()


def rendered(renderable: object) -> str:
    console = Console(width=120, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def highlighted(summary: Text) -> list[str]:
    """The lines of `summary` drawn in the highlight style."""
    lines = summary.plain.split("\n")
    starts = [sum(len(line) + 1 for line in lines[:index]) for index in range(len(lines))]
    return [
        line
        for line, start in zip(lines, starts, strict=True)
        if any(span.start == start and span.style == "bold yellow" for span in summary.spans)
    ]


def test_summary_tab_shows_unknown_fields_flagged_and_safe():
    capture = tcapture(seq=1, path="/segmanta/q", body=delivery_with_unknown_fields())
    view = summary_view(capture, decode_capture(capture))
    screen = rendered(view)
    assert (
        "1. How satisfied are you with our support?  [Rating, tag csat]\n"
        "     (no answer value in a known field)\n"
        "       unrecognised fields: answer_text, note\\x1b]52;c;aGk=\\x07[/x]\n"
        "         answer_text: call me back about my invoice\n"
        "         note\\x1b]52;c;aGk=\\x07[/x]: [link=https://evil.example]x\n"
        "     unrecognised fields: fake\n"
    ) in screen
    assert "unrecognised fields: language\n  language: en\n" in screen
    assert "\x1b" not in screen and "\x07" not in screen
    summary = view.renderables[-1]  # type: ignore[attr-defined]
    assert isinstance(summary, Text)
    # Only hookbin's own flag lines stand out; a sender's value that reads like one does not.
    assert highlighted(summary) == [
        "unrecognised fields: language",
        "       unrecognised fields: answer_text, note\\x1b]52;c;aGk=\\x07[/x]",
    ]
