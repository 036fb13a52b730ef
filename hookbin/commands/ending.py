"""How `hookbin serve` with the TUI ends badly: a crash report file, and a terminal that went away.

Both keep the promise that every answered request stays stored: the captures were committed
before their answers, so these only say where things are and leave quickly.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from hookbin import __version__
from hookbin.commands.common import ExitStatus, Failure
from hookbin.private import private_dir, write_private
from hookbin.store import SQLiteStore
from hookbin.textsafe import safe


def crashed(error: BaseException, directory: Path, store: SQLiteStore) -> None:
    """The terminal UI died of `error`: write its traceback to a file and fail naming it.

    Every answered request was committed before its answer, so the captures are safe; the file
    is what a bug report needs. It is private (0600): a traceback may quote captured data.

    Raises:
        Failure: always; one line naming the file (after printing the traceback when the
            file cannot be written).
    """
    now = datetime.now()
    path = directory / f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}.txt"
    report = f"hookbin {__version__}, Python {sys.version.split()[0]}, {now.isoformat()}\n\n" + "".join(
        traceback.format_exception(error)
    )
    what = f"the terminal UI stopped on an unexpected error ({safe(f'{type(error).__name__}: {error}', limit=200)})"
    kept = f"the captures are kept in {store.path}"
    try:
        private_dir(directory)
        write_private(path, report.encode("utf-8", "backslashreplace"))
    except OSError as exc:
        sys.stderr.write(report)
        raise Failure(
            f"{what}; the traceback is above, as {path} could not be written ({exc.strerror or exc}); {kept}"
        ) from None
    raise Failure(f"{what}; the traceback is in {path}; {kept}")


def hangup_handler(store: SQLiteStore) -> Any:
    """What to do when the terminal goes away (window closed, tmux session killed).

    Textual cannot restore a terminal that is gone, and its shutdown can block writing to
    it, so a graceful exit may never finish. Every answered request is already committed;
    give the writer a moment to commit what is queued, then leave at once. A plain signal
    handler (not the event loop's) still runs when the loop itself is stuck.
    """

    def on_hangup(signum: int, frame: object) -> None:
        flushed = threading.Event()

        def flush() -> None:
            store.flush()
            flushed.set()

        threading.Thread(target=flush, daemon=True).start()
        flushed.wait(2.0)
        os._exit(ExitStatus.OK)

    return on_hangup
