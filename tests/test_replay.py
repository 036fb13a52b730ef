"""Replaying captures: what a real hookbin caught is sent again byte for byte to a raw receiver,
and the receiver's answers (however odd) are read within bounds (the command:
tests/commands/test_replay.py)."""

from __future__ import annotations

import asyncio
import gzip
import socket

import pytest

from hookbin.client.replay import exchange, replay
from hookbin.model import Capture
from hookbin.outgoing import RequestError, post_request, replay_request, with_headers
from tests.factories import tcapture
from tests.raw_receiver import HANG, RESET, RawReceiver

BINARY = bytes(range(256)) * 4
GZIPPED = gzip.compress(b'{"survey_id": 1234, "answer": "caf\xc3\xa9"}')


async def caught(server, raw: bytes) -> Capture:
    """Send `raw` to a real hookbin over a socket, as a sender would, and return its capture."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(raw)
    await writer.drain()
    answer = await reader.readuntil(b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200"), answer
    writer.close()
    server.store.flush()
    [capture] = server.store.list_captures(1)
    return capture


def host(raw_receiver: RawReceiver) -> bytes:
    return f"127.0.0.1:{raw_receiver.port}".encode()


# What a sender sent -> what the receiver must get from the replay ({host} is the receiver's).
EXACT = {
    "binary body, duplicate headers in two spellings, odd path and query": (
        b"POST /hooks/a%2Fb/../c;v=1/%E2%82%AC//x?q=1&q=2&e=%zz&&flag&sp=a+b HTTP/1.1\r\n"
        b"Host: {host}\r\n"
        b"X-Dup: one\r\n"
        b"x-dup: two\r\n"
        b"X-DUP: three\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"X-Empty: \r\n"
        b"Content-Length: 1024\r\n"
        b"\r\n"
    )
    + BINARY,
    "gzip body with its Content-Encoding": (
        b"PUT /segmanta/csat HTTP/1.1\r\n"
        b"Host: {host}\r\n"
        b"Content-Type: application/json; charset=utf-8\r\n"
        b"Content-Encoding: gzip\r\n"
        b"Content-Length: " + str(len(GZIPPED)).encode() + b"\r\n"
        b"User-Agent: Segmanta-Webhooks/1.0\r\n"
        b"\r\n"
    )
    + GZIPPED,
    "a header byte that is not UTF-8": (
        b"POST /latin HTTP/1.1\r\nHost: {host}\r\nX-Name: caf\xe9 \xff\r\nContent-Length: 2\r\n\r\nhi"
    ),
    "a GET without a body gets no Content-Length": (
        b"GET /status?verbose HTTP/1.1\r\nAccept: */*\r\nHost: {host}\r\n\r\n"
    ),
    "an empty POST keeps its Content-Length: 0": b"POST /empty HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("raw", EXACT.values(), ids=EXACT.keys())
async def test_the_receiver_gets_exactly_what_the_sender_sent(start_hookbin, raw_receiver, raw):
    server = await start_hookbin("200")
    capture = await caught(server, raw.replace(b"{host}", b"hookbin.example"))
    answer = await replay(capture, raw_receiver.url)
    assert answer.status == 201 and answer.error is None
    assert raw_receiver.requests == [raw.replace(b"{host}", host(raw_receiver))]


async def test_hop_by_hop_headers_are_dropped_and_a_chunked_body_gets_its_length(start_hookbin, raw_receiver):
    server = await start_hookbin("200")
    sent = (
        b"POST /chunked HTTP/1.1\r\n"
        b"Host: hookbin.example\r\n"
        b"Connection: keep-alive, X-Hop\r\n"
        b"X-Hop: for this connection only\r\n"
        b"Keep-Alive: timeout=5\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"X-Kept: yes\r\n"
        b"\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    capture = await caught(server, sent)
    await replay(capture, raw_receiver.url)
    expected = b"POST /chunked HTTP/1.1\r\nHost: %s\r\nX-Kept: yes\r\nContent-Length: 11\r\n\r\nhello world"
    assert raw_receiver.requests == [expected % host(raw_receiver)]


@pytest.mark.parametrize(
    "to, exact, target",
    [
        ("{url}", False, b"/hook/x?a=1&a=2"),
        ("{url}/", False, b"/hook/x?a=1&a=2"),
        ("{url}/api/", False, b"/api/hook/x?a=1&a=2"),
        ("{url}/api?token=t", False, b"/api/hook/x?token=t&a=1&a=2"),
        ("{url}/webhooks/segmanta", True, b"/webhooks/segmanta"),
        ("{url}", True, b"/"),
        ("{url}/in?k=v", True, b"/in?k=v"),
    ],
)
async def test_where_the_replay_goes(raw_receiver, to, exact, target):
    capture = tcapture(method="DELETE", path="/hook/x", query_string="a=1&a=2", body=b"")
    answer = await replay(capture, to.format(url=raw_receiver.url), exact_url=exact)
    assert answer.status == 201
    assert raw_receiver.requests[0].startswith(b"DELETE " + target + b" HTTP/1.1\r\nHost: ")


def test_an_edited_body_carries_its_own_length():
    capture = tcapture(headers=(("Content-Length", "19"), ("Content-Type", "application/json")))
    request = replay_request(capture, "http://127.0.0.1:9/", body=b'{"edited": true, "n": 2}')
    assert request.headers == (("Host", "127.0.0.1:9"), ("Content-Length", "24"), ("Content-Type", "application/json"))
    assert request.head_bytes().endswith(b"Content-Type: application/json\r\n\r\n")


def test_headers_added_for_a_send_replace_those_of_the_same_name():
    request = post_request("http://127.0.0.1:9/in", b"{}", (("Content-Type", "application/json"), ("X-A", "1")))
    request = with_headers(request, (("content-type", "text/plain"), ("X-B", "2"), ("Host", "ignored")))
    assert request.headers == (
        ("Host", "127.0.0.1:9"),
        ("X-A", "1"),
        ("Content-Length", "2"),
        ("content-type", "text/plain"),
        ("X-B", "2"),
    )


@pytest.mark.parametrize(
    "url, why",
    [
        ("ftp://example.com/", "use an http:// or https:// URL"),
        ("127.0.0.1:3000", "use an http:// or https:// URL"),
        ("http:///x", "no host"),
        ("http://h:99999/", "bad URL"),
        ("http://u:secret@h/", "user:password@ is not sent"),
        ("http://h/a b", "spaces and control characters"),
    ],
)
def test_bad_targets_are_refused_before_anything_is_sent(url, why):
    with pytest.raises(RequestError, match=why):
        replay_request(tcapture(), url)


# ------------------------------------------------------------------------------- the answers


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nX-Trailer: t\r\n\r\n"


ANSWERS = {
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Dup: a\r\nX-Dup: b\r\n\r\n" + chunked(b'{"ok"', b": 1}"),
        (200, "OK", b'{"ok": 1}', 9, False),
    ),
    "after 100 Continue": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
        (202, "Accepted", b"ok", 2, False),
    ),
    "until the connection closes": (b"HTTP/1.0 500 Oops\r\n\r\nstack trace", (500, "Oops", b"stack trace", 11, False)),
    "no reason phrase, no body": (b"HTTP/1.1 204\r\nContent-Length: 0\r\n\r\n", (204, "", b"", 0, False)),
    "longer than kept (length known)": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000,
        (200, "OK", b"x" * 1000, 100000, True),
    ),
    "longer than kept (chunked)": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"y" * 800, b"y" * 800),
        (200, "OK", b"y" * 1000, None, True),
    ),
    "longer than kept (until closed)": (b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * 5000, (200, "OK", b"z" * 1000, None, True)),
}


@pytest.mark.parametrize("raw, expected", ANSWERS.values(), ids=ANSWERS.keys())
async def test_answers_are_read_however_they_are_framed(raw_receiver, raw, expected):
    raw_receiver.answer = raw
    answer = await replay(tcapture(), raw_receiver.url, keep=1000)
    assert (answer.status, answer.reason, answer.body, answer.body_size, answer.cut) == expected
    assert answer.error is None and answer.latency > 0


async def test_duplicate_answer_headers_are_kept_in_order(raw_receiver):
    raw_receiver.answer = ANSWERS["chunked"][0]
    answer = await replay(tcapture(), raw_receiver.url)
    assert answer.headers == (("Transfer-Encoding", "chunked"), ("X-Dup", "a"), ("X-Dup", "b"))


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "answer, error",
    [
        (b"", "server closed the connection"),
        (RESET, "connection reset"),
        (HANG, "timeout after 300ms"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "bad answer: not an HTTP/1.x answer: 'SSH-2.0-OpenSSH_9.6'"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n", "answer cut short"),
    ],
)
async def test_no_answer_is_one_line_saying_why(raw_receiver, answer, error):
    raw_receiver.answer = answer
    # Only the hanging receiver needs the short timeout: the others get long enough for a busy machine.
    result = await replay(tcapture(), raw_receiver.url, timeout=0.3 if answer == HANG else 60)
    assert (result.status, result.error) == (None, error)
    assert result.summary().startswith(error + "  ")


async def test_a_body_cut_short_keeps_the_status_that_came(raw_receiver):
    raw_receiver.answer = b"HTTP/1.1 503 Busy\r\nContent-Length: 10\r\n\r\nabc"
    answer = await replay(tcapture(), raw_receiver.url)
    assert (answer.status, answer.body, answer.error) == (503, b"", "answer cut short: 3 of 10 bytes")
    assert answer.answered


async def test_refused_and_unresolvable_hosts():
    refused = await replay(tcapture(), f"http://127.0.0.1:{unused_port()}")
    assert (refused.status, refused.error) == (None, "connection refused")
    unknown = await exchange(post_request("http://no-such-host.invalid/", b"{}", ()), timeout=5)
    assert unknown.error == "cannot resolve host no-such-host.invalid"


async def test_a_hostile_reason_phrase_cannot_reach_the_terminal(raw_receiver):
    raw_receiver.answer = b"HTTP/1.1 200 \x1b]52;c;cHduZWQ=\x07\x9b\r\nContent-Length: 0\r\n\r\n"
    answer = await replay(tcapture(), raw_receiver.url)
    assert answer.status == 200 and "\x1b" in answer.reason
    assert answer.summary().startswith("200 \\x1b]52;c;cHduZWQ=\\x07\\x9b  ")
    assert all(ch.isprintable() for ch in answer.summary())
