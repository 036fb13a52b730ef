"""The four `--verify` schemes: Standard Webhooks (and Svix), Stripe, GitHub, and a plain body HMAC (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from hookbin.signatures.check import (
    DEFAULT_TOLERANCE,
    DOES_NOT_MATCH,
    MALFORMED_HEADER,
    MISSING_HEADER,
    OK,
    OUTSIDE_TOLERANCE,
    HeaderView,
    SignatureCheck,
    Verifier,
    any_matches,
    b64_digest,
    hex_digest,
    hmac_sha256,
    unix_seconds,
    wire_bytes,
)

__all__ = ["GitHubVerifier", "HmacVerifier", "StandardVerifier", "StripeVerifier"]


def _timed(verifier: Verifier, matched: bool, stamp: int, now: float, tolerance: int) -> SignatureCheck:
    """The verdict of a timestamped scheme; the timestamp is only judged for a genuine signature."""
    if not matched:
        return verifier._fail(DOES_NOT_MATCH)
    if abs(now - stamp) > tolerance:
        return verifier._fail(OUTSIDE_TOLERANCE)
    return SignatureCheck(verifier.scheme, True, OK)


@dataclass(frozen=True, slots=True)
class StandardVerifier(Verifier):
    """Standard Webhooks v1: `webhook-id`, `webhook-timestamp`, `webhook-signature` (or `svix-*`)."""

    key: bytes = field(repr=False)
    tolerance: int = DEFAULT_TOLERANCE
    scheme: ClassVar[str] = "standard"

    @staticmethod
    def _family(headers: HeaderView) -> str | None:
        """`webhook-` or `svix-`: the family whose signature header is there; never mixed."""
        return next((p for p in ("webhook-", "svix-") if headers.first(p + "signature") is not None), None)

    def _present(self, headers: HeaderView) -> bool:
        return self._family(headers) is not None

    def _check(self, headers: HeaderView, body: bytes, now: float) -> SignatureCheck:
        family = self._family(headers)
        if family is None:
            return self._fail(MISSING_HEADER)
        msg_id, stamp_text = headers.first(family + "id"), headers.first(family + "timestamp")
        if msg_id is None or stamp_text is None:
            return self._fail(MISSING_HEADER)
        stamp = unix_seconds(stamp_text)
        candidates: list[bytes] = []
        other_versions = False
        for value in headers.all(family + "signature"):
            for entry in value.split():
                version, comma, encoded = entry.partition(",")
                if not (comma and version and encoded):
                    continue
                if version != "v1":
                    other_versions = True  # v1a (Ed25519) needs a public key, not this secret
                elif (digest := b64_digest(encoded)) is not None:
                    candidates.append(digest)
        if stamp is None or not (candidates or other_versions):
            return self._fail(MALFORMED_HEADER)
        # Signed is the timestamp text as sent (checked to be digits), which may differ from str(stamp).
        prefix = b"%s.%s." % (wire_bytes(msg_id), stamp_text.strip(" \t").encode("ascii"))
        expected = hmac_sha256(self.key, prefix, body)
        return _timed(self, any_matches(candidates, expected), stamp, now, self.tolerance)


@dataclass(frozen=True, slots=True)
class StripeVerifier(Verifier):
    """Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}`."""

    key: bytes = field(repr=False)
    tolerance: int = DEFAULT_TOLERANCE
    scheme: ClassVar[str] = "stripe"

    def _present(self, headers: HeaderView) -> bool:
        return headers.first("stripe-signature") is not None

    def _check(self, headers: HeaderView, body: bytes, now: float) -> SignatureCheck:
        value = headers.first("stripe-signature")
        if value is None:
            return self._fail(MISSING_HEADER)
        stamp_text = ""
        candidates: list[bytes] = []
        for item in value.split(","):
            name, equals, given = item.strip().partition("=")
            if name == "t" and equals and not stamp_text:
                stamp_text = given.strip()
            elif name == "v1" and equals and (digest := hex_digest(given.strip())) is not None:
                candidates.append(digest)
        stamp = unix_seconds(stamp_text)
        if stamp is None or not candidates:
            return self._fail(MALFORMED_HEADER)
        expected = hmac_sha256(self.key, stamp_text.encode("ascii") + b".", body)
        return _timed(self, any_matches(candidates, expected), stamp, now, self.tolerance)


@dataclass(frozen=True, slots=True)
class HmacVerifier(Verifier):
    """HMAC-SHA256 of the raw body in header `header`: hex or base64, `sha256=` prefix optional."""

    header: str
    key: bytes = field(repr=False)
    scheme: ClassVar[str] = "hmac"

    @property
    def label(self) -> str:
        return f"{self.scheme}:{self.header}"

    def _digest(self, value: str) -> bytes | None:
        text = value.strip()
        if text[:7].lower() == "sha256=":
            text = text[7:]
        return hex_digest(text) or b64_digest(text)

    def _present(self, headers: HeaderView) -> bool:
        return headers.first(self.header.lower()) is not None

    def _check(self, headers: HeaderView, body: bytes, now: float) -> SignatureCheck:
        value = headers.first(self.header.lower())
        if value is None:
            return self._fail(MISSING_HEADER)
        digest = self._digest(value)
        if digest is None:
            return self._fail(MALFORMED_HEADER)
        if not any_matches([digest], hmac_sha256(self.key, body)):
            return self._fail(DOES_NOT_MATCH)
        return SignatureCheck(self.scheme, True, OK)


@dataclass(frozen=True, slots=True)
class GitHubVerifier(HmacVerifier):
    """GitHub: `X-Hub-Signature-256: sha256=<hex>` of the raw body, exactly that form."""

    scheme: ClassVar[str] = "github"

    @property
    def label(self) -> str:
        return self.scheme

    def _digest(self, value: str) -> bytes | None:
        text = value.strip()
        return hex_digest(text[7:]) if text[:7].lower() == "sha256=" else None
