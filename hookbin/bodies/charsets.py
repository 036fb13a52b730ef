"""Bytes to text in a declared charset, whatever the charset parameter holds.

A charset parameter comes from a stranger: it may name no codec, a codec that is not a
charset (base64, rot13), or hold NULs, quotes and undecodable bytes. Each function here
falls back to UTF-8 and says why, rather than raising.
"""

from __future__ import annotations

import codecs


def codec_for(charset: str | None) -> tuple[str, str | None]:
    """The codec to use for `charset`, and a note when it had to be replaced by UTF-8."""
    if not charset:
        return "utf-8", None
    unknown = f"unknown charset {charset!r}; decoded as UTF-8"
    try:
        # Any exception: a charset parameter may hold NULs, quotes or undecodable bytes.
        name = codecs.lookup(charset).name
    except Exception:
        return "utf-8", unknown
    try:
        b"a".decode(name)  # rejects codecs that are not charsets, like base64 or rot13
    except UnicodeError:
        return name, None  # a real charset that merely needs more than one byte
    except Exception:
        return "utf-8", unknown
    return name, None


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None, str]:
    """`data` as text (replacing bad bytes), a note on anything that went wrong, and the
    codec that was used in the end."""
    codec, note = codec_for(charset)
    offset = 0
    if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data, offset = data[3:], 3
    try:
        return data.decode(codec), note, codec
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1].hex()
        problem = f"invalid {codec} at byte {exc.start + offset} (0x{bad}); replaced with U+FFFD"
    except Exception as exc:  # some codecs (idna, ...) refuse input outright
        problem = f"{codec} cannot decode this body ({exc}); decoded as UTF-8"
        codec = "utf-8"
    try:
        text = data.decode(codec, "replace")
    except Exception:
        text, codec = data.decode("utf-8", "replace"), "utf-8"
    return text, "; ".join(filter(None, [note, problem])), codec


def shown_text(data: bytes, text: str, codec: str, limit: int) -> tuple[str, int]:
    """The part of a text to show, and how many bytes of `data` it leaves out.

    `text` is `data` decoded; when `data` is over `limit` bytes, only its first `limit` bytes
    are decoded (again, on their own), so nothing past them is ever escaped or displayed.
    """
    if len(data) <= limit:
        return text, 0
    head = data[:limit]
    try:
        decoder = codecs.getincrementaldecoder("utf-8-sig" if codec == "utf-8" else codec)("replace")
        shown = decoder.decode(head, final=False)
        pending = len(decoder.getstate()[0])  # a character cut in half stays unshown
    except Exception:
        shown, pending = head.decode("utf-8", "replace"), 0
    return shown[:limit], len(data) - len(head) + pending


def strict_decode(data: bytes, charset: str | None) -> str | None:
    """`data` as text in `charset` (UTF-8 when unusable), or None when any byte does not decode."""
    codec, _ = codec_for(charset)
    try:
        return data.decode(codec)
    except Exception:
        return None
