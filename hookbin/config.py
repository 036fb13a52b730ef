"""Defaults for hookbin's settings, and where its data lives.

Every option of `hookbin serve` can also be set with a `HOOKBIN_*` environment variable
(`HOOKBIN_PORT=9000`); the command line wins over the environment, which wins over these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hookbin.durations import parse_duration, parse_size

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY = "10m"
"""The body size kept and accepted, as `--max-body` shows it."""
DEFAULT_MAX_BODY_BYTES = parse_size(DEFAULT_MAX_BODY)
"""The same limit in bytes, for the server's own default."""
DEFAULT_MAX_DECODED = 4 * 1024 * 1024
"""Most bytes a view may produce undoing a body's Content-Encoding, all layers together."""

DEFAULT_MAX_HEADER_BYTES = "64k"
"""The request line and headers of one request together, as `--max-header-bytes` shows it."""
DEFAULT_HEADER_TIMEOUT = "10s"
"""How long a connection may take to send a request's headers (and stay idle between requests)."""
DEFAULT_BODY_TIMEOUT = "10s"
"""How long a body may pause between two pieces before the request is cut off."""
DEFAULT_MAX_CONNECTIONS = 500
"""Open catcher connections at once; more get 503."""
DEFAULT_FORWARD_TIMEOUT = "30s"
"""How long the app may take to answer a forwarded request (`serve --forward`), connecting included."""
MAX_HEADER_LINES = 1000
"""Header lines in one request; more get 431 (a fixed backstop: the byte budget is the real limit)."""


@dataclass(frozen=True)
class Limits:
    """What one connection to the catcher may cost: header bytes, time, and how many at once."""

    max_header_bytes: int = parse_size(DEFAULT_MAX_HEADER_BYTES)
    """Request line plus headers, in bytes; more is answered 431 and the connection closed."""
    max_header_lines: int = MAX_HEADER_LINES
    """Header lines in one request; more is answered 431."""
    header_timeout: float = parse_duration(DEFAULT_HEADER_TIMEOUT)
    """Seconds from a connection's start (or the end of its previous answer) to complete headers."""
    body_timeout: float = parse_duration(DEFAULT_BODY_TIMEOUT)
    """Seconds a body may stall between two pieces; then the request is answered 408, kept truncated."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Catcher connections open at once; a connection beyond them is answered 503 and closed."""


def data_dir() -> Path:
    """hookbin's data directory (e.g. ~/.local/share/hookbin on Linux): the default database
    and the exports; kept 0700."""
    from platformdirs import user_data_path

    return user_data_path("hookbin", appauthor=False)


def runtime_dir() -> Path:
    """Where running hookbins leave their instance files: `$XDG_RUNTIME_DIR/hookbin` when the
    user has a runtime directory (private, emptied at logout), else `run/` in the data directory."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return Path(runtime) / "hookbin"
    return data_dir() / "run"


def default_db_path() -> Path:
    """`captures.db` in the user's data directory."""
    return data_dir() / "captures.db"


def default_exports_dir() -> Path:
    """Where copy-as-curl and curl exports to stdout put their files: `exports` beside the database."""
    return default_db_path().parent / "exports"


def db_from_env() -> str:
    """The database path from `HOOKBIN_DB`, else the default one."""
    return os.environ.get("HOOKBIN_DB") or str(default_db_path())
