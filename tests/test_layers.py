"""Imports point one way, checked at run time: what a module really loads, lazy imports included.

The import-linter contracts in pyproject.toml check the same direction statically (`lint-imports`
in .ci/run); this is the one runtime check, so an import hidden in a function or behind
importlib cannot slip past both.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "hookbin.model",
    "hookbin.bodies",
    "hookbin.deliveries",
    "hookbin.summaries",
    "hookbin.responder",
    "hookbin.spec",
    "hookbin.durations",
    "hookbin.textsafe",
    "hookbin.textout",
    "hookbin.config",
    "hookbin.segmanta",
    "hookbin.jsonlines",
    "hookbin.samples",
    "hookbin.signatures",
    "hookbin.report",
    "hookbin.report_text",
    "hookbin.expectations",
    "hookbin.export",
    "hookbin.access",
    "hookbin.notices",
    "hookbin.formats",
    "hookbin.formats.har",
    "hookbin.formats.reading",
    "hookbin.formats.curl_script",
    "hookbin.formats.pytest_file",
    "hookbin.formats.redact",
    "hookbin.private",
    "hookbin.instances",
    "hookbin.outgoing",
    "hookbin.topics",
]
LIBRARIES = ("aiohttp", "textual", "rich", "click", "sqlite3")


def loaded_after_import(module: str, candidates: tuple[str, ...]) -> list[str]:
    code = f"import sys, {module}; print(','.join(m for m in {candidates!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in result.stdout.strip().split(",") if name]


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_load_no_network_ui_cli_or_database_library(module):
    assert loaded_after_import(module, LIBRARIES) == []


def test_the_store_loads_no_network_ui_or_cli_library():
    assert loaded_after_import("hookbin.store", LIBRARIES) == ["sqlite3"]


def test_the_server_runs_without_textual():
    assert loaded_after_import("hookbin.server.runner", ("textual",)) == []


def test_headless_serve_loads_no_ui_and_no_sending_code():
    """What `serve --no-tui` imports counts in its start-up: the TUI, and the code that sends
    requests (`--forward`, replay, the sender), are loaded only when used."""
    unused = ("textual", "rich", "hookbin.tui", "hookbin.outgoing", "hookbin.server.forward", "hookbin.client")
    assert loaded_after_import("hookbin.commands.serve, hookbin.server.runner", unused) == []


def test_the_tui_runs_without_the_server_or_aiohttp():
    assert loaded_after_import("hookbin.tui.app", ("aiohttp", "hookbin.server")) == []
