"""Requests hookbin sends (a capture replayed, a sender's delivery) and the answers they get (pure).

`replay_request` turns a capture back into the request its sender made, aimed at another
server: the same method, path and query (appended to the target URL unless `exact_url`),
every header in its order and spelling except hop-by-hop ones, `Host` rewritten to the
target, and the body bytes as stored (`Content-Length` follows the body). `head_bytes()`
writes the request line and headers exactly, undecodable header bytes included. An `Answer`
is what came back, bounded: the client keeps only the first bytes of a long body.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from hookbin.bodies import decode_capture
from hookbin.durations import format_size
from hookbin.model import Capture, Headers, body_json
from hookbin.textsafe import safe

__all__ = [
    "HOP_BY_HOP",
    "Answer",
    "OutgoingRequest",
    "RequestError",
    "check_url",
    "editable_body",
    "end_to_end",
    "post_request",
    "reencode",
    "replay_request",
    "truncated_warning",
    "with_headers",
]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
    }
)
"""Headers that describe one connection, not the request (RFC 9110 7.6.1); never passed on."""

_FRAMING = frozenset({"host", "content-length"})
"""Headers a resent request must state afresh: where it goes and how long its body is."""


class RequestError(ValueError):
    """A request hookbin cannot send (a bad URL, a header that cannot be written); the message
    is one line saying which and why."""


@functools.lru_cache(maxsize=256)
def check_url(url: str) -> str:
    """`url` when it is an absolute http:// or https:// URL with a host, else RequestError.

    Remembered (the answer for one URL never changes): `serve --forward` checks its URL for
    every request it forwards."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise RequestError(f"bad URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise RequestError(f"bad URL {url!r}: use an http:// or https:// URL")
    if not parts.hostname:
        raise RequestError(f"bad URL {url!r}: no host")
    if "@" in parts.netloc:
        raise RequestError(f"bad URL {url!r}: user:password@ is not sent; the request's own headers are")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise RequestError(f"bad URL {url!r}: spaces and control characters must be percent-encoded")
    return url


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One HTTP/1.1 request, exactly as it will be written to the connection."""

    method: str
    url: str
    """Where it goes, in full: scheme, host, port, path and query."""
    host: str
    """Host name or address to connect to (IPv6 without brackets)."""
    port: int
    tls: bool
    """True for https://."""
    target: str
    """The request target on the request line: path and query, percent-escapes as given."""
    headers: Headers
    """Every header in order, `Host` and `Content-Length` included."""
    body: bytes = b""

    def head_bytes(self) -> bytes:
        """The request line and headers, byte for byte (surrogate escapes back to their bytes)."""
        lines = [f"{self.method} {self.target} HTTP/1.1", *(f"{name}: {value}" for name, value in self.headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def end_to_end(headers: Headers) -> Headers:
    """`headers` without hop-by-hop ones, including any the Connection header names."""
    named = {
        token.strip().lower() for name, value in headers if name.lower() == "connection" for token in value.split(",")
    }
    return tuple((name, value) for name, value in headers if name.lower() not in HOP_BY_HOP | named)


def _reframed(headers: Headers, netloc: str, body: bytes, *, length: bool) -> Headers:
    """`headers` with Host set to `netloc` and Content-Length to the body's, each where it was.

    A header that was absent is added (Host first, Content-Length last); duplicates of either
    are dropped, since two would make the request ambiguous.
    """
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in headers:
        lower = name.lower()
        if lower in _FRAMING:
            if lower in seen:
                continue
            seen.add(lower)
            value = netloc if lower == "host" else str(len(body))
        out.append((name, value))
    if "host" not in seen:
        out.insert(0, ("Host", netloc))
    if "content-length" not in seen and (body or length):
        out.append(("Content-Length", str(len(body))))
    for name, value in out:
        text = name + value
        if "\r" in text or "\n" in text or "\x00" in text or not name or ":" in name:
            raise RequestError(f"header {name!r} cannot be sent: it contains a line break, NUL or colon")
    return tuple(out)


def _request(
    method: str, url: str, path: str, query: str, headers: Headers, body: bytes, *, length: bool = False
) -> OutgoingRequest:
    parts = urlsplit(url)  # checked by the caller (check_url)
    target = path + (f"?{query}" if query else "")
    full = f"{parts.scheme}://{parts.netloc}{target}"
    tls = parts.scheme.lower() == "https"
    return OutgoingRequest(
        method=method,
        url=full,
        host=parts.hostname or "",
        port=parts.port or (443 if tls else 80),
        tls=tls,
        target=target,
        headers=_reframed(headers, parts.netloc, body, length=length),
        body=body,
    )


def replay_request(capture: Capture, to: str, *, exact_url: bool = False, body: bytes | None = None) -> OutgoingRequest:
    """The request `capture` records, sent to `to`.

    Args:
        capture: what a sender sent.
        to: the receiver's URL. Its path is a prefix for the captured path, and its query comes
            before the captured one (`http://127.0.0.1:3000/api` + `/hook?a=1` is
            `/api/hook?a=1`).
        exact_url: send to `to` itself, ignoring the captured path and query.
        body: a body to send instead of the captured one (after editing it).

    Raises:
        RequestError: for a URL hookbin cannot send to.
    """
    check_url(to)
    parts = urlsplit(to)
    if exact_url:
        path, query = parts.path or "/", parts.query
    else:
        tail = capture.path if capture.path.startswith("/") else "/" + capture.path
        path = parts.path.rstrip("/") + tail
        query = "&".join(q for q in (parts.query, capture.query_string) if q)
    # An edited body always states its length; else Content-Length is sent when the sender sent one.
    had_length = body is not None or any(
        name.lower() in ("content-length", "transfer-encoding") for name, _ in capture.headers
    )
    return _request(
        capture.method,
        to,
        path,
        query,
        end_to_end(capture.headers),
        capture.body if body is None else body,
        length=had_length,
    )


def truncated_warning(capture: Capture) -> str:
    """What to say before sending a capture whose body was cut at hookbin's size limit."""
    return (
        f"capture {capture.id} was cut at {format_size(len(capture.body))} "
        f"of {format_size(capture.body_size)}; sending what was kept"
    )


def editable_body(capture: Capture) -> tuple[bytes, list[str], str | None]:
    """The body to put in front of a person to edit, the content codings to apply again
    afterwards (see `reencode`), and why the body is offered as sent, if it has codings that
    cannot be undone in full."""
    view = decode_capture(capture)
    if not view.content_encoding:
        return capture.body, [], None
    if view.encoding_error or view.encoding_cut:
        why = view.encoding_error or "too large to decompress"
        return capture.body, [], f"capture {capture.id}: cannot undo its Content-Encoding ({why})"
    return view.data, [c.strip() for c in view.content_encoding.split(",")], None


def reencode(data: bytes, codings: list[str]) -> bytes:
    """`data` with `codings` applied in order (the inverse of undoing a Content-Encoding)."""
    for coding in codings:
        if coding in ("gzip", "x-gzip"):
            data = gzip.compress(data)
        elif coding == "deflate":
            data = zlib.compress(data)
    return data


def post_request(to: str, body: bytes, headers: Headers) -> OutgoingRequest:
    """A POST of `body` to `to` exactly, with `headers` (Host and Content-Length are added)."""
    check_url(to)
    parts = urlsplit(to)
    return _request("POST", to, parts.path or "/", parts.query, end_to_end(headers), body, length=True)


def with_headers(request: OutgoingRequest, headers: Headers) -> OutgoingRequest:
    """`request` with `headers` added at the end, replacing every header of the same names
    (Host and Content-Length stay as the request framed them)."""
    given = {name.lower() for name, _ in headers} - _FRAMING
    kept = [(name, value) for name, value in request.headers if name.lower() not in given]
    added = [(name, value) for name, value in headers if name.lower() in given]
    netloc = next((value for name, value in kept if name.lower() == "host"), request.host)
    return replace(request, headers=_reframed((*kept, *added), netloc, request.body, length=False))


@dataclass(frozen=True, slots=True)
class Answer:
    """What the receiver answered, or why it did not; its body only up to the client's limit."""

    status: int | None
    """The final status (after any 1xx), or None when no answer came (see `error`)."""
    reason: str = ""
    """The reason phrase the receiver sent, e.g. `OK`."""
    headers: Headers = ()
    """The answer's headers in order, duplicates kept."""
    body: bytes = b""
    """The body as received (still compressed if it was), at most the client's limit."""
    body_size: int | None = 0
    """The whole body's length; None when it was cut before its end was known."""
    cut: bool = False
    """True when only the first bytes of the body were read."""
    latency: float = 0.0
    """Seconds from connecting until the answer was read (or the attempt failed)."""
    error: str | None = None
    """Why no (complete) answer came, e.g. `connection refused` or `timeout after 10s`."""

    @property
    def answered(self) -> bool:
        """True when the receiver sent a status line (even if its body was then cut short)."""
        return self.status is not None

    def size_text(self) -> str:
        """`15 B`, or `over 64 KiB` when the body was cut before its end was known."""
        if self.body_size is None:
            return f"over {format_size(len(self.body))}"
        return format_size(self.body_size)

    def summary(self) -> str:
        """One line, safe for a terminal: `200 OK  12 ms  15 B`, or `connection refused  3 ms`."""
        millis = f"{self.latency * 1000:.0f} ms"
        error = safe(self.error or "no answer")
        if self.status is None:
            return f"{error}  {millis}"
        reason = f" {safe(self.reason, limit=80)}" if self.reason else ""
        line = f"{self.status}{reason}  {millis}  {self.size_text()}"
        return f"{line}  ({error})" if self.error else line

    def to_dict(self) -> dict[str, Any]:
        """The answer's JSON form (`replay --json`); the body as in the capture JSON form."""
        return {
            "status": self.status,
            "reason": self.reason,
            "headers": [list(pair) for pair in self.headers],
            **body_json(self.body),
            "body_size": self.body_size,
            "truncated": self.cut,
            "latency_ms": round(self.latency * 1000, 3),
            "error": self.error,
        }
