"""The sender simulator: deliver payloads to a receiver the way a webhook sender does, with retries.

`send()` posts each delivery in turn. A 2xx answer accepts it; anything else (another status,
a timeout, a refused or dropped connection) is retried after the next delay of the schedule, or
after the receiver's `Retry-After` when it gives one (capped at an hour). When the schedule is
used up the delivery has failed. Redirects are not followed: a 3xx is a failure, as in
Standard Webhooks. Each attempt opens a new connection, so a receiver that closed an idle
keep-alive connection during a long wait cannot turn the next attempt into a spurious error.

Signing (`sign_secret`) adds the Standard Webhooks headers: `webhook-id`, stable across a
delivery's retries, and a fresh `webhook-timestamp` and `webhook-signature` for each attempt.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict

from hookbin import __version__
from hookbin.durations import format_duration, parse_retry_after
from hookbin.signatures import secret_key, sign

__all__ = [
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "AttemptResult",
    "DeliveryReport",
    "SendError",
    "SendOptions",
    "SendReport",
    "check_url",
    "send",
]

DEFAULT_RETRY = (5.0, 30.0, 120.0)
"""Delays before retries 1, 2 and 3: a short, Svix-like start that a person can wait through."""
DEFAULT_TIMEOUT = 10.0
MAX_RETRY_AFTER = 3600.0
"""The longest `Retry-After` honoured; longer answers are cut to this."""
USER_AGENT = f"hookbin-send/{__version__}"
_RESPONSE_KEEP = 64 * 1024


class SendError(ValueError):
    """Options that cannot be sent (bad URL, no payload, bad secret); the message is one line."""


@dataclass(frozen=True, slots=True)
class SendOptions:
    """What to send, where, and how a failure is retried."""

    to: str
    """The receiver's http:// or https:// URL."""
    payloads: list[bytes]
    """Bodies; delivery i (from 0) sends `payloads[i % len(payloads)]`."""
    count: int = 1
    """How many deliveries, sent one after another."""
    retry: list[float] = field(default_factory=lambda: list(DEFAULT_RETRY))
    """Seconds to wait before retry 1, 2, ...; empty means a single attempt per delivery."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds an attempt may take, connecting and reading the answer included."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Extra request headers; they replace the defaults of the same name (Content-Type)."""
    sign_secret: str | None = None
    """Standard Webhooks secret (`whsec_...` or plain); None sends no signature headers."""


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One request of one delivery, and what came of it."""

    delivery: int
    """1-based delivery number."""
    attempt: int
    """1 for the first request of a delivery, 2 for its first retry, ..."""
    status: int | None
    """The status answered, or None when no answer came (see `error`)."""
    error: str | None
    """Why no answer came, e.g. `timeout after 10s`, `connection refused`."""
    latency: float
    """Seconds from sending the request until the answer was read (or the attempt failed)."""
    next_retry: float | None
    """Seconds until the next attempt; None when accepted or out of retries."""
    retry_after: bool = False
    """True when `next_retry` came from the receiver's Retry-After header."""
    webhook_id: str | None = None
    """The `webhook-id` sent when signing."""

    @property
    def accepted(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "attempt",
            "delivery": self.delivery,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "latency_ms": round(self.latency * 1000, 3),
            "accepted": self.accepted,
            "next_retry_s": self.next_retry,
            "retry_after": self.retry_after,
            "webhook_id": self.webhook_id,
        }


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Every attempt of one delivery."""

    delivery: int
    attempts: list[AttemptResult]
    succeeded: bool
    """True when the last attempt was answered 2xx."""


@dataclass(frozen=True, slots=True)
class SendReport:
    """The outcome of a whole `send()`."""

    deliveries: list[DeliveryReport]

    @property
    def accepted(self) -> int:
        return sum(1 for d in self.deliveries if d.succeeded)

    @property
    def failed(self) -> int:
        return len(self.deliveries) - self.accepted

    @property
    def attempts(self) -> int:
        return sum(len(d.attempts) for d in self.deliveries)

    @property
    def ok(self) -> bool:
        """True when every delivery was accepted."""
        return self.failed == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "deliveries": len(self.deliveries),
            "accepted": self.accepted,
            "failed": self.failed,
            "attempts": self.attempts,
            "ok": self.ok,
        }


def check_url(url: str) -> str:
    """`url` when it is an absolute http:// or https:// URL with a host, else SendError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise SendError(f"bad URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise SendError(f"bad URL {url!r}: use an http:// or https:// URL")
    if not parts.hostname:
        raise SendError(f"bad URL {url!r}: no host")
    return url


def _check(options: SendOptions) -> None:
    check_url(options.to)
    if not options.payloads:
        raise SendError("nothing to send: no payload")
    if options.count < 1:
        raise SendError(f"bad count {options.count}: send at least one delivery")
    if options.timeout <= 0:
        raise SendError("bad timeout: must be more than 0 seconds")
    if any(delay < 0 for delay in options.retry):
        raise SendError("bad retry schedule: delays must not be negative")
    if options.sign_secret is not None:
        try:
            secret_key(options.sign_secret)
        except ValueError as exc:
            raise SendError(str(exc)) from None


def _describe(exc: BaseException, timeout: float) -> str:
    """A short, stable description of why an attempt got no answer."""
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return f"timeout after {format_duration(timeout)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, socket.gaierror):
            return f"cannot resolve host {exc.host}"
        if isinstance(os_error, ConnectionRefusedError) or os_error.errno == errno.ECONNREFUSED:
            return "connection refused"
        return f"cannot connect: {os_error.strerror or os_error}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error: {exc}"
    if isinstance(exc, (ConnectionResetError, aiohttp.ClientOSError)):
        err = exc.errno if isinstance(exc, OSError) else None
        if isinstance(exc, ConnectionResetError) or err == errno.ECONNRESET:
            return "connection reset"
        return f"connection error: {getattr(exc, 'strerror', None) or exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "answer cut short"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad answer: {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _headers(options: SendOptions) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict(
        [("Content-Type", "application/json"), ("User-Agent", USER_AGENT)]
    )
    given = {name.lower() for name, _ in options.headers}
    for name in list(headers):
        if name.lower() in given:
            del headers[name]
    for name, value in options.headers:
        headers.add(name, value)
    return headers


async def send(
    options: SendOptions,
    on_attempt: Callable[[AttemptResult], None],
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> SendReport:
    """Deliver `options.count` payloads to `options.to`, one after another, retrying failures.

    Args:
        options: what to send and how to retry.
        on_attempt: called after every attempt, in order, before any wait for a retry.
        sleep: how to wait before a retry (the command line passes one that shows a countdown).

    Raises:
        SendError: for options that cannot be sent (checked before anything is sent).
    """
    _check(options)
    base_headers = _headers(options)
    deliveries: list[DeliveryReport] = []
    # force_close: one connection per attempt, like most senders, and no stale keep-alive.
    connector = aiohttp.TCPConnector(force_close=True)
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for index in range(options.count):
            body = options.payloads[index % len(options.payloads)]
            webhook_id = f"msg_{secrets.token_hex(12)}" if options.sign_secret is not None else None
            attempts: list[AttemptResult] = []
            for attempt in range(1, len(options.retry) + 2):
                headers = base_headers.copy()
                if webhook_id is not None and options.sign_secret is not None:
                    # A fresh timestamp per attempt, as the spec asks; the id stays.
                    stamp = int(time.time())
                    headers["webhook-id"] = webhook_id
                    headers["webhook-timestamp"] = str(stamp)
                    headers["webhook-signature"] = sign(options.sign_secret, webhook_id, stamp, body)
                status, error, retry_after_value, latency = await _attempt(
                    session, options.to, body, headers, options.timeout
                )
                result = AttemptResult(
                    delivery=index + 1, attempt=attempt, status=status, error=error,
                    latency=latency, next_retry=None, webhook_id=webhook_id,
                )
                retries_left = attempt <= len(options.retry)
                if not result.accepted and retries_left:
                    asked = parse_retry_after(retry_after_value, datetime.now(timezone.utc))
                    honoured = asked is not None
                    wait = options.retry[attempt - 1] if asked is None else min(asked, MAX_RETRY_AFTER)
                    result = replace(result, next_retry=wait, retry_after=honoured)
                attempts.append(result)
                on_attempt(result)
                if result.next_retry is None:
                    break
                await sleep(result.next_retry)
            deliveries.append(DeliveryReport(index + 1, attempts, attempts[-1].accepted))
    return SendReport(deliveries)


async def _attempt(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: CIMultiDict[str], timeout: float,
) -> tuple[int | None, str | None, str | None, float]:
    """(status, error, Retry-After value, latency) of one POST."""
    started = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            # Read (a bounded part of) the answer, as a sender does before it closes.
            await response.content.read(_RESPONSE_KEEP)
            return response.status, None, response.headers.get("Retry-After"), time.perf_counter() - started
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return None, _describe(exc, timeout), None, time.perf_counter() - started

