"""Reading captures back from a HAR or NDJSON file, one at a time, whatever the file's size.

`read_captures` tells the two apart by how the file starts (a HAR document is an object whose
first key is `log`) and yields captures as it reads: NDJSON line by line, HAR entry by entry
(the entries array is decoded one element at a time, so a HAR file of 100,000 captures never
sits in memory as one document). Malformed input is a `FormatError` naming the line or entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from hookbin.formats.errors import FormatError
from hookbin.formats.har import capture_from_entry
from hookbin.formats.ndjson import capture_from_record
from hookbin.model import Capture

_HAR_START = re.compile(r'\s*\{\s*"log"\s*:')
_CHUNK = 64 * 1024


class _JsonStream:
    """A JSON text read in chunks, decoded one value at a time from where the reading stands."""

    def __init__(self, stream: TextIO, start: str = "") -> None:
        self._stream = stream
        self._buf = start
        self._pos = 0
        self._eof = False
        self._decoder = json.JSONDecoder()

    def _more(self, at_least: int = _CHUNK) -> bool:
        if self._eof:
            return False
        chunk = self._stream.read(max(at_least, _CHUNK))
        if not chunk:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end), not consumed."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._buf) or not self._more():
                return self._buf[self._pos : self._pos + 1]

    def expect(self, chars: str) -> str:
        """Consume the next character, which must be one of `chars`."""
        found = self.peek()
        if not found or found not in chars:
            raise FormatError(f"expected {' or '.join(repr(c) for c in chars)}, found {found or 'the end'!r}")
        self._pos += 1
        return found

    def value(self) -> Any:
        """Decode and consume the next JSON value."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # Cut short by the end of the chunk, or malformed: only more text can tell.
                # Reading as much again as is buffered keeps a huge entry linear to decode.
                if self._more(len(self._buf) - self._pos):
                    continue
                raise FormatError(f"not valid JSON: {exc.msg}") from None
            if end == len(self._buf) and self._more():  # a number may go on in the next chunk
                continue
            self._pos = end
            return value

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller consumes each key's value."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise FormatError("an object key must be a string")
            self.expect(":")
            yield key
            if self.expect(",}") == "}":
                return

    def items(self) -> Iterator[None]:
        """Once per element of the array that starts here; the caller consumes each element."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield None
            if self.expect(",]") == "]":
                return


def _har_entries(stream: _JsonStream) -> Iterator[Any]:
    found = False
    for key in stream.members():
        if key != "log":
            stream.value()
            continue
        if stream.peek() != "{":
            raise FormatError("log must be an object")
        for log_key in stream.members():
            if log_key != "entries":
                stream.value()
                continue
            found = True
            if stream.peek() != "[":
                raise FormatError("log.entries must be an array")
            count = 0
            try:
                for _ in stream.items():
                    item = stream.value()
                    count += 1
                    yield item
            except FormatError as exc:
                raise FormatError(f"{f'after entry {count}' if count else 'before the first entry'}: {exc}") from None
    if not found:
        raise FormatError("not a HAR file: it has no log.entries")
    if stream.peek():
        raise FormatError("text after the end of the HAR document")


def _read_har(stream: _JsonStream) -> Iterator[Capture]:
    for number, item in enumerate(_har_entries(stream), 1):
        try:
            yield capture_from_entry(item)
        except FormatError as exc:
            raise FormatError(f"entry {number}: {exc}") from None


def _lines(start: str, stream: TextIO) -> Iterator[str]:
    """The lines of `start` followed by the rest of `stream` (split at newlines only)."""
    *whole, rest = (start + stream.readline()).split("\n")
    yield from whole
    if rest:
        yield rest
    yield from stream


def _read_ndjson(lines: Iterator[str]) -> Iterator[Capture]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(f"line {number}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        try:
            yield capture_from_record(data)
        except FormatError as exc:
            raise FormatError(f"line {number}: {exc}") from None


def read_captures(stream: TextIO) -> Iterator[Capture]:
    """The captures in a HAR document or an NDJSON file, in file order.

    Raises:
        FormatError: malformed input; the message names the line (NDJSON) or entry (HAR).
    """
    start = stream.read(1024)
    if start.startswith("\ufeff"):  # a byte-order mark some editors put first
        start = start[1:]
    if _HAR_START.match(start):
        yield from _read_har(_JsonStream(stream, start))
        return
    yield from _read_ndjson(_lines(start, stream))
