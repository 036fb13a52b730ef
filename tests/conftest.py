"""Shared fixtures: a real hookbin (catcher + control API) on loopback port 0, an HTTP client,
`invoke` to run a hookbin command in-process, the Retry-After cases every reader runs, and an
app for `serve --forward` to send to (`start_app`).

Every test gets its own runtime and data directories (XDG_RUNTIME_DIR, XDG_DATA_HOME), so the
instance files of the hookbins it starts are its alone, and nothing touches the user's own.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.utils import format_datetime

# Tab underlines and scrolling animate by default; tests want the end state at once.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from hookbin.cli import cli
from hookbin.responder import Responder
from hookbin.server.runner import HookbinServer
from hookbin.store import open_store
from tests.recording import Recorder


def refusals_said(lines: list[str], reason: str) -> int:
    """How many refusals for `reason` the notice `lines` account for: a line said in full (naming
    `reason`) counts one, a summary ("N more turned away in the last second: N <reason>") counts N.

    At most one line a second is said in full; which refusals fall into which second depends on
    how fast they were sent, so a test counts them all rather than expecting one summary.
    """
    summary = re.compile(rf"(\d+) more turned away in the last second: \1 {re.escape(reason)}")
    said = 0
    for line in lines:
        match = summary.fullmatch(line)
        assert match or ("turned away" not in line and reason in line), line
        said += int(match[1]) if match else 1
    return said


@pytest.fixture(autouse=True)
def own_user_dirs(tmp_path_factory, monkeypatch):
    """This test's runtime directory (where running hookbins register) and data directory."""
    runtime = tmp_path_factory.mktemp("runtime")
    runtime.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("HOOKBIN_ADMIN", raising=False)
    return runtime


@pytest.fixture
def control(http):
    """Call a running hookbin's control API as its owner: `await control(server, METHOD, PATH,
    json=…)` returns (status, parsed JSON answer)."""

    async def call(server, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {server.credential}", **kwargs.pop("headers", {})}
        async with http.request(method, server.admin_url + path, headers=headers, **kwargs) as answer:
            return answer.status, await answer.json()

    return call


@pytest.fixture
async def start_hookbin(tmp_path):
    """Start a real hookbin; returns the running HookbinServer. Stops everything afterwards."""
    started = []

    async def start(respond="200", rules=(), *, db=None, **options):
        store = open_store(db or tmp_path / "captures.db")
        server = HookbinServer(
            store, Responder(respond, rules, seed=options.pop("seed", None)), host="127.0.0.1", port=0, **options
        )
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
        server.store.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def utc(monkeypatch):
    """Run with the local time zone set to UTC (the TUI and `ls` show local times)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def invoke():
    """Run `hookbin ARGS` in-process with click's CliRunner: the same one-line errors and exit
    statuses a user sees. Returns click's Result (`stdout`, `stderr`, `exit_code`)."""
    runner = CliRunner()

    def run(*args: str, **kwargs) -> Result:
        return runner.invoke(cli, list(args), **kwargs)

    return run


def _imf(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _rfc850(moment: datetime) -> str:
    return moment.strftime("%A, %d-%b-%y %H:%M:%S GMT")


def _asctime(moment: datetime) -> str:
    return f"{moment:%a %b} {moment.day:>2} {moment:%H:%M:%S %Y}"


RETRY_AFTER_CASES: list[tuple[str, Callable[[datetime], str], float | None]] = [
    # (id, the header value given the moment of the answer, the seconds it asks for or None)
    ("seconds", lambda now: "120", 120.0),
    ("zero", lambda now: "0", 0.0),
    ("padded", lambda now: " 30 ", 30.0),
    ("past-the-sender-cap", lambda now: "7200", 7200.0),
    # Cases the two old parsers disagreed on (deliveries read them with float(), the sender did not):
    ("fraction", lambda now: "1.5", None),
    ("plus-sign", lambda now: "+5", None),
    ("exponent", lambda now: "1e3", None),
    ("underscore", lambda now: "1_000", None),
    ("non-ascii-digits", lambda now: "\u0661\u0662", None),
    # Unreadable for both, before and after:
    ("negative", lambda now: "-5", None),
    ("word", lambda now: "soon", None),
    ("infinity", lambda now: "inf", None),
    ("too-long", lambda now: "9" * 400, None),
    # HTTP dates (RFC 9110 section 5.6.7), counted from the answer:
    ("imf-date", lambda now: _imf(now + timedelta(seconds=90)), 90.0),
    ("imf-date-past", lambda now: _imf(now - timedelta(seconds=90)), 0.0),
    ("rfc850-date", lambda now: _rfc850(now + timedelta(seconds=60)), 60.0),
    ("asctime-date", lambda now: _asctime(now + timedelta(seconds=30)), 30.0),
    # Both old parsers took any email date; these are not HTTP dates:
    ("numeric-zone", lambda now: _imf(now + timedelta(seconds=90)).replace("GMT", "+0000"), None),
    ("no-weekday", lambda now: _imf(now + timedelta(seconds=90))[5:], None),
]


@pytest.fixture(params=RETRY_AFTER_CASES, ids=[case[0] for case in RETRY_AFTER_CASES])
def retry_after_case(request):
    """One Retry-After case: (id, value given the answer's moment, seconds asked or None).

    Every reader of Retry-After (the parser, the deliveries view, the sender) runs the same cases.
    """
    return request.param


@pytest.fixture(scope="module")
def recorder():
    """A server on loopback that records each request's raw bytes (see tests/recording.py)."""
    server = Recorder()
    yield server
    server.sock.close()


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory):
    """A clean environment for bash and curl: no proxy, and a .curlrc that keeps curl quiet."""
    home = tmp_path_factory.mktemp("home")
    (home / ".curlrc").write_text("silent\nshow-error\noutput = /dev/null\nmax-time = 20\n")
    return {"PATH": os.environ["PATH"], "HOME": str(home), "CURL_HOME": str(home), "LC_ALL": "C.UTF-8"}


@pytest.fixture
async def raw_receiver():
    """A started `tests.raw_receiver.RawReceiver`: a raw receiver that keeps each request's exact bytes."""
    from tests.raw_receiver import RawReceiver

    receiver = await RawReceiver().start()
    yield receiver
    await receiver.stop()


class App:
    """The developer's receiver, an aiohttp server: what reached it, one (method, target,
    headers, body) per request, headers as raw pairs in arrival order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self.url = ""


@pytest.fixture
async def start_app():
    """Start an app on 127.0.0.1:0 answering with the handler given; returns its `App`."""
    runners: list[web.BaseRunner] = []

    async def start(answer: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]) -> App:
        app = App()

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            headers = [(name.decode(), value.decode()) for name, value in request.raw_headers]
            app.seen.append((request.method, request.raw_path, headers, await request.read()))
            return await answer(request)

        runner = web.ServerRunner(web.Server(handle), shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        app.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return app

    yield start
    for runner in runners:
        await runner.cleanup()
