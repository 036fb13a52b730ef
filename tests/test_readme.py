"""The README's two commands stay true: CI runs its test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands(section: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    body = readme.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", body, re.S)


def test_ci_runs_the_readme_test_command_exactly():
    (command,) = _commands("Run the tests")
    ci_lines = [line for line in (ROOT / ".ci/run").read_text().splitlines() if not line.startswith("#")]
    assert command in ci_lines


def test_readme_run_command_installs_and_serves():
    (command,) = _commands("Install and run")
    assert "pip install ." in command and "hookbin serve" in command
