"""The sender simulator: deliver payloads to a receiver the way a webhook sender does, with retries.

`send()` posts each delivery in turn. A 2xx answer accepts it; anything else (another status,
a timeout, a refused or dropped connection) is retried after the next delay of the schedule, or
after the receiver's `Retry-After` when it gives one (capped at an hour). When the schedule is
used up the delivery has failed. Redirects are not followed: a 3xx is a failure, as in
Standard Webhooks. Each attempt goes through the replay client (`hookbin.client.replay`) on a
new connection, so a receiver that closed an idle keep-alive connection during a long wait
cannot turn the next attempt into a spurious error. A payload is either bytes, POSTed with
JSON headers, or a whole `OutgoingRequest` (a capture to send again, as `send --from-capture` does).

Signing (`sign_secret`) adds the Standard Webhooks headers: `webhook-id`, stable across a
delivery's retries, and a fresh `webhook-timestamp` and `webhook-signature` for each attempt.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hookbin import __version__
from hookbin.client.replay import exchange
from hookbin.durations import parse_retry_after
from hookbin.model import header_get
from hookbin.outgoing import OutgoingRequest, RequestError, check_url, post_request, with_headers
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
    payloads: Sequence[bytes | OutgoingRequest]
    """Delivery i (from 0) sends `payloads[i % len(payloads)]`: bytes are POSTed to `to` with
    JSON headers; a request (a capture to send again) goes as it is, `headers` added."""
    count: int = 1
    """How many deliveries, sent one after another."""
    retry: list[float] = field(default_factory=lambda: list(DEFAULT_RETRY))
    """Seconds to wait before retry 1, 2, ...; empty means a single attempt per delivery."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds an attempt may take, connecting and reading the answer included."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Extra request headers; they replace any of the same name (the default Content-Type, a
    captured header)."""
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


def _check(options: SendOptions) -> None:
    try:
        check_url(options.to)
    except RequestError as exc:
        raise SendError(str(exc)) from None
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


def _requests(options: SendOptions) -> list[OutgoingRequest]:
    defaults = (("Content-Type", "application/json"), ("User-Agent", USER_AGENT))
    extra = tuple(options.headers)
    out = []
    for payload in options.payloads:
        if isinstance(payload, OutgoingRequest):
            out.append(with_headers(payload, extra))
        else:
            out.append(with_headers(post_request(options.to, payload, defaults), extra))
    return out


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
    try:
        requests = _requests(options)
    except RequestError as exc:
        raise SendError(str(exc)) from None
    deliveries: list[DeliveryReport] = []
    for index in range(options.count):
        request = requests[index % len(requests)]
        webhook_id = f"msg_{secrets.token_hex(12)}" if options.sign_secret is not None else None
        attempts: list[AttemptResult] = []
        for attempt in range(1, len(options.retry) + 2):
            if webhook_id is not None and options.sign_secret is not None:
                # A fresh timestamp per attempt, as the spec asks; the id stays.
                stamp = int(time.time())
                signature = sign(options.sign_secret, webhook_id, stamp, request.body)
                signed = (("webhook-id", webhook_id), ("webhook-timestamp", str(stamp)))
                request = with_headers(request, (*signed, ("webhook-signature", signature)))
            answer = await exchange(request, timeout=options.timeout, keep=_RESPONSE_KEEP)
            result = AttemptResult(
                delivery=index + 1,
                attempt=attempt,
                status=answer.status,
                error=answer.error,
                latency=answer.latency,
                next_retry=None,
                webhook_id=webhook_id,
            )
            retries_left = attempt <= len(options.retry)
            if not result.accepted and retries_left:
                asked = parse_retry_after(header_get(answer.headers, "retry-after"), datetime.now(UTC))
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
