"""Checking what curl really sends: hostile captures, and a server that records raw bytes.

Shared by the copy-as-curl tests and the export tests. `Recorder` is HTTP/1.1 on a raw loopback
socket that keeps each request's bytes as they arrived; the hypothesis strategies make captures
with arbitrary bytes wherever HTTP lets a sender put them.
"""

from __future__ import annotations

import queue
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass

import pytest
from hypothesis import strategies as st

from tests.factories import tcapture

needs_curl = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("bash")),
    reason="runs the generated command: needs curl and bash on PATH",
)
SKIPPED = {"host", "content-length", "transfer-encoding", "connection", "expect"}


def fine_text(command: str) -> bool:
    """No control character, bidi override or stray byte: only printable text and line breaks."""
    return all(ch == "\n" or ch.isprintable() for ch in command)


# -- a server that records the raw bytes of each request ---------------------------------------


@dataclass
class Received:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Recorder:
    """HTTP/1.1 on a raw loopback socket (port 0): each request's bytes as they arrived."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: queue.Queue[Received] = queue.Queue()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                self.requests.put(self._read(conn))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    @staticmethod
    def _read(conn: socket.socket) -> Received:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError(f"the request ended early: {data!r}")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        request_line, *lines = head.split(b"\r\n")
        method, target, _version = request_line.split(b" ")
        headers = [(name, value.strip(b" \t")) for name, _, value in (line.partition(b":") for line in lines)]
        size = int(next((v for n, v in headers if n.lower() == b"content-length"), b"0"))
        while len(body) < size:
            body += conn.recv(65536)
        return Received(method, target, headers, body)

    def next(self) -> Received:
        return self.requests.get(timeout=20)

    def forget(self) -> None:
        """Drop requests nobody read (left by an earlier failing example)."""
        while not self.requests.empty():
            self.requests.get_nowait()


def raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def as_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def run_bash(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(["bash", *args], env=env, capture_output=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def what_curl_should_send(capture) -> Received:
    # Only bytes no request line can hold (and NUL, which no argument can) are percent-encoded.
    target = re.sub(rb"[\x00\t\n\r ]", lambda m: b"%%%02X" % m[0][0], raw(capture.url_path))
    headers = [(raw(n), raw(v)) for n, v in capture.headers if n.lower() not in SKIPPED and not blank(v)]
    body = b"" if capture.method == "HEAD" else capture.body
    return Received(capture.method.encode(), target, headers, body)


def blank(value: str) -> bool:
    """Only whitespace as curl sees it (VT and FF too): curl drops such a header, hookbin notes it."""
    return value != "" and value.strip(" \t\v\f") == ""


def without_curls_own(received: Received) -> Received:
    headers = [(n, v) for n, v in received.headers if n.lower() not in {b"host", b"content-length"}]
    return Received(received.method, received.target, headers, received.body)


# -- captures with arbitrary bytes where HTTP lets a sender put them -----------------------------

TOKEN = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10
)
SOME_BYTES = st.binary(max_size=40) | st.text(max_size=20).map(lambda t: t.encode("utf-8"))
# A header value holds any byte but NUL, CR and LF, without whitespace at its ends (HTTP's OWS).
HEADER_VALUE = SOME_BYTES.map(lambda b: as_text(b.translate(None, b"\x00\r\n").strip(b" \t")))
HEADER_NAME = TOKEN | st.sampled_from(
    [
        "Content-Type",
        "User-Agent",
        "Accept",
        "accept",
        "Cookie",
        "Host",
        "Content-Length",
        "Expect",
        "Authorization",
        "X-Empty",
    ]
)
PATH = st.one_of(
    SOME_BYTES.map(lambda b: "/" + as_text(b.replace(b"?", b""))),
    st.sampled_from(["/", "/a/../b/./c", "/x[1]{2}", "/%zz%41", "*", "http://elsewhere.example/x"]),
)
BODY = st.one_of(
    SOME_BYTES,
    SOME_BYTES.map(lambda b: b"@" + b),
    st.just(b""),
    st.sampled_from([b"@/etc/hostname", b"-d x", b"a\x00b", b"\xff\xfe", b"it's $HOME `id` !!"]),
)
METHOD = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]) | TOKEN.filter(
    lambda m: m != "CONNECT"
)
CAPTURE = st.builds(
    lambda method, path, query, headers, body: tcapture(
        method=method, path=path, query_string=as_text(query), headers=tuple(headers), body=body, seq=1
    ),
    METHOD,
    PATH,
    SOME_BYTES,
    st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=6),
    BODY,
)
