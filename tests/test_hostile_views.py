"""No view of a capture can crash or leak a control character, whatever a stranger sent.

A hypothesis property builds captures with hostile text and bytes in every field a sender
controls and runs every view over them; then real hostile requests go through a real catcher
into a real database, and `ls`, `show`, `deliveries` and `report` run over it.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import subprocess
import sys
import zlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console, RenderableType

from hookbin.bodies import decode_capture, sniff_json
from hookbin.cli import cli
from hookbin.commands.report import delivery_block
from hookbin.deliveries import group_deliveries
from hookbin.export import to_curl
from hookbin.jsonlines import generic_lines
from hookbin.model import Capture, ResponseGiven
from hookbin.report import build_report
from hookbin.report_text import render_markdown, render_text
from hookbin.samples import sample_bytes
from hookbin.segmanta import summarize, summary_lines, survey_name_of
from hookbin.summaries import summary_of
from hookbin.textout import body_text, capture_line, capture_page, could_not_show, list_row
from hookbin.tui import render
from tests.factories import BASE_TIME

SAMPLE = json.loads(sample_bytes("survey"))

NASTY = [
    "\x1b]52;c;aGkK\x07",
    "\x1b[2J",
    "\x1b[31m",
    "[bold]x[/x]",
    "[link=https://evil]ok[/link]",
    "[/]",
    "\u202e",
    "\u2066",
    "\u2028",
    "\x85",
    "\ufeff",
    "\x00",
    "\r",
    "\x7f",
    "\x9b",
    "\udcff",
    "\udc80",
    "é",
    "\U0001f600",
    "'",
    '"',
    "\\",
    "$'\\n'",
    "%ff",
    "%1b",
    ";",
    "=",
    ",",
    "--",
    "\t",
    "\n",
]

# Every character, surrogates included: undecodable bytes reach views as surrogate escapes.
any_char = st.characters(codec=None, exclude_categories=())


def hostile_text(max_size: int = 30) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(any_char, max_size=max_size),
        st.binary(max_size=max_size).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
        st.lists(st.sampled_from(NASTY), max_size=5).map("".join),
    )


MEDIA_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/vnd.x+json",
    "text/html",
    "image/png",
    "application/octet-stream",
    "",
]
CODINGS = ["gzip", "x-gzip", "deflate", "identity", "br", "zstd"]


@st.composite
def content_type(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(hostile_text())
    params = draw(
        st.lists(
            st.tuples(st.sampled_from(["charset", "boundary", "CHARSET", "x"]), hostile_text(), st.booleans()),
            max_size=3,
        )
    )
    return draw(st.sampled_from(MEDIA_TYPES)) + "".join(
        f'; {name}="{value}"' if quoted else f"; {name}={value}" for name, value, quoted in params
    )


def _poisoned(document: Any, texts: list[str], at: list[int]) -> Any:
    """The sample with its strings (keys too) replaced by hostile ones, in turn."""

    def pick() -> str:
        at[0] += 1
        return texts[at[0] % len(texts)]

    if isinstance(document, dict):
        return {(pick() if at[0] % 3 == 0 else key): _poisoned(value, texts, at) for key, value in document.items()}
    if isinstance(document, list):
        return [_poisoned(item, texts, at) for item in document]
    return pick() if isinstance(document, str) else document


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text(10), children, max_size=4),
    max_leaves=20,
)
json_bodies = st.one_of(
    json_values,
    st.lists(hostile_text(), min_size=1, max_size=8).map(lambda texts: _poisoned(SAMPLE, texts, [0])),
).map(lambda doc: json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"))
bodies = st.one_of(
    st.binary(max_size=400),
    json_bodies,
    hostile_text(200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [b"[" * 5000, b"1" * 5000, b"--b\r\n\r\n\x1b[2J\r\n--b--", b"a=%1b[2J&%ff=\x1b", b"\xef\xbb\xbf{}"]
    ),
)


def _encode(body: bytes, codings: list[str]) -> bytes:
    for coding in codings:
        if coding in ("gzip", "x-gzip"):
            body = gzip.compress(body)
        elif coding == "deflate":
            body = zlib.compress(body)
    return body


headers_strategy = st.lists(st.tuples(hostile_text(), hostile_text()), max_size=4)


@st.composite
def captures(draw: st.DrawFn, seq: int = 0) -> Capture:
    codings = draw(st.lists(st.one_of(st.sampled_from(CODINGS), hostile_text(8)), max_size=3))
    body = draw(bodies)
    if draw(st.booleans()):
        body = _encode(body, codings)
    headers = draw(headers_strategy)
    headers.insert(draw(st.integers(0, len(headers))), ("Content-Type", draw(content_type())))
    if codings:
        headers.append(("Content-Encoding", ", ".join(codings)))
    truncated = draw(st.booleans())
    response = draw(
        st.none()
        | st.builds(
            ResponseGiven,
            status=st.integers(0, 999),
            headers=headers_strategy.map(tuple),
            body=st.binary(max_size=100) | hostile_text().map(lambda t: t.encode("utf-8", "surrogatepass")),
            delay_ms=st.floats(0, 1e7),
            fault=st.none() | st.sampled_from(["close", "reset", "drip"]) | hostile_text(),
            drip_ms=st.floats(0, 1e7),
            rule=st.none() | hostile_text(),
            spec=st.none() | hostile_text(),
            step=st.none() | st.integers(0, 10**6),
            reason=st.none() | hostile_text(),
            duration_ms=st.floats(0, 1e6),
        )
    )
    return Capture(
        id=f"h{seq:011d}",
        received_at=BASE_TIME + timedelta(seconds=seq),
        method=draw(hostile_text(12)),
        path=draw(hostile_text(60)),
        query_string=draw(hostile_text(60)),
        headers=tuple(headers),
        body=body,
        body_size=len(body) + (draw(st.integers(1, 10**10)) if truncated else 0),
        truncated=truncated,
        remote=draw(hostile_text()),
        response=response,
        delivery_key=draw(st.none() | hostile_text()),
        delivery_source=draw(st.none() | hostile_text()),
        attempt=draw(st.none() | st.integers(1, 10**6)),
    )


def assert_shown(out: str, *, multiline: bool = True) -> None:
    """Printable characters only; newlines (and the tabs textsafe keeps in bodies) where a view emits them."""
    allowed = "\n\t" if multiline else ""
    bad = sorted({ch for ch in out if not (ch.isprintable() or ch in allowed)})
    assert not bad, f"control characters in a view: {bad!r}"
    assert "could not show this capture" not in out  # the guard is a last resort, not a result


def rendered(renderable: RenderableType) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False, legacy_windows=False)
    console.print(renderable)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(first=captures(seq=1), second=captures(seq=2))
def test_no_view_raises_or_shows_a_control_character(first: Capture, second: Capture) -> None:
    second = replace(second, delivery_key=first.delivery_key)  # two attempts of one delivery: a diff
    for capture in (first, second):
        view = decode_capture(capture)
        assert view.summary
        sniff_json(capture.body, capture.headers)
        assert_shown(capture_line(capture), multiline=False)
        assert_shown(list_row(capture), multiline=False)
        assert_shown(capture_page(capture))
        assert_shown(body_text(capture, view))
        for as_json in (json.dumps(capture.to_dict()), json.dumps(capture.to_dict(), indent=2)):
            assert as_json.isascii()
            assert_shown(as_json)
        document = view.json if view.kind == "json" else None
        survey_name_of(document)
        summary = summarize(document)
        if summary is not None:
            assert_shown("\n".join(summary_lines(summary)))
        generic_lines(document)
        assert_shown(render.row_line(summary_of(capture)).plain, multiline=False)
        for renderable in (
            render.summary_view(capture, view),
            render.headers_view(capture),
            render.body_view(capture, view),
            render.query_view(capture),
            render.response_view(capture),
            render.raw_view(capture),
        ):
            assert_shown(rendered(renderable))
        assert_shown(to_curl(capture, "http://127.0.0.1:9", body_file="/tmp/body.bin"))
    deliveries = group_deliveries([first, second])
    for delivery in deliveries:
        assert_shown(rendered(render.delivery_view(delivery, first.id)))
        assert_shown(delivery_block(delivery))
        json.dumps(delivery.to_dict())
    report = build_report(deliveries, now=BASE_TIME + timedelta(hours=1))
    assert_shown(render_text(report))
    render_markdown(report)


def test_a_view_that_fails_shows_one_line_instead():
    broken = Capture(id="x", received_at=BASE_TIME, method="POST", path="/", headers=None)  # type: ignore[arg-type]
    assert capture_page(broken).startswith("could not show this capture: TypeError: ")
    assert "\n" not in capture_page(broken)
    assert render.headers_table(broken).plain.startswith("could not show this capture")  # type: ignore[union-attr]
    assert could_not_show(ValueError("\x1b[2J")) == "could not show this capture: ValueError: \\x1b[2J"


# --- hostile requests through a real catcher, then the shell commands over its database ------


def _request(method: bytes, path: bytes, headers: list[bytes], body: bytes) -> bytes:
    head = b"%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path) + b"".join(h + b"\r\n" for h in headers)
    return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


BOMB = gzip.compress(gzip.compress(b"\0" * (128 * 2**20)))  # 376 bytes, 128 MiB after two layers
MEMBERS = gzip.compress(b"{" * (8 * 2**20)) * 20  # 20 gzip members, 160 MiB in all
HOSTILE_REQUESTS = [  # the cases of shared/hooks/hostile_smoke.py, and a few more
    _request(b"POST", b"/cs", [b"Content-Type: text/plain; charset=\xff\xfe"], b"hi"),
    _request(b"POST", b"/cs2", [b'Content-Type: application/json; charset="utf-\x00"'], b"{}"),
    _request(b"POST", b"/bomb", [b"Content-Type: application/json", b"Content-Encoding: gzip, gzip"], BOMB),
    _request(b"POST", b"/members", [b"Content-Type: application/json", b"Content-Encoding: gzip"], MEMBERS),
    _request(b"POST", b"/deflate-bad", [b"Content-Encoding: deflate"], b"\x00\x01garbage"),
    _request(b"POST", b"/\xc3\x28?q=\xff", [b"X-\xff: \xfe"], b"\xff\xfe\x00binary"),
    _request(b"POST", b"/mp", [b"Content-Type: multipart/form-data; boundary=\xff"], b"--\xff\r\n\r\n"),
    _request(b"POST", b"/json-deep", [b"Content-Type: application/json"], b"[" * 50000 + b"]" * 50000),
    _request(b"POST", b"/ansi", [b"Content-Type: text/plain"], b"\x1b]52;c;aGkK\x07\x1b[2J[bold]x[/x]\xe2\x80\xae"),
    _request(b"post", b"/lower", [], b"{}"),
    _request(
        b"POST", b"/form", [b"Content-Type: application/x-www-form-urlencoded; charset=\xff"], b"a=%1b[2J&" * 100_000
    ),
    _request(b"POST", b"/long-text", [b"Content-Type: text/plain; charset=utf-8"], "é\x1b".encode() * 500_000),
]


async def _send(port: int, raw: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    await reader.read()
    writer.close()


@pytest.fixture
async def hostile_db(start_hookbin, tmp_path) -> tuple[str, dict[str, str]]:
    """A database filled by a real catcher with the hostile requests; their ids by path."""
    db = str(tmp_path / "hostile.db")
    server = await start_hookbin(db=db, max_body=16 * 2**20)
    for raw in HOSTILE_REQUESTS:
        await _send(server.port, raw)
    ids = {capture.path: capture.id for capture in server.store.list_captures(limit=100)}
    # The HTTP parser answers 400 to a NUL in a header, a raw non-ASCII path and a lower-case
    # method before hookbin sees them; everything else is kept.
    assert len(ids) == len(HOSTILE_REQUESTS) - 3, " ".join(sorted(ids))
    assert {"/cs", "/bomb", "/members", "/mp", "/ansi", "/form", "/long-text"} <= set(ids)
    return db, ids


async def test_ls_show_deliveries_and_report_over_hostile_captures(hostile_db):
    db, ids = hostile_db
    runner = CliRunner()
    for args in (
        ["ls", "--db", db],
        ["ls", "--json", "--db", db],
        ["deliveries", "--db", db],
        ["deliveries", "--json", "--db", db],
        ["report", "--db", db],
    ):
        result = runner.invoke(cli, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert_shown(result.stdout)
        assert "Traceback" not in result.stderr
    listed = runner.invoke(cli, ["ls", "--db", db]).stdout
    assert len(listed.splitlines()) == len(ids)
    for path, capture_id in ids.items():
        for extra in ([], ["--json"]):
            result = runner.invoke(cli, ["show", capture_id, "--db", db, *extra])
            assert result.exit_code == 0, (path, result.output)
            assert_shown(result.stdout)
            if not extra:  # the JSON form is the whole capture; the page is a page
                assert len(result.stdout) < 2_000_000, path


async def test_show_says_what_a_bomb_left_undecoded_and_raw_gives_the_exact_bytes(hostile_db):
    db, ids = hostile_db
    runner = CliRunner()
    page = runner.invoke(cli, ["show", ids["/bomb"], "--db", db]).stdout
    assert "! gzip: decoded 3.9 MiB of at least 128 MiB (gzip's own count); the rest was not decoded" in page
    assert f"`hookbin show {ids['/bomb']} --raw` prints the body's exact bytes" in page
    members = runner.invoke(cli, ["show", ids["/members"], "--db", db]).stdout
    assert "! gzip: decoded 4 MiB of at least 8 MiB (gzip's own count); the rest was not decoded" in members
    text = runner.invoke(cli, ["show", ids["/long-text"], "--db", db]).stdout
    assert "\\x1bé\\x1b" in text
    assert "more bytes not shown" in text
    raw = runner.invoke(cli, ["show", ids["/bomb"], "--raw", "--db", db])
    assert raw.stdout_bytes == BOMB


def test_show_raw_will_not_write_control_bytes_to_a_terminal(tmp_path):
    from hookbin.store import open_store
    from tests.factories import tcapture

    store = open_store(tmp_path / "c.db")
    hostile = store.add(tcapture(body=b"\x1b]52;c;aGkK\x07"))
    plain = store.add(tcapture(body=b'{"ok": true}\r\n'))
    store.flush()
    store.close()
    primary, secondary = os.openpty()
    try:

        def show_raw(capture_id: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(
                [sys.executable, "-m", "hookbin", "show", capture_id, "--raw", "--db", str(tmp_path / "c.db")],
                stdout=secondary,
                stderr=subprocess.PIPE,
                timeout=30,
            )

        refused = show_raw(hostile.id)
        assert refused.returncode == 2
        assert refused.stderr.decode().strip() == (
            "hookbin: error: the body holds bytes a terminal would act on; "
            f"redirect it: hookbin show {hostile.id} --raw > body.bin"
        )
        assert show_raw(plain.id).returncode == 0
        assert os.read(primary, 100).startswith(b'{"ok": true}')
    finally:
        os.close(primary)
        os.close(secondary)
