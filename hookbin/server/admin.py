"""The control API: a loopback-only aiohttp app to read and change what hookbin answers.

It runs on its own listener bound to 127.0.0.1 (never the catcher port, which is what gets
tunnelled to the internet), and is its owner's alone. Every request must carry the running
hookbin's credential (`Authorization: Bearer …`, from its instance file; see
`hookbin.instances`), compared in constant time, else `401`: other local users cannot read
captures or change the answer. Requests whose Host is not exactly 127.0.0.1, localhost or
[::1] with this port get `403`, which stops DNS-rebinding pages in a local browser; and every
write must be sent as JSON, whatever its transfer encoding, which a plain HTML form cannot do.

Endpoints:
    GET    /api/status              version, URLs, counters (rejected: no token or credentials; refused: limits)
    GET    /api/responder           the current spec, rules, body, headers
    PUT    /api/responder           replace any of them: {"spec", "rules", "body", "content_type", "headers"};
                                    every PUT starts a new run, `{}` one with the same answer
    GET    /api/captures            newest first; ?limit=&offset=&method=&path=&status=&q=&run=
    GET    /api/captures/{id}       one capture
    DELETE /api/captures            delete every capture
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from aiohttp import web

from hookbin import __version__
from hookbin.instances import SCHEME, is_loopback_host
from hookbin.responder import Responder
from hookbin.spec import SpecError, parse_header_line, parse_rule, parse_spec
from hookbin.store import Filter, SQLiteStore, StoreError

_MAX_LIMIT = 10_000

STORE_KEY = web.AppKey("store", SQLiteStore)
RESPONDER_KEY = web.AppKey("responder", Responder)
CATCHER_KEY = web.AppKey("catcher", object)
CREDENTIAL_KEY = web.AppKey("credential", bytes)
_READS = ("GET", "HEAD", "OPTIONS")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _local_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else None


def _addressed_here(request: web.Request) -> bool:
    hosts = request.headers.getall("Host", [])
    port = _local_port(request)
    return len(hosts) == 1 and port is not None and is_loopback_host(hosts[0], port)


def _has_credential(request: web.Request) -> bool:
    given = request.headers.getall("Authorization", [])
    if len(given) != 1:
        return False
    scheme, _, credential = given[0].strip().partition(" ")
    if scheme.lower() != SCHEME.lower():
        return False
    # Constant time: how much of a guess matched must not show in how long the answer takes.
    return hmac.compare_digest(credential.strip().encode("utf-8", "surrogateescape"), request.app[CREDENTIAL_KEY])


@web.middleware
async def _owner_only(request: web.Request, handler: Any) -> web.StreamResponse:
    if not _addressed_here(request):
        return _error(
            403, "the control API only answers requests addressed to 127.0.0.1, localhost or [::1] with its own port"
        )
    if not _has_credential(request):
        response = _error(
            401,
            "the control API needs this hookbin's credential (Authorization: Bearer …), "
            "kept in its instance file; `hookbin respond` finds it by itself",
        )
        response.headers["WWW-Authenticate"] = f'{SCHEME} realm="hookbin control API"'
        return response
    # Chunked bodies have no Content-Length: check every write, whatever its framing.
    if request.method not in _READS and request.content_type != "application/json":
        return _error(415, "send JSON (Content-Type: application/json)")
    return await handler(request)


async def _status(request: web.Request) -> web.Response:
    catcher = request.app[CATCHER_KEY]
    stats = catcher.stats  # type: ignore[attr-defined]
    refusals = catcher.refusals  # type: ignore[attr-defined]
    return web.json_response(
        {
            "version": __version__,
            "received": stats.received,
            "answered_2xx": stats.answered_2xx,
            "answered_error": stats.answered_error,
            "faults": stats.faults,
            "rejected": refusals.rejected,
            "refused": refusals.refused,
            "not_delivered": stats.not_delivered,
            "run": request.app[RESPONDER_KEY].run,
        }
    )


async def _get_responder(request: web.Request) -> web.Response:
    return web.json_response(request.app[RESPONDER_KEY].snapshot())


def validate_update(data: Any) -> dict[str, Any]:
    """Parse a responder update completely before anything changes; raises SpecError."""
    if not isinstance(data, dict):
        raise SpecError('send a JSON object such as {"spec": "503"}')
    unknown = set(data) - {"spec", "rules", "body", "content_type", "headers"}
    if unknown:
        raise SpecError(f"unknown field(s): {', '.join(sorted(unknown))}")
    update: dict[str, Any] = {}
    if "spec" in data:
        if not isinstance(data["spec"], str):
            raise SpecError('spec must be a string such as "500,500,200"')
        update["spec"] = parse_spec(data["spec"])
    if "rules" in data:
        if not isinstance(data["rules"], list) or not all(isinstance(r, str) for r in data["rules"]):
            raise SpecError('rules must be a list of strings such as "POST /hooks/* => 503"')
        update["rules"] = [parse_rule(rule) for rule in data["rules"]]
    if "body" in data:
        if data["body"] is not None and not isinstance(data["body"], str):
            raise SpecError("body must be a string or null")
        update["body"] = None if data["body"] is None else data["body"].encode("utf-8")
    if "content_type" in data:
        if data["content_type"] is not None and not isinstance(data["content_type"], str):
            raise SpecError("content_type must be a string or null")
        update["content_type"] = data["content_type"]
    if "headers" in data:
        if not isinstance(data["headers"], list) or not all(isinstance(h, str) for h in data["headers"]):
            raise SpecError('headers must be a list of strings such as "X-Test: 1"')
        update["headers"] = [parse_header_line(line) for line in data["headers"]]
    return update


async def _put_responder(request: web.Request) -> web.Response:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        return _error(400, "the request body is not valid JSON")
    try:
        update = validate_update(data)
    except SpecError as exc:
        return _error(400, str(exc))
    responder = request.app[RESPONDER_KEY]
    responder.update(**update)  # one run for the whole update, even when nothing changed
    return web.json_response(responder.snapshot())


def _int_arg(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"{name} must be a whole number"}), content_type="application/json"
        )
    return int(raw)


async def _list_captures(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    limit = min(_int_arg(request, "limit", 50), _MAX_LIMIT)
    offset = _int_arg(request, "offset", 0)
    flt = Filter(
        method=request.query.get("method") or None,
        path=request.query.get("path") or None,
        status=request.query.get("status") or None,
        text=request.query.get("q") or None,
        signature=request.query.get("sig") or None,
        run=_int_arg(request, "run", 0) or None,
    )
    try:
        captures = await asyncio.to_thread(store.list_captures, limit, offset, flt)
    except StoreError as exc:
        return _error(400, str(exc))
    return web.json_response([capture.to_dict() for capture in captures])


async def _get_capture(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    try:
        capture = await asyncio.to_thread(store.get, request.match_info["id"])
    except StoreError as exc:
        return _error(400, str(exc))
    if capture is None:
        return _error(404, "no such capture")
    return web.json_response(capture.to_dict())


async def _clear_captures(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    deleted = await asyncio.to_thread(store.clear)
    request.app[CATCHER_KEY].attempts.reset()  # type: ignore[attr-defined]
    return web.json_response({"deleted": deleted})


def make_admin_app(store: SQLiteStore, responder: Responder, catcher: object, credential: str) -> web.Application:
    """The control API application (see the module docstring for its endpoints).

    Args:
        credential: what every request must carry as `Authorization: Bearer CREDENTIAL`.
    """
    app = web.Application(middlewares=[_owner_only], client_max_size=1024 * 1024)
    app[CREDENTIAL_KEY] = credential.encode("utf-8")
    app[STORE_KEY] = store
    app[RESPONDER_KEY] = responder
    app[CATCHER_KEY] = catcher
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/responder", _get_responder)
    app.router.add_put("/api/responder", _put_responder)
    app.router.add_get("/api/captures", _list_captures)
    app.router.add_get("/api/captures/{id}", _get_capture)
    app.router.add_delete("/api/captures", _clear_captures)
    return app
