"""`hookbin export`, `hookbin import` and `hookbin clear`: captures out to files, back in, and away.

Export streams: one capture is read from the store and written at a time, so 100,000 captures
cost no more memory than ten. The formats themselves live in `hookbin.formats` (pure); this
module owns the files, the progress bar and the store.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from hookbin.commands.common import (
    CONTEXT,
    ExitStatus,
    Failure,
    db_option,
    filter_options,
    open_db,
    run_filter_option,
)
from hookbin.commands.report import moment_callback, since_option
from hookbin.config import DEFAULT_HOST, DEFAULT_PORT

if TYPE_CHECKING:
    from hookbin.model import Capture
    from hookbin.store import SQLiteStore

FORMATS = ("har", "ndjson", "curl", "pytest")  # hookbin.formats.FORMATS, without importing it for --help
_IMPORT_BATCH = 500


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """Standard output, or `path` written whole or not at all: a partial export never replaces a
    good file. The file is 0600 like every export (captures hold whatever senders posted)."""
    from hookbin.private import replaced_privately

    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    if target.exists() and not target.is_file():  # a FIFO or a device: write straight to it
        with target.open("w", encoding="utf-8") as out:
            yield out
        return
    written = ExitStack()
    try:
        raw = written.enter_context(replaced_privately(target))
    except OSError as exc:
        raise Failure(f"cannot write {path}: {exc.strerror or exc}") from None
    with written, io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as out:
        yield out


def _bodies_dir(output: str | None) -> Path:
    """Where curl bodies that cannot be arguments go: beside the output file (`NAME.bodies/`), or
    the exports directory `c` uses in the TUI when writing to standard output."""
    from hookbin.config import default_exports_dir

    if output is None or output == "-":
        return default_exports_dir()
    return Path(output).with_suffix(".bodies")


@click.command("export", context_settings=CONTEXT)
@db_option
@click.option(
    "--format",
    "-f",
    "name",
    type=click.Choice(FORMATS),
    default="har",
    show_default=True,
    help="har (browser dev tools, HAR viewers), ndjson (one capture per line), curl (a bash script), "
    "pytest (a test module that replays the requests against your app).",
)
@filter_options
@run_filter_option
@since_option
@click.option("--output", "-o", default=None, metavar="FILE", help="Write to FILE (0600) instead of standard output.")
@click.option(
    "--redact",
    is_flag=True,
    help="Mask credential headers (Authorization, Cookie, Proxy-Authorization, signature headers such as "
    "webhook-signature, Stripe-Signature, X-Hub-Signature-256). Without it they are exported as they arrived.",
)
@click.option(
    "--to",
    "base_url",
    default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
    show_default=True,
    metavar="URL",
    help="curl: where the commands send the requests.",
)
def export_command(
    db: str,
    name: str,
    method: str | None,
    path: str | None,
    status: str | None,
    text: str | None,
    signature: str | None,
    run: int | None,
    since: datetime | None,
    output: str | None,
    redact: bool,
    base_url: str,
) -> None:
    """Export captures, oldest first: every capture, or those the filters select.

    Credential headers are exported as they arrived unless --redact: treat the file as secret.
    curl bodies that cannot be shell arguments are written to NAME.bodies/ beside -o NAME.

    \b
    Examples:
      hookbin export -o captures.har                     open in browser dev tools
      hookbin export -f ndjson --status 5xx | jq .path
      hookbin export -f curl --to http://127.0.0.1:3000 -o replay.sh && bash replay.sh
      hookbin export -f pytest --path '/segmanta/*' -o tests/test_segmanta_webhooks.py
      hookbin export --redact -o for-the-ticket.har
      hookbin export -f ndjson --run 3 -o run3.ndjson     one experiment
    """
    from hookbin.formats import make_writer, write_all
    from hookbin.store import Filter

    flt = Filter(method=method, path=path, status=status, text=text, signature=signature, run=run, since=since)
    with open_db(db) as store, _output(output) as out:
        writer = make_writer(name, out, base_url=base_url, bodies=_bodies_dir(output))
        try:
            if output not in (None, "-") and sys.stderr.isatty():
                with click.progressbar(length=store.count(flt), label="exporting", file=sys.stderr) as bar:
                    count = write_all(store.iter_oldest_first(flt), writer, redact=redact, each=lambda: bar.update(1))
            else:
                count = write_all(store.iter_oldest_first(flt), writer, redact=redact)
        except OSError as exc:
            raise Failure(f"cannot write the export: {exc.strerror or exc}") from None
    where = "" if output in (None, "-") else f" to {output}"
    click.echo(f"exported {count} capture(s){where} ({name}{', redacted' if redact else ''})", err=True)


@click.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@db_option
def import_command(file: str, db: str) -> None:
    """Load captures from a HAR or NDJSON file (`-` reads standard input) into the store.

    Ids and times are kept; a capture whose id is already in the store is skipped, never
    overwritten, so importing the same file twice adds nothing. HAR files from browser dev
    tools and other tools import too. The database is created if it does not exist.

    \b
    Examples:
      hookbin import captures.har
      hookbin export -f ndjson --db old.db | hookbin import - --db new.db
    """
    from hookbin.formats.errors import FormatError
    from hookbin.formats.reading import read_captures

    try:
        stream = sys.stdin if file == "-" else open(file, encoding="utf-8")
    except OSError as exc:
        raise Failure(f"cannot read {file}: {exc.strerror or exc}") from None
    name = "standard input" if file == "-" else file
    counts = [0, 0]
    with stream, open_db(db, create=True) as store:
        batch: list[Capture] = []

        def write() -> None:
            added, skipped = store.import_captures(batch)
            counts[0] += added
            counts[1] += skipped
            batch.clear()

        try:
            for capture in read_captures(stream):
                batch.append(capture)
                if len(batch) == _IMPORT_BATCH:
                    write()
        except (FormatError, UnicodeDecodeError, OSError) as exc:
            write()  # everything before the bad line or entry goes in; importing again skips it
            reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc
            kept = f" (the {counts[0]} capture(s) before it were imported)" if counts[0] else ""
            raise Failure(f"cannot import {name}: {reason}{kept}") from None
        write()
    _report_import(store, *counts)


def _report_import(store: SQLiteStore, added: int, skipped: int) -> None:
    line = f"imported {added} capture(s) into {store.path}"
    if skipped:
        line += f"; skipped {skipped} whose id was already there"
    click.echo(line)


@click.command("clear", context_settings=CONTEXT)
@db_option
@click.option(
    "--before",
    default=None,
    callback=moment_callback,
    metavar="10m|ISO-TIME",
    help="Only captures older than this (2h: received over two hours ago) or received before this time.",
)
@run_filter_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def clear_command(db: str, before: datetime | None, run: int | None, yes: bool) -> None:
    """Delete captures: every one, those received before a time, or those of one run. Asks
    first on a terminal.

    Without a terminal to ask on, --yes is required.

    \b
    Examples:
      hookbin clear --before 7d --yes
      hookbin clear --before 2026-03-01T00:00
      hookbin clear --run 3                  forget one experiment
    """
    from hookbin.store import Filter

    flt = Filter(before=before, run=run)
    with open_db(db) as store:
        count = store.count(flt)
        if count and not yes:
            what = (
                f"{count} capture(s)"
                + (f" of run {run}" if run is not None else "")
                + (f" received before {before.astimezone():%Y-%m-%d %H:%M:%S}" if before else "")
            )
            if not sys.stdin.isatty():
                raise Failure(f"this would delete {what}: add --yes to confirm", ExitStatus.USAGE)
            if not click.confirm(f"delete {what} from {store.path}?", default=False, err=True):
                raise Failure("nothing deleted")
        deleted = store.delete(flt) if count else 0
    click.echo(f"deleted {deleted} capture(s)")
