"""The catcher: an aiohttp handler that accepts any method on any path, stores, then answers.

Order matters: the body is read (up to the size limit), the responder decides the answer,
the capture with that answer is committed to the store, and only then is anything sent.
A sender that saw hookbin's answer therefore has its request on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web
from multidict import CIMultiDict

from hookbin.access import Access
from hookbin.config import DEFAULT_MAX_BODY_BYTES
from hookbin.deliveries import AttemptCounter, KeySpec, delivery_key
from hookbin.model import Capture, Headers, ResponseGiven, new_id, utcnow
from hookbin.notices import Refusals
from hookbin.responder import Decision, Responder
from hookbin.server.guard import BodyStalled, peer_of
from hookbin.signatures import SignatureCheck, Verifier, check_all
from hookbin.store import SQLiteStore, StoreError
from hookbin.textsafe import safe

log = logging.getLogger(__name__)

PREVIEW_BYTES = 64 * 1024
"""How much of an over-limit body is kept."""

DRIP_CHUNKS = 20

VERIFY_ON_LOOP_BYTES = 256 * 1024
"""Bodies up to this size have their signature checked on the loop (well under a millisecond);
larger ones in a worker thread, where hashing releases the GIL."""


@dataclass
class CatcherStats:
    """Counters since start, for status lines and the TUI header."""

    received: int = 0
    answered_2xx: int = 0
    answered_error: int = 0
    faults: int = 0


def _default_body(capture_id: str, status: int) -> bytes:
    # Ids are base32 and statuses digits, so plain formatting makes valid JSON (and is cheap).
    if status < 400:
        return b'{"ok": true, "id": "%s"}' % capture_id.encode()
    return b'{"ok": false, "id": "%s", "error": "hookbin answered %d as configured"}' % (
        capture_id.encode(), status)


class StoreBatcher:
    """Hands captures to the store once per event-loop turn; one wake-up per committed batch.

    Every handler that stored a capture in the same loop turn waits on one commit, and the
    writer thread wakes the loop once for all of them rather than once per request.
    """

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self._pending: list[tuple[Capture, asyncio.Future[None]]] = []

    def write(self, capture: Capture) -> asyncio.Future[None]:
        """A future that completes once `capture` is committed (or fails with StoreError)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush, loop)
        self._pending.append((capture, future))
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        pending, self._pending = self._pending, []
        try:
            self.store.submit_many(
                [capture for capture, _ in pending],
                lambda error: loop.call_soon_threadsafe(self._resolve, pending, error),
            )
        except StoreError as exc:
            self._resolve(pending, exc)

    @staticmethod
    def _resolve(pending: list[tuple[Capture, asyncio.Future[None]]], error: BaseException | None) -> None:
        for _, future in pending:
            if future.done():  # the handler was cancelled meanwhile
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


class Catcher:
    """Handles every request that reaches the catcher port."""

    def __init__(
        self,
        store: SQLiteStore,
        responder: Responder,
        *,
        max_body: int = DEFAULT_MAX_BODY_BYTES,
        key_spec: KeySpec | None = None,
        attempts: AttemptCounter | None = None,
        verifiers: Sequence[Verifier] = (),
        require_signature: bool = False,
        access: Access | None = None,
        refusals: Refusals | None = None,
    ) -> None:
        self.store = store
        self.responder = responder
        self.max_body = max_body
        self.key_spec = key_spec
        self.attempts = attempts or AttemptCounter()
        self.verifiers = tuple(verifiers)
        """`--verify` verifiers; none means no request's signature is checked."""
        self.require_signature = require_signature
        """`--require-signature`: answer 401 to a request whose signature is not valid."""
        self.stats = CatcherStats()
        self.access = access or Access()
        self.refusals = refusals or Refusals(None, lambda delay, callback: None)
        self._batcher = StoreBatcher(store)
        self._stopping = asyncio.Event()

    def stop_waiting(self) -> None:
        """Cut delays short: called on shutdown so in-flight requests finish promptly."""
        self._stopping.set()

    async def _read_body(self, request: web.BaseRequest) -> tuple[bytes, int, bool, tuple[int, str] | None]:
        """Read the body up to the limit: (kept bytes, size, truncated, (status, why) if the read failed)."""
        declared = request.content_length
        limit = self.max_body
        if declared is not None and declared > limit:
            limit = 0  # answer 413 at once, keeping only a preview
        buffer = bytearray()
        size = 0
        try:
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    break
                size += len(chunk)
                if len(buffer) < max(limit, PREVIEW_BYTES):
                    buffer += chunk
                if size > limit:
                    break
        except BodyStalled as exc:
            return bytes(buffer), size, True, (408, f"the body stalled: {exc}")
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            return bytes(buffer), size, True, (400, f"connection lost while reading the body: {exc}")
        except Exception as exc:  # aiohttp payload errors (bad chunking, bad gzip framing)
            return bytes(buffer), size, True, (400, f"could not read the body: {exc}")
        if size > limit or (declared is not None and declared > self.max_body):
            return bytes(buffer[:PREVIEW_BYTES]), max(size, declared or 0), True, None
        return bytes(buffer), size, False, None

    def _turned_away(self, request: web.BaseRequest, path: str) -> web.StreamResponse | None:
        """A plain 404/401 for a request without the token or credentials (never stored or
        shown to the responder), else None."""
        refusal = self.access.check(path, request.headers.getall("Authorization", []))
        if refusal is None:
            return None
        self.refusals.reject(
            refusal.reason,
            f"rejected {safe(request.method, limit=10)} {safe(path, limit=80)} from "
            f"{peer_of(request.transport)}: {refusal.reason} ({refusal.status})",
        )
        response = web.Response(
            status=refusal.status, text=HTTPStatus(refusal.status).phrase + "\n", headers=CIMultiDict(refusal.headers)
        )
        response.force_close()
        return response

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        start = time.perf_counter()
        received_at = utcnow()
        target = request.raw_path
        path, _, query_string = target.partition("?")
        turned_away = self._turned_away(request, path)
        if turned_away is not None:
            return turned_away
        capture_id = new_id()
        body, size, truncated, read_error = await self._read_body(request)
        headers = tuple(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            for name, value in request.raw_headers
        )
        # The TCP peer: X-Forwarded-For is kept with the headers but trusted for nothing.
        remote = peer_of(request.transport, unknown="")
        # Rules and delivery keys see the path after the token; the capture keeps the one sent.
        routed = self.access.route_path(path)
        key, source = delivery_key(request.method, routed, headers, body, self.key_spec)
        attempt = self.attempts.next(key)
        signature = None if truncated else await self._check_signature(headers, body, received_at.timestamp())
        unsigned = self._signature_refusal(signature, capture_id, start)

        if read_error:
            status, reason = read_error
            response = ResponseGiven(status=status, reason=reason, duration_ms=_since(start))
        elif truncated:
            response = ResponseGiven(
                status=413,
                headers=(("Content-Type", "application/json"),),
                body=json.dumps(
                    {"ok": False, "id": capture_id, "error": f"body over the {self.max_body} byte limit"}
                ).encode(),
                reason="body too large",
                duration_ms=_since(start),
            )
        elif unsigned is not None:
            response = unsigned  # the responder is not asked, so its sequences are not used up
        else:
            decision = self.responder.decide(request.method, routed, key)
            response = self._response_from(decision, capture_id, request.method, start)
        capture = Capture(
            id=capture_id,
            received_at=received_at,
            method=request.method,
            path=path,
            query_string=query_string,
            headers=headers,
            body=body,
            body_size=size,
            truncated=truncated,
            remote=remote,
            response=response,
            delivery_key=key,
            delivery_source=source,
            attempt=attempt,
            signature=signature,
        )
        self.stats.received += 1
        try:
            await self._batcher.write(capture)
        except StoreError as exc:
            # Tell the sender to retry: we could not keep its request.
            self.stats.answered_error += 1
            return web.json_response({"ok": False, "error": str(exc)}, status=500)
        return await self._answer(request, response)

    async def _check_signature(self, headers: Headers, body: bytes, now: float) -> SignatureCheck | None:
        """The `--verify` verdict on a whole body; None without `--verify`.

        A large body is hashed in a worker thread, so the loop keeps answering meanwhile.
        """
        if not self.verifiers:
            return None
        if len(body) <= VERIFY_ON_LOOP_BYTES:
            return check_all(self.verifiers, headers, body, now)
        return await asyncio.to_thread(check_all, self.verifiers, headers, body, now)

    def _signature_refusal(
        self, signature: SignatureCheck | None, capture_id: str, start: float
    ) -> ResponseGiven | None:
        """The 401 for a signature that is not valid under `--require-signature`, else None."""
        if not self.require_signature or signature is None or signature.valid:
            return None
        why = f"signature {signature.summary}"
        return ResponseGiven(
            status=401,
            headers=(("Content-Type", "application/json"), ("X-Hookbin-Id", capture_id)),
            body=json.dumps({"ok": False, "id": capture_id, "error": why}).encode(),
            reason=why,
            duration_ms=_since(start),
        )

    def _response_from(self, decision: Decision, capture_id: str, method: str, start: float) -> ResponseGiven:
        headers = list(decision.headers)
        body = decision.body
        content_type = decision.content_type
        if not _may_have_body(method, decision.status):
            body, content_type = b"", None
        elif body is None:
            body = _default_body(capture_id, decision.status)
            content_type = "application/json"
        if content_type and not any(name.lower() == "content-type" for name, _ in headers):
            headers.insert(0, ("Content-Type", content_type))
        headers.append(("X-Hookbin-Id", capture_id))
        return ResponseGiven(
            status=decision.status,
            headers=tuple(headers),
            body=body,
            delay_ms=decision.delay * 1000,
            fault=decision.fault,
            drip_ms=decision.drip * 1000,
            rule=decision.rule,
            spec=decision.spec,
            step=decision.step,
            duration_ms=_since(start),
        )

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0 or self._stopping.is_set():
            return
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def _answer(self, request: web.BaseRequest, response: ResponseGiven) -> web.StreamResponse:
        await self._sleep(response.delay_ms / 1000)
        if response.fault in ("close", "reset"):
            self.stats.faults += 1
            _drop(request, reset=response.fault == "reset")
            # aiohttp needs a response object; the transport is gone, so nothing is sent.
            return web.Response(status=response.status)
        if response.status < 300:
            self.stats.answered_2xx += 1
        elif response.status >= 400:
            self.stats.answered_error += 1
        if request.transport is None or request.transport.is_closing():
            # The sender gave up while we waited: nothing left to send to.
            return web.Response(status=response.status)
        if response.fault == "drip":
            return await self._drip(request, response)
        # One Response object: headers and body leave in a single write.
        out = web.Response(status=response.status, body=response.body or None, headers=CIMultiDict(response.headers))
        if response.status == 408:
            out.force_close()  # RFC 9110: a 408 closes the connection (a stalled body cannot resume)
        return out

    async def _drip(self, request: web.BaseRequest, response: ResponseGiven) -> web.StreamResponse:
        """Answer, but trickle the body out in pieces over `drip_ms`."""
        self.stats.faults += 1
        out = web.StreamResponse(status=response.status)
        for name, value in response.headers:
            out.headers.add(name, value)
        body = response.body
        if _may_have_body(request.method, response.status):
            out.content_length = len(body)
        pieces = max(1, min(DRIP_CHUNKS, len(body)))
        step = -(-len(body) // pieces) if body else 0
        try:
            await out.prepare(request)
            for index in range(pieces):
                await self._sleep(response.drip_ms / 1000 / pieces)
                chunk = body[index * step : (index + 1) * step]
                if chunk:
                    await out.write(chunk)
            await out.write_eof()
        except ConnectionError:
            pass  # the sender hung up mid-answer; the capture is already stored
        return out


def _since(start: float) -> float:
    """Milliseconds since `start` (a `time.perf_counter()` reading)."""
    return (time.perf_counter() - start) * 1000


def _may_have_body(method: str, status: int) -> bool:
    """HTTP forbids a body on 1xx, 204 and 304 answers and on any answer to HEAD."""
    return method != "HEAD" and status >= 200 and status not in (204, 304)


def _drop(request: web.BaseRequest, *, reset: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                # Linger with a zero timeout makes close() send RST instead of FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        transport.abort()
    else:
        transport.close()
