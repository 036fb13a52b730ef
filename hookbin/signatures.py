"""Standard Webhooks v1 signatures: sign a delivery, verify one and say why it fails (pure).

The spec (github.com/standard-webhooks/standard-webhooks, `spec/standard-webhooks.md`):
a delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`,
a space-separated list of `v1,<base64>` entries. Each `v1` entry is the base64 HMAC-SHA256 of
`{id}.{timestamp}.{raw body}` keyed with the secret's bytes. `v1a,` entries (Ed25519, asymmetric)
are skipped here: they need a public key, not a shared secret.

Secrets: `whsec_<base64>` is the spec's form, and the key is the decoded bytes. A secret
without the `whsec_` prefix is taken as it is, and its UTF-8 bytes are the key; that matches
senders that hand out plain shared secrets.

Svix sends the same scheme under `svix-id`, `svix-timestamp` and `svix-signature`; `verify`
reads those when the `webhook-*` names are absent.

Only the standard library is used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "SignatureError",
    "Verification",
    "secret_key",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300
"""Seconds a timestamp may differ from now, either way (the spec's 5 minutes)."""

_NAMES = ("id", "timestamp", "signature")


class SignatureError(ValueError):
    """A secret that cannot be used as a signing key; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking one delivery's signature."""

    ok: bool
    """True when a `v1` signature matched and the timestamp is within the tolerance."""
    reason: str
    """One line: what matched, or what failed and the likely cause."""


def secret_key(secret: str) -> bytes:
    """The HMAC key for `secret`: base64-decoded after `whsec_`, else the UTF-8 bytes of `secret`.

    Raises:
        SignatureError: for an empty secret, or a `whsec_` value that is not base64.
    """
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, not {type(secret).__name__}")
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX):]
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("bad secret: whsec_ value is not base64") from None
        if not key:
            raise SignatureError("bad secret: nothing after whsec_")
        return key
    if not secret:
        raise SignatureError("bad secret: it is empty")
    return secret.encode("utf-8")


def _digest(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode("utf-8") + bytes(body)
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value (`v1,<base64>`) for one attempt of a delivery.

    Args:
        secret: `whsec_<base64>`, or a plain secret whose UTF-8 bytes are the key.
        msg_id: the `webhook-id`, stable across a delivery's retries.
        timestamp: the `webhook-timestamp`, Unix seconds, fresh for each attempt.
        body: the raw body bytes exactly as sent.

    Raises:
        SignatureError: when `secret` cannot be used (see `secret_key`).
    """
    digest = _digest(secret_key(secret), msg_id, int(timestamp), body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def _header(headers: Sequence[tuple[str, str]], suffix: str) -> str | None:
    """The first `webhook-<suffix>` value, else the first `svix-<suffix>` one."""
    for prefix in ("webhook-", "svix-"):
        name = prefix + suffix
        for key, value in headers:
            if key.lower() == name:
                return value
    return None


def _age(now: int, timestamp: int) -> str:
    if timestamp <= now:
        return f"{now - timestamp} s old"
    return f"{timestamp - now} s in the future"


def verify(
    secret: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    now: int | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> Verification:
    """Check a delivery's Standard Webhooks signature against `secret`.

    Never raises for bad input: a bad secret, a missing header or a stale timestamp is
    a failed `Verification` whose `reason` says what to look at.

    Args:
        secret: `whsec_<base64>`, or a plain secret whose UTF-8 bytes are the key.
        headers: the request headers as (name, value) pairs; names match case-insensitively.
        body: the raw body bytes as received (never re-serialised JSON).
        now: the current Unix time; defaults to the clock.
        tolerance: how many seconds the timestamp may be off, either way.
    """
    try:
        key = secret_key(secret)
    except SignatureError as exc:
        return Verification(False, str(exc))
    values = {name: _header(headers, name) for name in _NAMES}
    missing = [f"webhook-{name}" for name in _NAMES if values[name] is None]
    if missing:
        if len(missing) == 1:
            return Verification(False, f"missing {missing[0]} header")
        return Verification(False, f"missing {', '.join(missing[:-1])} and {missing[-1]} headers")
    msg_id, stamp, signatures = (values[name] or "" for name in _NAMES)
    stamp = stamp.strip()
    if not stamp.isascii() or not stamp.isdigit():
        return Verification(False, f"bad webhook-timestamp {stamp!r}: not Unix seconds")
    timestamp = int(stamp)
    current = int(time.time()) if now is None else int(now)
    if abs(current - timestamp) > tolerance:
        return Verification(False, f"timestamp outside tolerance ({_age(current, timestamp)})")
    expected = _digest(key, msg_id, stamp, body)
    seen_v1 = False
    for entry in signatures.split():
        version, comma, encoded = entry.partition(",")
        if not comma or version != "v1":
            continue  # v1a (Ed25519) and unknown versions need other keys
        seen_v1 = True
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(candidate, expected):
            return Verification(True, "v1 signature matched")
    if not seen_v1:
        return Verification(False, "no v1 entry in webhook-signature (v1a and others are not checked)")
    return Verification(False, "no signature matched: was the body re-serialised, or is the secret wrong?")
