"""The replay client: send an `OutgoingRequest` byte for byte and read the receiver's answer.

HTTP/1.1 over a plain asyncio connection (TLS for https://), written here rather than with
aiohttp's client because a replay must send what was stored: aiohttp's client merges
duplicate headers, re-spells header names, drops an empty `?`, and cannot send a header byte
that is not UTF-8. `exchange` opens a connection per request, closed after the answer;
`Connections` keeps connections open for senders of many requests. The answer is read
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

__all__ = ["BODY_KEEP", "DEFAULT_TIMEOUT", "Connections", "describe", "exchange", "replay"]

DEFAULT_TIMEOUT = 10.0
"""Seconds a request may take, connecting and reading the answer included."""
BODY_KEEP = 64 * 1024
"""How much of an answer's body is read and kept by default."""
LINE_LIMIT = 64 * 1024
"""Longest status or header line accepted in an answer."""
MAX_HEADERS = 1000
IDLE_SECONDS = 15.0
"""How long `Connections` keeps a connection nobody uses (aiohttp's client keeps one as long)."""
MOST_IDLE = 100
"""Connections `Connections` keeps unused per receiver: enough for a burst of senders at once."""
_NO_BODY_STATUSES = frozenset({204, 304})


class _BadAnswer(Exception):
    """The receiver's bytes are not an HTTP/1.x answer; the message says how."""


class _Closed(Exception):
    """The connection ended before a status line arrived."""


async def replay(
    capture: Capture, to: str, *, exact_url: bool = False, timeout: float = DEFAULT_TIMEOUT, keep: int = BODY_KEEP
) -> Answer:
    """Send `capture` again to `to` (see `replay_request`) on a new connection and return the answer.

    Raises:
        hookbin.outgoing.RequestError: for a URL hookbin cannot send to (nothing is sent).
    """
    return await exchange(replay_request(capture, to, exact_url=exact_url), timeout=timeout, keep=keep)


async def exchange(request: OutgoingRequest, *, timeout: float = DEFAULT_TIMEOUT, keep: int = BODY_KEEP) -> Answer:
    """Send `request` on a new connection, closed after the answer, and read the answer; never
    raises for network trouble.

    Args:
        request: what to send, exactly.
        timeout: seconds for everything: connecting, sending, and reading the kept part of the answer.
        keep: most body bytes to read; a longer body is cut there and marked so.

    Returns:
        The answer, or an `Answer` with `status` None and `error` saying why none came.
    """
    return await _exchange(request, timeout, keep, None)


class Connections:
    """Connections kept open between exchanges, for a sender of many requests (`serve --forward`,
    the TUI's replay, `hookbin replay` of many captures): each receiver gets the same few
    connections instead of a new one per request.

    A connection is kept only after a complete HTTP/1.1 answer that did not ask to close it, its
    body read to the end; it is dropped after `idle` seconds unused. One the receiver closed
    while it was kept is noticed before it is used; if the receiver closes it as a request goes
    out (its own idle limit ran out just then), the request goes once more on a new connection.
    That resend is what browsers do too: the receiver sees the request twice only if it read it
    and then closed without a word, which a server that closes idle connections does not do.
    Only the event loop the connections were opened on may use them.

    Args:
        idle: seconds a connection is kept unused.
        most_idle: connections kept unused per receiver (host, port, TLS); more are closed.
    """

    def __init__(self, *, idle: float = IDLE_SECONDS, most_idle: int = MOST_IDLE) -> None:
        self.idle = idle
        self.most_idle = most_idle
        self._idle: dict[_Receiver, list[_Connection]] = {}
        self._closed = False

    async def exchange(
        self, request: OutgoingRequest, *, timeout: float = DEFAULT_TIMEOUT, keep: int = BODY_KEEP
    ) -> Answer:
        """`exchange`, on a kept connection to the receiver when there is one."""
        return await _exchange(request, timeout, keep, self)

    async def replay(
        self, capture: Capture, to: str, *, exact_url: bool = False, timeout: float = DEFAULT_TIMEOUT
    ) -> Answer:
        """`replay`, on a kept connection to the receiver when there is one."""
        return await self.exchange(replay_request(capture, to, exact_url=exact_url), timeout=timeout)

    async def close(self) -> None:
        """Close every kept connection; connections in use close once their exchange ends."""
        self._closed = True
        kept = [connection for stack in self._idle.values() for connection in stack]
        self._idle.clear()
        for connection in kept:
            connection.keep_until(None)
            connection.close()
        if kept:
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(c.writer.wait_closed() for c in kept)), 1)

    def _take(self, receiver: _Receiver) -> _Connection | None:
        """A kept connection to `receiver` still open, the one used last first (the least likely
        to have reached the receiver's idle limit), or None."""
        stack = self._idle.get(receiver)
        while stack:
            connection = stack.pop()
            connection.keep_until(None)
            if connection.still_open():
                return connection
            connection.close()
        return None

    def _give_back(self, connection: _Connection) -> None:
        stack = self._idle.setdefault(connection.receiver, [])
        if self._closed or len(stack) >= self.most_idle:
            connection.close()
            return
        stack.append(connection)
        connection.keep_until(asyncio.get_running_loop().call_later(self.idle, self._expire, connection))

    def _expire(self, connection: _Connection) -> None:
        stack = self._idle.get(connection.receiver, [])
        if connection in stack:
            stack.remove(connection)
        connection.close()

    def _forget(self, receiver: _Receiver) -> None:
        """Close every kept connection to `receiver`: one was found closed, so the receiver
        probably restarted and closed the others too."""
        for connection in self._idle.pop(receiver, []):
            connection.keep_until(None)
            connection.close()


_Receiver = tuple[str, int, bool]
"""Host, port and TLS: connections to one receiver are interchangeable."""


class _Connection:
    """One open connection to a receiver."""

    def __init__(self, receiver: _Receiver, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.receiver = receiver
        self.reader = reader
        self.writer = writer
        self._timer: asyncio.TimerHandle | None = None

    def keep_until(self, timer: asyncio.TimerHandle | None) -> None:
        """The timer that ends its idle time (None: in use again)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = timer

    def still_open(self) -> bool:
        """Whether the receiver has neither closed it nor sent anything unasked while it was kept."""
        # StreamReader has no public way to ask for bytes waiting: unasked bytes would be read as
        # the answer to the next request, so a connection with any is not reused.
        waiting = getattr(self.reader, "_buffer", b"")
        return not (self.writer.is_closing() or self.reader.at_eof() or self.reader.exception() is not None or waiting)

    def close(self) -> None:
        self.writer.close()


async def _connect(request: OutgoingRequest) -> _Connection:
    reader, writer = await asyncio.open_connection(
        request.host,
        request.port,
        ssl=ssl.create_default_context() if request.tls else None,
        limit=LINE_LIMIT,
    )
    return _Connection((request.host, request.port, request.tls), reader, writer)


async def _exchange(request: OutgoingRequest, timeout: float, keep: int, pool: Connections | None) -> Answer:
    head = request.head_bytes()
    started = time.perf_counter()
    receiver = (request.host, request.port, request.tls)
    connection: _Connection | None = None
    try:
        async with asyncio.timeout(timeout):
            connection = pool._take(receiver) if pool is not None else None
            while True:
                reused = connection is not None
                if connection is None:
                    connection = await _connect(request)
                sent_error = await _send(connection.writer, head, request.body)
                try:
                    answer, reusable = await _read_answer(connection.reader, request.method, keep)
                    break
                except (_Closed, ConnectionError) as exc:
                    if reused and pool is not None:
                        # The receiver closed a kept connection as the request went out: again on a new one.
                        connection.close()
                        connection = None
                        pool._forget(receiver)
                        continue
                    # Nothing came back and the upload failed too: the upload's error says more.
                    raise (sent_error or exc) from None
            if pool is not None and reusable and sent_error is None:
                pool._give_back(connection)
                connection = None
    except (OSError, TimeoutError, UnicodeError, _BadAnswer, _Closed) as exc:  # UnicodeError: a bad host name
        error = describe(exc, timeout=timeout, host=request.host)
        return Answer(status=None, latency=time.perf_counter() - started, error=error)
    finally:
        if connection is not None:
            connection.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(connection.writer.wait_closed(), 1)
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


async def _read_answer(reader: asyncio.StreamReader, method: str, keep: int) -> tuple[Answer, bool]:
    """The answer, and whether the connection may carry another request: an HTTP/1.1 answer
    that does not ask to close it, whose body was read to its end."""
    while True:
        version, status, reason = _status_line(await _line(reader, first=True))
        headers = await _headers(reader)
        if not 100 <= status < 200 or status == 101:
            break  # 1xx answers (100 Continue, 103 Early Hints) come before the real one
    closing = {c.strip().lower() for name, v in headers if name.lower() == "connection" for c in v.split(",")}
    reusable = version == b"HTTP/1.1" and "close" not in closing and status != 101
    if method == "HEAD" or status < 200 or status in _NO_BODY_STATUSES:
        return Answer(status=status, reason=reason, headers=headers), reusable
    codings = [c.strip().lower() for name, v in headers if name.lower() == "transfer-encoding" for c in v.split(",")]
    lengths = {v.strip() for name, v in headers if name.lower() == "content-length"}
    try:
        if codings:
            # RFC 9112 6.3: chunked last frames the body; any other coding runs to the close.
            chunked = codings[-1] == "chunked"
            reusable = reusable and chunked
            body, size = await (_chunked(reader, keep) if chunked else _until_closed(reader, keep))
        elif lengths:
            length = lengths.pop()
            if lengths or not (length.isascii() and length.isdigit()):
                raise _BadAnswer("bad Content-Length")
            body, size = await _exactly(reader, int(length), keep)
        else:
            reusable = False
            body, size = await _until_closed(reader, keep)
    except (_BadAnswer, ConnectionError) as exc:
        # The status and headers arrived: they are the answer, with the body's problem noted.
        return Answer(status=status, reason=reason, headers=headers, error=describe(exc)), False
    cut = size is None or size > len(body)
    answer = Answer(status=status, reason=reason, headers=headers, body=body, body_size=size, cut=cut)
    return answer, reusable and not cut


def _status_line(line: bytes) -> tuple[bytes, int, str]:
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        start = line[:40].decode("ascii", "backslashreplace")
        raise _BadAnswer(f"not an HTTP/1.x answer: {start!r}")
    return version, int(code), reason.decode("utf-8", "surrogateescape").strip()


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
