"""Who may be captured: the secret path token and basic auth, over real HTTP, and their parsers."""

from __future__ import annotations

import base64

import pytest

from hookbin.access import (
    Access,
    AccessError,
    check_token,
    is_loopback,
    new_token,
    parse_credentials,
    url_with_token,
)
from tests.conftest import refusals_said

TOKEN = "s3cr3t-t0ken"


def _basic(user_pass: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user_pass.encode()).decode()}


async def test_probes_without_the_token_get_a_plain_404_are_not_stored_and_use_up_no_answer(
    start_hookbin, http, control
):
    lines: list[str] = []
    server = await start_hookbin("global: 503,503,200", access=Access(token=TOKEN), notify=lines.append)
    for probe in ["/", "/segmanta/csat", f"/{TOKEN}x/segmanta", f"/x/{TOKEN}/segmanta", "/.env", "/" + TOKEN[:-1]]:
        async with http.post(server.url + probe, data=b"{}") as response:
            assert response.status == 404, probe
            assert await response.text() == "Not Found\n"
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert "X-Hookbin-Id" not in response.headers
    assert server.store.count() == 0
    # The real sender still gets the whole sequence, from its first step.
    statuses = []
    for n in range(3):
        async with http.post(f"{server.url}/{TOKEN}/segmanta/csat", data=b'{"n": %d}' % n) as response:
            statuses.append(response.status)
    assert statuses == [503, 503, 200]
    assert server.store.count() == 3
    _, status = await control(server, "GET", "/api/status")
    assert (status["rejected"], status["received"]) == (6, 3)
    assert lines[0].startswith("rejected POST / from 127.0.0.1:") and lines[0].endswith(": no token (404)")


async def test_the_stored_path_and_the_rules_are_the_path_after_the_token(start_hookbin, http):
    server = await start_hookbin("200", ["POST /segmanta/* => 202"], access=Access(token=TOKEN))
    async with http.post(f"{server.url}/{TOKEN}/segmanta/csat?x=1", data=b"{}") as response:
        assert response.status == 202
        capture_id = response.headers["X-Hookbin-Id"]
    async with http.get(f"{server.url}/{TOKEN}") as response:  # the bare token is the root
        assert response.status == 200
        root_id = response.headers["X-Hookbin-Id"]
    capture = server.store.get(capture_id)
    assert (capture.path, capture.query_string) == ("/segmanta/csat", "x=1")  # the token is never stored
    assert capture.response.rule == "POST /segmanta/* => 202"
    assert server.store.get(root_id).path == "/"


async def test_basic_auth_missing_or_wrong_gets_401_and_is_not_stored(start_hookbin, http):
    lines: list[str] = []
    server = await start_hookbin(access=Access(credentials=("segmanta", "pa:ss")), notify=lines.append)
    for headers in [
        {},
        _basic("segmanta:wrong"),
        _basic("other:pa:ss"),
        {"Authorization": "Bearer pa:ss"},
        {"Authorization": "Basic !!not-base64!!"},
        {"Authorization": "Basic \u00e9"},
    ]:
        async with http.post(server.url + "/hook", data=b"{}", headers=headers) as response:
            assert response.status == 401, headers
            assert response.headers["WWW-Authenticate"] == 'Basic realm="hookbin", charset="UTF-8"'
    assert server.store.count() == 0
    async with http.post(server.url + "/hook", data=b"{}", headers=_basic("segmanta:pa:ss")) as response:
        assert response.status == 200
    assert server.store.count() == 1 and server.refusals.rejected == 6
    assert lines[0].endswith(": no credentials (401)")
    server.refusals.flush()
    # One line a second at most: the rest summed (in more lines if sending took over a second).
    assert any("more turned away" in line for line in lines[1:])
    assert refusals_said(lines[1:], "wrong credentials") == 5


async def test_the_token_is_checked_before_the_credentials(start_hookbin, http):
    server = await start_hookbin(access=Access(token=TOKEN, credentials=("u", "p")))
    async with http.post(server.url + "/hook", data=b"{}", headers=_basic("u:p")) as response:
        assert response.status == 404  # a probe learns nothing about the auth
    async with http.post(f"{server.url}/{TOKEN}/hook", data=b"{}") as response:
        assert response.status == 401
    async with http.post(f"{server.url}/{TOKEN}/hook", data=b"{}", headers=_basic("u:p")) as response:
        assert response.status == 200


async def test_x_forwarded_for_is_kept_and_shown_but_the_remote_is_the_tcp_peer(start_hookbin, http):
    from hookbin.textout import capture_page

    server = await start_hookbin()
    async with http.post(server.url + "/h", data=b"{}", headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}) as r:
        capture = server.store.get(r.headers["X-Hookbin-Id"])
    assert capture.remote.startswith("127.0.0.1:")
    assert ("X-Forwarded-For", "203.0.113.9, 10.0.0.1") in capture.headers
    page = capture_page(capture)
    assert f"from      {capture.remote} (X-Forwarded-For: 203.0.113.9, 10.0.0.1, as claimed by the sender)" in page


def test_a_generated_token_is_url_safe_and_long():
    token = new_token()
    assert check_token(token) == token and len(token) >= 22
    assert new_token() != token


@pytest.mark.parametrize("bad", ["", "short", "has/slash", "sp ace", "per%cent", "ümlaut-token", "a?b=cdefgh"])
def test_tokens_that_cannot_be_a_path_segment_are_refused(bad):
    with pytest.raises(AccessError):
        check_token(bad)


def test_credentials_are_user_colon_password():
    assert parse_credentials("user:pa:ss") == ("user", "pa:ss")
    for bad in ["nocolon", ":pass", "user:", "us\ter:pass"]:
        with pytest.raises(AccessError):
            parse_credentials(bad)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://abc.ngrok.app/segmanta", f"https://abc.ngrok.app/{TOKEN}/segmanta"),
        ("https://abc.ngrok.app", f"https://abc.ngrok.app/{TOKEN}/"),
        ("http://127.0.0.1:8080/", f"http://127.0.0.1:8080/{TOKEN}/"),
        ("https://h.example/a?b=1", f"https://h.example/{TOKEN}/a?b=1"),
    ],
)
def test_the_url_to_paste_carries_the_token_first(url, expected):
    assert url_with_token(url, TOKEN) == expected
    assert url_with_token(url, None) == url


def test_route_path_is_the_path_after_the_token():
    access = Access(token=TOKEN)
    assert access.route_path(f"/{TOKEN}/segmanta/csat") == "/segmanta/csat"
    assert access.route_path(f"/{TOKEN}") == "/"
    assert access.route_path("/other") == "/other"
    assert Access().route_path("/x") == "/x"


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_which_hosts_are_loopback(host, loopback):
    assert is_loopback(host) is loopback
