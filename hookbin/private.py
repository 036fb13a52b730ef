"""Private files and directories: 0600 files and 0700 directories whatever the umask.

Captures hold whatever senders posted, secrets included, and a running hookbin's instance
file holds the credential of its control API. So the data directory, the database with its
WAL and shared-memory files, the exports, the instance files and a crash report (a traceback
may quote captured data) are readable by their owner only. A mode given to `open` or
`mkdir` is cut by the umask and ignored for a file that already exists, so every helper here
also sets the mode explicitly, which tightens what an older hookbin left loose. Tightening
only ever takes permissions away (group and others'), so a file its owner made read-only
stays read-only.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Make `path` a directory only its owner can enter, creating it (and missing parents) 0700.

    Args:
        tighten: also set 0700 on `path` when it already exists (hookbin's own directories);
            False leaves an existing directory as it is (one the user chose for `--db`).

    Returns:
        `path`.

    Raises:
        OSError: it cannot be created or its mode set.
    """
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another hookbin
            continue
        os.chmod(directory, DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path))
    if tighten and not missing:
        os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) & DIR_MODE)
    return path


def private_file(path: Path, *, create: bool = True) -> None:
    """Make the file at `path` readable by its owner only (0600), creating it empty if missing.

    For files another library writes, such as SQLite's: SQLite creates a database's `-wal` and
    `-shm` files with the database file's mode, so a database created 0600 stays private.
    A file the user cannot change the mode of (someone else's) is left as it is; opening it is
    where that shows.

    Args:
        create: create the file when missing; False only tightens a file that exists.
    """
    flags = os.O_RDONLY | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except FileNotFoundError:
        if create:
            raise
        return
    try:
        os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) & FILE_MODE)
    except OSError:  # someone else's file, or a read-only file system
        pass
    finally:
        os.close(fd)


@contextmanager
def replaced_privately(path: Path) -> Iterator[BinaryIO]:
    """A 0600 file to write, which replaces `path` whole once the block ends without an error:
    a reader sees the old content or the new, never half of it, and a failed write leaves
    `path` as it was.

    Raises:
        OSError: the file cannot be written.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        os.unlink(temporary)  # left by a process that had this pid and died mid-write
    except FileNotFoundError:
        pass
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)
            yield out
        os.replace(temporary, path)
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` as a 0600 file, replacing it whole (see `replaced_privately`).

    Raises:
        OSError: the file cannot be written, or a symbolic link sits where it should be (never
            written through: it may have been planted to make hookbin overwrite another file).
    """
    if path.is_symlink():
        raise OSError(errno.ELOOP, "refusing to replace a symbolic link", str(path))
    with replaced_privately(path) as out:
        out.write(data)
