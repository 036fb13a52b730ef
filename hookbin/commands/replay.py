"""`hookbin replay`: send captured requests again, exactly, to your receiver, and show its answers.

Loaded by `hookbin.cli` when it runs. The requests are built by `hookbin.outgoing` and sent by
`hookbin.client.replay`; this module picks the captures, offers each body to `$EDITOR` with
`--edit`, and prints the answers (text through `textsafe`, or NDJSON).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import click

from hookbin.client.replay import BODY_KEEP, DEFAULT_TIMEOUT, Connections
from hookbin.commands.common import (
    CONTEXT,
    ExitStatus,
    Failure,
    db_option,
    emit,
    filter_options,
    find_capture,
    open_db,
    positive_duration,
    run_filter_option,
    url_param,
)
from hookbin.durations import format_duration
from hookbin.model import Capture
from hookbin.outgoing import Answer, OutgoingRequest, editable_body, reencode, replay_request, truncated_warning
from hookbin.store import Filter, SQLiteStore
from hookbin.textout import answer_text

__all__ = ["replay_command", "summary_line"]


def _warn(message: str) -> None:
    click.echo(f"hookbin: warning: {message}", err=True)


def summary_line(answers: list[Answer]) -> str:
    """`3 replayed: 2 answered (1 2xx, 1 5xx), 1 got no answer`."""
    answered = [a.status for a in answers if a.status is not None]
    classes: dict[str, int] = {}
    for status in sorted(answered):
        classes[f"{status // 100}xx"] = classes.get(f"{status // 100}xx", 0) + 1
    line = f"{len(answers)} replayed: {len(answered)} answered"
    if classes:
        line += " (" + ", ".join(f"{count} {name}" for name, count in classes.items()) + ")"
    missing = len(answers) - len(answered)
    return line + (f", {missing} got no answer" if missing else "")


def _edited(capture: Capture) -> bytes | None:
    """The body after the user edited it in $EDITOR; None when the editor was left unsaved.

    A gzip or deflate body is opened decompressed and compressed again afterwards, so the
    receiver still gets what its Content-Encoding says.
    """
    text, codings, problem = editable_body(capture)
    if problem:
        _warn(f"{problem}; editing the body as it was sent")
    extension = ".json" if "json" in capture.content_type.lower() else ".txt"
    result = click.edit(text, extension=extension, require_save=True)
    if result is None:
        _warn(f"capture {capture.id}: the editor closed without saving; sending the body unchanged")
        return None
    return reencode(result, codings)


def _selected(store: SQLiteStore, flt: Filter, total: int) -> Iterator[Capture]:
    """The oldest `total` captures `flt` passes, one at a time. Captures that arrive meanwhile
    (a replay to hookbin itself) sort after them and are left out, so the replay ends."""
    return itertools.islice(store.iter_oldest_first(flt), total)


class _Progress:
    """A progress bar on stderr (a terminal only) that answers can be printed above."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._total = total
        self._enabled = enabled
        self._stack = ExitStack()
        self._advance: Callable[[int], None] | None = None

    def __enter__(self) -> _Progress:
        if self._enabled:
            bar = click.progressbar(length=self._total, label="replaying", file=sys.stderr, show_pos=True)
            self._advance = self._stack.enter_context(bar).update
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def above(self, out: str, *, err: bool = False) -> None:
        """Print `out` (one or more lines) above the bar."""
        if self._advance is not None:
            click.echo("\r\x1b[2K", nl=False, err=True)  # the bar's line, cleared; it is drawn again below
        if err:
            click.echo(out, err=True)
        else:
            emit(out)

    def step(self) -> None:
        if self._advance is not None:
            self._advance(1)


def _print(
    progress: _Progress,
    capture: Capture,
    request: OutgoingRequest,
    answer: Answer,
    *,
    as_json: bool,
    full: bool,
    edited: bool,
) -> None:
    if as_json:
        record = {
            "type": "replay",
            "id": capture.id,
            "method": capture.method,
            "url": request.url,
            "edited": edited,
            **answer.to_dict(),
        }
        progress.above(json.dumps(record))
    else:
        progress.above(answer_text(capture.id, request, answer, full=full))


@click.command("replay", context_settings=CONTEXT)
@click.argument("capture_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--to",
    required=True,
    callback=url_param,
    envvar="HOOKBIN_REPLAY_TO",
    show_envvar=True,
    metavar="URL",
    help="Your receiver. The captured path and query are appended to it (unless --exact-url).",
)
@click.option("--exact-url", is_flag=True, help="Send to --to itself, without the captured path and query.")
@click.option("--edit", is_flag=True, help="Open each body in $EDITOR before sending it (Content-Length follows).")
@click.option(
    "--all", "select_all", is_flag=True, help="Replay every capture (oldest first), or every one the filters pass."
)
@filter_options
@run_filter_option
@db_option
@click.option(
    "--timeout",
    default=format_duration(DEFAULT_TIMEOUT),
    show_default=True,
    callback=positive_duration,
    metavar="DURATION",
    help="How long each request may take, connecting and reading the answer included.",
)
@click.option("--verbose", "-v", is_flag=True, help="Headers and body of every answer (the default for one capture).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per replay, then a summary (NDJSON).")
@click.pass_context
def replay_command(
    ctx: click.Context,
    capture_ids: tuple[str, ...],
    to: str,
    exact_url: bool,
    edit: bool,
    select_all: bool,
    method: str | None,
    path: str | None,
    status: str | None,
    text: str | None,
    signature: str | None,
    run: int | None,
    db: str,
    timeout: float,
    verbose: bool,
    as_json: bool,
) -> None:
    """Send captured requests again, exactly, and show what your receiver answers.

    Each request goes out as it arrived: method, path and query (appended to --to), every
    header in its order and spelling except hop-by-hop ones (Connection, Transfer-Encoding,
    ...), Host set to --to's, and the body bytes as stored (gzip stays gzip). Prints the
    status, latency, headers and body of each answer. Several captures are replayed one after
    another, oldest first for --all and filters. Exits 0 when every request got an answer
    (whatever its status), 1 when one got none (refused, timed out, reset), 2 for a usage error.

    \b
    Examples:
      hookbin replay 2q0b --to http://127.0.0.1:3000
      hookbin replay 2q0b --to http://127.0.0.1:3000/webhooks/segmanta --exact-url --edit
      hookbin replay --all --status 5xx --path '/segmanta/*' --to http://127.0.0.1:3000
      hookbin replay --sig invalid --to http://127.0.0.1:3000
      hookbin replay --run 3 --to http://127.0.0.1:3000          every request of run 3
      HOOKBIN_REPLAY_TO=http://127.0.0.1:3000 hookbin replay 2q0b 7k1m --json
    """
    filtered = any(value is not None for value in (method, path, status, text, signature, run))
    if capture_ids and (select_all or filtered):
        raise click.UsageError("give capture IDs, or --all and filters, not both")
    if not capture_ids and not (select_all or filtered):
        raise click.UsageError("which captures? give IDs, --all, or a filter such as --status 5xx")
    answers: list[Answer] = []
    with open_db(db) as store:
        if capture_ids:
            chosen = [find_capture(store, capture_id, db) for capture_id in capture_ids]
            total, captures = len(chosen), iter(chosen)
        else:
            flt = Filter(method=method, path=path, status=status, text=text, signature=signature, run=run)
            total = store.count(flt)
            captures = _selected(store, flt, total)
            if total == 0:
                raise Failure("no capture matches", ExitStatus.NOT_FOUND)
        full = verbose or total == 1
        # One event loop for every capture, so that they share the connections to the receiver.
        with _Progress(total, total > 1 and not edit and sys.stderr.isatty()) as progress, asyncio.Runner() as loop:
            connections = Connections()
            try:
                for capture in captures:
                    if capture.truncated:
                        progress.above(f"hookbin: warning: {truncated_warning(capture)}", err=True)
                    body = _edited(capture) if edit else None
                    request = replay_request(capture, to, exact_url=exact_url, body=body)
                    answer = loop.run(connections.exchange(request, timeout=timeout, keep=BODY_KEEP))
                    answers.append(answer)
                    _print(progress, capture, request, answer, as_json=as_json, full=full, edited=body is not None)
                    progress.step()
            finally:
                loop.run(connections.close())
    if as_json:
        missing = sum(1 for a in answers if a.status is None)
        emit(
            json.dumps(
                {
                    "type": "summary",
                    "replayed": len(answers),
                    "answered": len(answers) - missing,
                    "no_answer": missing,
                    "ok": missing == 0,
                }
            )
        )
    elif total > 1:
        emit(summary_line(answers))
    ctx.exit(ExitStatus.OK if all(a.answered for a in answers) else ExitStatus.ERROR)
