"""`hookbin respond` against a real hookbin on loopback: it changes the answer, finds the running
hookbin and its credential by itself (one, several, none, killed ones), and says so in one line
when it cannot (a bad spec, nothing listening, or an address that is not the control API)."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess

import pytest

from hookbin.commands.common import ExitStatus
from tests.test_readme import _commands as readme_commands


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
    assert result.stdout == "answering: 500,500,200\nrule:      /health => 200\nrun:       2 (new)\n"
    async with http.post(server.url + "/x", data=b"same") as answer:
        assert answer.status == 500
    async with http.post(server.url + "/x", data=b"same") as answer:
        assert answer.status == 500
    again = await respond("--new-run", "--admin", server.admin_url)
    assert again.stdout == "answering: 500,500,200\nrule:      /health => 200\nrun:       3 (new)\n"
    async with http.post(server.url + "/x", data=b"same") as answer:
        assert answer.status == 500  # the same delivery, but a new run: step 1 again
        repeated = server.store.get((await answer.json())["id"])
    assert (repeated.attempt, repeated.run) == (1, 3)
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


# -- finding the running hookbin: real `hookbin serve` processes, real `hookbin respond` -----------


def admin_port(served) -> int:
    return int(served.admin.rsplit(":", 1)[1])


def test_respond_finds_the_one_running_hookbin_and_its_credential_by_itself(serve, hookbin):
    served = serve("--no-tui", "--db", ":memory:")
    changed = hookbin("respond", "503")
    assert (changed.returncode, changed.stdout, changed.stderr) == (0, "answering: 503\nrun:       2 (new)\n", "")
    assert served.post("/x", b"{}")[0] == 503
    assert hookbin("respond").stdout == "answering: 503\nrun:       2\n"


def test_with_two_running_respond_lists_them_and_admin_chooses_one(serve, hookbin):
    first = serve("--no-tui", "--db", ":memory:")
    second = serve("--no-tui", "--db", ":memory:")
    ambiguous = hookbin("respond", "503")
    assert ambiguous.returncode == ExitStatus.USAGE
    listed = sorted([first, second], key=admin_port)
    assert ambiguous.stderr == "".join(
        [
            "hookbin: error: 2 hookbins are running; choose one with --admin:\n",
            *(
                f"  --admin 127.0.0.1:{admin_port(s)}  catching on {s.url}, storing in :memory:, pid {s.proc.pid}\n"
                for s in listed
            ),
        ]
    )
    assert first.post("/x", b"{}")[0] == second.post("/x", b"{}")[0] == 200  # nothing changed

    chosen = hookbin("respond", "503", "--admin", f"127.0.0.1:{admin_port(second)}")  # no scheme
    assert chosen.returncode == 0, chosen.stderr
    assert (first.post("/x", b"{}")[0], second.post("/x", b"{}")[0]) == (200, 503)
    by_name = hookbin("respond", "410", "--admin", f"localhost:{admin_port(first)}")
    by_env = hookbin("respond", env={"HOOKBIN_ADMIN": first.admin})
    assert (by_name.returncode, by_env.stdout) == (0, "answering: 410\nrun:       2\n")


def test_a_killed_hookbin_is_ignored_and_its_file_removed(serve, hookbin, own_user_dirs):
    killed = serve("--no-tui", "--db", ":memory:")
    alive = serve("--no-tui", "--db", ":memory:")
    killed.stop(signal.SIGKILL)
    assert len(list((own_user_dirs / "hookbin").iterdir())) == 2  # it had no chance to remove its own
    changed = hookbin("respond", "503")
    assert changed.returncode == 0, changed.stderr
    assert alive.post("/x", b"{}")[0] == 503
    assert [p.name for p in (own_user_dirs / "hookbin").iterdir()] == [f"{alive.proc.pid}-{admin_port(alive)}.json"]


def test_with_no_hookbin_running_respond_says_so_in_one_line(hookbin, own_user_dirs):
    result = hookbin("respond", "503")
    assert result.returncode == ExitStatus.ERROR
    assert result.stderr == (
        f"hookbin: error: no running hookbin found (none has an instance file in {own_user_dirs / 'hookbin'}): "
        "start `hookbin serve`, or give --admin HOST:PORT\n"
    )


def test_a_hookbin_whose_credential_respond_cannot_find_is_named_not_changed(serve, hookbin, tmp_path):
    elsewhere = tmp_path / "someone-elses-runtime"
    elsewhere.mkdir(mode=0o700)
    served = serve("--no-tui", "--db", ":memory:", env={"XDG_RUNTIME_DIR": str(elsewhere)})
    result = hookbin("respond", "503", "--admin", f"127.0.0.1:{admin_port(served)}")
    assert result.returncode == ExitStatus.ERROR
    assert result.stderr.startswith(
        f"hookbin: error: http://127.0.0.1:{admin_port(served)} asks for a credential, and no running hookbin of "
        "yours has its control API there"
    )
    assert served.post("/x", b"{}")[0] == 200


@pytest.mark.parametrize("admin", ["nonsense", "127.0.0.1", "http://", "127.0.0.1:99999"])
def test_an_admin_address_without_a_port_is_refused_in_one_line(hookbin, admin):
    result = hookbin("respond", "--admin", admin)
    assert result.returncode == ExitStatus.USAGE
    assert result.stderr.startswith(f"hookbin: error: --admin {admin!r} is not an address such as 127.0.0.1:8081")


def test_the_readme_curl_example_changes_the_answer_with_the_instance_files_credential(serve):
    if shutil.which("curl") is None or shutil.which("jq") is None:
        pytest.skip("the README's example needs curl and jq")
    (snippet,) = readme_commands("The control API")
    served = serve("--no-tui", "--db", ":memory:")
    result = subprocess.run(["bash", "-c", snippet], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and json.loads(result.stdout)["spec"] == "503", result.stderr
    assert served.post("/x", b"{}")[0] == 503
