"""Verify a Standard Webhooks signature with the standard library: copy `verify` into your receiver.

In a receiver (aiohttp here; any framework that gives the raw body and the headers will do):

    body = await request.read()                   # the raw bytes: never re-serialised JSON
    verify(SECRET, request.headers, body)         # raises InvalidSignature("does not match")

From the shell, on a request hookbin caught (`hookbin send --sign whsec_...` makes such requests):

    hookbin show ID --json | python examples/snippets/verify_signature.py whsec_...

prints `valid`, or `invalid: <reason>` and exits 1. The capture's arrival time is taken as
"now", so a capture checked hours later is judged as when it arrived.

The secret is `whsec_` + base64 as the Standard Webhooks libraries give it; any other secret
is keyed with its UTF-8 bytes, as `hookbin send --sign` does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Mapping
from datetime import datetime

TOLERANCE = 300
"""Seconds a `webhook-timestamp` may be from now, either way, before the request is refused as a replay."""


class InvalidSignature(ValueError):
    """The request is not signed with the secret; the message is the reason."""


def secret_bytes(secret: str) -> bytes:
    if not secret.startswith("whsec_"):
        return secret.encode("utf-8")
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise InvalidSignature("the whsec_ secret is not base64") from None


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """Raise `InvalidSignature` unless `body` and `headers` carry a valid v1 signature made with `secret`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    found = [lowered.get(f"webhook-{part}") or lowered.get(f"svix-{part}") for part in ("id", "timestamp", "signature")]
    message_id, timestamp, signatures = found
    if not (message_id and timestamp and signatures):
        raise InvalidSignature("missing header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature("malformed header") from None
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()).decode()
    # The header may carry several space-separated `v1,<base64>` entries (during a key rotation).
    candidates = [sig for version, _, sig in (entry.partition(",") for entry in signatures.split()) if version == "v1"]
    if not any(hmac.compare_digest(candidate, expected) for candidate in candidates):
        raise InvalidSignature("does not match")
    if abs((time.time() if now is None else now) - sent_at) > TOLERANCE:
        raise InvalidSignature("timestamp outside tolerance")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: hookbin show ID --json | python verify_signature.py SECRET", file=sys.stderr)
        return 2
    try:
        capture = json.load(sys.stdin)
        headers = {name: value for name, value in capture["headers"]}
        raw = capture["body"]
        body = base64.b64decode(raw) if capture["body_encoding"] == "base64" else raw.encode("utf-8")
        arrived = datetime.fromisoformat(capture["received_at"]).timestamp()
    except (ValueError, KeyError, TypeError) as exc:
        print(f"verify_signature: error: stdin is not a `hookbin show ID --json` capture ({exc})", file=sys.stderr)
        return 2
    try:
        verify(argv[1], headers, body, now=arrived)
    except InvalidSignature as exc:
        print(f"invalid: {exc}")
        return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
