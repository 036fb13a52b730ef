"""`hookbin respond` against a real hookbin on loopback: it changes the answer, and says so in one
line when it cannot (a bad spec, nothing listening, or an address that is not the control API)."""

from __future__ import annotations

import asyncio

import pytest

from hookbin.commands.common import ExitStatus


@pytest.fixture
def respond(invoke):
    """`hookbin respond ARGS` in a worker thread, so the server on the test's loop can answer it."""

    async def run(*args: str):
        return await asyncio.to_thread(invoke, "respond", *args)

    return run


async def test_hookbin_respond_changes_a_running_hookbin(start_hookbin, respond, http):
    server = await start_hookbin()
    result = await respond("500,500,200", "--rule", "/health => 200", "--admin", server.admin_url)
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert result.stdout == "answering: 500,500,200\nrule:      /health => 200\n"
    async with http.post(server.url + "/x", data=b"same") as answer:
        assert answer.status == 500
    bad = await respond("99", "--admin", server.admin_url)
    assert bad.exit_code == ExitStatus.USAGE and bad.stderr.startswith("hookbin: error: bad response spec '99'")
    now = await respond("--admin", server.admin_url)
    assert now.stdout.startswith("answering: 500,500,200\n")
    admin_url = server.admin_url
    await server.stop()
    gone = await respond("200", "--admin", admin_url)
    assert gone.exit_code == ExitStatus.ERROR
    assert gone.stderr.startswith(f"hookbin: error: cannot reach hookbin's control API at {admin_url}: ")


@pytest.mark.parametrize("args", [("503",), ()], ids=["change", "read"])
@pytest.mark.parametrize("answer", ["200", "503", "200 html"])
async def test_pointed_at_the_catcher_it_says_so_in_one_line(start_hookbin, respond, args, answer):
    server = await start_hookbin(answer.split()[0])
    if answer.endswith("html"):
        server.responder.set_body(b"<html>hello</html>", "text/html")
    result = await respond(*args, "--admin", server.url)
    assert result.exit_code == ExitStatus.USAGE
    status = answer.split()[0]
    reason = {"200": "OK", "503": "Service Unavailable"}[status]
    what = f"{status} {reason}" + (" with something else" if status == "200" else "")
    assert result.stderr == (
        f"hookbin: error: {server.url} is not a hookbin control API (it answered {what}); use the "
        "control API address `hookbin serve` prints, by default the catcher's port + 1\n"
    )
    assert server.responder.spec.text == answer.split()[0]
