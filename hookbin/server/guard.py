"""The catcher's connection guard: a header byte budget (431), header and body timeouts, a connection cap (503).

aiohttp's parser limits are per line (`max_line_size`, `max_field_size`) and per count
(`max_headers`): 1,000 headers of 64 KiB each passed, and one such request cost 420 MB.
Nothing timed out a client that sent its request slowly, so half-sent requests stayed open
until the process ran out of file descriptors. `GuardedServer` makes aiohttp's per-connection
protocol objects from `GuardedHandler`, which looks at the bytes before the parser does:

- header bytes are counted as they arrive, before they are parsed; past the budget the
  connection is answered 431 and closed, so the parser never holds more than the budget and
  one read;
- a request's headers must be complete within `header_timeout` of the connection's start or
  of its previous answer (which also closes idle kept-alive connections); a body that stalls
  for `body_timeout` fails the catcher's read with `BodyStalled` (it answers 408 and keeps
  what arrived);
- beyond `max_connections` open connections, a new one is answered 503 and closed.

Refusals are counted and reported through `hookbin.notices.Refusals`, at most one line a second.
This leans on three attributes of aiohttp's RequestHandler (`_messages`, `_request_count`,
`_request_in_progress`), the same from 3.12 to 3.14; tests/test_limits.py fails if they change.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from aiohttp import StreamReader, web, web_protocol

from hookbin.config import Limits
from hookbin.durations import format_duration, format_size
from hookbin.notices import Refusals

LINGER_SECONDS = 2.0
"""How long a refused connection stays open (reading and discarding) so its client can read the answer."""
MAX_LINGERING = 64
"""Refused connections allowed to linger at once; beyond that they are closed straight after the answer."""
FD_RESERVE = 64
"""File descriptors kept free beyond the connection cap: the database, the control API, the terminal."""


class BodyStalled(TimeoutError):
    """No piece of a request's body arrived for `body_timeout` seconds."""


def _canned(status: int) -> bytes:
    """A complete plain-text answer that closes the connection, for requests the catcher never sees."""
    phrase = HTTPStatus(status).phrase
    body = f"{status} {phrase}\n".encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def peer_of(transport: asyncio.BaseTransport | None, unknown: str = "?") -> str:
    """`host:port` of the other end (the TCP peer, never a header such as X-Forwarded-For)."""
    peer = transport.get_extra_info("peername") if transport is not None else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else unknown


class Guard:
    """What all of one catcher's connections share: the limits, the refusal log, the counts."""

    def __init__(self, limits: Limits, refusals: Refusals) -> None:
        self.limits = limits
        self.refusals = refusals
        self.open = 0
        """Admitted connections open now."""
        self.lingering = 0
        """Refused connections still open while their client reads the answer."""


class GuardedHandler(web_protocol.RequestHandler):
    """aiohttp's per-connection protocol, with the budget, the timeouts and the cap applied."""

    def __init__(self, manager: web.Server, *, guard: Guard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._header_bytes = 0
        """Bytes of the current request's start line and headers seen so far."""
        self._header_lines = 0
        self._header_tail = b""
        """The last bytes seen, to find the blank line ending the headers across two reads."""
        self._body_reader: StreamReader | None = None
        """The body being received, while it is not complete."""
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_due: float | None = None
        """When the current request's headers are due (loop time); None while none are awaited."""
        self._body_timer: asyncio.TimerHandle | None = None
        self._admitted = False
        self._refusing = False
        self._lingering = False
        self._peer = "?"
        self.remote = ""
        """The peer's `host:port` (empty when unknown), found once for all of the connection's requests."""

    # -- connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.remote = peer_of(transport, unknown="")
        self._peer = self.remote or "?"
        guard = self._guard
        if guard.open >= guard.limits.max_connections:
            self._refuse(503, "over the connection cap", f"{guard.open} connections already open")
            return
        guard.open += 1
        self._admitted = True
        self._arm_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_timers()
        if self._admitted:
            self._admitted = False
            self._guard.open -= 1
        if self._lingering:
            self._lingering = False
            self._guard.lingering -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusing:
            return  # the answer is out; read and drop until the client or the linger timer closes
        in_body = self._body_reader is not None and not self._body_reader.is_eof()
        if in_body:
            self._arm_body_timer()
        else:
            over = self._headers_over(data)
            if over:
                self._refuse(431, "headers too large", over)
                return
        before = self._request_count
        super().data_received(data)
        if self._request_count != before and self._messages:
            # Headers completed in this read; the newest request says what the next bytes are.
            self._header_bytes = self._header_lines = 0
            self._header_tail = b""
            self._cancel_header_timer()
            payload = self._messages[-1][1]
            self._body_reader = payload if not payload.is_eof() else None
        if self._body_reader is not None and self._body_reader.is_eof():
            self._body_reader = None
        if self._body_reader is not None:
            self._arm_body_timer()
        elif self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> Any:
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            # The answer is out: the next request's headers are due `header_timeout` from now.
            if not self._refusing:
                self._arm_header_timer()

    # -- headers -------------------------------------------------------------------------

    def _headers_over(self, data: bytes) -> str | None:
        """Count `data` towards the current request's headers; say how they are over budget, if they are."""
        limits = self._guard.limits
        window = self._header_tail + data
        end = window.find(b"\r\n\r\n")
        if end >= 0:  # the headers end in this read: measure exactly up to the blank line
            used = self._header_bytes - len(self._header_tail) + end + 4
            lines = self._header_lines - self._header_tail.count(b"\n") + window.count(b"\n", 0, end + 4)
        else:
            used = self._header_bytes + len(data)
            lines = self._header_lines + data.count(b"\n")
        self._header_bytes += len(data)
        self._header_lines += data.count(b"\n")
        self._header_tail = window[-3:]
        if used > limits.max_header_bytes:
            return f"headers over {format_size(limits.max_header_bytes)}"
        # Lines counted: the request line, the headers and the blank line that ends them.
        if lines > limits.max_header_lines + 2:
            return f"more than {limits.max_header_lines} header lines"
        return None

    def _arm_header_timer(self) -> None:
        # Each answer moves the deadline; the one timer is only moved when it goes off early
        # (see `_header_check`), rather than cancelled and made again for every request.
        self._header_due = self._loop.time() + self._guard.limits.header_timeout
        if self._header_timer is None:
            self._header_timer = self._loop.call_at(self._header_due, self._header_check)

    def _header_check(self) -> None:
        self._header_timer = None
        due = self._header_due
        if due is None:
            return  # headers arrived meanwhile; the next answer arms the timer again
        if self._loop.time() < due:
            self._header_timer = self._loop.call_at(due, self._header_check)
            return
        self._header_due = None
        self._headers_timed_out()

    def _headers_timed_out(self) -> None:
        if self._refusing or self.transport is None:
            return
        if self._messages or self._request_in_progress:
            return  # a request is being answered; its answer re-arms the timer
        if self._body_reader is not None or (self._header_bytes == 0 and self._request_count):
            self.force_close()  # idle after an answer (kept alive, or a body nobody waits for)
            return
        waited = format_duration(self._guard.limits.header_timeout)
        if self._header_bytes == 0:
            self._refuse(None, "silent connections", f"sent nothing in {waited}")
        else:
            self._refuse(408, "headers too slow", f"headers not complete after {waited}")

    # -- body ----------------------------------------------------------------------------

    def _arm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
        self._body_timer = self._loop.call_later(self._guard.limits.body_timeout, self._body_stalled)

    def _body_stalled(self) -> None:
        self._body_timer = None
        reader = self._body_reader
        if reader is None or reader.is_eof():
            return
        waited = format_duration(self._guard.limits.body_timeout)
        # The catcher's read fails with this; it answers 408 and keeps what arrived.
        reader.set_exception(BodyStalled(f"no body bytes for {waited}"))

    # -- refusing ------------------------------------------------------------------------

    def _refuse(self, status: int | None, reason: str, detail: str) -> None:
        """Count and report the refusal, answer `status` (None: no answer) unless something else
        is being answered on this connection, and close."""
        self._refusing = True
        self._cancel_timers()
        said = f"refused a connection from {self._peer}: {detail}" + (f" ({status})" if status else "")
        self._guard.refusals.refuse(reason, said)
        transport = self.transport
        if transport is None:
            return
        if status is None or self._messages or self._request_in_progress:
            # Silent, or an earlier request on this connection is still being answered: its
            # answer must not be interleaved with ours, so the connection just closes.
            self.force_close()
            return
        transport.write(_canned(status))
        guard = self._guard
        if guard.lingering >= MAX_LINGERING or not transport.can_write_eof():
            transport.close()  # sends what was written, then closes
            return
        # Closing with unread request bytes would reset the connection and could destroy the
        # answer before the client reads it: half-close, drop what still arrives, close soon.
        try:
            transport.write_eof()
        except OSError:  # the client is already gone
            transport.abort()
            return
        guard.lingering += 1
        self._lingering = True
        self._loop.call_later(LINGER_SECONDS, transport.close)

    def _cancel_header_timer(self) -> None:
        self._header_due = None

    def _cancel_timers(self) -> None:
        self._header_due = None
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None


class GuardedServer(web.Server):
    """aiohttp's low-level server whose connections are `GuardedHandler`s sharing one `Guard`."""

    def __init__(self, handler: Callable[..., Any], *, limits: Limits, refusals: Refusals, **kwargs: Any) -> None:
        # The parser's own limits are backstops at the budget: ours refuse first, with 431.
        kwargs.update(
            max_line_size=limits.max_header_bytes,
            max_field_size=limits.max_header_bytes,
            max_headers=limits.max_header_lines,
        )
        super().__init__(handler, **kwargs)
        self.guard = Guard(limits, refusals)
        self._handler_options = kwargs
        self._handler_loop = asyncio.get_running_loop()

    def __call__(self) -> web_protocol.RequestHandler:
        return GuardedHandler(self, loop=self._handler_loop, guard=self.guard, **self._handler_options)


def enough_descriptors(limits: Limits, notify: Callable[[str], None]) -> Limits:
    """`limits`, with the process allowed enough open files for the connection cap.

    Raises the soft RLIMIT_NOFILE towards the hard one when needed; if even that is too low,
    lowers the cap (saying so), so running out of descriptors cannot stop all service.
    """
    try:
        import resource
    except ImportError:  # not a Unix: nothing to adjust
        return limits
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < wanted:
        cap = max(1, soft - FD_RESERVE)
        notify(
            f"only {soft} open files allowed (ulimit -n): accepting at most {cap} connections, "
            f"not {limits.max_connections}"
        )
        return replace(limits, max_connections=cap)
    return limits


_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def report_accept_failures(loop: asyncio.AbstractEventLoop, refusals: Refusals) -> Callable[[], None]:
    """Turn asyncio's traceback for each failed accept (out of file descriptors) into a counted,
    rate-limited line; other loop errors go where they went before. Returns the undo."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_RESOURCES:
            refusals.refuse(
                "not accepted",
                f"could not accept a connection: {exc.strerror or exc} (raise `ulimit -n` or lower --max-connections)",
            )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)

    def undo() -> None:
        loop.set_exception_handler(previous)

    return undo
