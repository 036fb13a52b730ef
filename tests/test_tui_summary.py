"""The TUI's Summary tab for a Segmanta delivery with fields hookbin does not know: shown as
they arrived, the `unrecognised fields` lines highlighted, nothing a sender sends parsed or
passed to the terminal raw. Through the renderer, and in the app under `run_test`."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from rich.console import Console
from rich.text import Text

from hookbin.bodies import decode_capture
from hookbin.samples import sample_bytes
from hookbin.store import open_store
from hookbin.tui.render import summary_view
from tests.factories import tcapture
from tests.test_tui import make_app, settle, wait_for

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


def on_screen_lines(svg: str) -> list[str]:
    """The text runs of a Textual screenshot, as plain strings."""
    return [html.unescape(run).replace("\xa0", " ") for run in re.findall(r">([^<]*)</text>", svg)]


EXPECTED_ANSWER = (
    "1. How satisfied are you with our support?  [Rating, tag csat]\n"
    "     (no answer value in a known field)\n"
    "       unrecognised fields: answer_text, note\\x1b]52;c;aGk=\\x07[/x]\n"
    "         answer_text: call me back about my invoice\n"
)


@pytest.mark.usefixtures("utc")
async def test_the_app_shows_a_live_delivery_s_unknown_fields_in_the_summary_tab(tmp_path):
    with open_store(tmp_path / "c.db") as store:
        app = make_app(store, tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.query_one("#summary-view")
            # It arrives the way the catcher stores it: from the store's writer, as an event.
            store.submit(tcapture(seq=1, path="/segmanta/q", body=delivery_with_unknown_fields()))
            await wait_for(pilot, lambda: "answer_text" in rendered(view.content))
            await pilot.press("1")
            assert app.query_one("TabbedContent").active == "summary"
            screen = rendered(view.content)
            assert EXPECTED_ANSWER in screen
            assert "         note\\x1b]52;c;aGk=\\x07[/x]: [link=https://evil.example]x\n" in screen
            assert "\x1b" not in screen
            summary = view.content.renderables[-1]
            assert isinstance(summary, Text)
            assert highlighted(summary)[1].startswith("       unrecognised fields: answer_text")
            # What the terminal shows: the flagged lines are on screen, the sender's ESC escaped.
            await settle(pilot)  # the tab's lines are laid out in a worker thread
            on_screen = on_screen_lines(app.export_screenshot())
            assert "       unrecognised fields: answer_text, note\\x1b]52;c;aGk=\\x07[/x]" in on_screen
            assert "         answer_text: call me back about my invoice" in on_screen
