"""The one gate for untrusted text: makes any string from a sender safe to put on a terminal.

Every header, path and body came from a stranger. Control characters (ESC, NUL, DEL, C1),
bidi overrides, line separators and undecodable bytes (kept as surrogate escapes) are turned
into visible escapes such as `\\x1b` or `\\u202e`, so nothing a sender sends can move the
cursor, recolour the screen, write the clipboard (OSC 52) or reorder what is displayed.
The result is still plain text: render code must not parse it as markup either.
"""

from __future__ import annotations

_KEEP_MULTILINE = frozenset("\n\t")


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe(text: str, *, multiline: bool = False, limit: int | None = None) -> str:
    """Return `text` with every non-printable character replaced by a visible escape.

    Args:
        text: untrusted text.
        multiline: keep newlines and tabs (for bodies); otherwise they are escaped too,
            so the result always fits on one line.
        limit: cut the result to about this many characters, ending with `…`.
    """
    if limit is not None and len(text) > limit:
        text = text[:limit]
        cut = True
    else:
        cut = False
    if text.isprintable():
        out = text
    else:
        out = "".join(ch if ch.isprintable() or (multiline and ch in _KEEP_MULTILINE) else _escape(ch) for ch in text)
    return out + "…" if cut else out


def safe_bytes(data: bytes, *, multiline: bool = False, limit: int | None = None) -> str:
    """Decode bytes as UTF-8, keeping invalid bytes as `\\xNN` escapes, then `safe()` them."""
    return safe(data.decode("utf-8", "surrogateescape"), multiline=multiline, limit=limit)


def prints_as_is(data: bytes) -> bool:
    """True when `data` is UTF-8 text that `safe(multiline=True)` would leave unchanged (CRLF
    line ends allowed), so writing it to a terminal as it is cannot change the screen."""
    try:
        text = data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return False
    return safe(text, multiline=True) == text
