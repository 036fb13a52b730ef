"""Export and import formats for captures: HAR 1.2, NDJSON, curl scripts and pytest modules.

Each format has a writer that takes captures one at a time (`write`) and finishes the file
(`close`), so an export of 100,000 captures holds one at a time in memory; `reading` reads HAR
and NDJSON back, one capture at a time too. Pure: writers write to the text stream they are
given (the curl writer also writes body files beside it); nothing here opens the store.

Modules: har.py, ndjson.py, curl_script.py, pytest_file.py (writers), reading.py (import),
redact.py (`--redact`), errors.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, TextIO

from hookbin.model import Capture

FORMATS = ("har", "ndjson", "curl", "pytest")
"""Format names, as `hookbin export --format` takes them."""


class Writer(Protocol):
    """Writes captures in one format to a stream, one at a time."""

    def write(self, capture: Capture) -> None: ...

    def close(self) -> None:
        """Finish the document (closing brackets, test functions); the stream stays open."""


def make_writer(name: str, out: TextIO, *, base_url: str, bodies: Path) -> Writer:
    """The writer of format `name` (one of `FORMATS`) writing to `out`.

    Args:
        base_url: where the curl commands send the requests.
        bodies: the directory for curl bodies that cannot be shell arguments.
    """
    if name == "har":
        from hookbin.formats.har import HarWriter

        return HarWriter(out)
    if name == "ndjson":
        from hookbin.formats.ndjson import NdjsonWriter

        return NdjsonWriter(out)
    if name == "curl":
        from hookbin.formats.curl_script import CurlWriter

        return CurlWriter(out, base_url, bodies)
    if name == "pytest":
        from hookbin.formats.pytest_file import PytestWriter

        return PytestWriter(out)
    raise ValueError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}")


def write_all(
    captures: Iterable[Capture], writer: Writer, *, redact: bool = False, each: Callable[[], None] | None = None
) -> int:
    """Write every capture, masking credential headers when `redact`; returns how many.

    Args:
        each: called after each capture is written (a progress bar's update).
    """
    from hookbin.formats.redact import redact as masked

    count = 0
    for capture in captures:
        writer.write(masked(capture) if redact else capture)
        count += 1
        if each is not None:
            each()
    writer.close()
    return count
