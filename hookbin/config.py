"""Defaults for hookbin's settings, and where its data lives.

Every option of `hookbin serve` can also be set with a `HOOKBIN_*` environment variable
(`HOOKBIN_PORT=9000`); the command line wins over the environment, which wins over these.
"""

from __future__ import annotations

import os
from pathlib import Path

from hookbin.durations import parse_size

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY = "10m"
"""The body size kept and accepted, as `--max-body` shows it."""
DEFAULT_MAX_BODY_BYTES = parse_size(DEFAULT_MAX_BODY)
"""The same limit in bytes, for the server's own default."""
DEFAULT_MAX_DECODED = 4 * 1024 * 1024
"""Most bytes a view may produce undoing a body's Content-Encoding, all layers together."""
DEFAULT_ADMIN = "http://127.0.0.1:8081"


def default_db_path() -> Path:
    """`captures.db` in the user's data directory (e.g. ~/.local/share/hookbin on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("hookbin", appauthor=False) / "captures.db"


def db_from_env() -> str:
    """The database path from `HOOKBIN_DB`, else the default one."""
    return os.environ.get("HOOKBIN_DB") or str(default_db_path())
