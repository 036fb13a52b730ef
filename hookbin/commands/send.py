"""`hookbin send`: play Segmanta against your own receiver, retries and signatures included.

Loaded by `hookbin.cli` when it runs. Errors a user can cause are click exceptions, which the
`hookbin` group prints as one `hookbin: error: ...` line.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys

import click

from hookbin.client.sender import AttemptResult, SendError, SendOptions, SendReport, send
from hookbin.commands.common import (
    CONTEXT,
    ExitStatus,
    Failure,
    db_option,
    emit,
    find_capture,
    open_db,
    positive_duration,
    url_param,
)
from hookbin.durations import format_duration, format_size, parse_duration
from hookbin.model import Capture
from hookbin.outgoing import OutgoingRequest, replay_request, truncated_warning
from hookbin.samples import SAMPLES, sample_bytes
from hookbin.signatures import SignatureError, secret_key
from hookbin.spec import SpecError, parse_header_line
from hookbin.textsafe import safe

__all__ = ["attempt_line", "sample_variants", "send_command", "summary_line"]

DEFAULT_SCHEDULE = "5s,30s,2m"
EVENTS = tuple(SAMPLES)
MAX_SAMPLE_VARIANTS = 1000
"""Distinct copies of a built-in sample made for --count; later deliveries reuse them in turn."""


def _warn(message: str) -> None:
    click.echo(f"hookbin: warning: {message}", err=True)


# ------------------------------------------------------------------------- option callbacks


def _schedule(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    text = value.strip()
    if text.lower() in ("", "none"):
        return []
    delays = []
    for part in text.split(","):
        try:
            delays.append(parse_duration(part.strip()))
        except ValueError:
            raise click.BadParameter(
                f"bad schedule {value!r}: {part.strip()!r} is not a wait; write e.g. 5s,30s,2m, or '' for no retries"
            ) from None
    return delays


def _header_lines(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[tuple[str, str]]:
    try:
        return [parse_header_line(line) for line in value]
    except SpecError as exc:
        raise click.BadParameter(str(exc)) from None


def _secret(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        secret_key(value)
    except SignatureError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


# -------------------------------------------------------------------------------- payloads


def sample_variants(raw: bytes, count: int) -> list[bytes]:
    """`count` copies of a Segmanta sample, the first as stored, each later one with new answer ids.

    Segmanta sends no delivery id, so receivers (hookbin among them) tell deliveries apart by
    their bodies; identical bodies would look like retries of one delivery.
    """
    try:
        data = json.loads(raw)
        answers = [
            answer
            for result in data["results"]
            for question in result["questions"]
            for answer in question["answers"]
            if isinstance(answer.get("id"), int)
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        return [raw]
    if not answers:
        return [raw]
    variants = [raw]
    for _ in range(1, min(count, MAX_SAMPLE_VARIANTS)):
        for answer in answers:
            answer["id"] += 1
        variants.append(json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")
    return variants


def _json_problem(body: bytes) -> str | None:
    """Why `body` is not JSON, or None when it is."""
    try:
        json.loads(body)
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except ValueError as exc:
        return str(exc)
    return None


def _read_payload(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror or exc}", param_hint="'--payload'") from None


def _captured(capture_ids: tuple[str, ...], db: str) -> list[Capture]:
    with open_db(db) as store:
        return [find_capture(store, capture_id, db) for capture_id in capture_ids]


def _size(payload: bytes | OutgoingRequest) -> int:
    return len(payload.body if isinstance(payload, OutgoingRequest) else payload)


# ---------------------------------------------------------------------------------- output


def attempt_line(result: AttemptResult) -> str:
    """`delivery 1 attempt 2  503  12 ms  retry in 5s (Retry-After)`."""
    outcome = str(result.status) if result.status is not None else safe(result.error or "no answer")
    if result.accepted:
        then = "accepted"
    elif result.next_retry is not None:
        then = f"retry in {format_duration(round(result.next_retry, 3))}"
        if result.retry_after:
            then += " (Retry-After)"
    else:
        then = "failed"
    return f"delivery {result.delivery} attempt {result.attempt}  {outcome}  {result.latency * 1000:.0f} ms  {then}"


def summary_line(report: SendReport) -> str:
    """`3 deliveries: 2 accepted, 1 failed after 4 attempts`."""
    total = len(report.deliveries)
    line = f"{total} {'delivery' if total == 1 else 'deliveries'}: {report.accepted} accepted"
    failed = [d for d in report.deliveries if not d.succeeded]
    if failed:
        tries = {len(d.attempts) for d in failed}
        if len(tries) == 1:
            n = tries.pop()
            after = f"{n} attempt{'' if n == 1 else 's'}{' each' if len(failed) > 1 else ''}"
        else:
            after = f"{sum(len(d.attempts) for d in failed)} attempts in all"
        line += f", {len(failed)} failed after {after}"
    return line


async def _countdown(seconds: float) -> None:
    """Wait `seconds`, showing the time left on stderr when it is a terminal."""
    if seconds < 1 or not sys.stderr.isatty():
        await asyncio.sleep(seconds)
        return
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    try:
        while (left := end - loop.time()) > 0:
            sys.stderr.write(f"\r  next attempt in {format_duration(math.ceil(left))} ")
            sys.stderr.flush()
            await asyncio.sleep(min(1.0, left - math.floor(left) or 1.0, left))
    finally:
        sys.stderr.write("\r" + " " * 40 + "\r")
        sys.stderr.flush()


# --------------------------------------------------------------------------------- command


@click.command("send", context_settings=CONTEXT)
@click.option(
    "--to",
    "to",
    required=True,
    callback=url_param,
    metavar="URL",
    help="The receiver to deliver to (http:// or https://).",
)
@click.option(
    "--event",
    type=click.Choice(EVENTS),
    default="survey",
    show_default=True,
    help="Which built-in Segmanta sample: On Question or On Survey Completion.",
)
@click.option(
    "--payload",
    "payload_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, readable=True),
    metavar="FILE",
    help="Send this file's bytes instead of the sample. Repeatable: deliveries take turns.",
)
@click.option(
    "--from-capture",
    "capture_ids",
    multiple=True,
    metavar="ID",
    help="Send a stored capture again instead of the sample: its method, headers and body, "
    "to --to exactly (what `hookbin replay --exact-url` sends). Repeatable.",
)
@db_option
@click.option(
    "--count",
    "-n",
    default=1,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="How many deliveries, sent one after another.",
)
@click.option(
    "--retry",
    "retry",
    default=DEFAULT_SCHEDULE,
    show_default=True,
    callback=_schedule,
    metavar="SCHEDULE",
    help="Waits before retry 1, 2, ... after a failure; '' for none.",
)
@click.option(
    "--timeout",
    default="10s",
    show_default=True,
    callback=positive_duration,
    metavar="DURATION",
    help="How long an attempt may take before it counts as failed.",
)
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    callback=_header_lines,
    metavar="'NAME: VALUE'",
    help="Add a request header (replaces a default of the same name). Repeatable.",
)
@click.option(
    "--sign",
    "secret",
    default=None,
    callback=_secret,
    envvar="HOOKBIN_SIGN_SECRET",
    metavar="SECRET",
    help="Sign each attempt the Standard Webhooks way. A whsec_<base64> secret keys with the "
    "decoded bytes, as in every Standard Webhooks library; any other SECRET keys with its "
    "UTF-8 bytes: Webhook(SECRET.encode()) in the standardwebhooks package. If your "
    "receiver passes a str without whsec_ to Webhook(), that str is base64: give "
    "--sign whsec_<it>.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per attempt, then a summary (NDJSON).")
@click.pass_context
def send_command(
    ctx: click.Context,
    to: str,
    event: str,
    payload_files: tuple[str, ...],
    capture_ids: tuple[str, ...],
    db: str,
    count: int,
    retry: list[float],
    timeout: float,
    headers: list[tuple[str, str]],
    secret: str | None,
    as_json: bool,
) -> None:
    """Deliver webhooks to your receiver the way a sender does: POST, retry, give up.

    Sends a built-in Segmanta-shaped payload (or your own) as JSON, and retries every answer
    that is not 2xx, and every timeout or dropped connection, after the waits in --retry
    (the receiver's Retry-After wins, up to an hour). Exits 0 when every delivery was
    accepted, 1 when one failed, 2 for a usage error.

    With --count, each delivery of a built-in sample gets new answer ids, so receivers see
    separate deliveries; --payload bodies are sent exactly as they are, and --from-capture sends
    the whole captured request (method, headers, body; Host and Content-Length set afresh).

    \b
    Examples:
      hookbin send --to http://127.0.0.1:3000/webhooks/segmanta
      hookbin send --to URL --event question --count 5 --retry 1s,5s
      hookbin send --to URL --payload answer.json -H 'Authorization: Bearer t0k3n'
      hookbin send --to URL --from-capture 2q0b          replay what Segmanta sent
      hookbin send --to URL --sign whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --json
    """
    payloads: list[bytes | OutgoingRequest] = []
    if payload_files or capture_ids:
        for path in payload_files:
            body = _read_payload(path)
            problem = _json_problem(body)
            if problem is not None:
                _warn(f"{path} is not valid JSON ({problem}); sending it as is")
            payloads.append(body)
        for capture in _captured(capture_ids, db) if capture_ids else []:
            if capture.truncated:
                _warn(truncated_warning(capture))
            # The same request `hookbin replay --exact-url` sends.
            payloads.append(replay_request(capture, to, exact_url=True))
        label = f"{len(payloads)} payload{'s' if len(payloads) > 1 else ''}"
    else:
        payloads.extend(sample_variants(sample_bytes(event), count))
        label = f"the {event} sample"
    options = SendOptions(
        to=to,
        payloads=payloads,
        count=count,
        retry=retry,
        timeout=timeout,
        headers=headers,
        sign_secret=secret,
    )
    if not as_json:
        schedule = ", ".join(format_duration(d) for d in retry) if retry else "none"
        signed = ", signed" if secret else ""
        plural = "delivery" if count == 1 else "deliveries"
        click.echo(
            f"hookbin: sending {count} {plural} of {label} ({format_size(_size(payloads[0]))}) to {to}; "
            f"retries after {schedule}; timeout {format_duration(timeout)}{signed}",
            err=True,
        )

    def on_attempt(result: AttemptResult) -> None:
        emit(json.dumps(result.to_dict()) if as_json else attempt_line(result))

    try:
        report = asyncio.run(send(options, on_attempt, sleep=_countdown))
    except SendError as exc:
        raise Failure(str(exc), ExitStatus.USAGE) from None
    if as_json:
        emit(json.dumps({**report.to_dict(), "to": to}))
    else:
        emit(summary_line(report))
    ctx.exit(ExitStatus.OK if report.ok else ExitStatus.ERROR)
