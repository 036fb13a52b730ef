"""The catcher: an aiohttp handler that accepts any method on any path, stores, then answers.

Order matters: the body is read (up to the size limit), the responder decides the answer (or,
under `serve --forward`, the app gives it: see `forward`), the capture with that answer is
committed to the store, and only then is anything sent. A sender that saw hookbin's answer
therefore has its request on disk.

What became of the answer is known only afterwards: whether it was written whole, or the
sender hung up first (during a delay, a drip, or before the first byte). `CatcherServer`
tells the catcher about every connection that closes, and the catcher records the outcome
with a second write when it differs from what was stored (with the next batch of captures:
see `StoreBatcher`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict

from hookbin.access import Access
from hookbin.config import DEFAULT_MAX_BODY_BYTES
from hookbin.deliveries import AttemptCounter, KeySpec, read_delivery_key
from hookbin.model import DROPS, Capture, Forwarded, Headers, ResponseGiven, counter_of, new_id, utcnow
from hookbin.notices import Refusals
from hookbin.responder import Decision, Responder
from hookbin.server.batching import StoreBatcher
from hookbin.server.guard import BodyStalled, GuardedHandler, GuardedServer, peer_of
from hookbin.signatures import SignatureCheck, Verifier, check_all
from hookbin.store import SQLiteStore, StoreError
from hookbin.textsafe import safe

if TYPE_CHECKING:  # made by `serve --forward` only: a catcher without it need not load the sending code
    from hookbin.server.forward import Forwarder

log = logging.getLogger(__name__)

PREVIEW_BYTES = 64 * 1024
"""How much of an over-limit body is kept."""

DRIP_CHUNKS = 20

VERIFY_ON_LOOP_BYTES = 256 * 1024
"""Bodies up to this size have their signature checked on the loop (well under a millisecond);
larger ones in a worker thread, where hashing releases the GIL."""

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass
class CatcherStats:
    """Counters since start, for status lines and the TUI header."""

    received: int = 0
    answered_2xx: int = 0
    answered_error: int = 0
    faults: int = 0
    not_delivered: int = 0
    """Answers the sender hung up before they were complete (see `model.counter_of`)."""

    def count(self, response: ResponseGiven) -> None:
        """Count one answer whose outcome is known."""
        counter = counter_of(response)
        if counter == "2xx":
            self.answered_2xx += 1
        elif counter == "errors":
            self.answered_error += 1
        elif counter == "faults":
            self.faults += 1
        elif counter == "not_delivered":
            self.not_delivered += 1


@dataclass(slots=True)
class _InFlight:
    """One request being handled: when it arrived, and when its sender hung up."""

    start: float
    """`time.perf_counter()` when the request arrived."""
    gone_at: float | None = None
    """`time.perf_counter()` when the connection closed under it, if it did."""
    wake: asyncio.Event | None = None
    """Set when the sender hangs up or hookbin stops, to cut a wait short; made by the first wait."""

    def hung_up(self) -> None:
        if self.gone_at is None:
            self.gone_at = time.perf_counter()
        if self.wake is not None:
            self.wake.set()

    @property
    def gone_ms(self) -> float | None:
        return None if self.gone_at is None else (self.gone_at - self.start) * 1000


def _default_body(capture_id: str, status: int) -> bytes:
    # Ids are base32 and statuses digits, so plain formatting makes valid JSON (and is cheap).
    if status < 400:
        return b'{"ok": true, "id": "%s"}' % capture_id.encode()
    return b'{"ok": false, "id": "%s", "error": "hookbin answered %d as configured"}' % (capture_id.encode(), status)


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
        forwarder: Forwarder | None = None,
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
        self.forwarder = forwarder
        """`--forward`: where each request the responder would answer goes too; None when nowhere."""
        self.stats = CatcherStats()
        self.access = access or Access()
        self.refusals = refusals or Refusals(None, lambda delay, callback: None)
        self._batcher = StoreBatcher(store)
        self._stopping = False
        self._made: tuple[Decision, bool, Headers] | None = None
        """The last decision answered, whether its answer had a body, and its headers (`_answer_headers`)."""
        # Requests being handled, by their connection (aiohttp's protocol object): one at a
        # time per connection, so a closed connection names the request it cut short.
        self._in_flight: dict[object, _InFlight] = {}

    def stop_waiting(self) -> None:
        """Cut delays and forwards short: called on shutdown so in-flight requests finish promptly."""
        self._stopping = True
        if self.forwarder is not None:
            self.forwarder.stop()
        for flight in self._in_flight.values():
            if flight.wake is not None:
                flight.wake.set()

    async def drain(self) -> None:
        """Wait until every capture and outcome so far is with the store: on shutdown, once no
        request is in flight."""
        await self._batcher.drain()

    def connection_lost(self, connection: object) -> None:
        """A connection closed: if a request on it is still being answered, its sender hung up."""
        flight = self._in_flight.get(connection)
        if flight is not None:
            flight.hung_up()

    async def _take_body(self, request: web.BaseRequest) -> tuple[bytes, int, bool, tuple[int, str] | None]:
        """The body, as `_read_body` gives it, after answering `Expect: 100-continue`.

        A sender that asks waits for `100 Continue` before it sends the body; one whose
        declared body is over the limit gets the 413 at once instead, and sends nothing.
        """
        if request.version < (1, 1) or request.headers.get("Expect", "").strip().lower() != "100-continue":
            return await self._read_body(request)
        declared = request.content_length
        if declared is not None and declared > self.max_body:
            return b"", declared, True, None
        try:
            await request.writer.write(CONTINUE)
        except ConnectionError as exc:
            return b"", 0, True, (400, f"connection lost before the body was sent: {exc}")
        request.writer.output_size = 0  # the answer proper has not started
        return await self._read_body(request)

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
                if size == declared and size <= limit:
                    if not buffer:  # the usual case: the whole body in one piece
                        return chunk, size, False, None
                    buffer += chunk
                    break  # all of it is here: no need to wait for the end of the stream
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
        access = self.access
        if access.token is None and access.credentials is None:
            return None  # everyone is admitted: no need to look at the headers
        refusal = access.check(path, request.headers.getall("Authorization", []))
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
        flight = _InFlight(time.perf_counter())
        self._in_flight[request.protocol] = flight
        try:
            return await self._handle(request, flight)
        finally:
            self._in_flight.pop(request.protocol, None)

    async def _handle(self, request: web.BaseRequest, flight: _InFlight) -> web.StreamResponse:
        start = flight.start
        received_at = utcnow()
        target = request.raw_path
        path, _, query_string = target.partition("?")
        turned_away = self._turned_away(request, path)
        if turned_away is not None:
            return turned_away
        capture_id = new_id()
        body, size, truncated, read_error = await self._take_body(request)
        headers = tuple(
            [
                (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
                for name, value in request.raw_headers
            ]
        )
        # The TCP peer: X-Forwarded-For is kept with the headers but trusted for nothing.
        connection = request.protocol
        remote = connection.remote if isinstance(connection, GuardedHandler) else peer_of(request.transport, unknown="")
        # Everything sees the path after the token, the capture too: the token is never stored,
        # so a replay, an export or a copy as curl cannot carry it anywhere.
        routed = self.access.route_path(path)
        key, source, document = read_delivery_key(request.method, routed, headers, body, self.key_spec)
        signature = None
        if self.verifiers and not truncated:
            signature = await self._check_signature(headers, body, received_at.timestamp())
        unsigned = self._signature_refusal(signature, capture_id, start)

        run = self.responder.run
        forward: Forwarded | None = None
        if read_error:
            status, reason = read_error
            response = ResponseGiven(status=status, reason=reason, duration_ms=_since(start))
        elif truncated:
            # Refused before the body was sent (Expect: 100-continue): no connection to keep.
            closing = (("Connection", "close"),) if not body and size > self.max_body else ()
            response = ResponseGiven(
                status=413,
                headers=(("Content-Type", "application/json"), *closing),
                body=json.dumps(
                    {"ok": False, "id": capture_id, "error": f"body over the {self.max_body} byte limit"}
                ).encode(),
                reason="body too large",
                duration_ms=_since(start),
            )
        elif unsigned is not None:
            response = unsigned  # the responder is not asked, so its sequences are not used up
        elif self.forwarder is not None and not self.forwarder.mirror:
            # Only what the app is sent: id, time, method, path, query, headers, body.
            sent = Capture(capture_id, received_at, request.method, routed, query_string, headers, body)
            response, forward = await self.forwarder.answer(sent, start)
        else:
            decision = self.responder.decide(request.method, routed, key)
            # The run comes with the decision (under the responder's lock), so a change of answer
            # meanwhile cannot give a request one run's step and another run's number.
            run = decision.run
            response = self._response_from(decision, capture_id, request.method, start)
        attempt = self.attempts.next(key, run)
        capture = Capture(
            id=capture_id,
            received_at=received_at,
            method=request.method,
            path=routed,
            query_string=query_string,
            headers=headers,
            body=body,
            body_size=size,
            truncated=truncated,
            remote=remote,
            response=_as_stored(response, flight),
            delivery_key=key,
            delivery_source=source,
            attempt=attempt,
            signature=signature,
            run=run,
            forward=forward,
        )
        self.stats.received += 1
        try:
            await self._batcher.write(capture, document)
        except StoreError as exc:
            # Tell the sender to retry: we could not keep its request.
            self.stats.answered_error += 1
            return web.json_response({"ok": False, "error": str(exc)}, status=500)
        # Mirror mode: the app gets a copy of what the responder answered (not of a 400, 401, 413).
        forwarder = self.forwarder
        mirrored = (
            forwarder.send_copy(capture, self.store) if forwarder and forwarder.mirror and response.spec else None
        )
        try:
            out, bytes_sent = await self._answer(request, response, flight)
            capture = self._record_outcome(capture, flight, bytes_sent)
        finally:
            if mirrored is not None:
                mirrored.set_result(capture)
        return out

    async def _check_signature(self, headers: Headers, body: bytes, now: float) -> SignatureCheck | None:
        """The `--verify` verdict on a whole body (`--verify` given).

        A large body is hashed in a worker thread, so the loop keeps answering meanwhile.
        """
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
        may_have_body = _may_have_body(method, decision.status)
        made = self._made
        if made is None or made[0] is not decision or made[1] != may_have_body:
            # Under load every request gets the same decision object: its headers are made once.
            made = self._made = (decision, may_have_body, _answer_headers(decision, may_have_body))
        body = decision.body
        if not may_have_body:
            body = b""
        elif body is None:
            body = _default_body(capture_id, decision.status)
        return ResponseGiven(
            status=decision.status,
            headers=(*made[2], ("X-Hookbin-Id", capture_id)),
            body=body,
            delay_ms=decision.delay * 1000,
            fault=decision.fault,
            drip_ms=decision.drip * 1000,
            rule=decision.rule,
            spec=decision.spec,
            step=decision.step,
            duration_ms=_since(start),
            # Here rather than in `_as_stored`, which would then build every answer twice.
            delivered=_foreseen(decision.fault, decision.delay > 0),
        )

    def _record_outcome(self, capture: Capture, flight: _InFlight, bytes_sent: int | None) -> Capture:
        """Count the answer, and store what became of it unless the stored capture says so already;
        returns the capture as now handed to the store."""
        stored = capture.response
        assert stored is not None
        gone_ms = flight.gone_ms
        delivered = gone_ms is None and stored.fault not in DROPS
        # Compared field by field: building a new answer for every request would cost the
        # common case (nothing new to record) more than everything else here.
        if (stored.delivered, stored.sender_gone_ms, stored.bytes_sent) == (delivered, gone_ms, bytes_sent):
            self.stats.count(stored)
            return capture
        response = replace(stored, delivered=delivered, sender_gone_ms=gone_ms, bytes_sent=bytes_sent)
        self.stats.count(response)
        if self.forwarder is not None and self.forwarder.mirror:
            # The app's copy records its result after this outcome, from the capture as it is
            # now: this one must reach the store first, so it does not wait for a batch.
            try:
                self.store.record_outcome(capture, response)
            except StoreError as exc:  # stopping: the capture itself is stored
                log.warning("could not record what became of the answer to %s: %s", capture.id, exc)
        else:
            self._batcher.record_outcome(capture, response)
        return replace(capture, response=response)

    async def _hold(self, seconds: float, flight: _InFlight) -> None:
        """Wait `seconds`, or less if the sender hangs up or hookbin stops."""
        if seconds <= 0 or self._stopping or flight.gone_at is not None:
            return
        if flight.wake is None:
            flight.wake = asyncio.Event()
        try:
            await asyncio.wait_for(flight.wake.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _answer(
        self, request: web.BaseRequest, response: ResponseGiven, flight: _InFlight
    ) -> tuple[web.StreamResponse, int | None]:
        """Send `response` (after its delay): the response object for aiohttp, and for a drip the
        body bytes written."""
        await self._hold(response.delay_ms / 1000, flight)
        if response.fault in DROPS:
            if flight.gone_at is None:
                # Our own closing must not read as the sender hanging up.
                self._in_flight.pop(request.protocol, None)
                _drop(request, reset=response.fault == "reset")
            # aiohttp needs a response object; the transport is gone, so nothing is sent.
            return web.Response(status=response.status), None
        if response.fault == "drip":
            return await self._drip(request, response, flight)
        # One Response object: headers and body leave in a single write.
        out = web.Response(status=response.status, body=response.body or None, headers=CIMultiDict(response.headers))
        if response.status == 408 or out.headers.get("Connection", "").lower() == "close":
            # RFC 9110: a 408 closes the connection (a stalled body cannot resume); and aiohttp
            # would keep a connection open whatever a `Connection: close` header says.
            out.force_close()
        if flight.gone_at is None:
            # Written here rather than by aiohttp after we return, to know whether it could be.
            try:
                await out.prepare(request)
                await out.write_eof()
            except ConnectionError:
                flight.hung_up()
        return out, None

    async def _drip(
        self, request: web.BaseRequest, response: ResponseGiven, flight: _InFlight
    ) -> tuple[web.StreamResponse, int]:
        """Answer, but trickle the body out in pieces: the last one leaves `drip_ms` after the first byte."""
        out = web.StreamResponse(status=response.status)
        for name, value in response.headers:
            out.headers.add(name, value)
        body = response.body
        if _may_have_body(request.method, response.status):
            out.content_length = len(body)
        pieces = max(1, min(DRIP_CHUNKS, len(body)))
        sent = 0
        if flight.gone_at is not None:
            return out, sent
        try:
            await out.prepare(request)
            # Each piece has its moment on one clock, so waits that overrun do not add up.
            began = time.perf_counter()
            for index in range(1, pieces + 1):
                await self._hold(began + response.drip_ms / 1000 * index / pieces - time.perf_counter(), flight)
                if flight.gone_at is not None:
                    break
                end = len(body) * index // pieces
                await out.write(body[sent:end])
                sent = end
            else:
                await out.write_eof()
        except ConnectionError:
            flight.hung_up()  # the capture is already stored; the outcome says how far it got
        return out, sent


def _answer_headers(decision: Decision, may_have_body: bool) -> Headers:
    """The headers of an answer to `decision` but its `X-Hookbin-Id`: the decision's, after the
    Content-Type of its body (hookbin's JSON when it has none of its own) unless they set one."""
    content_type = decision.content_type if decision.body is not None else "application/json"
    if not may_have_body or not content_type:
        return decision.headers
    if any(name.lower() == "content-type" for name, _ in decision.headers):
        return decision.headers
    return (("Content-Type", content_type), *decision.headers)


def _foreseen(fault: str | None, delayed: bool) -> bool | None:
    """Whether an answer is stored as delivered before anything is sent: one sent at once is
    (a second write corrects it in the rare case it cannot be written, so the common case
    costs one write, not two), a dropped connection is not, and one held back (delay, drip)
    is not known yet."""
    if fault in DROPS:
        return None if delayed else False
    return None if fault == "drip" or delayed else True


def _as_stored(response: ResponseGiven, flight: _InFlight) -> ResponseGiven:
    """`response` as it is stored before anything is sent (see `_foreseen`); `_record_outcome`
    writes again only when the answer ends otherwise."""
    if flight.gone_at is not None:  # the sender hung up before it could be sent
        return replace(response, delivered=False, sender_gone_ms=flight.gone_ms)
    foreseen = _foreseen(response.fault, response.delay_ms > 0)
    return response if response.delivered == foreseen else replace(response, delivered=foreseen)


class CatcherServer(GuardedServer):
    """The catcher's guarded server (see `guard`), telling the catcher about every connection that closes.

    aiohttp does not cancel a handler whose client hung up, so the connection closing is how
    the catcher learns of it, at once and without polling. `connection_lost` is aiohttp's
    hook for the server to forget a connection; it runs once per connection, not per request.
    """

    def __init__(self, catcher: Catcher, **kwargs: Any) -> None:
        super().__init__(catcher.handle, **kwargs)
        self.catcher = catcher

    def connection_lost(self, handler: Any, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self.catcher.connection_lost(handler)


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
