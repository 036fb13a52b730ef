"""What the reliability tests share: request bodies that carry a marker, and reading back what
a database holds, by marker, once hookbin is done with it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import aiohttp

from hookbin.model import Capture
from hookbin.store import open_store

PADDING = "x" * 1100
"""Brings a body to about 1.2 KB, the size of a Segmanta answer."""


def marked_body(marker: str, padding: str = PADDING) -> bytes:
    """A JSON body that names its request by `marker` (about 1.2 KB with the default padding)."""
    return json.dumps({"survey_id": 1234, "marker": marker, "padding": padding}).encode()


def stored_by(db: Path, key: Callable[[Capture], str]) -> dict[str, list[Capture]]:
    """Every capture in `db`, oldest first, grouped by `key(capture)`."""
    found: dict[str, list[Capture]] = {}
    with open_store(db) as store:
        for capture in store.iter_oldest_first():
            found.setdefault(key(capture), []).append(capture)
    return found


def stored_by_marker(db: Path) -> dict[str, list[Capture]]:
    """Every capture in `db`, grouped by the marker its body carries (`?` for a body without one)."""
    return stored_by(db, lambda capture: marker_of(capture.body))


def marker_of(body: bytes) -> str:
    """The marker `marked_body` put in `body`, or `?`."""
    try:
        return str(json.loads(body)["marker"])
    except (ValueError, KeyError, TypeError):
        return "?"


def integrity(db: Path) -> str:
    """SQLite's own verdict on the database file (`ok` when whole)."""
    conn = sqlite3.connect(db)
    try:
        return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


async def post_all(
    url: str, requests: Sequence[tuple[str, bytes, Mapping[str, str]]], concurrency: int
) -> list[tuple[int, bytes]]:
    """POST each (path, body, headers) to `url` over at most `concurrency` connections at once,
    kept alive; returns each request's (status, answer body), in the order given."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        return await send_all(session, url, requests, concurrency)


async def send_all(
    session: aiohttp.ClientSession, url: str, requests: Sequence[tuple[str, bytes, Mapping[str, str]]], senders: int
) -> list[tuple[int, bytes]]:
    """POST each (path, body, headers) to `url` from `senders` tasks sharing `session`; returns
    each request's (status, answer body), in the order given."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    indexes = iter(range(len(requests)))

    async def sender() -> None:
        for index in indexes:  # shared by every sender: each request is sent once
            path, body, headers = requests[index]
            async with session.post(url + path, data=body, headers=dict(headers)) as answer:
                answers[index] = (answer.status, await answer.read())

    await asyncio.gather(*(sender() for _ in range(senders)))
    return answers
