"""Body decoding: a readable view (JSON, form, multipart, text or hex) over a captured body.

`decode_body` undoes the Content-Encoding, tells JSON, forms, multipart, text and binary
apart, and decodes each as far as the bytes allow. The view never replaces the raw bytes
kept in the capture, and it never raises: whatever the sender got wrong is reported in
the view's `*_error` fields instead.

Everything is bounded, because the body came from a stranger: undoing Content-Encoding
stops after `MAX_DECODED_SIZE` bytes over all layers together (the rest is reported, not
decoded), and the display text (`BodyView.pretty`) stops after `SHOWN_CHARS` characters,
cut before anything escapes or indents it. `sniff_json` is the one way any part of hookbin
looks for JSON inside a body; it reads no body over `JSON_SNIFF_LIMIT` bytes.

The package's parts: `codings` undoes Content-Encoding under the budget, `charsets` turns
bytes into text whatever the charset parameter says; this module builds the view.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote

from hookbin.bodies.charsets import decode_text, shown_text, strict_decode
from hookbin.bodies.codings import codings_of, undo_codings
from hookbin.config import DEFAULT_MAX_DECODED
from hookbin.durations import format_size
from hookbin.model import Capture, Headers, header_get

__all__ = [
    "JSON_SNIFF_LIMIT",
    "MAX_DECODED_SIZE",
    "SHOWN_CHARS",
    "BodyView",
    "JsonRead",
    "Part",
    "cut_note",
    "decode_body",
    "decode_capture",
    "media_type",
    "sniff_json",
]

MAX_DECODED_SIZE = DEFAULT_MAX_DECODED
"""Most bytes undoing Content-Encoding may produce, all layers and gzip members together."""

SHOWN_CHARS = 256 * 1024
"""Most characters of display text (`BodyView.pretty`) a view is given; the rest is counted."""

JSON_SNIFF_LIMIT = 256 * 1024
"""Largest body (before and after Content-Encoding) `sniff_json` parses by default."""

HEX_PREVIEW_BYTES = 512
"""How much of a binary body the hex preview shows."""

_SNIFF_CHARS = 8192  # enough to judge "mostly printable" without scanning 50 MiB
_FORM_TYPE = "application/x-www-form-urlencoded"
_TEXT_TYPES = frozenset(
    {
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/graphql",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/sql",
        "application/csv",
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-sh",
    }
)
_BINARY_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-protobuf",
        "application/protobuf",
        "application/msgpack",
        "application/x-msgpack",
        "application/cbor",
        "application/wasm",
    }
)
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body."""

    name: str | None
    """The `name` from Content-Disposition; None when the part has none."""
    filename: str | None
    """The file name from Content-Disposition (`filename*` preferred); None for plain fields."""
    content_type: str | None
    """The part's media type, lower-cased without parameters; None when not given."""
    size: int
    """Length of the part's content in bytes."""
    text: str | None
    """The content as text for fields (not files) that decode cleanly, else None."""
    headers: Headers = ()
    """The part's own headers, in order."""


@dataclass(frozen=True, slots=True)
class BodyView:
    """What a body looks like once decoded; fields that do not apply to `kind` stay empty."""

    kind: str
    """One of `empty`, `json`, `invalid_json`, `form`, `multipart`, `text`, `binary`."""
    summary: str = ""
    """One line for lists, e.g. `JSON object, 3 keys, 120 bytes`."""
    content_type: str = ""
    """Declared media type, lower-cased without parameters; "" when none was sent."""
    charset: str | None = None
    """Declared charset parameter, lower-cased, even when unusable."""
    size: int = 0
    """Length of the body as received."""
    decoded_size: int = 0
    """Length after undoing Content-Encoding (equal to `size` when nothing was undone)."""
    content_encoding: str | None = None
    """Declared content codings, lower-cased, e.g. `gzip` or `gzip, deflate`."""
    encoding_error: str | None = None
    """Why the Content-Encoding could not be (fully) undone; the view then shows raw bytes."""
    encoding_cut: bool = False
    """True when undoing Content-Encoding stopped at its budget and the rest was not decoded."""
    charset_error: str | None = None
    """Unknown charset or undecodable bytes, with where the first bad byte is."""
    text: str | None = None
    """The whole decoded body as text for text, json, invalid_json and form kinds."""
    pretty: str = ""
    """Display text, at most SHOWN_CHARS characters: indented JSON for json, the start of
    the text for text and invalid_json."""
    pretty_cut: bool = False
    """True when `pretty` stops before the end of the body."""
    more_bytes: int = 0
    """Decoded bytes after the ones `pretty` shows (0 for cut JSON: its indented form has no
    byte positions)."""
    json: Any = None
    """The parsed value for kind json."""
    json_error: str | None = None
    """The parser's complaint for invalid_json."""
    json_error_line: int | None = None
    """1-based line of the JSON error, when the parser gave one."""
    json_error_col: int | None = None
    """1-based column of the JSON error, when the parser gave one."""
    json_error_pos: int | None = None
    """0-based character offset of the JSON error, when the parser gave one."""
    form: tuple[tuple[str, str], ...] = ()
    """URL-encoded fields in order, duplicates and blank values kept."""
    parts: tuple[Part, ...] = ()
    """Multipart parts in order."""
    multipart_error: str | None = None
    """Why multipart parsing failed (kind is then text or binary) or was incomplete."""
    hex_preview: str = ""
    """Hexdump of the first 512 bytes, for binary bodies."""
    truncated: bool = False
    """True when the capture kept only the first bytes of the body."""
    data: bytes = field(default=b"", repr=False)
    """The bytes the view was made from: the body after Content-Encoding, when undone."""


@dataclass(frozen=True, slots=True)
class JsonRead:
    """What reading a body as JSON gave."""

    kind: str
    """`json` (parsed), `invalid_json` (declared or cut-off JSON that does not parse), or
    `none` (not JSON, or not read: too large, or it does not start like JSON)."""
    value: Any = None
    """The parsed value for kind json, else None."""
    error: str | None = None
    """The parser's complaint for invalid_json; why nothing was read for none."""
    line: int | None = None
    """1-based line of the JSON error, when the parser gave one."""
    col: int | None = None
    """1-based column of the JSON error, when the parser gave one."""
    pos: int | None = None
    """0-based character offset of the JSON error, when the parser gave one."""
    charset_error: str | None = None
    """Unknown charset or undecodable bytes met while reading the text."""


def media_type(headers: Headers) -> tuple[str, dict[str, str]]:
    """Split the Content-Type header into media type and parameters.

    Args:
        headers: Request headers.

    Returns:
        The media type lower-cased ("" when absent) and its parameters with lower-cased
        names and unquoted values; the first of duplicated parameters wins.
    """
    return _split_params(header_get(headers, "content-type") or "")


def decode_body(body: bytes, headers: Headers, *, truncated: bool = False, budget: int = MAX_DECODED_SIZE) -> BodyView:
    """Make a readable view of a request body.

    Args:
        body: The body bytes as received.
        headers: The request headers (Content-Type and Content-Encoding are used).
        truncated: Whether `body` is only the first bytes of a larger body.
        budget: Most bytes undoing Content-Encoding may produce, all layers together.

    Returns:
        A `BodyView`; problems are reported in its error fields, never raised.
    """
    mtype, params = media_type(headers)
    charset = _charset(params)
    codings = codings_of(headers)
    data, encoding_error, encoding_cut = undo_codings(body, codings, budget, truncated)
    common: dict[str, Any] = dict(
        content_type=mtype,
        charset=charset,
        size=len(body),
        decoded_size=len(data),
        content_encoding=", ".join(codings) or None,
        encoding_error=encoding_error,
        encoding_cut=encoding_cut,
        truncated=truncated,
        data=data,
    )
    if not data:
        fields: dict[str, Any] = {"kind": "empty"}
    elif mtype == _FORM_TYPE:
        fields = _form_fields(data, charset)
    elif mtype.startswith("multipart/"):
        parts, error = _parse_multipart(data, params.get("boundary"))
        if parts:
            fields = {"kind": "multipart", "parts": parts}
        else:
            fields = _text_or_binary(data, mtype, charset)
        fields["multipart_error"] = error
    else:
        cut = (
            f"the body was truncated at {_size(len(data))}"
            if truncated
            else f"decoding stopped after {_size(len(data))}"
            if encoding_cut
            else None
        )
        fields = _json_fields(data, mtype, charset, cut) or _text_or_binary(data, mtype, charset)
    return _with_summary(BodyView(**common, **fields))


def sniff_json(body: bytes, headers: Headers = (), *, limit: int | None = JSON_SNIFF_LIMIT) -> JsonRead:
    """Read a body as JSON the way the body view does, but read no more than `limit` bytes.

    The body is parsed when its Content-Type is JSON, or when it has no telling type and
    starts like a JSON object or array. This is the one place hookbin looks for JSON in a
    body (delivery ids, survey names, the list's invalid-JSON marker, the body view).

    Args:
        body: The body bytes as received.
        headers: The request headers; none means "undeclared, no Content-Encoding".
        limit: Bodies larger than this, before or after Content-Encoding, are not parsed
            (kind none); None reads any size.
    """
    budget = MAX_DECODED_SIZE if limit is None else limit
    if limit is not None and len(body) > limit:
        return _too_large(budget)
    mtype, params = media_type(headers)
    if mtype == _FORM_TYPE or mtype.startswith("multipart/"):
        return JsonRead("none", error=f"not read: the body is {mtype}")
    data, _, cut = undo_codings(body, codings_of(headers), budget, False)
    if cut:
        return _too_large(budget)
    found = _read_json(data, mtype, _charset(params), None)
    if found is None:
        return JsonRead("none", error="not JSON")
    return found[0]


def _too_large(budget: int) -> JsonRead:
    # Worded only when needed: sniff_json is on the catcher's path for every request.
    return JsonRead("none", error=f"not read: larger than {format_size(budget)}")


def decode_capture(capture: Capture) -> BodyView:
    """`decode_body` for a stored capture (its body, headers and truncation)."""
    return decode_body(capture.body, capture.headers, truncated=capture.truncated)


def cut_note(view: BodyView) -> str | None:
    """What `view.pretty` leaves out, in words (`1,234 more bytes not shown`); None when nothing."""
    if not view.pretty_cut:
        return None
    if view.more_bytes:
        return f"{view.more_bytes:,} more byte{'s' * (view.more_bytes != 1)} not shown"
    return f"the indented JSON goes on past {SHOWN_CHARS:,} characters; the rest is not shown"


# --- headers ---------------------------------------------------------------------------


def _charset(params: dict[str, str]) -> str | None:
    """The charset parameter, lower-cased; None when absent or blank."""
    return params.get("charset", "").strip().lower() or None


def _split_params(value: str, *, escapes: bool = True) -> tuple[str, dict[str, str]]:
    """`type/sub; a=1; b="x; y"` -> ("type/sub", {"a": "1", "b": "x; y"})."""
    segments: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif quoted and escapes and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            segments.append("".join(current))
            current = []
            continue
        current.append(ch)
    segments.append("".join(current))
    params: dict[str, str] = {}
    for segment in segments[1:]:
        name, eq, raw = segment.partition("=")
        name, raw = name.strip().lower(), raw.strip()
        if not eq or not name:
            continue
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
            if escapes:
                raw = re.sub(r"\\(.)", r"\1", raw, flags=re.DOTALL)
        params.setdefault(name, raw)
    return segments[0].strip().lower(), params


def _is_json_type(mtype: str) -> bool:
    return mtype in ("application/json", "text/json") or mtype.endswith("+json")


def _is_text_type(mtype: str) -> bool:
    return mtype.startswith("text/") or mtype in _TEXT_TYPES or mtype.endswith(("+xml", "+yaml"))


def _is_binary_type(mtype: str) -> bool:
    return mtype in _BINARY_TYPES or mtype.startswith(_BINARY_PREFIXES)


def _shown(data: bytes, text: str, codec: str) -> dict[str, Any]:
    """The display fields of a text: at most SHOWN_CHARS of it, and what that leaves out."""
    shown, more = shown_text(data, text, codec, SHOWN_CHARS)
    return {"pretty": shown, "pretty_cut": more > 0, "more_bytes": more}


def _looks_like_text(text: str | None) -> bool:
    if text is None:
        return False
    sample = text[:_SNIFF_CHARS]
    controls = sum(1 for ch in sample if (ch < " " or "\x7f" <= ch <= "\x9f") and ch not in _ALLOWED_CONTROLS)
    return "\x00" not in sample and controls * 100 <= len(sample)


def _text_or_binary(data: bytes, mtype: str, charset: str | None) -> dict[str, Any]:
    if _is_text_type(mtype) or (not _is_binary_type(mtype) and _looks_like_text(strict_decode(data, charset))):
        text, error, codec = decode_text(data, charset)
        return {"kind": "text", "text": text, "charset_error": error, **_shown(data, text, codec)}
    return {"kind": "binary", "hex_preview": _hexdump(data)}


def _hexdump(data: bytes) -> str:
    lines = []
    for offset in range(0, min(len(data), HEX_PREVIEW_BYTES), 16):
        chunk = data[offset : offset + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        shown = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {left:<23}  {right:<23}  |{shown}|")
    if len(data) > HEX_PREVIEW_BYTES:
        lines.append(f"... {_size(len(data) - HEX_PREVIEW_BYTES)} more")
    return "\n".join(lines)


# --- JSON and forms --------------------------------------------------------------------


def _read_json(data: bytes, mtype: str, charset: str | None, cut: str | None) -> tuple[JsonRead, str, str] | None:
    """Parse a body that is declared JSON, or that starts like JSON and has no telling type.

    Returns:
        What was read, the decoded text and the codec used; None when the body is not to
        be read as JSON at all (including undeclared text that starts like JSON but does
        not parse, unless it was cut off: `cut` says how, when it was).
    """
    declared = _is_json_type(mtype)
    if not declared:
        if mtype != "text/plain" and (_is_text_type(mtype) or _is_binary_type(mtype)):
            return None
        if data.removeprefix(codecs.BOM_UTF8).lstrip()[:1] not in (b"{", b"[") or strict_decode(data, charset) is None:
            return None
    text, charset_error, codec = decode_text(data, charset)
    try:
        read = JsonRead("json", json.loads(text), charset_error=charset_error)
    except json.JSONDecodeError as exc:
        read = JsonRead(
            "invalid_json", error=str(exc), line=exc.lineno, col=exc.colno, pos=exc.pos, charset_error=charset_error
        )
    except RecursionError:
        read = JsonRead("invalid_json", error="JSON nested too deeply to parse", charset_error=charset_error)
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        read = JsonRead("invalid_json", error=f"JSON not parseable: {exc}", charset_error=charset_error)
    if read.kind == "invalid_json":
        # A cut-off body that starts like JSON is more useful shown as broken JSON than as text.
        if not (declared or cut):
            return None
        if cut:
            read = replace(read, error=f"{read.error} ({cut})")
    return read, text, codec


def _json_fields(data: bytes, mtype: str, charset: str | None, cut: str | None) -> dict[str, Any] | None:
    """View fields for a JSON body (see `_read_json`), or None when it is not one."""
    found = _read_json(data, mtype, charset, cut)
    if found is None:
        return None
    read, text, codec = found
    fields: dict[str, Any] = {"text": text, "charset_error": read.charset_error}
    if read.kind == "json":
        indented = _indented(read.value)
        shown = {"pretty": indented[0], "pretty_cut": indented[1]} if indented else (_shown(data, text, codec))
        return {**fields, **shown, "kind": "json", "json": read.value}
    return {
        **fields,
        **_shown(data, text, codec),
        "kind": "invalid_json",
        "json_error": read.error,
        "json_error_line": read.line,
        "json_error_col": read.col,
        "json_error_pos": read.pos,
    }


def _indented(value: Any) -> tuple[str, bool] | None:
    """`value` as indented JSON, stopping after SHOWN_CHARS characters (and whether it did);
    None when it cannot be written out (nested deeper than Python recurses)."""
    chunks: list[str] = []
    length = 0
    try:
        for chunk in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value):
            chunks.append(chunk)
            length += len(chunk)
            if length > SHOWN_CHARS:
                return "".join(chunks)[:SHOWN_CHARS], True
    except (RecursionError, ValueError):
        return None
    return "".join(chunks), False


def _form_fields(data: bytes, charset: str | None) -> dict[str, Any]:
    text, error, codec = decode_text(data, charset)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding=codec, errors="replace")
    except Exception:
        pairs = parse_qsl(text, keep_blank_values=True, errors="replace")
    return {"kind": "form", "form": tuple(pairs), "text": text, "charset_error": error}


# --- multipart -------------------------------------------------------------------------

_PART_SPLIT = re.compile(rb"\A\r?\n|\r?\n\r?\n")


def _parse_multipart(data: bytes, boundary: str | None) -> tuple[tuple[Part, ...], str | None]:
    """Parts between boundary lines; tolerates bare LF and a missing closing boundary."""
    if not boundary:
        return (), "multipart body without a boundary parameter"
    delimiter = re.compile(
        rb"(?m)^--" + re.escape(boundary.encode("utf-8", "replace")) + rb"(?:(--)|[ \t]*(?:\r?\n|\Z))"
    )
    parts: list[Part] = []
    start: int | None = None  # None while still in the preamble
    closed = False
    for match in delimiter.finditer(data):
        if start is not None:
            parts.append(_parse_part(_drop_line_break(data[start : match.start()])))
        if match.group(1):
            closed = True
            break
        start = match.end()
    if not closed and start is not None and start < len(data):
        parts.append(_parse_part(_drop_line_break(data[start:])))
    if not parts:
        return (), f"no parts found for boundary {boundary!r}"
    if not closed:
        return tuple(parts), "closing boundary missing; the body may be cut off"
    return tuple(parts), None


def _drop_line_break(chunk: bytes) -> bytes:
    """The line break before a boundary belongs to the boundary, not to the content."""
    if chunk.endswith(b"\r\n"):
        return chunk[:-2]
    return chunk[:-1] if chunk.endswith(b"\n") else chunk


def _parse_part(raw: bytes) -> Part:
    split = _PART_SPLIT.search(raw)
    head, content = (raw[: split.start()], raw[split.end() :]) if split else (raw, b"")
    unfolded = re.sub(r"\r?\n[ \t]+", " ", head.decode("utf-8", "replace"))
    headers = tuple(
        (name.strip(), value.strip())
        for name, sep, value in (line.partition(":") for line in re.split(r"\r?\n", unfolded))
        if sep
    )
    # Browsers do not backslash-escape file names (C:\path stays as sent).
    _, disposition = _split_params(header_get(headers, "content-disposition") or "", escapes=False)
    filename = disposition.get("filename")
    if "filename*" in disposition:
        filename = _ext_value(disposition["filename*"])
    mtype, params = _split_params(header_get(headers, "content-type") or "")
    text = None
    if filename is None and not _is_binary_type(mtype):
        text = strict_decode(content, params.get("charset"))
    return Part(
        name=disposition.get("name"),
        filename=filename,
        content_type=mtype or None,
        size=len(content),
        text=text,
        headers=headers,
    )


def _ext_value(value: str) -> str:
    """Decode an RFC 8187 value such as `UTF-8''na%C3%AFve.txt`."""
    charset, _, rest = value.partition("'")
    _, _, encoded = rest.partition("'")
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except Exception:
        return unquote(encoded, errors="replace")


# --- summary ---------------------------------------------------------------------------


def _size(n: int) -> str:
    return "1 byte" if n == 1 else f"{n:,} bytes"


def _with_summary(view: BodyView) -> BodyView:
    if view.kind == "json":
        value = view.json
        if isinstance(value, dict):
            label = f"JSON object, {len(value):,} key{'s' * (len(value) != 1)}"
        elif isinstance(value, list):
            label = f"JSON array, {len(value):,} item{'s' * (len(value) != 1)}"
        else:
            label = "JSON value"
    else:
        count = {"form": len(view.form), "multipart": len(view.parts)}.get(view.kind)
        noun = {"form": "field", "multipart": "part"}.get(view.kind, "")
        label = {"invalid_json": "invalid JSON"}.get(view.kind, view.kind)
        if count is not None:
            label += f", {count:,} {noun}{'s' * (count != 1)}"
    summary = label if view.kind == "empty" else f"{label}, {_size(view.decoded_size)}"
    if view.content_encoding and not view.encoding_error and view.size != view.decoded_size:
        summary += f" ({view.content_encoding}, {_size(view.size)} sent)"
    if view.truncated:
        summary += ", truncated"
    return replace(view, summary=summary)
