"""What a signature check returns, the `Verifier` interface, and reading untrusted headers (pure).

The helpers here turn whatever a sender put in its headers into values or None, never an
exception: the verifiers in `hookbin.signatures.schemes` build on them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import string
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

__all__ = [
    "DEFAULT_TOLERANCE",
    "DOES_NOT_MATCH",
    "MALFORMED_HEADER",
    "MISSING_HEADER",
    "OK",
    "OUTSIDE_TOLERANCE",
    "REASONS",
    "HeaderPairs",
    "HeaderView",
    "SignatureCheck",
    "SignatureError",
    "Verifier",
]

DEFAULT_TOLERANCE = 300
"""Seconds a signed timestamp may differ from now, either way (the spec's 5 minutes)."""

OK = "ok"
MISSING_HEADER = "missing header"
MALFORMED_HEADER = "malformed header"
DOES_NOT_MATCH = "does not match"
OUTSIDE_TOLERANCE = "timestamp outside tolerance"
REASONS = (OK, MISSING_HEADER, MALFORMED_HEADER, DOES_NOT_MATCH, OUTSIDE_TOLERANCE)
"""Every `SignatureCheck.reason` there is."""

DIGEST_SIZE = hashlib.sha256().digest_size
_MAX_STAMP_DIGITS = 12
"""Longer digit runs are no Unix time (and `int()` of thousands of digits is slow, then refused)."""

HeaderPairs: TypeAlias = "Iterable[tuple[str | bytes, str | bytes]] | Mapping[str, str]"


class SignatureError(ValueError):
    """A verifier or secret that cannot be used; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The outcome of checking one request's signature."""

    scheme: str
    """The scheme that decided: `standard`, `stripe`, `github` or `hmac`."""
    valid: bool
    """True when a signature matched, within the tolerance for timestamped schemes."""
    reason: str
    """`"ok"` when valid, else one of the other `REASONS`."""

    @property
    def summary(self) -> str:
        """The verdict in a few words: `github: valid`, `standard: timestamp outside tolerance`."""
        return f"{self.scheme}: {'valid' if self.valid else self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """`{"scheme", "valid", "reason"}`, as stored with a capture and printed by `--json`."""
        return {"scheme": self.scheme, "valid": self.valid, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: object) -> SignatureCheck | None:
        """The check `to_dict` made, or None for anything else."""
        if not isinstance(data, Mapping):
            return None
        scheme, valid, reason = data.get("scheme"), data.get("valid"), data.get("reason")
        if not (isinstance(scheme, str) and isinstance(valid, bool) and isinstance(reason, str)):
            return None
        return cls(scheme, valid, reason)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogateescape")
    return ""


def wire_bytes(text: str) -> bytes:
    """The bytes `text` stood for on the wire (surrogate escapes back to the bytes they kept)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # Lone surrogates no HTTP parser produces: keep them distinct, they cannot match anyway.
        return text.encode("utf-8", "surrogatepass")


class HeaderView:
    """Request headers as lower-cased names and str values, whatever garbage they held."""

    __slots__ = ("_pairs",)

    def __init__(self, headers: HeaderPairs) -> None:
        items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
        self._pairs = [
            (_text(item[0]).lower(), _text(item[1]))
            for item in items
            if isinstance(item, (tuple, list)) and len(item) == 2
        ]

    def first(self, name: str) -> str | None:
        """The first value of lower-case `name`, or None."""
        return next((value for key, value in self._pairs if key == name), None)

    def all(self, name: str) -> list[str]:
        """Every value of lower-case `name`, in arrival order."""
        return [value for key, value in self._pairs if key == name]


def unix_seconds(text: str) -> int | None:
    """`text` as Unix seconds when it is plain ASCII digits (spaces around allowed), else None."""
    text = text.strip(" \t")
    if text.isascii() and text.isdigit() and len(text) <= _MAX_STAMP_DIGITS:
        return int(text)
    return None


def b64decode(text: str) -> bytes | None:
    """Strict base64, standard or URL-safe alphabet, padding optional; None when it is not."""
    if not text.isascii():
        return None
    text = text.translate(str.maketrans("-_", "+/"))
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def hex_digest(text: str) -> bytes | None:
    """A SHA-256 digest written as 64 hex digits, else None."""
    if len(text) == 2 * DIGEST_SIZE and text.isascii() and all(c in string.hexdigits for c in text):
        return bytes.fromhex(text)
    return None


def b64_digest(text: str) -> bytes | None:
    """A SHA-256 digest written in base64, else None."""
    decoded = b64decode(text)
    return decoded if decoded is not None and len(decoded) == DIGEST_SIZE else None


def hmac_sha256(key: bytes, *parts: bytes) -> bytes:
    """HMAC-SHA256 of the parts one after another, without joining them: a body of many
    megabytes is hashed once and never copied (the hash releases the GIL meanwhile)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def any_matches(candidates: Iterable[bytes], expected: bytes) -> bool:
    """True when any candidate equals `expected`, every one compared in constant time."""
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate, expected)
    return matched


@dataclass(frozen=True, slots=True)
class Verifier(ABC):
    """One configured `--verify SCHEME:SECRET`. Subclasses keep their key out of `repr`."""

    scheme: ClassVar[str]

    @property
    def label(self) -> str:
        """The scheme as a user names it, without the secret (`github`, `hmac:X-Signature`)."""
        return self.scheme

    def check(self, headers: HeaderPairs, body: bytes, now: float) -> SignatureCheck:
        """Check one request; never raises, whatever the headers hold.

        Args:
            headers: (name, value) pairs as received (str or bytes), or a mapping.
            body: the raw body bytes, complete and exactly as received.
            now: the current Unix time, for the timestamped schemes.
        """
        return self._check(HeaderView(headers), bytes(body), now)

    def present(self, headers: HeaderPairs) -> bool:
        """True when the request carries this scheme's signature header."""
        return self._present(HeaderView(headers))

    def _fail(self, reason: str) -> SignatureCheck:
        return SignatureCheck(self.scheme, False, reason)

    @abstractmethod
    def _present(self, headers: HeaderView) -> bool: ...

    @abstractmethod
    def _check(self, headers: HeaderView, body: bytes, now: float) -> SignatureCheck: ...
