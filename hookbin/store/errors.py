"""The store's one error type, and the words for what SQLite reports: the real cause, in one line.

SQLite says "database or disk is full" for both a full disk and its own page limit, "disk I/O
error" both for opening a database on a full disk and for a file that reached the size limit
the process may write (`ulimit -f`), "unable to open database file" for a read-only
directory, and after a failed COMMIT a ROLLBACK only adds "cannot rollback - no transaction
is active". `cause` names what happened instead.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hookbin.durations import format_size

try:
    import resource
except ImportError:  # not a Unix: no file size limit to name
    resource = None  # type: ignore[assignment]

_NEARLY_FULL = 1024 * 1024
"""Free bytes under which a disk counts as full (SQLite needs room for a page and its WAL frame)."""
_LARGEST_WRITE = 65536 + 24
"""The most SQLite appends to a file at once: its largest page, and a WAL frame's header."""
_GROWING_FILES = ("", "-wal", "-journal")
"""The files of a database that grow as it is written: the database, its WAL, its rollback journal."""


class StoreError(Exception):
    """A store problem worth one line to the user (unreadable file, corrupt database, bad filter, ...)."""


def _disk_full(path: str) -> bool | None:
    """Whether the disk holding the database at `path` is full; None when that cannot be told."""
    try:
        stats = os.statvfs(Path(path).expanduser().resolve().parent)
    except OSError:
        return None
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
    if primary in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
        limit = _file_size_limit_reached(path)
        if limit is not None:
            return f"a database file reached the file size limit of {format_size(limit)} (ulimit -f) ({detail})"
    if primary == sqlite3.SQLITE_FULL:
        if path == ":memory:" or _disk_full(path) is not False:
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
        # On a full disk, opening a database in WAL mode fails as an I/O error (its -shm
        # file cannot grow), and so does a write that needs a larger -shm.
        if path != ":memory:" and _disk_full(path):
            return f"the disk is full ({detail})"
        return f"the disk reported an error ({detail})"
    return detail


def _file_size_limit_reached(path: str) -> int | None:
    """The file size limit this process has (`ulimit -f`, in bytes), if a file of the database
    at `path` is too close to it for SQLite's next write; else None."""
    if resource is None or path == ":memory:":
        return None
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    file = Path(path).expanduser()
    for suffix in _GROWING_FILES:
        try:
            size = file.with_name(file.name + suffix).stat().st_size
        except OSError:
            continue
        if size + _LARGEST_WRITE > limit:
            return limit
    return None


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
