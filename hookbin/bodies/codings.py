"""Content-Encoding undone for viewing, under one budget for every layer and gzip member.

A stranger's few hundred bytes of `gzip, gzip` can expand to gigabytes: `undo_codings` stops
once its output, counted over all layers together, reaches the budget, and reports the rest
instead of decoding it.
"""

from __future__ import annotations

import zlib

from hookbin.durations import format_size
from hookbin.model import Headers, header_get_all


def codings_of(headers: Headers) -> list[str]:
    """The content codings in the order they were applied, lower-cased."""
    return [c.strip().lower() for v in header_get_all(headers, "content-encoding") for c in v.split(",") if c.strip()]


def undo_codings(body: bytes, codings: list[str], budget: int, truncated: bool) -> tuple[bytes, str | None, bool]:
    """Undo content codings last-applied-first, producing at most `budget` bytes in all.

    Returns:
        The bytes to show (the raw body when a coding cannot be undone), a note on what
        went wrong, and whether decoding stopped at the budget with more left undecoded.
    """
    data, note = body, None
    room = budget
    complete = not truncated  # whether `data` is all there is, so gzip's size field is true
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            if not data.startswith(b"\x1f\x8b"):
                return body, f"{coding}: not a gzipped file", False
            result, error, cut = _inflate(data, 16 + zlib.MAX_WBITS, coding, room)
        elif coding == "deflate":
            # Senders disagree on whether "deflate" means zlib-wrapped or raw deflate.
            result, error, cut = _inflate(data, zlib.MAX_WBITS, coding, room)
            if result is None:
                result, error, cut = _inflate(data, -zlib.MAX_WBITS, coding, room)
        else:
            return body, f"{coding}: not supported", False
        if result is None:
            return body, error, False
        if cut:
            declared = _gzip_declared_size(data) if complete and coding != "deflate" else None
            return result, _cut_message(coding, len(result), declared), True
        room -= len(result)
        complete = complete and error is None
        data, note = result, error or note
    return data, note, False


def _cut_message(coding: str, decoded: int, declared: int | None) -> str:
    if declared and declared > decoded:
        # The trailer counts only the last member, modulo 4 GiB: hence "at least".
        done = f"decoded {format_size(decoded)} of at least {format_size(declared)} (gzip's own count)"
    else:
        done = f"decoded the first {format_size(decoded)}"
    return f"{coding}: {done}; the rest was not decoded"


def _gzip_declared_size(data: bytes) -> int | None:
    """The uncompressed size (mod 4 GiB) in the last gzip member's trailer: a hint, unverified."""
    return int.from_bytes(data[-4:], "little") if len(data) >= 18 else None


def _inflate(data: bytes, wbits: int, name: str, room: int) -> tuple[bytes | None, str | None, bool]:
    """Decompress at most `room` bytes; an early end keeps what was decoded.

    Returns:
        The bytes (None when nothing could be decoded), a note, and whether output stopped
        at `room` with more to come.
    """
    out = bytearray()
    rest = data
    try:
        while True:
            if len(out) >= room:  # another gzip member follows, and the budget is spent
                return bytes(out), None, True
            inflater = zlib.decompressobj(wbits)
            out += inflater.decompress(rest, room - len(out))
            if not inflater.eof:
                # At the budget, one byte more tells "cut here" from "the input ran out".
                if len(out) >= room and inflater.decompress(inflater.unconsumed_tail, 1):
                    return bytes(out), None, True
                if not inflater.eof:
                    if not out:
                        return None, f"{name}: compressed data ends early", False
                    return (bytes(out), f"{name}: compressed data ends early; showing what was decoded", False)
            rest = inflater.unused_data
            # Concatenated gzip members form one body; anything else after the end is junk.
            if not (wbits > zlib.MAX_WBITS and rest.startswith(b"\x1f\x8b")):
                return bytes(out), None, False
    except zlib.error as exc:
        return None, f"{name}: {exc}", False
