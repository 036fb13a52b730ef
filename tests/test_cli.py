"""The `hookbin` group: help, version, one-line usage errors, and commands loaded only when used."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from hookbin import __version__
from hookbin.cli import COMMANDS, cli
from hookbin.commands.common import ExitStatus


def test_help_and_version(invoke):
    assert invoke("--version").stdout == f"hookbin, version {__version__}\n"
    listing = invoke("-h")
    assert listing.exit_code == ExitStatus.OK
    listed = [line.split()[0] for line in listing.stdout.split("Commands:\n", 1)[1].splitlines()]
    assert listed == list(COMMANDS)
    for name in COMMANDS:
        result = invoke(name, "--help")
        assert result.exit_code == ExitStatus.OK and result.stdout.startswith(f"Usage: hookbin {name} ")


def test_every_command_is_found_where_the_table_says():
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name


def test_no_command_shows_the_help_not_an_error(invoke):
    result = invoke()
    assert result.exit_code == ExitStatus.USAGE  # click's convention for a group run bare
    assert result.stderr.startswith("Usage: hookbin [OPTIONS] COMMAND [ARGS]...\n")
    assert "hookbin: error" not in result.stderr and "Commands:" in result.stderr


def test_an_unknown_command_is_one_line(invoke):
    result = invoke("lss")
    assert result.exit_code == ExitStatus.USAGE
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("hookbin: error: No such command 'lss'")


def _imported_after(*argv: str, before: str = "") -> list[str]:
    """Run `hookbin ARGV` through the entry point in a fresh interpreter (after the Python in
    `before`); the heavy libraries it imported."""
    code = (
        "import sys\n"
        f"{before}\n"
        "from hookbin.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        "loaded = [m for m in ('aiohttp', 'textual') if m in sys.modules]\n"
        "print('exit', status, *loaded, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    _, status, *loaded = result.stderr.splitlines()[-1].split()
    assert status == "0", result.stderr
    return loaded


@pytest.fixture
def db_with_one(tmp_path):
    from hookbin.store import open_store
    from tests.factories import tcapture

    db = tmp_path / "c.db"
    with open_store(db) as store:
        store.add(tcapture(seq=1))
    return str(db)


def test_version_ls_and_show_import_neither_aiohttp_nor_textual(db_with_one):
    assert _imported_after("--version") == []
    assert _imported_after("ls", "--db", db_with_one) == []
    assert _imported_after("show", "t00000000001", "--db", db_with_one) == []
    assert _imported_after("send", "--help") == []
    assert _imported_after("replay", "--help") == []
    assert _imported_after("--version", before="import hookbin.server.runner") == ["aiohttp"]  # the check sees imports


def test_python_dash_m_hookbin_runs_the_same_cli():
    result = subprocess.run([sys.executable, "-m", "hookbin", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == f"hookbin, version {__version__}\n"
