"""Kill -9 under load: every request hookbin answered 2xx is in the database afterwards, the
database is whole, and a new `hookbin serve` on it starts and stores (the killed one's writer
lock does not block it)."""

from __future__ import annotations

import asyncio
import signal

import aiohttp

from tests.reliability.load import integrity, marked_body, stored_by_marker

CONCURRENCY = 50
PLANNED = 20_000
"""More requests than the burst can send before the kill: it is always cut off mid-way."""
KILL_AFTER = 400
"""2xx answers seen before hookbin is killed."""


async def test_every_request_answered_2xx_survives_a_kill_9_mid_burst(serve, tmp_path):
    db = tmp_path / "c.db"
    served = serve("--no-tui", "--db", str(db), quiet=True)
    answered: dict[str, bytes] = {}
    errors_before_kill: list[str] = []
    killed = False
    numbers = iter(range(PLANNED))

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal killed
        for n in numbers:  # shared by every sender: each request is sent once
            marker = f"m{n:06d}"
            body = marked_body(marker)
            try:
                async with session.post(f"{served.url}/burst/{n}", data=body) as answer:
                    await answer.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                if not killed:
                    errors_before_kill.append(repr(exc))
                return  # killed: this sender is done
            if 200 <= answer.status < 300:
                answered[marker] = body
            if len(answered) >= KILL_AFTER and not killed:
                killed = True
                served.proc.send_signal(signal.SIGKILL)

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY), timeout=timeout) as session:
        await asyncio.gather(*(sender(session) for _ in range(CONCURRENCY)))
    assert served.proc.wait(timeout=20) == -signal.SIGKILL
    assert errors_before_kill == []
    assert KILL_AFTER <= len(answered) < PLANNED  # killed mid-burst

    again = serve("--no-tui", "--db", str(db), quiet=True)  # the lock died with its holder
    after = {f"after{n}": marked_body(f"after{n}") for n in range(20)}
    for marker, body in after.items():
        assert again.post(f"/after/{marker}", body)[0] == 200
    code, _, err = again.stop()
    assert code == 0, err
    assert "Traceback" not in err

    assert integrity(db) == "ok"
    stored = stored_by_marker(db)
    missing = sorted(set(answered) - set(stored))
    assert missing == [], f"{len(missing)} request(s) answered 2xx but not stored, e.g. {missing[:5]}"
    assert all(len(captures) == 1 for captures in stored.values()), "a request stored twice"
    for marker, body in {**answered, **after}.items():
        assert stored[marker][0].body == body
