"""Webhook signatures: `--verify SCHEME:SECRET` verifiers, how several combine, and signing (pure).

Four schemes, parsed by `parse_verifier` from the text of one `--verify` option:

- `standard:whsec_…`: Standard Webhooks v1. Headers `webhook-id`, `webhook-timestamp` (Unix
  seconds) and `webhook-signature`, a space-separated list of `v1,<base64>` entries, each the
  HMAC-SHA256 of `{id}.{timestamp}.{body}`. Svix sends the same under `svix-*` names, used when
  no `webhook-signature` is there (the three headers come from one family, never mixed).
  Entries of other versions (`v1a`, Ed25519) are skipped. The key is the base64 after `whsec_`,
  padded or not; a secret without `whsec_` is used as its UTF-8 bytes, as `sign` does.
- `stripe:whsec_…`: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, each `v1` the hex
  HMAC-SHA256 of `{t}.{body}`, keyed with the secret's UTF-8 bytes exactly as given (Stripe
  does not base64-decode it, `whsec_` included).
- `github:SECRET`: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body.
- `hmac:HEADER:SECRET`: HMAC-SHA256 of the body in header HEADER, hex or base64 (standard or
  URL-safe alphabet, padding optional), with or without a `sha256=` prefix.

`Verifier.check(headers, body, now)` returns a `SignatureCheck` whose `reason` is `"ok"` when
`valid`, else exactly one of: `"missing header"`; `"malformed header"` (there, but not in the
scheme's shape: no signature that decodes to 32 bytes, a timestamp that is not Unix seconds);
`"does not match"`; `"timestamp outside tolerance"`. The last is only said of a signature
that matched, so it means a replay or a clock more than 5 minutes off, either way (both
timestamped schemes). Headers are (name, value) pairs from a stranger, names matched
case-insensitively, str (undecodable bytes kept as surrogate escapes, as the catcher stores
them) or bytes; nothing in them raises. Pass the whole body as received: a body cut at
`--max-body` or re-serialised does not match.

Several verifiers (the option repeats) combine in `check_all`: among those whose signature
header is present, the first valid one wins (so `--verify github:old --verify github:new`
rotates a secret); if none is valid, the first of them with its header present decides; if
no verifier finds its header, the answer is "missing header" for the first one configured.

`sign` makes the Standard Webhooks signature `hookbin send --sign` sends. Every comparison
uses `hmac.compare_digest`. Only the standard library (and `textsafe`) is used.
"""

from __future__ import annotations

import base64
import string
from collections.abc import Sequence

from hookbin.signatures.check import (
    DEFAULT_TOLERANCE,
    DOES_NOT_MATCH,
    MALFORMED_HEADER,
    MISSING_HEADER,
    OK,
    OUTSIDE_TOLERANCE,
    REASONS,
    HeaderPairs,
    HeaderView,
    SignatureCheck,
    SignatureError,
    Verifier,
    b64decode,
    hmac_sha256,
    wire_bytes,
)
from hookbin.signatures.schemes import (
    GitHubVerifier,
    HmacVerifier,
    StandardVerifier,
    StripeVerifier,
)
from hookbin.textsafe import safe

__all__ = [
    "DEFAULT_TOLERANCE",
    "DOES_NOT_MATCH",
    "MALFORMED_HEADER",
    "MISSING_HEADER",
    "OK",
    "OUTSIDE_TOLERANCE",
    "REASONS",
    "SCHEMES",
    "SECRET_PREFIX",
    "GitHubVerifier",
    "HmacVerifier",
    "SignatureCheck",
    "SignatureError",
    "StandardVerifier",
    "StripeVerifier",
    "Verifier",
    "check_all",
    "parse_verifier",
    "secret_key",
    "sign",
]

SECRET_PREFIX = "whsec_"
SCHEMES = ("standard", "stripe", "github", "hmac")
_USAGE = "standard:whsec_…, stripe:whsec_…, github:SECRET or hmac:HEADER:SECRET"
_TOKEN = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
"""The characters of an HTTP header name (RFC 9110 token)."""


def check_all(verifiers: Sequence[Verifier], headers: HeaderPairs, body: bytes, now: float) -> SignatureCheck | None:
    """Check one request against every configured verifier; None when none is configured.

    Of the verifiers whose signature header is present, the first valid one wins; if none is
    valid, the first of them decides. When no verifier finds its header: "missing header"
    for the first one configured. Never raises, whatever the headers hold.
    """
    if not verifiers:
        return None
    found = HeaderView(headers)
    data = bytes(body)
    decided: SignatureCheck | None = None
    for verifier in verifiers:
        if not verifier._present(found):
            continue
        result = verifier._check(found, data, now)
        if result.valid:
            return result
        if decided is None:
            decided = result
    return decided if decided is not None else verifiers[0]._fail(MISSING_HEADER)


def _standard_key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        key = b64decode(secret[len(SECRET_PREFIX) :])
        if key is None:
            raise SignatureError("whsec_ value is not base64")
        if not key:
            raise SignatureError("nothing after whsec_")
        return key
    if not secret:
        raise SignatureError("it is empty")
    return wire_bytes(secret)


def secret_key(secret: str) -> bytes:
    """The Standard Webhooks HMAC key: base64 after `whsec_` (padded or not), else UTF-8 bytes.

    The `standardwebhooks` package uses the same key for `Webhook("whsec_…")`, and for any
    other secret with `Webhook(secret.encode())`: bytes, because it base64-decodes a str.

    Raises:
        SignatureError: for an empty secret, or a `whsec_` value that is not base64.
    """
    try:
        return _standard_key(secret)
    except SignatureError as exc:
        raise SignatureError(f"bad secret: {exc}") from None


def parse_verifier(text: str) -> Verifier:
    """A verifier from the text of one `--verify` option, e.g. `github:It's a Secret to Everybody`.

    Raises:
        SignatureError: one line naming what is wrong; it never repeats the secret.
    """
    scheme, colon, rest = text.partition(":")
    name = scheme.strip().lower()
    if not colon:
        # Without a colon the whole text may be the secret: do not echo it.
        raise SignatureError(f"missing scheme: write {_USAGE}")
    if name not in SCHEMES:
        raise SignatureError(f"unknown signature scheme {safe(scheme, limit=40)!r}: use {_USAGE}")
    header = ""
    if name == "hmac":
        header, colon, rest = rest.partition(":")
        header = header.strip()
        if not colon or not header:
            raise SignatureError("hmac needs a header and a secret: write hmac:HEADER:SECRET")
        if not all(c in _TOKEN for c in header):
            raise SignatureError(f"bad header name {safe(header, limit=40)!r} in hmac:HEADER:SECRET")
    if not rest:
        raise SignatureError(f"empty secret: write {'hmac:HEADER' if header else name}:SECRET")
    if name == "standard":
        try:
            return StandardVerifier(_standard_key(rest))
        except SignatureError as exc:
            raise SignatureError(f"bad secret in standard:…: {exc}") from None
    if name == "stripe":
        return StripeVerifier(wire_bytes(rest))
    if name == "github":
        return GitHubVerifier("X-Hub-Signature-256", wire_bytes(rest))
    return HmacVerifier(header, wire_bytes(rest))


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
    prefix = b"%s.%d." % (wire_bytes(msg_id), int(timestamp))
    return "v1," + base64.b64encode(hmac_sha256(secret_key(secret), prefix, bytes(body))).decode("ascii")
