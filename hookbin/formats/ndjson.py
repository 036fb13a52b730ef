"""NDJSON: one capture per line in its JSON form (every field), and back.

The line is the form `ls --json` prints (`Capture.to_dict`), so `hookbin ls --json` output
imports too. Pure ASCII: anything else is a `\\uXXXX` escape; a body that is not UTF-8 is base64
with `body_encoding: "base64"`.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from hookbin.formats.errors import FormatError
from hookbin.model import Capture


def capture_from_record(data: Any) -> Capture:
    """The capture a JSON object describes.

    Raises:
        FormatError: a field is missing or malformed (the message names it).
    """
    if not isinstance(data, dict):
        raise FormatError("a capture must be a JSON object")
    try:
        return Capture.from_dict(data)
    except KeyError as exc:
        raise FormatError(f"missing field {exc.args[0]!r}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise FormatError(str(exc)) from None


class NdjsonWriter:
    """Writes one line per capture to `out`."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, capture: Capture) -> None:
        self._out.write(json.dumps(capture.to_dict()) + "\n")

    def close(self) -> None:
        pass
