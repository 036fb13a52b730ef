"""Turns a capture back into something runnable: a curl command that replays it (pure).

The command is for a POSIX shell: every piece of captured text is single-quoted with
`shlex.quote`, so nothing in a header or body can break out of its argument. A body that
is not valid UTF-8 text cannot be pasted safely into a shell; it is written beside the
command and sent with `--data-binary @file`.
"""

from __future__ import annotations

import shlex

from hookbin.model import Capture

# Headers curl computes itself; copying them would be wrong after the body or host changes.
_SKIP = {"host", "content-length", "transfer-encoding", "connection", "expect"}


def _text_body(body: bytes) -> str | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # NUL cannot be passed in an argument at all.
    return None if "\x00" in text else text


def to_curl(capture: Capture, base_url: str, *, body_file: str | None = None) -> str:
    """A curl command that sends `capture` again to `base_url` + its path and query.

    Args:
        capture: the capture to replay.
        base_url: scheme, host and port to send to, e.g. `http://127.0.0.1:3000`.
        body_file: where the caller will write the body when it is not shell-safe text;
            required for such bodies (see `needs_body_file`).
    """
    url = base_url.rstrip("/") + capture.url_path
    parts = ["curl", "-X", shlex.quote(capture.method), shlex.quote(url)]
    for name, value in capture.headers:
        if name.lower() not in _SKIP:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if capture.body:
        text = _text_body(capture.body)
        if text is not None:
            parts += ["--data-binary", shlex.quote(text)]
        elif body_file is not None:
            parts += ["--data-binary", shlex.quote("@" + body_file)]
        else:
            raise ValueError("this body is binary: give body_file and write the body there")
    if capture.truncated:
        parts.insert(0, "# note: the body was cut at hookbin's size limit; this sends only what was kept\n")
    return " ".join(parts)


def needs_body_file(capture: Capture) -> bool:
    """True when the body must travel in a file rather than on the command line."""
    return bool(capture.body) and _text_body(capture.body) is None
