"""`StoreBatcher`: the catcher's captures and outcomes handed to the store in batches (group commit)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hookbin.model import Capture, ResponseGiven
from hookbin.store import SQLiteStore, StoreError

log = logging.getLogger(__name__)


class StoreBatcher:
    """Hands captures and outcomes to the store in batches: one commit, and one wake-up of each
    thread, per batch.

    One batch is with the store at a time. What arrives while it is being committed waits for
    the next batch, which goes to the store as soon as the one before is committed: under load
    batches grow by themselves, so the writer thread is woken (and wakes the loop) once for
    many requests rather than once for a few. When it is idle, a capture is handed on in the
    loop turn after it was made. Outcomes (what became of an answer, known after the capture's
    own commit) ride with the next batch.
    """

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self._pending: list[tuple[Capture, asyncio.Future[None], dict[str, Any] | None]] = []
        self._outcomes: list[tuple[Capture, ResponseGiven]] = []
        self._busy = False
        """A batch is with the store and not yet committed."""
        self._scheduled = False
        self._drained: list[asyncio.Future[None]] = []

    def write(self, capture: Capture, document: dict[str, Any] | None = None) -> asyncio.Future[None]:
        """A future that completes once `capture` is committed (or fails with StoreError).

        `document` is the body's JSON object as orjson read it already (`KeyRead.document`), if it was.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((capture, future, document))
        self._schedule(loop)
        return future

    def record_outcome(self, capture: Capture, response: ResponseGiven) -> None:
        """Store `response` as the committed `capture`'s answer, with the next batch."""
        self._outcomes.append((capture, response))
        self._schedule(asyncio.get_running_loop())

    async def drain(self) -> None:
        """Wait until everything handed over so far is committed (or has failed)."""
        loop = asyncio.get_running_loop()
        while self._busy or self._pending or self._outcomes:
            if self._busy:
                waiter: asyncio.Future[None] = loop.create_future()
                self._drained.append(waiter)
                await waiter
            else:
                self._flush(loop)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not (self._busy or self._scheduled):
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if self._busy or not (self._pending or self._outcomes):
            return
        pending, self._pending = self._pending, []
        outcomes, self._outcomes = self._outcomes, []
        self._busy = True
        try:
            self.store.submit_many(
                [capture for capture, _, _ in pending],
                lambda error: loop.call_soon_threadsafe(self._committed, loop, pending, error),
                outcomes,
                [document for _, _, document in pending],
            )
        except StoreError as exc:
            self._busy = False
            if outcomes:  # stopping: the captures themselves are stored
                log.warning("could not record what became of %d answer(s): %s", len(outcomes), exc)
            self._resolve(pending, exc)

    def _committed(
        self,
        loop: asyncio.AbstractEventLoop,
        pending: list[tuple[Capture, asyncio.Future[None], dict[str, Any] | None]],
        error: BaseException | None,
    ) -> None:
        self._busy = False
        self._flush(loop)  # the next batch first, so the writer is not idle while these are answered
        self._resolve(pending, error)
        waiters, self._drained = self._drained, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    @staticmethod
    def _resolve(
        pending: list[tuple[Capture, asyncio.Future[None], dict[str, Any] | None]], error: BaseException | None
    ) -> None:
        for _, future, _ in pending:
            if future.done():  # the handler was cancelled meanwhile
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
