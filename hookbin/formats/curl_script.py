"""A bash script of paste-safe curl commands, one per capture, each sending it again to one URL.

The commands are `hookbin.export.to_curl`'s: printable text only, the request byte for byte. A
body that cannot be a shell argument is written to `BODIES/ID.body` (0600, in a 0700 directory)
and sent with `--data-binary @…`; the script names it by its absolute path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from hookbin.export import needs_body_file, to_curl
from hookbin.model import Capture
from hookbin.private import private_dir, write_private

HEAD = """#!/usr/bin/env bash
# Requests captured by hookbin, each sent again with curl (run with bash, not sh).
# Every argument is quoted; control characters appear only as \\xHH escapes.
"""


class CurlWriter:
    """Writes one curl command per capture to `out`; bodies that need a file go into `bodies`."""

    def __init__(self, out: TextIO, base_url: str, bodies: Path) -> None:
        self._out = out
        self._base_url = base_url
        self._bodies = bodies.absolute()
        out.write(HEAD)

    def write(self, capture: Capture) -> None:
        body_file = self._bodies / f"{capture.id}.body"
        command = to_curl(capture, self._base_url, body_file=str(body_file))
        if needs_body_file(capture):
            private_dir(self._bodies)
            write_private(body_file, capture.body)
        received = capture.received_at.isoformat(timespec="milliseconds")
        self._out.write(f"\n# capture {capture.id}, received {received}\n{command}\n")

    def close(self) -> None:
        pass
