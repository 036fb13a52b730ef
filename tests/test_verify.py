"""`--verify` on a real hookbin: each scheme over real HTTP, every reason stored, `--require-signature`.

Requests are signed independently of hookbin: by the official `standardwebhooks` package, with
GitHub's documented example, and with Stripe's documented recipe computed here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from hookbin.server.catcher import VERIFY_ON_LOOP_BYTES
from hookbin.signatures import SignatureCheck, parse_verifier
from hookbin.store import Filter, parse_filter

STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STRIPE_SECRET = "whsec_stripe_test_0123456789"
# GitHub's documented example ("Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
BODY = b'{"survey_id": 1234, "results": [{"id": 5012, "value": 4}]}'


def standard_headers(body: bytes = BODY, *, at: int | None = None, msg_id: str = "msg_2q0b") -> dict[str, str]:
    """Headers made by the official standardwebhooks package."""
    stamp = int(time.time()) if at is None else at
    signature = Webhook(STANDARD_SECRET).sign(msg_id, datetime.fromtimestamp(stamp, tz=UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def stripe_headers(body: bytes = BODY, *, at: int | None = None) -> dict[str, str]:
    """Stripe's documented scheme: hex HMAC-SHA256 of `{t}.{body}`, keyed with the secret as given."""
    stamp = int(time.time()) if at is None else at
    v1 = hmac.new(STRIPE_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={v1}"}


async def post(http, server, body: bytes, headers: dict[str, str], path: str = "/hook") -> tuple[int, dict]:
    async with http.post(server.url + path, data=body, headers=headers) as response:
        return response.status, await response.json()


def verifiers(*texts: str):
    return [parse_verifier(text) for text in texts]


async def test_each_scheme_signed_by_its_sender_is_stored_valid(start_hookbin, http):
    server = await start_hookbin(
        verifiers=verifiers(
            "standard:" + STANDARD_SECRET,
            "stripe:" + STRIPE_SECRET,
            "github:" + GITHUB_SECRET,
            "hmac:X-Segmanta-Signature:shared",
        )
    )
    own_hmac = hmac.new(b"shared", BODY, hashlib.sha256).hexdigest()
    sent = [
        (BODY, standard_headers(), "standard"),
        (BODY, stripe_headers(), "stripe"),
        (GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE}, "github"),
        (BODY, {"X-Segmanta-Signature": "sha256=" + own_hmac}, "hmac"),
    ]
    for body, headers, scheme in sent:
        status, answer = await post(http, server, body, headers)
        assert status == 200, scheme
        stored = server.store.get(answer["id"])
        assert stored.signature == SignatureCheck(scheme, True, "ok")
        assert stored.to_dict()["signature"] == {"scheme": scheme, "valid": True, "reason": "ok"}


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        pytest.param(BODY + b" ", standard_headers(), "does not match", id="tampered-body"),
        pytest.param(BODY, standard_headers(at=int(time.time()) - 3600), "timestamp outside tolerance", id="stale"),
        pytest.param(BODY, {}, "missing header", id="missing-header"),
        pytest.param(
            BODY, {**standard_headers(), "webhook-timestamp": "yesterday"}, "malformed header", id="malformed"
        ),
    ],
)
async def test_a_bad_signature_is_recorded_with_its_reason_and_answered_as_usual(
    start_hookbin, http, body, headers, reason
):
    server = await start_hookbin("202", verifiers=verifiers("standard:" + STANDARD_SECRET))
    status, answer = await post(http, server, body, headers)
    assert status == 202  # never blocking without --require-signature
    stored = server.store.get(answer["id"])
    assert stored.signature == SignatureCheck("standard", False, reason)
    assert server.store.count(parse_filter("sig:invalid")) == 1


async def test_a_stripe_signature_from_an_hour_ago_is_outside_tolerance(start_hookbin, http):
    server = await start_hookbin(verifiers=verifiers("stripe:" + STRIPE_SECRET))
    _, answer = await post(http, server, BODY, stripe_headers(at=int(time.time()) - 3600))
    assert server.store.get(answer["id"]).signature == SignatureCheck("stripe", False, "timestamp outside tolerance")
    _, answer = await post(http, server, BODY + b"!", stripe_headers())
    assert server.store.get(answer["id"]).signature == SignatureCheck("stripe", False, "does not match")


async def test_without_verify_nothing_is_checked(start_hookbin, http):
    server = await start_hookbin()
    _, answer = await post(http, server, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE})
    stored = server.store.get(answer["id"])
    assert stored.signature is None and stored.to_dict()["signature"] is None
    assert server.store.count(Filter(signature="none")) == 1


async def test_require_signature_answers_401_stores_it_and_leaves_the_sequence_alone(start_hookbin, http):
    server = await start_hookbin(
        "global: 503,200", verifiers=verifiers("github:" + GITHUB_SECRET), require_signature=True
    )
    forged = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    status, answer = await post(http, server, GITHUB_BODY, forged)
    assert status == 401
    assert answer["error"] == "signature github: does not match"
    refused = server.store.get(answer["id"])
    assert refused.signature == SignatureCheck("github", False, "does not match")
    assert (refused.response.status, refused.response.reason) == (401, "signature github: does not match")
    status, answer = await post(http, server, GITHUB_BODY, {})
    assert status == 401 and server.store.get(answer["id"]).response.reason == "signature github: missing header"
    # The probes did not use up the answers meant for the real sender: it still gets 503, then 200.
    genuine = {"X-Hub-Signature-256": GITHUB_SIGNATURE}
    assert [(await post(http, server, GITHUB_BODY, genuine))[0] for _ in range(2)] == [503, 200]
    assert server.store.count(parse_filter("sig:invalid status:401")) == 2
    assert server.store.count(parse_filter("sig:valid")) == 2


async def test_rotating_a_secret_accepts_either(start_hookbin, http):
    server = await start_hookbin(
        verifiers=verifiers("github:old secret", "github:" + GITHUB_SECRET), require_signature=True
    )
    status, _ = await post(http, server, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE})
    assert status == 200


async def test_a_body_cut_at_the_limit_is_not_judged(start_hookbin, http):
    # Only the first bytes are kept, so no signature over the whole body could match.
    server = await start_hookbin(verifiers=verifiers("github:" + GITHUB_SECRET), require_signature=True, max_body=8)
    status, answer = await post(http, server, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE})
    assert status == 413
    assert server.store.get(answer["id"]).signature is None


async def test_a_large_body_is_verified_off_the_loop_and_correctly(start_hookbin, http):
    server = await start_hookbin(verifiers=verifiers("standard:" + STANDARD_SECRET), max_body=8 * 1024 * 1024)
    body = json.dumps({"blob": "x" * (4 * VERIFY_ON_LOOP_BYTES)}).encode()
    _, answer = await post(http, server, body, standard_headers(body))
    assert server.store.get(answer["id"]).signature == SignatureCheck("standard", True, "ok")
    _, answer = await post(http, server, body[:-2] + b"y}", standard_headers(body))
    assert server.store.get(answer["id"]).signature == SignatureCheck("standard", False, "does not match")


async def test_the_control_api_filters_by_signature(start_hookbin, http, control):
    server = await start_hookbin(verifiers=verifiers("github:" + GITHUB_SECRET))
    await post(http, server, GITHUB_BODY, {"X-Hub-Signature-256": GITHUB_SIGNATURE}, path="/good")
    await post(http, server, GITHUB_BODY, {}, path="/unsigned")
    _, listed = await control(server, "GET", "/api/captures?sig=invalid")
    assert [(c["path"], c["signature"]["reason"]) for c in listed] == [("/unsigned", "missing header")]
    status, answer = await control(server, "GET", "/api/captures?sig=perhaps")
    assert status == 400
    assert "sig:valid, sig:invalid or sig:none" in answer["error"]
