"""HAR 1.2: captures as entries browser dev tools and HAR viewers open, and entries back as captures.

Each entry holds the request as it arrived (method, URL, headers in order with duplicates, query,
body) and hookbin's answer, in HAR's own fields; a binary body is base64 with `encoding`. What
HAR has no field for (the exact path and query bytes, the capture id and time to the microsecond,
the delivery, the response spec and fault) goes into `_hookbin`, the custom field HAR allows
(names starting with `_`), so an export imports back into a store unchanged. Entries from other
tools (no `_hookbin`) import too, from their standard fields.

Pure: builds and reads dicts and JSON text; the caller owns files.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit

from hookbin import __version__
from hookbin.deliveries import delivery_key
from hookbin.export import raw_bytes
from hookbin.formats.errors import FormatError
from hookbin.model import DROPS, Capture, Headers, ResponseGiven, header_get, header_get_all, stable_id

VERSION = "1.2"
EXTENSION = "_hookbin"
"""The custom field of each entry that holds what HAR has no field for."""

_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")
# What stays as it is in a URL: printable ASCII but `#`, and `%` only where it starts an escape
# (percent_encode keeps those); `?` too in a query but not in a path. Any other byte is %XX.
_URL_KEEP = frozenset(range(0x21, 0x7F)) - {ord("#"), ord("%")}
# In HAR, the request and response carry these; `_hookbin` carries the rest of the JSON form.
_IN_HAR = ("headers", "body", "body_encoding", "query")


def percent_encode(text: str, keep: frozenset[int], *, keep_escapes: bool = True) -> str:
    """`text`'s bytes with those outside `keep` as `%XX`.

    Args:
        keep_escapes: leave a `%` that starts a `%XX` escape as it is (a URL); else a `%` is
            kept or encoded like any other byte.
    """
    data = raw_bytes(text)
    out = []
    for i, byte in enumerate(data):
        escape = keep_escapes and byte == ord("%") and re.fullmatch(rb"[0-9A-Fa-f]{2}", data[i + 1 : i + 3])
        out.append(chr(byte) if byte in keep or escape else f"%{byte:02X}")
    return "".join(out)


def request_url(capture: Capture) -> str:
    """An absolute URL for the request: `http://` + its Host header + its path and query.

    A viewer needs a URL; the exact path and query bytes travel in `_hookbin`. A Host header
    that is not a plain host[:port] becomes `localhost`.
    """
    host = header_get(capture.headers, "host", "") or ""
    host = host if _HOST.fullmatch(host) else "localhost"
    path = capture.path if capture.path.startswith("/") else "/" + capture.path
    url = f"http://{host}{percent_encode(path, _URL_KEEP - {ord('?')})}"
    return f"{url}?{percent_encode(capture.query_string, _URL_KEEP)}" if capture.query_string else url


def _content(body: bytes) -> dict[str, Any]:
    """`text`, and `encoding: base64` when the body is not UTF-8."""
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def _pairs(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _cookies(values: list[str]) -> list[dict[str, str]]:
    """`name=value` pairs of Cookie (or the first of each Set-Cookie) header; a masked one has none."""
    cookies = []
    for value in values:
        for part in value.split(";"):
            name, sep, cookie = part.strip().partition("=")
            if sep and name:
                cookies.append({"name": name, "value": cookie})
    return cookies


def _post_data(capture: Capture) -> dict[str, Any]:
    mime = capture.content_type
    data: dict[str, Any] = {"mimeType": mime, **_content(capture.body)}
    if mime.split(";")[0].strip().lower() == "application/x-www-form-urlencoded" and "encoding" not in data:
        data["params"] = [{"name": n, "value": v} for n, v in parse_qsl(data["text"], keep_blank_values=True)]
    return data


def _response(response: ResponseGiven | None) -> dict[str, Any]:
    if response is None or response.fault in DROPS:  # HAR's way of saying "no answer"
        status, text, version, size = 0, "", "", -1
    else:
        status, version, size = response.status, "HTTP/1.1", len(response.body)
        try:
            text = HTTPStatus(status).phrase
        except ValueError:
            text = ""
    headers = response.headers if response else ()
    body = response.body if response else b""  # kept for a dropped connection too: what hookbin meant to send
    mime = header_get(headers, "content-type") or "x-unknown"
    return {
        "status": status,
        "statusText": text,
        "httpVersion": version,
        "cookies": _cookies([value.split(";")[0] for value in header_get_all(headers, "set-cookie")]),
        "headers": _pairs(headers),
        "content": {"size": len(body), "mimeType": mime, **_content(body)},
        "redirectURL": header_get(headers, "location", "") or "",
        "headersSize": -1,
        "bodySize": size,
    }


def _extension(capture: Capture) -> dict[str, Any]:
    """The JSON form of the capture (one definition of its fields) without what HAR holds itself."""
    form = {key: value for key, value in capture.to_dict().items() if key not in _IN_HAR}
    if capture.response is not None:
        form["response"] = {key: value for key, value in form["response"].items() if key not in _IN_HAR}
    return form


def entry(capture: Capture) -> dict[str, Any]:
    """The HAR entry of one capture."""
    response = capture.response
    wait = (response.duration_ms + response.delay_ms) if response else 0.0
    receive = response.drip_ms if response else 0.0
    request: dict[str, Any] = {
        "method": capture.method,
        "url": request_url(capture),
        # hookbin keeps no protocol version; aiohttp's server speaks HTTP/1.1 (and 1.0).
        "httpVersion": "HTTP/1.1",
        "cookies": _cookies(header_get_all(capture.headers, "cookie")),
        "headers": _pairs(capture.headers),
        "queryString": [{"name": n, "value": v} for n, v in capture.query],
        # The raw header block is not kept, so its size is not known.
        "headersSize": -1,
        "bodySize": capture.body_size,
    }
    if capture.body:
        request["postData"] = _post_data(capture)
    return {
        "startedDateTime": capture.received_at.isoformat(timespec="milliseconds"),
        "time": round(wait + receive, 3),
        "request": request,
        "response": _response(response),
        "cache": {},
        # The request had arrived when hookbin saw it: sending took no time hookbin could measure.
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": round(wait, 3),
            "receive": round(receive, 3),
        },
        EXTENSION: _extension(capture),
    }


class HarWriter:
    """Writes one HAR document to `out`, one entry per line, as the captures come."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._count = 0
        head = {"version": VERSION, "creator": {"name": "hookbin", "version": __version__}}
        # The document is written as a stream: the entries array stays open until close().
        out.write(json.dumps({"log": head})[:-2] + ', "entries": [')

    def write(self, capture: Capture) -> None:
        self._out.write(("," if self._count else "") + "\n" + json.dumps(entry(capture)))
        self._count += 1

    def close(self) -> None:
        self._out.write("\n]}}\n")


# -- reading -------------------------------------------------------------------------------------


def _get(data: Any, path: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """`data[a][b]…` for `path` "a.b…", checked to be of `kind`; a FormatError names the field."""
    value = data
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            if default is not ...:
                return default
            raise FormatError(f"missing field {path!r}")
        value = value[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):  # JSON true is no number
        raise FormatError(f"field {path!r} has the wrong type")
    return value


def _body(content: Any, path: str) -> bytes:
    """The bytes of a postData or content object: `text`, base64 when `encoding` says so."""
    if content is None:
        return b""
    text = _get(content, "text", str, "")
    params = _get(content, "params", list, [])
    if not text and params:  # some tools give a form only as params
        return urlencode([(_get(p, "name", str), _get(p, "value", str, "")) for p in params]).encode()
    encoding = _get(content, "encoding", str, "")
    if encoding == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            raise FormatError(f"{path}.text is not valid base64") from None
    if encoding:
        raise FormatError(f"{path}.encoding {encoding!r:.40} is not one hookbin reads (only base64)")
    return raw_bytes(text)


def _headers(data: dict[str, Any], path: str, *, foreign: bool = False) -> Headers:
    pairs = []
    for item in _get(data, path, list, []):
        name, value = _get(item, "name", str), _get(item, "value", str)
        if not (foreign and name.startswith(":")):  # HTTP/2 pseudo-headers say again what the URL says
            pairs.append((name, value))
    return tuple(pairs)


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"startedDateTime {text!r:.60} is not an ISO 8601 time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def capture_from_entry(item: Any) -> Capture:
    """The capture a HAR entry describes: exactly the exported one when it has `_hookbin`.

    Raises:
        FormatError: a field is missing or malformed (the message names it).
    """
    if not isinstance(item, dict):
        raise FormatError("an entry must be an object")
    request = _get(item, "request", dict)
    response = _get(item, "response", dict, None)
    extension = _get(item, EXTENSION, dict, None)
    headers = _headers(request, "headers", foreign=extension is None)
    body = _body(_get(request, "postData", dict, None), "request.postData")
    if extension is not None:
        form = {**extension, "headers": headers}
        given = form.get("response")
        if isinstance(given, dict) and response is not None:
            form["response"] = {**given, "headers": _headers(response, "headers")}
        try:
            capture = Capture.from_dict(form)
        except KeyError as exc:
            raise FormatError(f"missing field '{EXTENSION}.{exc.args[0]}'") from None
        except (ValueError, TypeError) as exc:
            raise FormatError(f"{EXTENSION}: {exc}") from None
        answer = capture.response
        if answer is not None and response is not None:
            answer = replace(answer, body=_body(_get(response, "content", dict, None), "response.content"))
        return replace(capture, body=body, response=answer)
    return _foreign(item, request, response, headers, body)


def _foreign(item: dict[str, Any], request: dict[str, Any], response: Any, headers: Headers, body: bytes) -> Capture:
    """A capture from another tool's entry: ids made from its time, the delivery worked out anew."""
    method = _get(request, "method", str)
    parts = urlsplit(_get(request, "url", str))
    path = parts.path or "/"
    received_at = _time(_get(item, "startedDateTime", str))
    key, source = delivery_key(method, path, headers, body)
    # The same entry imported twice gets the same id, so the second import skips it.
    content = json.dumps([method, parts.path, parts.query, headers], ensure_ascii=True).encode() + body
    answer = None
    status = _get(response, "status", int, 0) if response is not None else 0
    if response is not None and status > 0:
        answer = ResponseGiven(
            status=status,
            headers=_headers(response, "headers", foreign=True),
            body=_body(_get(response, "content", dict, None), "response.content"),
            duration_ms=float(_get(item, "time", (int, float), 0)),
        )
    return Capture(
        id=stable_id(int(received_at.timestamp() * 1000), content),
        received_at=received_at,
        method=method,
        path=path,
        query_string=parts.query,
        headers=headers,
        body=body,
        body_size=len(body),
        response=answer,
        delivery_key=key,
        delivery_source=source,
    )
