"""What every hookbin command shares: exit statuses, one-line failures, `--db`, opening the store."""

from __future__ import annotations

from contextlib import contextmanager
from enum import IntEnum
from typing import Iterator

import click

from hookbin.config import db_from_env
from hookbin.store import SQLiteStore, StoreError, open_store

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    INTERRUPTED = 130


class Failure(click.ClickException):
    """A one-line error (`hookbin: error: …`) with a named exit status."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(status)


db_option = click.option(
    "--db",
    default=db_from_env,
    metavar="PATH",
    show_default="HOOKBIN_DB or the user data directory",
    help="SQLite file with the captures (`:memory:` keeps nothing).",
)


def open_or_fail(db: str) -> SQLiteStore:
    """Open the store, turning a store problem into a one-line failure."""
    try:
        return open_store(db)
    except StoreError as exc:
        raise Failure(str(exc)) from None


@contextmanager
def reading(db: str) -> Iterator[SQLiteStore]:
    """The store at `db`, closed afterwards; a store error inside is a one-line usage failure."""
    store = open_or_fail(db)
    try:
        yield store
    except StoreError as exc:
        raise Failure(str(exc), ExitStatus.USAGE) from None
    finally:
        store.close()
