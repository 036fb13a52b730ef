"""A Segmanta webhook receiver that attaches each completed survey answer to a customer's CRM record.

    python examples/crm_receiver/app.py --port 8000 --crm-db crm.db

Routes (JSON in and out):

    POST /customers           {"id": ..., "name": ..., "external_id": ...} adds a customer
    GET  /customers/{id}      the customer with its attached `responses`
    POST /segmanta            both Segmanta hook events (question and survey completion)
    GET  /review              deliveries parked for review (?status=open|done|all)
    POST /review/{id}/retry   process a parked delivery again, e.g. once its customer exists

How `/segmanta` answers, and why: Segmanta retries every answer that is not 2xx, 4xx included,
so a 4xx for a payload that can never be used would be retried forever.

    200  the answers are attached (committed before this answer is sent)
    202  the delivery can never be used as it is (no customer id, unknown customer, not JSON):
         it is kept in the review table with the reason (committed), and retrying would not help
    503  the CRM database is locked or unavailable: nothing was written; Segmanta retries later

Uses aiohttp and the standard library only, so it can be copied out of hookbin's repository.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import IntEnum
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from crm import CRM, Conflict, CRMUnavailable, Outcome

MAX_BODY = 10 * 1024 * 1024
"""Bytes of a delivery read; a larger one is parked (its first MAX_BODY bytes) rather than refused."""

CRM_KEY = web.AppKey("crm", CRM)
WRITER_KEY = web.AppKey("writer", ThreadPoolExecutor)

T = TypeVar("T")


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2


def printable(text: str) -> str:
    """`text` with every non-printable character escaped: senders' text cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def log(line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"{stamp}  {printable(line)}", file=sys.stderr, flush=True)


async def write(request: web.Request, call: Callable[..., T], *args: Any) -> T:
    """Run a CRM write on the one writer thread: writes from this process queue there, so only
    another process holding the database can make a write wait (and then answer 503)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[WRITER_KEY], partial(call, *args))


async def read(call: Callable[..., T], *args: Any) -> T:
    """Run a CRM read on a worker thread; WAL lets reads go on while a write holds the lock."""
    return await asyncio.to_thread(call, *args)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def unavailable(exc: CRMUnavailable) -> web.Response:
    return error(503, f"{exc}; nothing was written, try again later")


# ---------------------------------------------------------------------------------- Segmanta


async def read_body(request: web.Request) -> tuple[bytes, bool]:
    """At most MAX_BODY bytes of the body, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return b"".join(chunks)[:MAX_BODY], True
    return b"".join(chunks), False


def describe(outcome: Outcome) -> str:
    if outcome.status == "parked":
        return f"parked for review #{outcome.review_id}: {outcome.reason}"
    counts = ", ".join(f"{name} {getattr(outcome, name)}" for name in ("attached", "updated", "unchanged", "stale"))
    text = f"{outcome.event}, customer {outcome.customer}: {counts}"
    if outcome.review_id is not None:
        text += f"; part parked for review #{outcome.review_id}: {outcome.reason}"
    return text


async def segmanta(request: web.Request) -> web.Response:
    started = time.perf_counter()
    crm = request.app[CRM_KEY]
    content_type = request.headers.get("Content-Type")
    body, cut = await read_body(request)
    try:
        try:
            if cut:
                outcome = await write(
                    request, crm.park, body, content_type, f"body over {MAX_BODY} bytes; the first {MAX_BODY} kept"
                )
            else:
                outcome = await write(request, crm.receive, body, content_type)
        except CRMUnavailable:
            raise
        except Exception as exc:  # a bug in this receiver must not lose the delivery: keep it to retry
            outcome = await write(request, crm.park, body, content_type, f"receiver error: {type(exc).__name__}: {exc}")
    except CRMUnavailable as exc:
        log(f"POST {request.path_qs} 503 {exc} ({(time.perf_counter() - started) * 1000:.0f} ms)")
        return unavailable(exc)
    status = 200 if outcome.status == "attached" else 202
    log(f"POST {request.path_qs} {status} {describe(outcome)} ({(time.perf_counter() - started) * 1000:.0f} ms)")
    return web.json_response(outcome.to_dict(), status=status)


# --------------------------------------------------------------------------- the CRM itself


async def add_customer(request: web.Request) -> web.Response:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        return error(400, 'send a JSON object: {"id": ..., "name": ..., "external_id": ...}')
    if not isinstance(data, dict):
        return error(400, 'send a JSON object: {"id": ..., "name": ..., "external_id": ...}')
    customer_id, name, external_id = data.get("id"), data.get("name"), data.get("external_id")
    if not isinstance(customer_id, str) or not customer_id.strip():
        return error(400, "id must be a non-empty string")
    if not isinstance(name, str):
        return error(400, "name must be a string")
    if external_id is not None and not isinstance(external_id, str):
        return error(400, "external_id must be a string or null")
    try:
        customer = await write(request, request.app[CRM_KEY].add_customer, customer_id.strip(), name, external_id)
    except Conflict as exc:
        return error(409, str(exc))
    except CRMUnavailable as exc:
        return unavailable(exc)
    return web.json_response(customer, status=201)


async def show_customer(request: web.Request) -> web.Response:
    try:
        customer = await read(request.app[CRM_KEY].customer, request.match_info["id"])
    except CRMUnavailable as exc:
        return unavailable(exc)
    if customer is None:
        return error(404, f"no customer {request.match_info['id']!r}")
    return web.json_response(customer)


async def list_review(request: web.Request) -> web.Response:
    status = request.query.get("status", "open")
    if status not in ("open", "done", "all"):
        return error(400, "status is open, done or all")
    try:
        rows = await read(request.app[CRM_KEY].review, None if status == "all" else status)
    except CRMUnavailable as exc:
        return unavailable(exc)
    return web.json_response(rows)


async def retry_review(request: web.Request) -> web.Response:
    try:
        review_id = int(request.match_info["id"])
    except ValueError:
        return error(404, f"no review item {request.match_info['id']!r}")
    try:
        outcome = await write(request, request.app[CRM_KEY].retry, review_id)
    except CRMUnavailable as exc:
        return unavailable(exc)
    if outcome is None:
        return error(404, f"no review item {request.match_info['id']!r}")
    log(f"retried review #{review_id}: {describe(outcome)}")
    # Still parked: the operator asked and it still cannot be attached; say so with a 4xx.
    return web.json_response(outcome.to_dict(), status=200 if outcome.status == "attached" else 422)


# ------------------------------------------------------------------------------------ running


def build_app(crm: CRM) -> web.Application:
    app = web.Application()
    app[CRM_KEY] = crm
    app[WRITER_KEY] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-writer")

    async def stop_writer(app: web.Application) -> None:
        app[WRITER_KEY].shutdown(wait=True)

    app.on_cleanup.append(stop_writer)
    app.add_routes(
        [
            web.post("/segmanta", segmanta),
            web.post("/customers", add_customer),
            web.get("/customers/{id}", show_customer),
            web.get("/review", list_review),
            web.post("/review/{id}/retry", retry_review),
        ]
    )
    return app


async def serve(host: str, port: int, crm: CRM) -> ExitStatus:
    runner = web.AppRunner(build_app(crm), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        # asyncio wraps the bind error in a long sentence; the errno's own words say it all.
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        print(f"crm_receiver: error: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        await runner.cleanup()
        return ExitStatus.ERROR
    bound = runner.addresses[0][1]
    print(
        f"crm_receiver listening on http://{host}:{bound} (CRM database {crm.path}); Segmanta posts to /segmanta",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()  # lets in-flight deliveries finish and commit first
    return ExitStatus.OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="crm_receiver", description="Attach Segmanta survey answers to customers in a tiny SQLite CRM."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one (default 8000)")
    parser.add_argument("--crm-db", default="crm.db", metavar="PATH", help="the CRM's SQLite file (default crm.db)")
    parser.add_argument(
        "--busy-timeout",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long a delivery waits for the CRM's write lock before answering 503 (default 1)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535 or args.busy_timeout < 0:
        parser.error("--port is 0-65535 and --busy-timeout at least 0")
    crm = CRM(args.crm_db, args.busy_timeout)
    try:
        crm.create()
    except CRMUnavailable as exc:
        print(f"crm_receiver: error: {exc}", file=sys.stderr)
        return ExitStatus.ERROR
    return asyncio.run(serve(args.host, args.port, crm))


if __name__ == "__main__":
    sys.exit(main())
