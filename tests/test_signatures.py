"""Signature verification: each scheme's published example, the official package, every reason, garbage."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from hookbin.signatures import (
    DOES_NOT_MATCH,
    MALFORMED_HEADER,
    MISSING_HEADER,
    OK,
    OUTSIDE_TOLERANCE,
    REASONS,
    SignatureCheck,
    SignatureError,
    check_all,
    parse_verifier,
    secret_key,
    sign,
)

# The vector of the Standard Webhooks reference library's test_sign_function
# (standard-webhooks repo, libraries/python/tests/test_webhooks.py).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIME = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# GitHub's documented example ("Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

KEY = b"hookbin test key \x00\xff"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = b'{"survey_id": 1234, "results": [{"id": 5012, "value": 4}]}'
NOW = 1_772_373_909
STRIPE_SECRET = "whsec_test_stripe_0123456789"


def mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def standard_headers(
    msg_id: str = "msg_1",
    timestamp: int = NOW,
    signature: str | None = None,
    body: bytes = BODY,
    key: bytes = KEY,
    prefix: str = "webhook",
) -> list[tuple[str, str]]:
    """Standard Webhooks headers, signed here from the spec's recipe, independently of hookbin."""
    if signature is None:
        signature = "v1," + base64.b64encode(mac(key, f"{msg_id}.{timestamp}.".encode() + body)).decode()
    return [(f"{prefix}-id", msg_id), (f"{prefix}-timestamp", str(timestamp)), (f"{prefix}-signature", signature)]


def stripe_header(timestamp: int = NOW, body: bytes = BODY, secret: str = STRIPE_SECRET, extra: str = "") -> str:
    """Stripe's documented scheme: hex HMAC-SHA256 of `{t}.{body}` keyed with the secret as given."""
    v1 = mac(secret.encode(), f"{timestamp}.".encode() + body).hex()
    return f"t={timestamp},v1={v1}{extra}"


def check(text: str, headers, body: bytes = BODY, now: float = NOW) -> SignatureCheck:
    return parse_verifier(text).check(headers, body, now)


# ---------------------------------------------------------------------- published examples


def test_standard_webhooks_reference_vector_signs_and_verifies():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIME, SPEC_BODY) == SPEC_SIGNATURE
    sent = [("webhook-id", SPEC_ID), ("webhook-timestamp", str(SPEC_TIME)), ("webhook-signature", SPEC_SIGNATURE)]
    assert check("standard:" + SPEC_SECRET, sent, SPEC_BODY, SPEC_TIME + 10) == SignatureCheck("standard", True, OK)
    # The reference library's "invalid signature" case: the last base64 character changed.
    tampered = [*sent[:2], ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=")]
    assert check("standard:" + SPEC_SECRET, tampered, SPEC_BODY, SPEC_TIME).reason == DOES_NOT_MATCH


def test_spec_example_header_with_a_v1a_entry_is_read_not_refused():
    # The spec's example webhook-signature: a v1 and a v1a (Ed25519) entry; its secret is not published.
    listed = (
        "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzP"
        "CXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
    )
    sent = standard_headers("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, listed)
    assert check("standard:" + SPEC_SECRET, sent, BODY, 1674087231).reason == DOES_NOT_MATCH


def test_github_documented_example():
    verifier = parse_verifier("github:" + GITHUB_SECRET)
    assert verifier.check([("X-Hub-Signature-256", GITHUB_SIGNATURE)], GITHUB_BODY, NOW) == (
        SignatureCheck("github", True, OK)
    )
    assert verifier.check(
        [("x-hub-signature-256", GITHUB_SIGNATURE.upper().replace("SHA256", "sha256"))], GITHUB_BODY, NOW
    ).valid
    assert verifier.check([("X-Hub-Signature-256", GITHUB_SIGNATURE)], GITHUB_BODY + b"\n", NOW).reason == (
        DOES_NOT_MATCH
    )
    assert (
        parse_verifier("github:It's a secret to everybody")
        .check([("X-Hub-Signature-256", GITHUB_SIGNATURE)], GITHUB_BODY, NOW)
        .reason
        == DOES_NOT_MATCH
    )
    # The legacy SHA-1 header alone is not what github: checks.
    assert (
        verifier.check([("X-Hub-Signature", "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59")], GITHUB_BODY, NOW).reason
        == MISSING_HEADER
    )
    for malformed in (
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
        "sha256=",
        "sha256=zz",
    ):
        assert verifier.check([("X-Hub-Signature-256", malformed)], GITHUB_BODY, NOW).reason == MALFORMED_HEADER


def test_stripe_documented_scheme():
    verifier = parse_verifier("stripe:" + STRIPE_SECRET)
    assert verifier.check([("Stripe-Signature", stripe_header())], BODY, NOW) == SignatureCheck("stripe", True, OK)
    # Several v1 entries (secret rolling) and a v0 entry: one matching v1 is enough.
    stale = mac(b"whsec_rolled_out", f"{NOW}.".encode() + BODY).hex()
    rolled = stripe_header(extra=f",v1={stale},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39")
    assert verifier.check([("stripe-signature", rolled)], BODY, NOW).valid
    assert verifier.check([("stripe-signature", f"t={NOW},v1={stale}")], BODY, NOW).reason == DOES_NOT_MATCH
    # Stripe keys with the secret's bytes as given: a base64-decoded key would not verify.
    decoded = base64.b64decode(STRIPE_SECRET[6:] + "==")
    wrong = mac(decoded, f"{NOW}.".encode() + BODY).hex()
    assert verifier.check([("stripe-signature", f"t={NOW},v1={wrong}")], BODY, NOW).reason == DOES_NOT_MATCH
    assert verifier.check([("stripe-signature", stripe_header(NOW - 301))], BODY, NOW).reason == OUTSIDE_TOLERANCE
    assert verifier.check([("stripe-signature", stripe_header(NOW - 300))], BODY, NOW).valid
    for malformed in (f"v1={stale}", f"t=soon,v1={stale}", f"t={NOW}", f"t={NOW},v1=abc", "garbage", ""):
        assert verifier.check([("stripe-signature", malformed)], BODY, NOW).reason == MALFORMED_HEADER, malformed


# ---------------------------------------------------------------------- the official package


def test_signatures_made_by_the_standardwebhooks_package_verify():
    now = int(time.time())
    when = datetime.fromtimestamp(now, tz=UTC)
    text = BODY.decode()
    unpadded_key = b"31 bytes of key for padding...!"
    unpadded = "whsec_" + base64.b64encode(unpadded_key).decode().rstrip("=")
    assert unpadded != "whsec_" + base64.b64encode(unpadded_key).decode()
    for secret, theirs in (
        (SECRET, Webhook(SECRET)),
        (unpadded, Webhook(unpadded)),
        ("plain shared secret", Webhook(b"plain shared secret")),
    ):
        signature = theirs.sign("msg_2q0b", when, text)
        sent = standard_headers("msg_2q0b", now, signature)
        assert check("standard:" + secret, sent, BODY, now).valid, secret
        assert check("standard:" + secret, sent, BODY + b" ", now).reason == DOES_NOT_MATCH
        # and the other way round: what hookbin signs, the package accepts
        ours = {
            "webhook-id": "msg_9",
            "webhook-timestamp": str(now),
            "webhook-signature": sign(secret, "msg_9", now, BODY),
        }
        theirs.verify(BODY, ours)
    svix = standard_headers("msg_3", now, Webhook(SECRET).sign("msg_3", when, text), prefix="svix")
    assert check("standard:" + SECRET, svix, BODY, now).valid


# ------------------------------------------------------------------------ standard webhooks


def test_standard_header_families_are_not_mixed():
    webhook = standard_headers()
    assert check("standard:" + SECRET, [("SVIX-ID", "msg_1"), *webhook[1:]]).reason == MISSING_HEADER
    assert check("standard:" + SECRET, [(n.upper(), v) for n, v in webhook]).valid


@pytest.mark.parametrize(
    "offset, reason", [(-301, OUTSIDE_TOLERANCE), (-300, OK), (0, OK), (300, OK), (301, OUTSIDE_TOLERANCE)]
)
def test_standard_tolerance_is_five_minutes_both_ways(offset, reason):
    assert check("standard:" + SECRET, standard_headers(timestamp=NOW + offset)).reason == reason


def test_a_stale_timestamp_on_a_forged_signature_is_does_not_match():
    forged = standard_headers(timestamp=NOW - 3600, key=b"not the key")
    assert check("standard:" + SECRET, forged).reason == DOES_NOT_MATCH


def test_one_matching_signature_among_several_is_enough():
    good = standard_headers()[2][1]
    stale = standard_headers(key=b"rotated-out key")[2][1]
    for listed in (f"{stale} {good}", f"v1a,{'A' * 86}==  {good}", f"{good} v2,abc", f"garbage {good}"):
        assert check("standard:" + SECRET, standard_headers(signature=listed)).valid, listed
    assert check("standard:" + SECRET, standard_headers(signature=stale)).reason == DOES_NOT_MATCH
    assert check("standard:" + SECRET, standard_headers(signature=f"v1a,{'A' * 86}==")).reason == DOES_NOT_MATCH


@pytest.mark.parametrize(
    "field, value",
    [
        ("timestamp", "soon"),
        ("timestamp", "1.7e9"),
        ("timestamp", "-5"),
        ("timestamp", "9" * 5000),
        ("timestamp", "１７７２３７３９０９"),
        ("signature", "v1,not*base64"),
        ("signature", "v1,"),
        ("signature", "garbage"),
        ("signature", ""),
        ("signature", "v1," + base64.b64encode(b"short").decode()),
    ],
)
def test_standard_malformed_headers(field, value):
    sent = [(name, value if name == f"webhook-{field}" else v) for name, v in standard_headers()]
    assert check("standard:" + SECRET, sent).reason == MALFORMED_HEADER


def test_standard_missing_headers():
    full = standard_headers()
    for kept in (full[1:], [full[0], full[2]], full[:2], []):
        assert check("standard:" + SECRET, kept).reason == MISSING_HEADER


def test_raw_secrets_and_undecodable_header_bytes():
    assert secret_key("s3cr3t-é") == "s3cr3t-é".encode()
    assert check("standard:plain", standard_headers(key=b"plain")).valid
    # The catcher keeps a byte that is not UTF-8 as a surrogate escape; it is signed as the byte.
    stamp = str(NOW).encode()
    signature = "v1," + base64.b64encode(mac(KEY, b"msg_\xff." + stamp + b"." + BODY)).decode()
    sent = [("webhook-id", "msg_\udcff"), ("webhook-timestamp", str(NOW)), ("webhook-signature", signature)]
    assert check("standard:" + SECRET, sent).valid
    as_bytes = [(b"webhook-id", b"msg_\xff"), (b"webhook-timestamp", stamp), (b"webhook-signature", signature.encode())]
    assert check("standard:" + SECRET, as_bytes).valid


# --------------------------------------------------------------------------------- hmac:


@pytest.mark.parametrize(
    "written",
    [
        lambda d: d.hex(),
        lambda d: d.hex().upper(),
        lambda d: "sha256=" + d.hex(),
        lambda d: "SHA256=" + d.hex(),
        lambda d: base64.b64encode(d).decode(),
        lambda d: base64.b64encode(d).decode().rstrip("="),
        lambda d: base64.urlsafe_b64encode(d).decode(),
        lambda d: " sha256=" + base64.b64encode(d).decode() + " ",
    ],
)
def test_hmac_accepts_hex_and_base64_with_or_without_prefix(written):
    digest = mac(b"t0p s3cret:with colon", BODY)
    sent = [("x-signature", written(digest))]
    assert check("hmac:X-Signature:t0p s3cret:with colon", sent) == SignatureCheck("hmac", True, OK)
    assert check("hmac:X-Signature:another secret", sent).reason == DOES_NOT_MATCH


def test_hmac_reasons():
    assert check("hmac:X-Signature:s", [("X-Other", "abc")]).reason == MISSING_HEADER
    for malformed in ("", "sha256=", "abc", "sha1=" + "0" * 40, "0" * 40, "é" * 64):
        assert check("hmac:X-Signature:s", [("X-Signature", malformed)]).reason == MALFORMED_HEADER, malformed


# --------------------------------------------------------------------------- combining


def test_every_reason_is_reachable_and_listed():
    seen = {
        check("github:" + GITHUB_SECRET, [("X-Hub-Signature-256", GITHUB_SIGNATURE)], GITHUB_BODY).reason,
        check("github:" + GITHUB_SECRET, []).reason,
        check("github:" + GITHUB_SECRET, [("X-Hub-Signature-256", "nonsense")]).reason,
        check("github:" + GITHUB_SECRET, [("X-Hub-Signature-256", GITHUB_SIGNATURE)], b"other").reason,
        check("standard:" + SECRET, standard_headers(timestamp=NOW - 600)).reason,
    }
    assert (
        seen
        == set(REASONS)
        == {"ok", "missing header", "malformed header", "does not match", "timestamp outside tolerance"}
    )


def test_check_all_combines_several_verifiers():
    old, new = parse_verifier("github:old secret"), parse_verifier("github:" + GITHUB_SECRET)
    stripe = parse_verifier("stripe:" + STRIPE_SECRET)
    github_sent = [("X-Hub-Signature-256", GITHUB_SIGNATURE)]
    assert check_all([], github_sent, GITHUB_BODY, NOW) is None
    # Rotation: the first valid one among those whose header is present wins.
    assert check_all([old, new], github_sent, GITHUB_BODY, NOW) == SignatureCheck("github", True, OK)
    # None valid: the first with its header present decides (stripe's header is absent).
    assert check_all([stripe, old], github_sent, GITHUB_BODY, NOW) == SignatureCheck("github", False, DOES_NOT_MATCH)
    # No header of any: "missing header" of the first configured.
    assert check_all([stripe, new], [("X-Other", "1")], GITHUB_BODY, NOW) == SignatureCheck(
        "stripe", False, MISSING_HEADER
    )
    both = [("Stripe-Signature", "t=1,v1=zz"), *github_sent]
    assert check_all([stripe, new], both, GITHUB_BODY, NOW) == SignatureCheck("github", True, OK)
    assert check_all([stripe, old], both, GITHUB_BODY, NOW) == SignatureCheck("stripe", False, MALFORMED_HEADER)
    assert new.present(github_sent) and not stripe.present(github_sent)


def test_signature_check_round_trips_as_stored():
    result = SignatureCheck("stripe", False, OUTSIDE_TOLERANCE)
    assert result.to_dict() == {"scheme": "stripe", "valid": False, "reason": "timestamp outside tolerance"}
    assert SignatureCheck.from_dict(result.to_dict()) == result
    for junk in (None, [], {}, {"scheme": "x", "valid": "yes", "reason": "ok"}, "ok"):
        assert SignatureCheck.from_dict(junk) is None


# ------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, says",
    [
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "missing scheme: write standard:whsec_…"),
        (
            "svix:whsec_abc",
            (
                "unknown signature scheme 'svix': use standard:whsec_…, stripe:whsec_…, "
                "github:SECRET or hmac:HEADER:SECRET"
            ),
        ),
        ("\x1b[31m:x", "unknown signature scheme '\\\\x1b[31m'"),
        ("github:", "empty secret: write github:SECRET"),
        ("stripe:", "empty secret: write stripe:SECRET"),
        ("standard:", "empty secret: write standard:SECRET"),
        ("hmac:X-Sig:", "empty secret: write hmac:HEADER:SECRET"),
        ("hmac:X-Sig", "hmac needs a header and a secret: write hmac:HEADER:SECRET"),
        ("hmac::s3cret", "hmac needs a header and a secret"),
        ("hmac:X Sig:s3cret", "bad header name 'X Sig' in hmac:HEADER:SECRET"),
        ("standard:whsec_not base64!", "bad secret in standard:…: whsec_ value is not base64"),
        ("standard:whsec_", "bad secret in standard:…: nothing after whsec_"),
    ],
)
def test_bad_verify_options_are_one_line_errors(text, says):
    with pytest.raises(SignatureError) as caught:
        parse_verifier(text)
    message = str(caught.value)
    assert says in message and "\n" not in message
    assert "not base64!" not in message and "s3cret" not in message and "MfKQ9r8" not in message


def test_parsed_verifiers_keep_the_secret_out_of_repr():
    for text, label in (
        ("standard:" + SECRET, "standard"),
        ("Stripe:" + STRIPE_SECRET, "stripe"),
        ("github:" + GITHUB_SECRET, "github"),
        ("hmac:X-Sig:" + GITHUB_SECRET, "hmac:X-Sig"),
    ):
        verifier = parse_verifier(text)
        assert verifier.label == label
        assert "Secret" not in repr(verifier) and "hookbin test key" not in repr(verifier)


def test_sign_refuses_unusable_secrets():
    with pytest.raises(SignatureError, match="bad secret: whsec_ value is not base64"):
        sign("whsec_not base64!", "msg_1", NOW, BODY)
    with pytest.raises(SignatureError, match="bad secret: it is empty"):
        sign("", "msg_1", NOW, BODY)


# --------------------------------------------------------------------------- from a stranger

SCHEME_TEXTS = ["standard:" + SECRET, "stripe:" + STRIPE_SECRET, "github:" + GITHUB_SECRET, "hmac:X-Sig:s"]
NAMES = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "Stripe-Signature",
    "X-Hub-Signature-256",
    "x-sig",
]
garbage = st.one_of(st.text(), st.binary(), st.text(alphabet="v1,t=a=sha256 0123456789abcdef+/-_\udcff"))
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=20), st.binary(max_size=20))
values = st.one_of(garbage, st.sampled_from([GITHUB_SIGNATURE, stripe_header(), SPEC_SIGNATURE, str(NOW)]))


@settings(max_examples=400, deadline=None)
@given(
    headers=st.lists(st.tuples(names, values), max_size=8),
    body=st.binary(max_size=64),
    now=st.one_of(st.integers(-(2**63), 2**63), st.floats(allow_nan=False)),
)
def test_any_headers_give_a_reason_never_an_exception(headers, body, now):
    verifiers = [parse_verifier(text) for text in SCHEME_TEXTS]
    for verifier in verifiers:
        result = verifier.check(headers, body, now)
        assert result.reason in REASONS and result.valid == (result.reason == OK)
        assert result.scheme == verifier.scheme
    combined = check_all(verifiers, headers, body, now)
    assert combined is not None and combined.reason in REASONS


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_any_verify_text_parses_or_fails_with_one_line(text):
    try:
        verifier = parse_verifier(text)
    except SignatureError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert verifier.scheme in ("standard", "stripe", "github", "hmac")
