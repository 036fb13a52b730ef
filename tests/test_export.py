"""Copy as curl: the command replays the capture exactly, and nothing in it can escape its quotes."""

from __future__ import annotations

import asyncio
import shlex
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookbin.export import needs_body_file, to_curl
from tests.factories import tcapture

header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
                      max_size=40)


@given(value=header_text, body=header_text)
def test_every_argument_survives_the_shell_intact(value, body):
    capture = tcapture(headers=(("X-Any", value),), body=body.encode("utf-8"))
    words = shlex.split(to_curl(capture, "http://127.0.0.1:3000"))
    assert words[:4] == ["curl", "-X", "POST", "http://127.0.0.1:3000/hook"]
    assert words[words.index("-H") + 1] == f"X-Any: {value}"
    if body:
        assert words[-2:] == ["--data-binary", body]


def test_headers_curl_computes_are_left_out_and_query_kept():
    capture = tcapture(query_string="a=1&a=2", headers=(("Host", "x"), ("Content-Length", "9"),
                                                        ("Content-Type", "application/json")))
    command = to_curl(capture, "http://localhost:9000/")
    assert command.startswith("curl -X POST 'http://localhost:9000/hook?a=1&a=2'")
    assert "Host" not in command and "Content-Length" not in command


def test_binary_bodies_go_through_a_file():
    capture = tcapture(body=b"\x00\xffbinary")
    assert needs_body_file(capture)
    with pytest.raises(ValueError):
        to_curl(capture, "http://x")
    assert to_curl(capture, "http://x", body_file="/tmp/a b.body").endswith("--data-binary '@/tmp/a b.body'")


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
async def test_the_command_really_replays_the_request(start_hookbin, tmp_path):
    server = await start_hookbin()
    marker = tmp_path / "injected"
    hostile = f"it's; $(touch {marker}) `touch {marker}`"
    original = tcapture(query_string="x=1", headers=(("Content-Type", "application/json"), ("X-Sig", hostile)),
                        body=b'{"quote": "\'", "dollar": "$HOME"}')
    command = to_curl(original, server.url)
    process = await asyncio.create_subprocess_exec(
        "sh", "-c", command + " -s -o /dev/null -w '%{http_code}'", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    assert out == b"200"
    replayed = server.store.list(limit=1)[0]
    assert replayed.body == original.body and replayed.query_string == "x=1"
    assert dict(replayed.headers)["X-Sig"] == hostile
    assert not marker.exists()
