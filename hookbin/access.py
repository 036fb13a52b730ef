"""Who may be captured: the secret path token (`--token`) and basic auth (`--auth user:pass`).

A tunnel URL is public and gets probed. With a token, only requests under `/<token>/…` are
captured; anything else is answered a plain 404, is not stored and never reaches the
responder, so a probe cannot use up an answer sequence meant for the real sender. With
credentials, a request without the right `Authorization: Basic …` is answered 401.

Everything after the check sees the path after the token: rules, the responder, delivery keys,
and the capture itself. The token is never stored, so no replay, export or copy as curl of a
capture can carry it.

Pure: comparisons are constant-time (`hmac.compare_digest`), nothing here knows HTTP libraries.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

TOKEN_BYTES = 16
"""Randomness in a generated token: 128 bits, 22 URL-safe characters."""
MIN_TOKEN_LENGTH = 8

_TOKEN = re.compile(r"[A-Za-z0-9._~-]+", re.ASCII)
"""RFC 3986 unreserved characters: a token needs no escaping anywhere in a URL."""
_REALM = 'Basic realm="hookbin", charset="UTF-8"'


class AccessError(ValueError):
    """A token or credentials given on the command line that cannot be used (one line)."""


def new_token() -> str:
    """A random URL-safe token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def check_token(value: str) -> str:
    """`value` if it can be a path token, else AccessError saying why."""
    if not _TOKEN.fullmatch(value):
        raise AccessError(f"bad --token {value!r}: use letters, digits and - . _ ~ only (no /)")
    if len(value) < MIN_TOKEN_LENGTH:
        raise AccessError(
            f"bad --token: use at least {MIN_TOKEN_LENGTH} characters (leave the value out for a random one)"
        )
    return value


def parse_credentials(text: str) -> tuple[str, str]:
    """`user:pass` as (user, password); the password may contain `:`, the user may not (RFC 7617)."""
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise AccessError("bad --auth: give it as user:password")
    if any(not ch.isprintable() for ch in text):
        raise AccessError("bad --auth: control characters cannot be sent in basic auth")
    return user, password


def is_loopback(host: str) -> bool:
    """True when `host` (a `--host` value) can only be reached from this machine."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_with_token(url: str, token: str | None) -> str:
    """`url` with the token as its first path segment: the URL a sender must use."""
    if not token:
        return url
    parts = urlsplit(url)
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    return urlunsplit(parts._replace(path=f"/{token}{path}"))


@dataclass(frozen=True)
class Refusal:
    """Why a request is turned away, and the plain answer it gets."""

    status: int
    reason: str
    """Short, for the log and counters: `no token`, `no credentials`, `wrong credentials`."""
    headers: tuple[tuple[str, str], ...] = ()


NOT_FOUND = Refusal(404, "no token")


@dataclass(frozen=True)
class Access:
    """The token and credentials in force; with neither, every request is admitted."""

    token: str | None = None
    credentials: tuple[str, str] | None = None

    def check(self, path: str, authorization: list[str]) -> Refusal | None:
        """None when a request for `path` (without the query) with these Authorization values may be captured."""
        if self.token is not None and not self._has_token(path):
            return NOT_FOUND
        if self.credentials is not None:
            if not authorization:
                return Refusal(401, "no credentials", (("WWW-Authenticate", _REALM),))
            if not any(self._credentials_match(value) for value in authorization):
                return Refusal(401, "wrong credentials", (("WWW-Authenticate", _REALM),))
        return None

    def route_path(self, path: str) -> str:
        """The path after the token: what rules and delivery keys match (`/T/hooks` -> `/hooks`)."""
        if self.token is None or not self._has_token(path):
            return path
        rest = path[len(self.token) + 1 :]
        return rest or "/"

    def _has_token(self, path: str) -> bool:
        assert self.token is not None
        first = path[1:].partition("/")[0] if path.startswith("/") else ""
        return hmac.compare_digest(first.encode("utf-8", "surrogateescape"), self.token.encode())

    def _credentials_match(self, value: str) -> bool:
        assert self.credentials is not None
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, password = self.credentials
        return hmac.compare_digest(given, f"{user}:{password}".encode())
