"""Shared fixtures: a real hookbin (catcher + control API) on loopback port 0, an HTTP client,
and `invoke` to run a hookbin command in-process."""

from __future__ import annotations

import os
import time

# Tab underlines and scrolling animate by default; tests want the end state at once.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

import aiohttp
import pytest
from click.testing import CliRunner, Result

from hookbin.cli import cli
from hookbin.responder import Responder
from hookbin.server.runner import HookbinServer
from hookbin.store import open_store


@pytest.fixture
async def start_hookbin(tmp_path):
    """Start a real hookbin; returns the running HookbinServer. Stops everything afterwards."""
    started = []

    async def start(respond="200", rules=(), *, db=None, **options):
        store = open_store(db or tmp_path / "captures.db")
        server = HookbinServer(store, Responder(respond, rules, seed=options.pop("seed", None)),
                               host="127.0.0.1", port=0, **options)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
        server.store.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def utc(monkeypatch):
    """Run with the local time zone set to UTC (the TUI and `ls` show local times)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def invoke():
    """Run `hookbin ARGS` in-process with click's CliRunner: the same one-line errors and exit
    statuses a user sees. Returns click's Result (`stdout`, `stderr`, `exit_code`)."""
    runner = CliRunner()

    def run(*args: str, **kwargs) -> Result:
        return runner.invoke(cli, list(args), **kwargs)

    return run
