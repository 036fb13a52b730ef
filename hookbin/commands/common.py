"""What every hookbin command shares: exit statuses, one-line failures, `--db`, opening the store.

Kept light on purpose: `hookbin.cli` imports it for every run, `--version` included, so the
store is imported only when a command opens it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hookbin.config import db_from_env

if TYPE_CHECKING:
    from hookbin.model import Capture
    from hookbin.store import SQLiteStore

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ExitStatus(IntEnum):
    """How a hookbin command ended, as its process exit status."""

    OK = 0
    ERROR = 1
    """Something failed: a delivery not accepted, an expectation not met, a port taken."""
    USAGE = 2
    """Bad options or arguments (click uses 2 for its own usage errors too)."""
    NOT_FOUND = 3
    """No capture with the id given."""
    STORE = 4
    """The database is missing, unreadable, or not one hookbin can use."""
    INTERRUPTED = 130


class Failure(click.ClickException):
    """A one-line error (`hookbin: error: …`) with a named exit status."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.ERROR) -> None:
        super().__init__(message)
        self.status = status

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # click's is per class; ours is per failure
        return int(self.status)


def positive_duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """The click callback for an option that takes a duration longer than zero (`10s`, `250ms`)."""
    from hookbin.durations import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise click.BadParameter(f"bad duration {value!r}: must be more than 0")
    return seconds


db_option = click.option(
    "--db",
    default=db_from_env,
    metavar="PATH",
    show_default="HOOKBIN_DB or the user data directory",
    help="SQLite file with the captures (`:memory:` keeps nothing).",
)
"""The one `--db` option, for every command that reads or writes captures."""


def run_options(command: F) -> F:
    """`--run N` and `--all-runs`, for the commands that read captures: the latest run by default."""
    command = click.option("--all-runs", is_flag=True, help="Every run, not only the latest.")(command)
    return click.option(
        "--run",
        type=click.IntRange(1),
        default=None,
        metavar="N",
        help="Only run N [default: the latest run; see `hookbin respond --new-run`].",
    )(command)


run_filter_option = click.option(
    "--run",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Only captures of run N (`hookbin ls --all-runs` shows the runs) [default: every run].",
)
"""`--run N` for the commands that act on captures (replay, export, clear): every run unless given."""


def chosen_run(store: SQLiteStore, run: int | None, all_runs: bool) -> int | None:
    """The run `--run`/`--all-runs` choose: N, None for every run, else the latest (None when none was started)."""
    if run is not None and all_runs:
        raise Failure("give --run N or --all-runs, not both", ExitStatus.USAGE)
    if all_runs:
        return None
    if run is not None:
        return run
    return store.last_run() or None


def run_scope(store: SQLiteStore, run: int | None) -> str:
    """Which captures a listing covers, for its closing line: `in run 7 (answering 503 since …)`."""
    from hookbin.textout import run_text

    if run is None:
        return "in all runs" if store.last_run() else ""  # a store from before runs has none to name
    return f"in {run_text(run, store.get_run(run))}"


@contextmanager
def open_db(db: str, *, create: bool = False, writer: bool = False) -> Iterator[SQLiteStore]:
    """The store at `db`, closed afterwards; any store problem is one line with `ExitStatus.STORE`.

    Args:
        create: make the file if it is missing (`serve`); read commands leave it to `serve`,
            so a mistyped path is refused instead of answered with an empty list.
        writer: open as the one writer (`serve`), refused while another hookbin serves `db`.
    """
    from hookbin.store import StoreError, open_store
    from hookbin.store.sqlite import MEMORY

    if not create and db != MEMORY and not os.path.exists(db):
        raise Failure(
            f"no database at {db}: nothing has been caught there (hookbin serve creates it)", ExitStatus.STORE
        )
    try:
        store = open_store(db, writer=writer)
    except StoreError as exc:
        raise Failure(str(exc), ExitStatus.STORE) from None
    try:
        if create:  # a writer that could never write is refused now, not at every request
            store.check_writable()
        yield store
    except StoreError as exc:
        raise Failure(str(exc), ExitStatus.STORE) from None
    finally:
        store.close()


@contextmanager
def cycles_unchecked() -> Iterator[None]:
    """Pause Python's collector of reference cycles while a command builds a hundred thousand
    objects at once (`report`, `deliveries`): each pass of it walks every object made so far,
    which more than doubled their time. They make no cycles: counting references frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _status_word(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check `--status` before the store is opened, so a typo is a usage error."""
    from hookbin.store import StoreError, parse_filter

    word = "".join((value or "").split())
    if not word:
        return None
    try:
        return parse_filter(f"status:{word}").status
    except StoreError as exc:
        raise click.BadParameter(str(exc)) from None


def filter_options(command: F) -> F:
    """The `ls` filters, for every command that selects captures: `method`, `path`, `status`,
    `text` and `signature`."""
    from hookbin.store.filters import SIGNATURE_STATES

    options = (
        click.option("--method", default=None, help="Only this method."),
        click.option("--path", default=None, help="Only paths matching this glob, e.g. '/segmanta/*'."),
        click.option("--status", default=None, callback=_status_word, help="Only this status answered: 503 or 5xx."),
        click.option("--grep", "text", default=None, help="Only captures containing this text."),
        click.option(
            "--sig",
            "signature",
            default=None,
            type=click.Choice(SIGNATURE_STATES, case_sensitive=False),
            help="Only captures whose signature (serve --verify) was valid, invalid, or not checked.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def find_capture(store: SQLiteStore, capture_id: str, db: str) -> Capture:
    """The capture `capture_id` names (in full or by its last few characters), or a one-line failure."""
    from hookbin.store import StoreError

    try:
        capture = store.get(capture_id)
    except StoreError as exc:  # a partial id that matches several captures
        raise Failure(str(exc), ExitStatus.USAGE) from None
    if capture is None:
        raise Failure(f"no capture with id {capture_id!r} in {db}", ExitStatus.NOT_FOUND)
    return capture


def emit(line: str) -> None:
    """Print a line of output; a reader that went away (`| head`) is not an error."""
    try:
        click.echo(line)
    except BrokenPipeError:
        pass


def url_param(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check an http(s) URL option (`--to`) before anything runs."""
    if value is None:
        return None
    from hookbin.outgoing import RequestError, check_url

    try:
        return check_url(value)
    except RequestError as exc:
        raise click.BadParameter(str(exc)) from None
