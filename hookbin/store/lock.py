"""One writer per store: `WriterLock`, an OS lock on a file beside the database that names its holder.

Two `hookbin serve` on one database would each number attempts and step through answer
sequences on their own (`#1 #1 #2 #2`). The one serving holds an exclusive `flock` on
`DB.lock` and writes its pid, and once it listens its URLs, into the file; a second one
fails to take the lock and reads who holds it. The kernel drops the lock when its process
ends, however it ends (SIGKILL included), so a lock file left behind never blocks the next
start: what it says is read only while the lock is held. Readers (`ls`, `report`, ...)
take no lock. The file is never deleted: removing it while another process waits to lock
it would let two writers hold locks on two different files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hookbin.private import private_file
from hookbin.store.errors import StoreError
from hookbin.textsafe import safe

try:
    import fcntl
except ImportError:  # Windows has no flock; there a second writer is not detected
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".lock"


class StoreBusy(StoreError):
    """Another hookbin is serving this database."""


class WriterLock:
    """The exclusive lock of the one process that writes to the database at `db_path`."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        db = Path(db_path).expanduser().resolve()
        self.db = db
        self.path = db.with_name(db.name + LOCK_SUFFIX)
        self._fd: int | None = None
        self._info: dict[str, Any] = {}

    def acquire(self) -> None:
        """Take the lock and write this process's pid into the file.

        Raises:
            StoreBusy: naming the holder's port and pid when another process holds it.
            StoreError: when the lock file cannot be opened.
        """
        try:
            private_file(self.path)  # 0600 whatever the umask, like the database beside it
            fd = os.open(self.path, os.O_RDWR)
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read(fd)
                os.close(fd)
                raise StoreBusy(_busy_message(self.db, holder)) from None
        self._fd = fd
        self.announce(pid=os.getpid())

    def announce(self, **info: Any) -> None:
        """Add `info` (e.g. `url=`, `admin_url=`) to what the lock file says about this process."""
        if self._fd is None:
            return
        self._info.update(info)
        data = json.dumps(self._info).encode("ascii")
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)
        except OSError:
            pass  # the lock holds whatever the file says; a second writer is refused either way

    def release(self) -> None:
        """Empty the file and drop the lock (closing the descriptor drops it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _busy_message(db: Path, holder: dict[str, Any]) -> str:
    pid = holder.get("pid")
    who = f"another hookbin (pid {pid})" if isinstance(pid, int) else "another hookbin"
    url = holder.get("url")
    where = " (still starting)"
    if isinstance(url, str) and url.rpartition(":")[2].isdigit():
        where = f" on port {url.rpartition(':')[2]} ({safe(url, limit=100)}/)"
    return f"{who} is serving {db}{where}; stop it, or serve another --db"
