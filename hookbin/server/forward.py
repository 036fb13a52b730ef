"""Forwarding (`serve --forward URL`): each capture sent on to the developer's app, and its answer.

What goes to the app is what `hookbin replay` sends (`hookbin.outgoing.replay_request`): the
method, the captured path and query appended to the forward URL, every header except hop-by-hop
ones with `Host` set to the app's, and the body bytes as stored. The sending itself is handed in
(`client`: in `hookbin serve`, the replay client's `Connections`, which writes each request byte
for byte on connections it keeps open to the app for the whole serve), since the server layer
does not import the client one.

In `app` mode the catcher awaits `answer()`: the sender gets the app's answer, or 502 (504
after the timeout) with a body saying why none came. In `mirror` mode the catcher answers as
configured and `send_copy()` sends the app a copy alongside; its result is recorded with the capture's
second write (`SQLiteStore.record_outcome`) once the sender's answer is settled too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable
from typing import Protocol
from urllib.parse import urlsplit

from hookbin.access import is_loopback
from hookbin.durations import format_size
from hookbin.model import Capture, Forwarded, ResponseGiven
from hookbin.outgoing import Answer, OutgoingRequest, RequestError, end_to_end, replay_request
from hookbin.store import SQLiteStore, StoreError

log = logging.getLogger(__name__)

MAX_MIRRORS = 500
"""Copies waiting for the app at once in mirror mode; beyond that a copy is not sent, and says so."""

APP_ANSWER = "the app's answer (--forward)"
"""The reason stored with an answer that came from the app."""

STOPPED = "hookbin stopped before the app answered"

_REFRAMED = frozenset({"content-length"})
"""Answer headers the catcher states afresh for the body it sends."""


class Client(Protocol):
    """Sends requests (see `hookbin.client.replay.Connections`)."""

    def exchange(self, request: OutgoingRequest, *, timeout: float, keep: int) -> Awaitable[Answer]:
        """Send one request and read the answer within `timeout` seconds, keeping at most `keep`
        body bytes; never raises for network trouble."""
        ...

    async def close(self) -> None:
        """Close the connections kept open."""


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class Forwarder:
    """Sends captures to the app at `url`.

    Args:
        url: the app's base URL; a capture's path and query are appended.
        client: what sends each request and reads its answer; closed by `close()`.
        mirror: True for `--forward-mode mirror` (the sender gets hookbin's own answer).
        timeout: seconds for the whole exchange with the app.
        keep: most bytes of the app's answer body read; a longer answer is not passed on.
    """

    def __init__(self, url: str, client: Client, *, timeout: float, keep: int, mirror: bool = False) -> None:
        self.url = url
        self.mirror = mirror
        self.timeout = timeout
        self.keep = keep
        self._client = client
        self._stopping = False
        self._sending: set[asyncio.Future[Answer]] = set()
        self._mirrors: set[asyncio.Task[None]] = set()

    def points_at(self, host: str, port: int) -> bool:
        """Whether the forward URL names a catcher on `host:port` (this one: forwarding would loop)."""
        parts = urlsplit(self.url)
        if (parts.port or (443 if parts.scheme == "https" else 80)) != port:
            return False
        target = parts.hostname or ""
        if target in (host.strip("[]").lower(), "localhost"):
            return True
        try:
            loopback = ipaddress.ip_address(target).is_loopback
        except ValueError:
            return False
        # A catcher on every address (0.0.0.0) is on the loopback one too.
        return loopback and (is_loopback(host) or host.strip("[]") in ("0.0.0.0", "::"))

    def stop(self) -> None:
        """Cut forwards in flight short (hookbin is stopping): they end as `STOPPED`."""
        self._stopping = True
        for sending in self._sending:
            sending.cancel()

    async def close(self) -> None:
        """Once the catcher stopped: let mirrored copies record their (cut short) results, then
        close the connections to the app."""
        if self._mirrors:
            await asyncio.wait(self._mirrors, timeout=5)
        await self._client.close()

    async def forward(self, capture: Capture) -> tuple[Forwarded, Answer | None]:
        """Send `capture` to the app; never raises for anything the network or the app does.

        Returns:
            What to store (status, latency, error, size), and the answer to pass on: None when
            no usable one came (none at all, a broken or oversized one, a 1xx).
        """
        started = time.perf_counter()
        try:
            request = replay_request(capture, self.url)
        except RequestError as exc:
            return Forwarded(url=self.url, error=str(exc)), None
        if self._stopping:
            return Forwarded(url=request.url, latency_ms=_since(started), error=STOPPED), None
        # A task of its own, so that `stop()` can cancel it (cancelling this one cancels it too).
        sending = asyncio.ensure_future(self._client.exchange(request, timeout=self.timeout, keep=self.keep))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)
        try:
            answer = await sending
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._stopping and sending.cancelled() and not (current and current.cancelling()):
                return Forwarded(url=request.url, latency_ms=_since(started), error=STOPPED), None
            raise
        except Exception as exc:  # `exchange` promises not to raise; a bug there must not cost the capture
            return Forwarded(url=request.url, latency_ms=_since(started), error=f"{type(exc).__name__}: {exc}"), None
        error = answer.error
        if answer.status is not None and error is None:
            if answer.cut:
                error = f"answer over {format_size(self.keep)}: not passed on"
            elif answer.status < 200:
                error = f"answered {answer.status}, which hookbin cannot pass on"
        size = None if answer.status is None else answer.body_size if answer.body_size is not None else len(answer.body)
        forwarded = Forwarded(
            url=request.url, status=answer.status, latency_ms=answer.latency * 1000, error=error, size=size
        )
        return forwarded, (answer if answer.status is not None and error is None else None)

    async def answer(self, capture: Capture, started: float) -> tuple[ResponseGiven, Forwarded]:
        """`app` mode: the app's answer for the sender, or 502 (504 after the timeout) saying why
        none came. `started` is when the request arrived (`time.perf_counter()`)."""
        forward, answer = await self.forward(capture)
        marker = ("X-Hookbin-Id", capture.id)
        if answer is not None and answer.status is not None:
            headers = tuple(
                (name, value) for name, value in end_to_end(answer.headers) if name.lower() not in _REFRAMED
            )
            response = ResponseGiven(
                status=answer.status,
                headers=(*headers, marker),
                body=answer.body,
                reason=APP_ANSWER,
                duration_ms=_since(started),
            )
            return response, forward
        why = f"forward to {forward.url} failed: {forward.error}"
        response = ResponseGiven(
            status=504 if (forward.error or "").startswith("timeout") else 502,
            headers=(("Content-Type", "application/json"), marker),
            body=json.dumps({"ok": False, "id": capture.id, "error": why}).encode(),
            reason=why,
            duration_ms=_since(started),
        )
        return response, forward

    def send_copy(self, capture: Capture, store: SQLiteStore) -> asyncio.Future[Capture]:
        """`mirror` mode: send `capture` to the app in the background.

        Returns:
            A future the catcher resolves with the capture as it last handed it to the store
            (after recording what became of its answer), so that the forward result, recorded
            after both, keeps that outcome.
        """
        settled: asyncio.Future[Capture] = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(self._mirror(capture, settled, store))
        self._mirrors.add(task)
        task.add_done_callback(self._mirrors.discard)
        return settled

    async def _mirror(self, capture: Capture, settled: asyncio.Future[Capture], store: SQLiteStore) -> None:
        if len(self._mirrors) > MAX_MIRRORS:
            forward = Forwarded(url=self.url, error=f"not sent: {MAX_MIRRORS} copies were already waiting for the app")
        else:
            forward, _ = await self.forward(capture)
        latest = await settled
        try:
            store.record_outcome(latest, forward=forward)
        except StoreError as exc:  # stopping: the capture itself is stored
            log.warning("could not record the forward result of %s: %s", capture.id, exc)
