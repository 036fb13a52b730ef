"""`hookbin serve` killed with SIGKILL right after a burst of answers: every request answered
2xx is in the database, which is intact. Captures are committed in batches (see
`catcher.StoreBatcher`), each before any of its answers is sent."""

from __future__ import annotations

import asyncio
import signal
import sqlite3

import aiohttp


async def _burst(url: str, count: int) -> list[str]:
    """POST `count` requests at once; the ids of those answered 2xx."""
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> str | None:
            async with http.post(f"{url}/killed/{n}", data=b'{"n": %d}' % n) as answer:
                return answer.headers["X-Hookbin-Id"] if 200 <= answer.status < 300 else None

        return [capture_id for capture_id in await asyncio.gather(*(one(n) for n in range(count))) if capture_id]


def test_a_kill_right_after_a_burst_loses_no_answered_request(tmp_path, serve):
    db = tmp_path / "c.db"
    served = serve("--no-tui", "--db", str(db), "--admin-port", "0")
    answered = asyncio.run(_burst(served.url, 80))
    served.proc.send_signal(signal.SIGKILL)
    served.proc.communicate(timeout=20)
    assert len(answered) == 80
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT id FROM captures")}
    assert set(answered) <= stored
