"""The replay client: send an `OutgoingRequest` byte for byte and read the receiver's answer.

HTTP/1.1 over a plain asyncio connection (TLS for https://), written here rather than with
aiohttp's client because a replay must send what was stored: aiohttp's client merges
duplicate headers, re-spells header names, drops an empty `?`, and cannot send a header byte
that is not UTF-8. One connection per request, closed after the answer. The answer is read
with bounds: lines up to 64 KiB, at most 1000 headers, and only the first `keep` bytes of the
body (the rest is not waited for). Redirects are not followed.

What to send is built by `hookbin.outgoing` (pure): `replay_request` for a capture,
`post_request` for a new POST, `with_headers` to change headers; `Answer` is what comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from dataclasses import replace

from hookbin.durations import format_duration
from hookbin.model import Capture
from hookbin.outgoing import Answer, OutgoingRequest, replay_request

__all__ = ["BODY_KEEP", "DEFAULT_TIMEOUT", "describe", "exchange", "replay"]

DEFAULT_TIMEOUT = 10.0
"""Seconds a request may take, connecting and reading the answer included."""
BODY_KEEP = 64 * 1024
"""How much of an answer's body is read and kept by default."""
LINE_LIMIT = 64 * 1024
"""Longest status or header line accepted in an answer."""
MAX_HEADERS = 1000
_NO_BODY_STATUSES = frozenset({204, 304})


class _BadAnswer(Exception):
    """The receiver's bytes are not an HTTP/1.x answer; the message says how."""


class _Closed(Exception):
    """The connection ended before a status line arrived."""


async def replay(
    capture: Capture, to: str, *, exact_url: bool = False, timeout: float = DEFAULT_TIMEOUT, keep: int = BODY_KEEP
) -> Answer:
    """Send `capture` again to `to` (see `replay_request`) and return the answer.

    Raises:
        hookbin.outgoing.RequestError: for a URL hookbin cannot send to (nothing is sent).
    """
    return await exchange(replay_request(capture, to, exact_url=exact_url), timeout=timeout, keep=keep)


async def exchange(request: OutgoingRequest, *, timeout: float = DEFAULT_TIMEOUT, keep: int = BODY_KEEP) -> Answer:
    """Send `request` on a new connection and read the answer; never raises for network trouble.

    Args:
        request: what to send, exactly.
        timeout: seconds for everything: connecting, sending, and reading the kept part of the answer.
        keep: most body bytes to read; a longer body is cut there and marked so.

    Returns:
        The answer, or an `Answer` with `status` None and `error` saying why none came.
    """
    head = request.head_bytes()
    started = time.perf_counter()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                request.host,
                request.port,
                ssl=ssl.create_default_context() if request.tls else None,
                limit=LINE_LIMIT,
            )
            sent_error = await _send(writer, head, request.body)
            try:
                answer = await _read_answer(reader, request.method, keep)
            except (_Closed, ConnectionError) as exc:
                # Nothing came back and the upload failed too: the upload's error says more.
                raise (sent_error or exc) from None
    except (OSError, TimeoutError, UnicodeError, _BadAnswer, _Closed) as exc:  # UnicodeError: a bad host name
        error = describe(exc, timeout=timeout, host=request.host)
        return Answer(status=None, latency=time.perf_counter() - started, error=error)
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1)
    return replace(answer, latency=time.perf_counter() - started)


async def _send(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> OSError | None:
    """Write the request; an error while writing is returned, since an answer may still follow
    (a receiver may refuse a body it does not want with `413` before reading it)."""
    try:
        writer.write(head)
        if body:
            writer.write(body)
        await writer.drain()
    except OSError as exc:
        return exc
    return None


async def _line(reader: asyncio.StreamReader, *, first: bool = False) -> bytes:
    """One line without its end; `first` for the status line, where the end of the stream means
    the receiver closed without answering rather than cut its answer short."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if first and not exc.partial:
            raise _Closed() from None
        raise _BadAnswer("answer cut short") from None
    except asyncio.LimitOverrunError:
        raise _BadAnswer(f"a line longer than {LINE_LIMIT // 1024} KiB") from None
    return line.rstrip(b"\r\n")


async def _read_answer(reader: asyncio.StreamReader, method: str, keep: int) -> Answer:
    while True:
        status, reason = _status_line(await _line(reader, first=True))
        headers = await _headers(reader)
        if not 100 <= status < 200 or status == 101:
            break  # 1xx answers (100 Continue, 103 Early Hints) come before the real one
    if method == "HEAD" or status < 200 or status in _NO_BODY_STATUSES:
        return Answer(status=status, reason=reason, headers=headers)
    codings = [c.strip().lower() for name, v in headers if name.lower() == "transfer-encoding" for c in v.split(",")]
    lengths = {v.strip() for name, v in headers if name.lower() == "content-length"}
    try:
        if codings:
            # RFC 9112 6.3: chunked last frames the body; any other coding runs to the close.
            body, size = await (_chunked(reader, keep) if codings[-1] == "chunked" else _until_closed(reader, keep))
        elif lengths:
            length = lengths.pop()
            if lengths or not (length.isascii() and length.isdigit()):
                raise _BadAnswer("bad Content-Length")
            body, size = await _exactly(reader, int(length), keep)
        else:
            body, size = await _until_closed(reader, keep)
    except (_BadAnswer, ConnectionError) as exc:
        # The status and headers arrived: they are the answer, with the body's problem noted.
        return Answer(status=status, reason=reason, headers=headers, error=describe(exc))
    return Answer(
        status=status, reason=reason, headers=headers, body=body, body_size=size, cut=size is None or size > len(body)
    )


def _status_line(line: bytes) -> tuple[int, str]:
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        start = line[:40].decode("ascii", "backslashreplace")
        raise _BadAnswer(f"not an HTTP/1.x answer: {start!r}")
    return int(code), reason.decode("utf-8", "surrogateescape").strip()


async def _headers(reader: asyncio.StreamReader) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    while line := await _line(reader):
        if len(headers) >= MAX_HEADERS:
            raise _BadAnswer(f"more than {MAX_HEADERS} headers")
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise _BadAnswer("a header line without a name")
        headers.append((name.decode("utf-8", "surrogateescape"), value.strip().decode("utf-8", "surrogateescape")))
    return tuple(headers)


async def _exactly(reader: asyncio.StreamReader, length: int, keep: int) -> tuple[bytes, int]:
    """The first `keep` bytes of a body of `length` bytes (the rest is not read)."""
    body = bytearray()
    want = min(length, keep)
    while len(body) < want:
        chunk = await reader.read(want - len(body))
        if not chunk:
            raise _BadAnswer(f"answer cut short: {len(body)} of {length} bytes")
        body += chunk
    return bytes(body), length


async def _until_closed(reader: asyncio.StreamReader, keep: int) -> tuple[bytes, int | None]:
    """A body that ends when the connection does; None for its size when it went past `keep`."""
    body = bytearray()
    while len(body) <= keep:
        chunk = await reader.read(keep + 1 - len(body))
        if not chunk:
            return bytes(body), len(body)
        body += chunk
    return bytes(body[:keep]), None


async def _chunked(reader: asyncio.StreamReader, keep: int) -> tuple[bytes, int | None]:
    body = bytearray()
    total = 0
    while True:
        size_text = (await _line(reader)).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _BadAnswer(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            while await _line(reader):  # trailers, not kept
                pass
            return bytes(body), total
        total += size
        left = size
        while left:
            chunk = await reader.read(min(left, 64 * 1024))
            if not chunk:
                raise _BadAnswer("answer cut short in a chunk")
            left -= len(chunk)
            body += chunk[: max(0, keep - len(body))]
        if total > keep:
            return bytes(body), None
        await _line(reader)


def describe(exc: BaseException, *, timeout: float = 0, host: str = "") -> str:
    """A short, stable description of why a request got no (complete) answer."""
    if isinstance(exc, TimeoutError):
        return f"timeout after {format_duration(timeout)}"
    if isinstance(exc, _Closed):
        return "server closed the connection"
    if isinstance(exc, _BadAnswer):
        return str(exc) if str(exc).startswith("answer cut short") else f"bad answer: {exc}"
    if isinstance(exc, (socket.gaierror, UnicodeError)):
        return f"cannot resolve host {host}".rstrip()
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, (BrokenPipeError, ConnectionAbortedError)):
        return "server closed the connection"
    if isinstance(exc, OSError):
        if exc.errno == errno.ECONNREFUSED:
            return "connection refused"
        return f"cannot connect: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
