"""`hookbin serve`: catch webhooks, answer as configured, and show them (TUI or log lines).

The composition root for a running hookbin: it builds the responder from the options, opens the
store, binds the catcher and control API, then hands both to the TUI or to the headless printer.
aiohttp and Textual are imported only once serving starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import signal
import sys
from collections.abc import AsyncIterator, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hookbin import __version__
from hookbin.access import Access, AccessError, check_token, is_loopback, new_token, parse_credentials, url_with_token
from hookbin.commands.common import CONTEXT, ExitStatus, Failure, db_option, open_db, positive_duration, url_param
from hookbin.commands.ending import crashed, hangup_handler
from hookbin.commands.forwarding import forward_options, forwarding_line, make_forwarder
from hookbin.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_PORT,
    Limits,
)
from hookbin.deliveries import KeySpecError, parse_key_spec
from hookbin.durations import parse_size
from hookbin.responder import Responder
from hookbin.signatures import SignatureError, Verifier, parse_verifier
from hookbin.spec import SpecError, parse_header_line, parse_rule, parse_spec
from hookbin.store import CapturesAdded, OutcomeRecorded, SQLiteStore, StoreEvent, StoreFailed, StoreRecovered
from hookbin.textout import answering_text, capture_line

if TYPE_CHECKING:
    from hookbin.server.forward import Forwarder


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class VerifierParam(click.ParamType):
    """`--verify SCHEME:SECRET` as a verifier; HOOKBIN_VERIFY holds one per line (secrets may hold spaces)."""

    name = "SCHEME:SECRET"
    envvar_list_splitter = "\n"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Verifier:
        if isinstance(value, Verifier):
            return value
        try:
            return parse_verifier(str(value))
        except SignatureError as exc:
            self.fail(str(exc), param, ctx)  # the message never repeats the secret


def _build_access(token: str | None, auth: str | None) -> Access:
    try:
        return Access(
            token=None if token is None else (check_token(token) if token else new_token()),
            credentials=parse_credentials(auth) if auth is not None else None,
        )
    except AccessError as exc:
        raise Failure(str(exc), ExitStatus.USAGE) from None


def exposure_warning(host: str, access: Access) -> str | None:
    """The warning for a catcher reachable from other machines without a token, or None."""
    if is_loopback(host) or access.token is not None:
        return None
    return (
        f"warning: --host {host} lets anyone who can reach this machine send requests, which are "
        "stored and use up your answers; add --token so only the secret URL is caught"
    )


def _build_responder(
    respond: str,
    rules: tuple[str, ...],
    body: str | None,
    body_file: str | None,
    content_type: str | None,
    headers: tuple[str, ...],
    seed: int | None,
) -> Responder:
    try:
        spec = parse_spec(respond)
        parsed_rules = [parse_rule(rule) for rule in rules]
        parsed_headers = [parse_header_line(line) for line in headers]
    except SpecError as exc:
        raise Failure(str(exc), ExitStatus.USAGE) from None
    payload: bytes | None = None
    if body is not None and body_file is not None:
        raise Failure("give --body or --body-file, not both", ExitStatus.USAGE)
    if body is not None:
        payload = body.encode("utf-8")
    elif body_file is not None:
        try:
            payload = Path(body_file).read_bytes()
        except OSError as exc:
            raise Failure(f"cannot read --body-file {body_file}: {exc.strerror or exc}") from None
        if content_type is None:
            import mimetypes

            content_type = mimetypes.guess_type(body_file)[0] or "application/octet-stream"
    if payload is not None and content_type is None:
        content_type = "text/plain; charset=utf-8"
    return Responder(spec, parsed_rules, body=payload, content_type=content_type, headers=parsed_headers, seed=seed)


@click.command("serve", context_settings=CONTEXT)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    envvar="HOOKBIN_HOST",
    help="Address to listen on; 0.0.0.0 exposes hookbin to your network.",
)
@click.option(
    "--port",
    "-p",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="HOOKBIN_PORT",
    help="Catcher port; 0 picks a free one and prints it.",
)
@db_option
@click.option(
    "--max-body",
    default=DEFAULT_MAX_BODY,
    show_default=True,
    callback=_size,
    envvar="HOOKBIN_MAX_BODY",
    help="Largest body kept whole (512k, 2m); larger ones get 413.",
)
@click.option(
    "--respond",
    "-r",
    default="200",
    show_default=True,
    envvar="HOOKBIN_RESPOND",
    help="What to answer: 503, '500,500,200', '429 retry-after=30', timeout, close, '30% 503'… "
    "(every word: `hookbin help specs`).",
)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="'[METHOD] GLOB => SPEC'",
    help="Answer matching requests differently; first match wins. Repeatable.",
)
@click.option("--body", default=None, help="Response body text.")
@click.option(
    "--body-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Response body from a file (content type from its extension).",
)
@click.option("--content-type", default=None, help="Content type of --body/--body-file.")
@click.option(
    "--header", "-H", "headers", multiple=True, metavar="'NAME: VALUE'", help="Add a response header. Repeatable."
)
@click.option(
    "--seed",
    type=int,
    default=None,
    envvar="HOOKBIN_SEED",
    help="Seed for chance specs such as '30% 503', for repeatable runs.",
)
@click.option(
    "--delivery-key",
    default=None,
    envvar="HOOKBIN_DELIVERY_KEY",
    metavar="header:NAME|json:PATH",
    help="Where a delivery's id is, when the sender's is not a known one.",
)
@click.option(
    "--admin-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="HOOKBIN_ADMIN_PORT",
    help="Control API port on 127.0.0.1 [default: port + 1]; 0 disables it.",
)
@click.option(
    "--public-url",
    default=None,
    envvar="HOOKBIN_PUBLIC_URL",
    help="Your tunnel's URL (ngrok, cloudflared), shown in the TUI as the one to paste into Segmanta.",
)
@click.option(
    "--verify",
    "verifiers",
    multiple=True,
    type=VerifierParam(),
    envvar="HOOKBIN_VERIFY",
    help="Check each request's signature: standard:whsec_…, stripe:whsec_…, github:SECRET or "
    "hmac:HEADER:SECRET. Repeatable; recorded, never blocking unless --require-signature.",
)
@click.option(
    "--require-signature",
    is_flag=True,
    envvar="HOOKBIN_REQUIRE_SIGNATURE",
    help="Answer 401 to a request whose signature is not valid (it is still stored, with the reason).",
)
@click.option(
    "--token",
    is_flag=False,
    flag_value="",
    default=None,
    envvar="HOOKBIN_TOKEN",
    metavar="[VALUE]",
    help="Catch only under /VALUE/…; anything else gets 404 and is not kept. No VALUE: a random one.",
)
@click.option(
    "--auth",
    default=None,
    envvar="HOOKBIN_AUTH",
    metavar="USER:PASS",
    help="Require basic auth from senders; others get 401 and are not kept.",
)
@click.option(
    "--max-header-bytes",
    default=DEFAULT_MAX_HEADER_BYTES,
    show_default=True,
    callback=_size,
    envvar="HOOKBIN_MAX_HEADER_BYTES",
    help="Request line and headers together; more gets 431.",
)
@click.option(
    "--header-timeout",
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    callback=positive_duration,
    envvar="HOOKBIN_HEADER_TIMEOUT",
    help="Time to send a request's headers (and to stay idle between requests); then the connection closes.",
)
@click.option(
    "--body-timeout",
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    callback=positive_duration,
    envvar="HOOKBIN_BODY_TIMEOUT",
    help="Longest pause within a body; then 408, and what arrived is kept.",
)
@click.option(
    "--max-connections",
    default=DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    envvar="HOOKBIN_MAX_CONNECTIONS",
    help="Open catcher connections at once; more get 503.",
)
@click.option(
    "--max-captures",
    type=click.IntRange(1),
    default=None,
    envvar="HOOKBIN_MAX_CAPTURES",
    metavar="N",
    help="Keep only the newest N captures: the oldest are deleted as new ones arrive [default: keep all].",
)
@click.option(
    "--replay-to",
    default=None,
    callback=url_param,
    envvar="HOOKBIN_REPLAY_TO",
    metavar="URL",
    help="Your receiver, where the TUI's r key replays the selected request (else r asks once).",
)
@forward_options
@click.option("--no-tui", is_flag=True, envvar="HOOKBIN_NO_TUI", help="Run headless: one log line per request.")
@click.option("--json", "as_json", is_flag=True, help="Headless, one JSON object per request on stdout.")
def serve_command(
    host: str,
    port: int,
    db: str,
    max_body: int,
    respond: str,
    rules: tuple[str, ...],
    body: str | None,
    body_file: str | None,
    content_type: str | None,
    headers: tuple[str, ...],
    seed: int | None,
    delivery_key: str | None,
    admin_port: int | None,
    public_url: str | None,
    verifiers: tuple[Verifier, ...],
    require_signature: bool,
    token: str | None,
    auth: str | None,
    max_header_bytes: int,
    header_timeout: float,
    body_timeout: float,
    max_connections: int,
    max_captures: int | None,
    replay_to: str | None,
    forward: str | None,
    forward_mode: str,
    forward_timeout: float,
    no_tui: bool,
    as_json: bool,
) -> None:
    """Catch webhooks: accept any method on any path, store it, answer as configured.

    Each start is a new run: attempts are numbered from #1 and answer sequences start over
    (`hookbin respond --new-run` starts another while serving). One hookbin serves a
    database at a time; `ls`, `show` and `report` read it alongside.

    \b
    Examples:
      hookbin serve --no-tui                       log each request, answer 200
      hookbin serve --respond 503                  make every delivery fail
      hookbin serve --respond '500,500,200'        fail twice per delivery, then accept
      hookbin serve --rule 'POST /segmanta/* => 429 retry-after=30'
      hookbin serve --port 0 --db :memory: --json  throwaway, NDJSON on stdout
      hookbin serve --verify github:"$GITHUB_WEBHOOK_SECRET" --require-signature
      hookbin serve --token --public-url https://abc.ngrok.app/segmanta
                                                   catch only under a secret path
      hookbin serve --forward http://127.0.0.1:3000  your app answers; hookbin records it
    """
    responder = _build_responder(respond, rules, body, body_file, content_type, headers, seed)
    access = _build_access(token, auth)
    try:
        key_spec = parse_key_spec(delivery_key) if delivery_key else None
    except KeySpecError as exc:
        raise Failure(str(exc), ExitStatus.USAGE) from None
    if require_signature and not verifiers:
        raise Failure("--require-signature needs at least one --verify SCHEME:SECRET", ExitStatus.USAGE)
    headless = no_tui or as_json
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise Failure("the terminal UI needs a terminal: use --no-tui (or --json) when piping", ExitStatus.USAGE)
    limits = Limits(
        max_header_bytes=max_header_bytes,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max_connections,
    )
    options = dict(
        host=host,
        port=port,
        admin_port=admin_port,
        max_body=max_body,
        key_spec=key_spec,
        verifiers=verifiers,
        require_signature=require_signature,
        limits=limits,
        access=access,
        forwarder=make_forwarder(forward, forward_mode, forward_timeout, max_body),
    )
    warning = exposure_warning(host, access)
    if warning:
        click.echo(f"hookbin: {warning}", err=True)
    _private_data_dir()
    with open_db(db, create=True, writer=True) as store:
        store.keep_at_most(max_captures)
        if headless:
            _run_fast(_serve_headless(store, responder, as_json=as_json, public_url=public_url, **options))
        else:
            asyncio.run(_serve_tui(store, responder, public_url=public_url, replay_to=replay_to, **options))


def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop's event loop when it is installed (the `fast` extra), else asyncio's.

    uvloop's transports and timers cost the catcher less per request. The TUI keeps asyncio's
    loop, the one Textual is tested on.
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def verify_line(verifiers: Sequence[Verifier], required: bool) -> str | None:
    """What the startup lines say about `--verify` (never the secrets), or None without it."""
    if not verifiers:
        return None
    labels = ", ".join(dict.fromkeys(verifier.label for verifier in verifiers))
    outcome = "answered 401" if required else "stored and answered as usual"
    return f"checking signatures ({labels}); invalid ones are {outcome}"


def paste_url(server_url: str, public_url: str | None, access: Access) -> str | None:
    """The URL to give the sender: the public one if known, with the token when there is one."""
    if public_url:
        return url_with_token(public_url, access.token)
    if access.token:
        return url_with_token(server_url + "/", access.token)
    return None


def _private_data_dir() -> None:
    """hookbin's data directory (default database, exports) 0700, however an older hookbin left it."""
    from hookbin.config import data_dir
    from hookbin.private import private_dir

    directory = data_dir()
    if directory.exists():
        try:
            private_dir(directory)
        except OSError as exc:
            raise Failure(f"cannot make {directory} private (0700): {exc.strerror or exc}") from None


def _printer(as_json: bool) -> Any:
    """The headless log: a line per capture, and the capture again once what became of its
    answer is recorded (the same id; `response.delivered` and `sender_gone_ms` filled in)."""

    def on_event(event: StoreEvent) -> None:
        if isinstance(event, CapturesAdded):
            captures = event.captures
        elif isinstance(event, OutcomeRecorded):
            captures = (event.capture,)
        else:
            if isinstance(event, (StoreFailed, StoreRecovered)):
                click.echo(f"hookbin: {event.line}", err=True)
            return
        if as_json:
            lines = [json.dumps(capture.to_dict()) for capture in captures]
        else:
            lines = [capture_line(capture) for capture in captures]
        try:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()  # once per committed batch, not once per request
        except (BrokenPipeError, ValueError):
            pass

    return on_event


@contextlib.asynccontextmanager
async def _listening(store: SQLiteStore, responder: Responder, **options: Any) -> AsyncIterator[Any]:
    """Bind the catcher and control API (a taken port is one line); on the way out, let
    in-flight requests finish and flush the store."""
    from hookbin.server.runner import HookbinServer, StartError

    server = HookbinServer(store, responder, **options)
    try:
        await server.start()
    except StartError as exc:
        raise Failure(str(exc)) from None
    try:
        yield server
    finally:
        await server.stop()
        store.flush()


async def _serve_headless(
    store: SQLiteStore, responder: Responder, *, as_json: bool, public_url: str | None, **options: Any
) -> None:
    unsubscribe = store.subscribe(_printer(as_json))
    try:
        async with _listening(
            store, responder, notify=lambda line: click.echo(f"hookbin: {line}", err=True), **options
        ) as server:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                    continue  # started under nohup: keep running when the terminal closes
                loop.add_signal_handler(sig, stop.set)
            admin = f", control API {server.admin_url}" if server.admin_url else ""
            forwarder = server.catcher.forwarder
            click.echo(
                f"hookbin {__version__} listening on {server.url}/ ({_answering(responder, forwarder)}){admin}\n"
                f"storing in {store.path}; Ctrl+C to stop",
                err=True,
            )
            verifying = verify_line(server.catcher.verifiers, server.catcher.require_signature)
            if verifying:
                click.echo(verifying, err=True)
            paste = paste_url(server.url, public_url, server.access)
            if paste:
                click.echo(f"paste into the sender: {paste}", err=True)
            for line in filter(None, [forwarding_line(forwarder)]):
                click.echo(line, err=True)
            _settle_collector()
            # Later runs (hookbin respond, the control API) are announced as they start.
            unsubscribe_runs = responder.subscribe(
                lambda: click.echo(f"hookbin: {_answering(responder, forwarder)}", err=True)
            )
            try:
                await stop.wait()
            finally:
                unsubscribe_runs()
                click.echo("hookbin: stopping, letting in-flight requests finish…", err=True)
    finally:
        unsubscribe()


YOUNG_OBJECTS = 5000
"""Container objects allocated (net) between the garbage collector's young collections (Python's
default is 700). Each request in flight holds a few dozen; at 700 a collection ran every few
requests and moved requests still in flight into older generations, whose collections then ran
too (measured under wrk: 16.8 µs of collecting per request; 1.7 at 5000)."""


def _settle_collector() -> None:
    """Tune the garbage collector for serving, once started (headless).

    Everything made until now (modules, click, aiohttp, the server) lives as long as the process:
    `gc.freeze` leaves it out of every later collection. A full collection otherwise walked all
    of it, holding every answer up to 80 ms under wrk (1 ms after the freeze). No collection
    first: the little garbage start-up leaves is kept, rather than delay the first answers.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def _app_answers(forwarder: Forwarder | None) -> str | None:
    """`the app at URL answers` when `--forward` passes the app's answers on, else None."""
    return f"the app at {forwarder.url} answers" if forwarder is not None and not forwarder.mirror else None


def _answering(responder: Responder, forwarder: Forwarder | None) -> str:
    """`run 7, answering 500,500,200`: the headless log's word on the run and its answer.

    With `--forward` in app mode the app answers, not the responder: saying "answering 200"
    there would be untrue.
    """
    snapshot = responder.snapshot()
    answered_by = _app_answers(forwarder)
    if answered_by is not None:
        return f"run {snapshot['run']}, {answered_by}"
    return f"run {snapshot['run']}, {answering_text(snapshot['spec'], snapshot['rules'])}"


async def _serve_tui(
    store: SQLiteStore, responder: Responder, *, public_url: str | None, replay_to: str | None, **options: Any
) -> None:
    from rich.console import Console

    from hookbin.client.replay import Connections
    from hookbin.config import default_db_path, default_exports_dir
    from hookbin.tui.app import HookbinApp

    # Lines said before the screen exists (the --host warning, a lowered connection cap) are
    # shown once it does.
    early = [line for line in [exposure_warning(options["host"], options["access"])] if line]
    early += filter(None, [forwarding_line(options["forwarder"])])
    replaying = Connections()  # the `r` key's, kept open between replays
    # Bind before the TUI takes the terminal, so a taken port stays one line.
    async with _listening(store, responder, notify=early.append, **options) as server:
        app = HookbinApp(
            store,
            responder,
            url=server.url,
            admin_url=server.admin_url,
            public_url=paste_url(server.url, public_url, server.access),
            export_dir=default_exports_dir(),
            refusals=server.refusals,
            replay=replaying.replay,
            replay_to=replay_to,
            answered_by=_app_answers(server.catcher.forwarder),
        )
        server.refusals.emit = app.notice
        for line in early:
            app.notice(line)
        # Textual prints the traceback of an error that ends the app to this console; we write
        # it to a file instead (see _crashed), so the terminal gets one line.
        app.error_console = Console(file=io.StringIO())
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, app.exit)
        signal.signal(signal.SIGHUP, hangup_handler(store))
        try:
            await app.run_async()
        except Exception as exc:  # Textual itself failed (a terminal it cannot drive, say)
            app.crash = exc
        finally:
            await replaying.close()
    if app.crash is not None:
        crashed(app.crash, default_db_path().parent, store)
    click.echo(f"hookbin: stopped; {store.count()} capture(s) in {store.path}", err=True)
