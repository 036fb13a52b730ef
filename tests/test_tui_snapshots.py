"""Snapshot tests of the main screens, with fixed ids, times and URLs (pytest-textual-snapshot).

Update after an intended change with `python -m pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs before committing them.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from hookbin.model import ResponseGiven
from hookbin.responder import Responder
from hookbin.store import open_store
from hookbin.tui.app import HookbinApp
from tests.factories import tcapture
from tests.test_tui import settle

SAMPLE = (Path(__file__).resolve().parent.parent / "hookbin" / "samples" / "segmanta-survey.json").read_bytes()
SIZE = (110, 36)


# The SVGs are exact renderings made with these versions; others draw the same screen with small
# differences (a glyph, a colour), so the comparison only means something under these.
RECORDED_WITH = {"textual": "8.2.8", "rich": "15.0.0", "pygments": "2.21.0"}
_OTHER = {name: version(name) for name, wanted in RECORDED_WITH.items() if version(name) != wanted}

pytestmark = [
    pytest.mark.usefixtures("utc"),  # times on screen are local: make them UTC
    pytest.mark.skipif(bool(_OTHER), reason=f"snapshots were recorded with {RECORDED_WITH}, not {_OTHER}"),
]


def app_with(*captures, spec: str = "500,500,200") -> HookbinApp:
    store = open_store(":memory:")
    for capture in captures:
        store.add(capture)
    return HookbinApp(
        store,
        Responder(spec),
        url="http://127.0.0.1:8080",
        admin_url="http://127.0.0.1:8081",
        public_url="https://hookbin-demo.example.ngrok.app/segmanta",
    )


def pressing(*keys: str):
    """A `run_before` that presses `keys`, then waits for the detail's worker to finish (the
    tabs load in a thread, so a screenshot taken at once could show "loading…")."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run_before


def segmanta_run():
    json_headers = (
        ("Content-Type", "application/json"),
        ("User-Agent", "Segmanta-Webhooks"),
        ("X-Forwarded-For", "203.0.113.7"),
    )
    # One delivery answered 500, 500, then 200 (the spec's three steps).
    return [
        tcapture(
            seq=n,
            path="/segmanta/csat",
            body=SAMPLE,
            headers=json_headers,
            attempt=n,
            delivery_key="k1",
            response=ResponseGiven(status=status, spec="500,500,200", step=n),
        )
        for n, status in enumerate((500, 500, 200), start=1)
    ]


def test_main_screen_with_a_segmanta_payload(snap_compare):
    assert snap_compare(app_with(*segmanta_run()), run_before=pressing(), terminal_size=SIZE)


def test_headers_tab(snap_compare):
    assert snap_compare(app_with(*segmanta_run()), run_before=pressing("2"), terminal_size=SIZE)


def test_body_tab_with_invalid_json(snap_compare):
    broken = tcapture(
        seq=1, path="/segmanta/csat", body=b'{"survey_id": 1234,\n "survey_name": "CSAT",\n "results": [}'
    )
    assert snap_compare(app_with(broken, spec="200"), run_before=pressing("3"), terminal_size=SIZE)


def test_help_screen(snap_compare):
    assert snap_compare(app_with(spec="503"), run_before=pressing("question_mark"), terminal_size=SIZE)
