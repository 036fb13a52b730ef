"""A burst of requests is committed in batches, and nothing answered or recorded is lost.

The catcher hands captures to the store one batch at a time (what arrives during a commit goes
with the next one), and what became of each answer rides with a later batch: after a burst,
and after a stop right behind it, every capture and every outcome is in the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp

from hookbin.model import ResponseGiven
from hookbin.server.batching import StoreBatcher
from hookbin.store import CapturesAdded, OutcomeRecorded, open_store
from tests.factories import tcapture

BURST = 60


async def _post(http: aiohttp.ClientSession, url: str, n: int) -> tuple[int, str]:
    async with http.post(url, data=b'{"n": %d}' % n, headers={"Content-Type": "application/json"}) as answer:
        return answer.status, answer.headers["X-Hookbin-Id"]


async def test_a_burst_is_committed_in_batches_and_every_answered_request_is_stored(start_hookbin, http):
    server = await start_hookbin("200")
    batches: list[CapturesAdded] = []
    server.store.subscribe(lambda event: batches.append(event) if isinstance(event, CapturesAdded) else None)
    answers = await asyncio.gather(*(_post(http, f"{server.url}/burst/{n}", n) for n in range(BURST)))
    assert {status for status, _ in answers} == {200}
    server.store.flush()
    stored = {capture.id: capture for capture in server.store.list_captures(limit=BURST + 1)}
    assert set(stored) == {capture_id for _, capture_id in answers}
    assert sorted(capture.body for capture in stored.values()) == sorted(b'{"n": %d}' % n for n in range(BURST))
    # One commit for many requests: what arrived during a commit went with the next one.
    assert sum(len(batch.captures) for batch in batches) == BURST
    assert len(batches) < BURST


async def test_the_outcomes_of_a_burst_are_all_recorded_even_when_hookbin_stops_right_after(start_hookbin, http):
    server = await start_hookbin("200 delay=500ms")
    outcomes: list[OutcomeRecorded] = []
    server.store.subscribe(lambda event: outcomes.append(event) if isinstance(event, OutcomeRecorded) else None)

    async def impatient(n: int) -> None:
        timeout = aiohttp.ClientTimeout(total=0.2)
        try:
            async with http.post(f"{server.url}/gone/{n}", data=b"{}", timeout=timeout):
                raise AssertionError("answered before its delay")
        except TimeoutError:
            pass

    patient = [_post(http, f"{server.url}/stays/{n}", n) for n in range(BURST // 2)]
    results = await asyncio.gather(*patient, *(impatient(n) for n in range(BURST // 2)))
    assert {answer[0] for answer in results if answer is not None} == {200}
    await server.stop()  # at once: the last outcomes are still on their way to the store
    server.store.flush()
    captures = server.store.list_captures(limit=BURST + 1)
    stayed = [c for c in captures if c.path.startswith("/stays/")]
    # An impatient client may give up before its request is sent; those that were sent are stored.
    gone = [c for c in captures if c.path.startswith("/gone/")]
    assert len(stayed) == BURST // 2 and gone
    assert all(c.response.delivered is True and c.response.sender_gone_ms is None for c in stayed)
    assert all(c.response.delivered is False and c.response.sender_gone_ms is not None for c in gone)
    assert all(c.outcome == "gone" for c in gone)
    assert len(outcomes) == len(captures)


async def test_what_is_handed_over_just_before_a_stop_is_stored(tmp_path):
    """`drain` (which `HookbinServer.stop` awaits) commits what no loop turn has handed on yet."""
    with open_store(tmp_path / "c.db") as store:
        batcher = StoreBatcher(store)
        first = [tcapture(seq=n, response=ResponseGiven(200, delay_ms=100)) for n in range(3)]
        await asyncio.gather(*(batcher.write(capture) for capture in first))
        later = tcapture(seq=9)
        writing = batcher.write(later)  # no loop turn yet: still with the batcher
        for capture in first:
            batcher.record_outcome(capture, replace(capture.response, delivered=True))
        await batcher.drain()
        assert writing.done()
        store.flush()
        assert store.get(later.id) is not None
        assert [store.get(c.id).response.delivered for c in first] == [True, True, True]
