"""`hookbin ls` and `hookbin show`: what was caught, read straight from the store.

Neither needs the server or the TUI, so neither imports aiohttp or Textual.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import click

from hookbin.bodies import decode_capture
from hookbin.commands.common import (
    CONTEXT,
    ExitStatus,
    Failure,
    chosen_run,
    db_option,
    filter_options,
    find_capture,
    open_db,
    run_options,
    run_scope,
)
from hookbin.model import Run
from hookbin.segmanta import summarize
from hookbin.store import Filter
from hookbin.textout import capture_page, list_row, run_text
from hookbin.textsafe import prints_as_is


@click.command("ls", context_settings=CONTEXT)
@db_option
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(1), help="How many to list.")
@click.option("--offset", default=0, type=click.IntRange(0), help="Skip this many newest first.")
@filter_options
@run_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per capture (NDJSON).")
def ls_command(
    db: str,
    limit: int,
    offset: int,
    method: str | None,
    path: str | None,
    status: str | None,
    text: str | None,
    signature: str | None,
    run: int | None,
    all_runs: bool,
    as_json: bool,
) -> None:
    """List captures of the latest run, newest first: time, method, path, status answered,
    signature (valid, invalid, or - when not checked), forward (your app's status under serve
    --forward; refused, timeout, error, or - when not forwarded), size, attempt, delivery (a
    short key; attempts of one delivery share it), Segmanta survey (its name, or `survey id N`
    without one), id.

    \b
    Examples:
      hookbin ls -n 20
      hookbin ls --status 5xx --path '/segmanta/*'
      hookbin ls --sig invalid              requests whose signature was not valid
      hookbin ls --run 3                    an earlier run; --all-runs for every one
      hookbin ls --json | jq .path
    """
    with open_db(db) as store:
        run = chosen_run(store, run, all_runs)
        flt = Filter(method=method, path=path, status=status, text=text, signature=signature, run=run)
        total = store.count(flt)
        everywhere = store.count(replace(flt, run=None)) if run is not None else total
        scope = run_scope(store, run)
        # One row read, one line written: 100,000 captures cost no more memory than ten.
        if as_json:
            for capture in store.iter_captures(flt, newest_first=True, limit=limit, offset=offset):
                click.echo(json.dumps(capture.to_dict()))
            return
        shown = 0
        shown_run: int | None = None
        runs: dict[int, Run | None] = {}
        for summary in store.iter_summaries(flt, newest_first=True, limit=limit, offset=offset):
            if all_runs and (not shown or summary.run != shown_run):
                shown_run = summary.run
                if shown_run and shown_run not in runs:
                    runs[shown_run] = store.get_run(shown_run)
                heading = run_text(shown_run, runs[shown_run]) if shown_run else "before runs were recorded"
                click.echo(("\n" if shown else "") + f"-- {heading}")
            click.echo(list_row(summary))
            shown += 1
    more = f"; --all-runs lists all {everywhere}" if everywhere > total else ""
    click.echo(f"{shown} of {total} capture(s){' ' + scope if scope else ''}{more}", err=True)


@click.command("show", context_settings=CONTEXT)
@click.argument("capture_id", metavar="ID")
@db_option
@click.option("--json", "as_json", is_flag=True, help="The capture as one JSON object.")
@click.option(
    "--raw", is_flag=True, help="Write the body's exact bytes as received (still compressed, if it was) to stdout."
)
def show_command(capture_id: str, db: str, as_json: bool, raw: bool) -> None:
    """Show one capture: headers, decoded body, and what hookbin answered.

    ID may be the full id or its last few characters. Long bodies are cut (the page says
    how much is left out); `--raw` gives all of it. With --json, a Segmanta delivery's
    summary comes too, as `summary` (null for other bodies).

    \b
    Examples:
      hookbin show 2q0b
      hookbin show 2q0b --raw > body.bin
      hookbin show 2q0b --raw | gunzip | jq .
    """
    with open_db(db) as store:
        capture = find_capture(store, capture_id, db)
    if raw:
        out = sys.stdout.buffer
        if out.isatty() and not prints_as_is(capture.body):
            raise Failure(
                "the body holds bytes a terminal would act on; "
                f"redirect it: hookbin show {capture.id} --raw > body.bin",
                ExitStatus.USAGE,
            )
        out.write(capture.body)
        out.flush()
        return
    if not as_json:
        click.echo(capture_page(capture))
        return
    view = decode_capture(capture)  # as the page decodes it, so both show the same summary
    summary = summarize(view.json) if view.kind == "json" else None
    document = {**capture.to_dict(), "summary": summary.to_dict() if summary else None}
    click.echo(json.dumps(document, indent=2))
