"""Standard Webhooks signatures: known vectors, tolerance, and the reasons a check fails."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from hookbin.signatures import SignatureError, Verification, secret_key, sign, verify

# The example in the Standard Webhooks spec (spec/standard-webhooks.md).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIME = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

KEY = b"hookbin test key \x00\xff"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = b'{"survey_id": 1234, "results": [{"id": 5012, "value": 4}]}'
NOW = 1_772_373_909


def expected(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The signature computed here from the spec's recipe, independently of hookbin."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(msg_id: str = "msg_1", timestamp: int = NOW, signature: str | None = None,
            body: bytes = BODY) -> list[tuple[str, str]]:
    signature = signature if signature is not None else expected(KEY, msg_id, timestamp, body)
    return [("Webhook-Id", msg_id), ("Webhook-Timestamp", str(timestamp)), ("Webhook-Signature", signature)]


def test_spec_example_signs_and_verifies():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIME, SPEC_BODY) == SPEC_SIGNATURE
    sent = [("webhook-id", SPEC_ID), ("webhook-timestamp", str(SPEC_TIME)), ("webhook-signature", SPEC_SIGNATURE)]
    assert verify(SPEC_SECRET, sent, SPEC_BODY, now=SPEC_TIME + 10) == Verification(True, "v1 signature matched")


def test_sign_matches_an_independent_hmac():
    assert sign(SECRET, "msg_1", NOW, BODY) == expected(KEY, "msg_1", NOW, BODY)


def test_raw_secret_without_prefix_uses_its_utf8_bytes():
    assert secret_key("s3cr3t-é") == "s3cr3t-é".encode()
    assert sign("s3cr3t-é", "msg_1", NOW, BODY) == expected("s3cr3t-é".encode(), "msg_1", NOW, BODY)
    sent = headers(signature=expected(b"plain", "msg_1", NOW, BODY))
    assert verify("plain", sent, BODY, now=NOW).ok


def test_header_names_are_case_insensitive_and_svix_names_work():
    signature = expected(KEY, "msg_9", NOW, BODY)
    svix = [("svix-id", "msg_9"), ("SVIX-TIMESTAMP", str(NOW)), ("svix-signature", signature)]
    assert verify(SECRET, svix, BODY, now=NOW).ok


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_within_tolerance_passes(offset):
    assert verify(SECRET, headers(timestamp=NOW + offset), BODY, now=NOW).ok


def test_timestamp_outside_tolerance_says_how_far():
    old = verify(SECRET, headers(timestamp=NOW - 412), BODY, now=NOW)
    assert old == Verification(False, "timestamp outside tolerance (412 s old)")
    future = verify(SECRET, headers(timestamp=NOW + 301), BODY, now=NOW)
    assert future.reason == "timestamp outside tolerance (301 s in the future)"
    assert verify(SECRET, headers(timestamp=NOW - 412), BODY, now=NOW, tolerance=600).ok


def test_bad_timestamp_is_named():
    full = headers()
    result = verify(SECRET, [full[0], ("webhook-timestamp", "soon"), full[2]], BODY, now=NOW)
    assert not result.ok and result.reason == "bad webhook-timestamp 'soon': not Unix seconds"


def test_wrong_secret_fails():
    other = "whsec_" + base64.b64encode(b"another key").decode()
    result = verify(other, headers(), BODY, now=NOW)
    assert not result.ok and result.reason.startswith("no signature matched")


def test_reserialised_body_fails_with_a_hint():
    reserialised = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    assert reserialised != BODY
    result = verify(SECRET, headers(), reserialised, now=NOW)
    assert not result.ok and "re-serialised" in result.reason


def test_one_matching_signature_among_several_is_enough():
    good = expected(KEY, "msg_1", NOW, BODY)
    stale = expected(b"rotated-out key", "msg_1", NOW, BODY)
    ed25519 = "v1a," + base64.b64encode(b"x" * 64).decode()
    for listed in (f"{stale} {good}", f"{ed25519}  {good}", f"{good} v2,abc"):
        assert verify(SECRET, headers(signature=listed), BODY, now=NOW).ok, listed


def test_only_v1a_or_garbage_entries_do_not_match():
    ed25519 = "v1a," + base64.b64encode(expected(KEY, "msg_1", NOW, BODY)[3:].encode()).decode()
    result = verify(SECRET, headers(signature=ed25519), BODY, now=NOW)
    assert not result.ok and "no v1 entry" in result.reason
    garbage = verify(SECRET, headers(signature="v1,not*base64 v1,"), BODY, now=NOW)
    assert not garbage.ok and garbage.reason.startswith("no signature matched")


def test_missing_headers_are_named():
    full = headers()
    assert verify(SECRET, full[1:], BODY, now=NOW).reason == "missing webhook-id header"
    assert verify(SECRET, [full[0], full[2]], BODY, now=NOW).reason == "missing webhook-timestamp header"
    assert verify(SECRET, full[:2], BODY, now=NOW).reason == "missing webhook-signature header"
    assert verify(SECRET, [], BODY, now=NOW).reason == (
        "missing webhook-id, webhook-timestamp and webhook-signature headers"
    )


def test_bad_secret_raises_on_sign_and_is_a_reason_on_verify():
    with pytest.raises(SignatureError, match="bad secret: whsec_ value is not base64"):
        sign("whsec_not base64!", "msg_1", NOW, BODY)
    with pytest.raises(SignatureError):
        sign("", "msg_1", NOW, BODY)
    assert issubclass(SignatureError, ValueError)
    assert verify("whsec_***", headers(), BODY, now=NOW) == Verification(
        False, "bad secret: whsec_ value is not base64"
    )


def test_verify_uses_the_clock_by_default():
    import time

    now = int(time.time())
    assert verify(SECRET, headers(timestamp=now), BODY).ok
    assert not verify(SECRET, headers(timestamp=now - 3600), BODY).ok


def test_module_is_pure():
    import subprocess
    import sys

    code = ("import sys, hookbin.signatures; "
            "print([m for m in ('aiohttp', 'textual', 'rich', 'click') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
