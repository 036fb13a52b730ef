"""The store's one error type, and the words for what SQLite reports: the real cause, in one line.

SQLite says "database or disk is full" for both a full disk and its own page limit, "unable
to open database file" for a read-only directory, and after a failed COMMIT a ROLLBACK only
adds "cannot rollback - no transaction is active". `cause` names what happened instead.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

_NEARLY_FULL = 1024 * 1024
"""Free bytes under which a disk counts as full (SQLite needs room for a page and its WAL frame)."""


class StoreError(Exception):
    """A store problem worth one line to the user (unreadable file, corrupt database, bad filter, ...)."""


def _disk_full(directory: Path) -> bool:
    try:
        stats = os.statvfs(directory)
    except OSError:
        return True
    return stats.f_bavail * stats.f_frsize < _NEARLY_FULL


def cause(error: BaseException, path: str) -> str:
    """What went wrong writing or opening the database at `path`, in words, SQLite's own after.

    Args:
        path: the database file (`:memory:` for none).
    """
    detail = str(error) or type(error).__name__
    if not isinstance(error, sqlite3.Error):
        return detail
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        if path == ":memory:" or _disk_full(Path(path).expanduser().resolve().parent):
            return f"the disk is full ({detail})"
        return f"the database reached its size limit ({detail})"
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR):
        why = read_only(path)
        if why:
            return f"{why} ({detail})"
    if primary == sqlite3.SQLITE_READONLY:
        return f"{read_only(path) or 'the database is read-only'} ({detail})"
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return f"another program is holding the database locked ({detail})"
    if primary == sqlite3.SQLITE_IOERR:
        return f"the disk reported an error ({detail})"
    return detail


def read_only(path: str) -> str | None:
    """Why the database at `path` cannot be written (a read-only file, directory or file
    system), or None when it can be."""
    if path == ":memory:":
        return None
    file = Path(path).expanduser().resolve()
    if file.exists() and not os.access(file, os.W_OK):
        return f"the database {file} is read-only"
    if not os.access(file.parent, os.W_OK):
        return f"the directory {file.parent} is read-only (SQLite writes its journal beside the database)"
    return None
