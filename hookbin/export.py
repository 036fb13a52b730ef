"""Turns a capture into text that is safe to paste: a curl command that replays it, and its body.

Everything in a capture came from a stranger, and a copy ends up pasted into a shell. So the
command contains no control character except the line breaks it is laid out with: an argument
made only of printable text is single-quoted; any other argument (control characters, ESC,
DEL, C1, bidi overrides, bytes that are not UTF-8: whatever `str.isprintable`, the rule
`textsafe` uses, rejects) is written in ANSI-C quotes, `$'…'`, with those characters as `\\xHH`
escapes of their bytes. A raw ESC could otherwise end a terminal's bracketed paste early
(`\\e[201~`) and let the rest of the text run as typed commands.

The command sends the request as captured, byte for byte where curl can: the path and query
as sent (as a URL when curl keeps it unchanged, else with `--request-target`), headers in
order with duplicates (`-H 'Name;'` for an empty value), curl's own `User-Agent`, `Accept`
and form `Content-Type` switched off when the capture had none, HEAD as `-I`, and a text body
with `--data-raw` so that a leading `@` is not read as a file name. A body that cannot travel
as an argument (not UTF-8, NUL, or too long for one) goes to a file written beside the command.

The functions here are pure except `save_curl`, which writes the exports (mode 0600, in a
0700 directory, whatever the umask: see `hookbin.private`).
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from urllib.parse import urlsplit

from hookbin.model import Capture
from hookbin.private import private_dir, write_private
from hookbin.textsafe import safe

# Headers curl computes itself; copying them would be wrong after the body or host changes.
_SKIP = {"host", "content-length", "transfer-encoding", "connection", "expect"}
# Headers curl adds on its own unless the command names them; `-H 'Name:'` switches one off.
_CURL_ADDS = ("User-Agent", "Accept")
_TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)
# Words such as `POST` need no quotes; everything else is quoted, which also reads clearer.
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ANSI_C = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# One argument may hold at most 128 KiB on Linux; a quoted body longer than this goes to a file.
MAX_INLINE_BODY = 64 * 1024
# curl adds `Expect: 100-continue` to bodies of 1 MiB and more unless told not to.
_CURL_EXPECTS_FROM = 1024 * 1024
# Bytes a request line cannot carry (NUL cannot even be an argument): percent-encoded.
_UNSENDABLE_IN_TARGET = frozenset(b"\x00\t\n\r ")
# Printable ASCII but `#`: what curl puts on the request line unchanged when given as a URL
# (with -g for `[]{}` and --path-as-is for dot segments). Anything else needs --request-target.
_URL_BYTES = frozenset(range(0x21, 0x7F)) - {ord("#")}


class BinaryBodyError(ValueError):
    """The body is not text, so it cannot be copied as text."""


def raw_bytes(text: str) -> bytes:
    """The bytes a captured string stands for (invalid UTF-8 is kept as surrogate escapes)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no HTTP parser produced: keep its bytes
        return text.encode("utf-8", "surrogatepass")


def shell_quote(arg: str) -> str:
    """One shell word (bash, zsh, ksh) that stands for `arg` exactly, in printable characters.

    Printable text is single-quoted (or left bare when it has no special character); anything
    else is written as `$'…'` with each non-printable character as `\\xHH` escapes of its bytes
    (`\\n`, `\\r`, `\\t` for those), so the word never holds a raw control character.

    Raises:
        ValueError: `arg` contains NUL, which no shell word or argument can carry.
    """
    if "\x00" in arg:
        raise ValueError("NUL cannot be passed in a shell argument")
    if arg.isprintable():
        if _BARE.fullmatch(arg):
            return arg
        return "'" + arg.replace("'", "'\\''") + "'"
    out = []
    for ch in arg:
        if ch in _ANSI_C:
            out.append(_ANSI_C[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.extend(f"\\x{byte:02x}" for byte in raw_bytes(ch))
    return "$'" + "".join(out) + "'"


def _text(body: bytes) -> str | None:
    """The body as text when it is valid UTF-8 without NUL, else None (it is binary)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _inline_body(body: bytes) -> str | None:
    """The body as one quoted `--data-raw` word, or None when it must travel in a file."""
    text = _text(body)
    if text is None:
        return None
    word = shell_quote(text)
    return word if len(word) <= MAX_INLINE_BODY else None


def _sends_body(capture: Capture) -> bool:
    # curl's -I (the only way it reads a HEAD answer correctly) cannot carry a body.
    return bool(capture.body) and capture.method != "HEAD"


def needs_body_file(capture: Capture) -> bool:
    """True when the body must travel in a file rather than on the command line."""
    return _sends_body(capture) and _inline_body(capture.body) is None


def _percent_encode(target: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte if byte in _UNSENDABLE_IN_TARGET else bytes([byte]) for byte in target)


def _target_words(capture: Capture, base_url: str) -> list[str]:
    """The URL, and the options that make curl send the captured path and query unchanged."""
    target = raw_bytes(capture.url_path)
    base = base_url.rstrip("/")
    if target.startswith(b"/") and set(target) <= _URL_BYTES:
        # Printable ASCII, so this decodes; the URL keeps curl's base host whatever the path.
        words = [shell_quote(base + target.decode("ascii"))]
        if any(ch in capture.url_path for ch in "[]{}"):
            words.append("-g")  # no URL globbing
        if {".", ".."} & set(capture.path.split("/")):
            words.append("--path-as-is")  # no dot-segment removal
        return words
    if target.startswith(b"/"):
        target = raw_bytes(urlsplit(base).path) + target
    sent = _percent_encode(target).decode("utf-8", "surrogateescape")
    return [shell_quote(base + "/"), "--request-target", shell_quote(sent)]


def _sendable(name: str, value: str) -> bool:
    """Whether `curl -H` can send this header as it arrived (an HTTP parser never yields others)."""
    if not name or not set(name) <= _TCHAR or any(ch in value for ch in "\x00\r\n"):
        return False
    # curl drops a header whose value is only whitespace (its isspace: VT and FF too).
    return value == "" or value.strip(" \t\n\v\f\r") != ""


def _header_words(capture: Capture, notes: list[str]) -> list[str]:
    words = []
    sent = set()
    for name, value in capture.headers:
        if name.lower() in _SKIP:
            continue
        if not _sendable(name, value):
            notes.append(f"header '{safe(name)}' left out: curl cannot send it as it arrived")
            continue
        words.append(shell_quote(f"{name};" if value == "" else f"{name}: {value}"))
        sent.add(name.lower())
    switched_off = [*_CURL_ADDS]
    if _sends_body(capture):
        switched_off.append("Content-Type")  # curl's default for --data is a form
        if len(capture.body) >= _CURL_EXPECTS_FROM:
            switched_off.append("Expect")
    return words + [shell_quote(f"{name}:") for name in switched_off if name.lower() not in sent]


def to_curl(capture: Capture, base_url: str, *, body_file: str | None = None) -> str:
    """A curl command that sends `capture` again to `base_url` + its path and query.

    The text holds no control character but the line breaks between its arguments (each
    break is a `\\` continuation, or ends a `# note:` comment line before the command).

    Args:
        capture: the capture to replay.
        base_url: scheme, host and port to send to, e.g. `http://127.0.0.1:3000`.
        body_file: where the caller will write the body when it cannot travel as an
            argument; required for such bodies (see `needs_body_file`).

    Raises:
        ValueError: the body needs a file and `body_file` is None.
    """
    notes: list[str] = []
    if capture.truncated:
        notes.append("the body was cut at hookbin's size limit; this sends only what was kept")
    if capture.method == "HEAD":
        method = ["-I"]
    elif "\x00" in capture.method:  # no HTTP parser yields one; a capture from elsewhere might
        notes.append(f"method '{safe(capture.method)}' left out: it holds NUL, which no argument can carry")
        method = []
    else:
        method = ["-X", shell_quote(capture.method)]
    lines = [" ".join(["curl", *method, *_target_words(capture, base_url)])]
    lines += [f"-H {word}" for word in _header_words(capture, notes)]
    if capture.body and not _sends_body(capture):
        notes.append(f"the {len(capture.body)}-byte body is left out: curl -I cannot send one with HEAD")
    elif capture.body:
        inline = _inline_body(capture.body)
        if inline is not None:
            lines.append(f"--data-raw {inline}")
        elif body_file is not None:
            lines.append(f"--data-binary {shell_quote('@' + body_file)}")
        else:
            raise ValueError("this body cannot be an argument: give body_file and write the body there")
    return "".join(f"# note: {note}\n" for note in notes) + " \\\n  ".join(lines)


def copyable_body(capture: Capture) -> str:
    """The body as text that is safe to paste: controls but newline and tab as `\\x1b` escapes.

    Raises:
        BinaryBodyError: the body is not UTF-8 text (or holds NUL); the message says so.
    """
    text = _text(capture.body)
    if text is None:
        raise BinaryBodyError(
            f"the body is binary ({len(capture.body)} bytes), not copied: "
            "copy as curl (c) saves it to a file beside the command"
        )
    return safe(text, multiline=True)


def save_curl(capture: Capture, base_url: str, directory: Path) -> tuple[str, Path]:
    """Write `ID.curl.sh` (and `ID.body` when the body needs a file) into `directory`.

    The files are 0600 and the directory 0700, whatever the umask: captures hold whatever
    senders posted, secrets included.

    Returns:
        The command, and the path of the `.curl.sh` file.

    Raises:
        OSError: the directory or a file could not be written.
    """
    private_dir(directory)
    body_file = directory / f"{capture.id}.body"
    command = to_curl(capture, base_url, body_file=str(body_file))
    if needs_body_file(capture):
        write_private(body_file, capture.body)
    path = directory / f"{capture.id}.curl.sh"
    write_private(path, command.encode("utf-8") + b"\n")
    return command, path
