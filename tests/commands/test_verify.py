"""`serve --verify` as a user runs it: `hookbin send --sign` round trips, `ls`/`show` and their
JSON, and bad options refused in one line that never repeats the secret."""

from __future__ import annotations

import json

import pytest

from hookbin.commands.common import ExitStatus

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def verify_banner(served) -> str:
    """The startup line after "storing in …": what serve says about --verify."""
    served.err_line()  # storing in …
    return served.err_line().strip()


def test_send_sign_round_trips_through_serve_verify(tmp_path, serve, hookbin):
    db = str(tmp_path / "c.db")
    served = serve("--no-tui", "--db", db, "--verify", "standard:" + SECRET, "--require-signature")
    banner = verify_banner(served)
    assert banner == "checking signatures (standard); invalid ones are answered 401"
    signed = hookbin("send", "--to", served.url + "/segmanta", "--sign", SECRET, "--count", "2", "--retry", "")
    assert signed.returncode == 0, signed.stdout + signed.stderr
    wrong = hookbin("send", "--to", served.url + "/segmanta", "--sign", "whsec_" + "A" * 32, "--retry", "")
    unsigned = hookbin("send", "--to", served.url + "/segmanta", "--retry", "")
    assert (wrong.returncode, unsigned.returncode) == (ExitStatus.ERROR, ExitStatus.ERROR)
    assert "401" in wrong.stdout and "401" in unsigned.stdout
    code, _, err = served.stop()
    assert code == 0, err
    assert SECRET not in err + banner

    listed = hookbin("ls", "--db", db, "--sig", "invalid", "--json")
    reasons = sorted(json.loads(line)["signature"]["reason"] for line in listed.stdout.splitlines())
    assert reasons == ["does not match", "missing header"]
    valid = hookbin("ls", "--db", db, "--sig", "VALID")
    rows = valid.stdout.splitlines()
    assert len(rows) == 2 and all(" 200  valid " in row for row in rows), rows
    assert valid.stderr.startswith("2 of 2 capture(s) in run 1 (answering 200, since ")
    every = hookbin("ls", "--db", db).stdout
    assert every.count(" 401  invalid ") == 2

    refused_id = json.loads(listed.stdout.splitlines()[0])["id"]
    page = hookbin("show", refused_id, "--db", db).stdout
    assert "\nsignature standard: " in page and "because signature standard: " in page
    shown = json.loads(hookbin("show", refused_id, "--db", db, "--json").stdout)
    assert shown["signature"]["valid"] is False and shown["response"]["status"] == 401


def test_a_raw_secret_signs_and_verifies_the_same_on_both_sides(tmp_path, serve, hookbin):
    db = str(tmp_path / "c.db")
    served = serve("--no-tui", "--db", db, "--verify", "standard:plain shared secret")
    sent = hookbin("send", "--to", served.url + "/x", "--sign", "plain shared secret", "--retry", "")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    served.stop()
    assert len(hookbin("ls", "--db", db, "--sig", "valid").stdout.splitlines()) == 1


def test_hookbin_verify_env_holds_one_verifier_per_line(tmp_path, serve, hookbin):
    # A secret may hold spaces, so the variable is split on newlines only.
    db = str(tmp_path / "c.db")
    served = serve("--no-tui", "--db", db, env={"HOOKBIN_VERIFY": f"standard:{SECRET}\ngithub:{GITHUB_SECRET}"})
    assert verify_banner(served) == (
        "checking signatures (standard, github); invalid ones are stored and answered as usual"
    )
    status, _ = served.post("/gh", b"Hello, World!", {"X-Hub-Signature-256": GITHUB_SIGNATURE})
    assert status == 200
    served.stop()
    shown = json.loads(hookbin("ls", "--db", db, "--json").stdout)
    assert shown["signature"] == {"scheme": "github", "valid": True, "reason": "ok"}
    page = hookbin("show", shown["id"], "--db", db).stdout
    assert "\nsignature github: valid\n" in page


def test_without_verify_show_says_nothing_was_checked(tmp_path, serve, hookbin):
    db = str(tmp_path / "c.db")
    served = serve("--no-tui", "--db", db)
    served.post("/plain", b"{}")
    served.stop()
    assert " 200  -  " in hookbin("ls", "--db", db).stdout
    capture = json.loads(hookbin("ls", "--db", db, "--json").stdout)
    assert capture["signature"] is None
    assert "signature not checked (serve without --verify)" in hookbin("show", capture["id"], "--db", db).stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--verify", "whsec_TopSecretValue"], "missing scheme"),
        (["--verify", "gitlab:TopSecretValue"], "unknown signature scheme 'gitlab'"),
        (["--verify", "standard:whsec_TopSecret!Value"], "whsec_ value is not base64"),
        (["--verify", "hmac:TopSecretValue"], "hmac needs a header and a secret"),
        (["--verify", "github:"], "empty secret"),
        (["--require-signature"], "--require-signature needs at least one --verify"),
    ],
)
def test_bad_verify_options_are_one_line_usage_errors(invoke, args, says):
    result = invoke("serve", "--no-tui", "--db", ":memory:", *args)
    assert result.exit_code == ExitStatus.USAGE
    assert says in result.stderr and "Traceback" not in result.stderr
    assert "TopSecret" not in result.stderr


def test_ls_refuses_an_unknown_sig_word(hookbin):
    result = hookbin("ls", "--db", ":memory:", "--sig", "maybe")
    assert result.returncode == ExitStatus.USAGE
    assert "'maybe' is not one of 'valid', 'invalid', 'none'" in result.stderr
