"""Imports point one way: pure modules and the store load no aiohttp, Textual or Rich."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS = [
    "hookbin.model", "hookbin.bodies", "hookbin.deliveries", "hookbin.responder", "hookbin.spec",
    "hookbin.durations", "hookbin.textsafe", "hookbin.textout", "hookbin.config", "hookbin.store",
    "hookbin.segmanta", "hookbin.jsonlines", "hookbin.samples", "hookbin.signatures", "hookbin.report",
    "hookbin.export",
]


def test_the_server_runs_without_textual():
    code = "import sys, hookbin.server.runner; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("module", HEADLESS)
def test_module_imports_no_network_or_ui_library(module):
    code = (
        f"import sys, {module}; "
        "bad = [m for m in ('aiohttp', 'textual', 'rich') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
