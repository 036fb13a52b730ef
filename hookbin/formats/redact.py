"""Credential headers, and a copy of a capture with their values masked (`export --redact`).

Exports are meant to be shared, and captures hold whatever senders posted: bearer tokens,
session cookies, and signatures (a valid signature over a known body lets anyone replay that
request to a receiver that checks it). Only header values are masked; bodies and query strings
are exported as they are.
"""

from __future__ import annotations

from dataclasses import replace

from hookbin.model import Capture, Headers

CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        # Signatures of the schemes hookbin knows (see hookbin.signatures) and of other common senders.
        "webhook-signature",
        "svix-signature",
        "stripe-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-shopify-hmac-sha256",
        "x-slack-signature",
        "x-twilio-signature",
        "x-gitlab-token",
        "x-api-key",
    }
)
"""Lower-cased names of the headers whose values `redact` masks."""

MASK = "REDACTED"
"""What a masked header's value becomes."""


def is_credential(name: str) -> bool:
    """Whether header `name` carries a credential or a signature."""
    return name.lower() in CREDENTIAL_HEADERS


def _masked(headers: Headers) -> Headers:
    return tuple((name, MASK if is_credential(name) else value) for name, value in headers)


def redact(capture: Capture) -> Capture:
    """`capture` with every credential header, in the request and in hookbin's answer, masked."""
    response = capture.response
    if response is not None and any(is_credential(name) for name, _ in response.headers):
        response = replace(response, headers=_masked(response.headers))
    if response is capture.response and not any(is_credential(name) for name, _ in capture.headers):
        return capture
    return replace(capture, headers=_masked(capture.headers), response=response)
