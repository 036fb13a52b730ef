"""Starts and stops hookbin's listeners on the running event loop: the catcher and the control API.

Binding happens before anything else (before a TUI takes the terminal), so a port in use is
a one-line `BindError`, not a traceback. Once the control API listens, the server registers
an instance file with its credential (`hookbin.instances`) and removes it when it stops.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from hookbin.access import Access
from hookbin.config import DEFAULT_MAX_BODY_BYTES, Limits, runtime_dir
from hookbin.deliveries import KeySpec
from hookbin.instances import Instance, new_credential, register, unregister
from hookbin.model import Run, utcnow
from hookbin.notices import Refusals
from hookbin.responder import Responder
from hookbin.server.admin import make_admin_app
from hookbin.server.catcher import Catcher, CatcherServer
from hookbin.server.guard import Guard, enough_descriptors, report_accept_failures
from hookbin.signatures import Verifier
from hookbin.store import SQLiteStore, StoreError
from hookbin.textsafe import safe

if TYPE_CHECKING:  # made by `serve --forward` only: see hookbin.commands.forwarding
    from hookbin.server.forward import Forwarder

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0
"""Seconds in-flight requests get to finish when hookbin stops."""


class StartError(Exception):
    """hookbin could not start serving; the message is one line for the user."""


class BindError(StartError):
    """A listener could not bind (port in use, address not available, permission)."""


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def _bind(runner: web.BaseRunner, host: str, port: int, what: str) -> int:
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise BindError(f"{what} port {port} on {host} is already in use (try --port 0)") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise BindError(f"not allowed to listen on {host}:{port} ({what})") from None
        raise BindError(f"cannot listen on {host}:{port} ({what}): {exc.strerror or exc}") from None
    return runner.addresses[-1][1]


_REFUSED = "Error handling request"
"""How aiohttp's log record for a request it answered 400 itself begins."""


class _RefusedRequests(logging.Handler):
    """Turns aiohttp's traceback for a request its HTTP parser refused into one short line."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.notify = notify

    def emit(self, record: logging.LogRecord) -> None:
        # A bad method on a connection's first request (a lowercase `post`, `WEBHOOK`, TLS sent
        # to the plain port) is logged only at DEBUG, as internet noise; here it is a sender.
        if record.levelno < logging.WARNING and not str(record.msg).startswith(_REFUSED):
            return
        exc = record.exc_info[1] if record.exc_info else None
        detail = getattr(exc, "message", None) or str(exc or record.getMessage())
        # The parser's reason, then the offending line as a bytes literal (its caret line dropped).
        lines = [line.strip() for line in str(detail).splitlines() if line.strip() and line.strip() != "^"]
        where = record.getMessage().rpartition(" from ")[2] if " from " in record.getMessage() else "?"
        try:
            self.notify(
                f"refused a request from {where} that is not valid HTTP: {safe(' '.join(lines[:2]), limit=200)}"
            )
        except Exception:  # a notice must never break the server
            pass


def route_parser_errors(notify: Callable[[str], None]) -> Callable[[], None]:
    """Send aiohttp's per-request error logs to `notify` as one line each, instead of tracebacks.

    Such requests never reach the catcher (aiohttp answers 400 itself), so they are not stored.
    `HookbinServer` routes them to its `Refusals` while it runs. Returns a function that undoes
    the routing.
    """
    logger = logging.getLogger("aiohttp.server")
    handler = _RefusedRequests(notify)
    logger.addHandler(handler)
    previous = logger.propagate, logger.level
    logger.propagate = False
    # aiohttp's other debug lines on this logger are written only in asyncio debug mode.
    logger.setLevel(logging.DEBUG)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.propagate = previous[0]
        logger.setLevel(previous[1])

    return undo


class HookbinServer:
    """The catcher on `host:port` and the control API on `127.0.0.1:admin_port`.

    Starting it starts a run (numbered after the last one in the store), and every run the
    responder starts while it serves is recorded in the store.

    Args:
        admin_port: None for `port + 1` (falling back to a free port if that one is taken),
            0 to disable the control API, else that port exactly.
        limits: header budget, timeouts and connection cap for the catcher.
        access: the path token and basic-auth credentials required of senders.
        notify: where lines about refused connections and rejected requests go (at most one a
            second); settable later as `server.refusals.emit`.
        credential: what the control API requires (`Authorization: Bearer …`); a new random
            one when None.
        instances: the directory for the instance file; None for the user's runtime directory.
        forwarder: where `serve --forward` sends each request; None forwards nothing.
    """

    def __init__(
        self,
        store: SQLiteStore,
        responder: Responder,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        admin_port: int | None = None,
        max_body: int = DEFAULT_MAX_BODY_BYTES,
        key_spec: KeySpec | None = None,
        verifiers: Sequence[Verifier] = (),
        require_signature: bool = False,
        limits: Limits | None = None,
        access: Access | None = None,
        notify: Callable[[str], None] | None = None,
        credential: str | None = None,
        instances: Path | None = None,
        forwarder: Forwarder | None = None,
    ) -> None:
        self.store = store
        self.responder = responder
        self.host = host
        self.port = port
        self.admin_port = admin_port
        self.limits = limits or Limits()
        self.access = access or Access()
        self.refusals = Refusals(notify, lambda delay, callback: asyncio.get_running_loop().call_later(delay, callback))
        self.catcher = Catcher(
            store,
            responder,
            max_body=max_body,
            key_spec=key_spec,
            verifiers=verifiers,
            require_signature=require_signature,
            access=self.access,
            refusals=self.refusals,
            forwarder=forwarder,
        )
        self.guard: Guard | None = None
        """The catcher's connection counts, once started."""
        self._runners: list[web.BaseRunner] = []
        self._undo: list[Callable[[], None]] = []
        self.url = ""
        self.admin_url: str | None = None
        self.credential = credential or new_credential()
        """What the control API requires of every request."""
        self._instances = instances
        self.instance_file: Path | None = None
        """This hookbin's instance file, while the control API listens."""

    def _say(self, line: str) -> None:
        if self.refusals.emit is not None:
            self.refusals.emit(line)

    def _record_run(self) -> None:
        snapshot = self.responder.snapshot()
        try:
            self.store.record_run(Run(snapshot["run"], utcnow(), snapshot["spec"], tuple(snapshot["rules"])))
        except StoreError as exc:
            # The captures still carry their run; only its start time and answer go unrecorded.
            log.error("could not record run %s: %s", snapshot["run"], exc)

    async def start(self) -> None:
        # The answer given at start is set now: a new run, after every run the store has seen.
        # It is recorded once both listeners are bound, so a start that fails leaves no run.
        self.responder.new_run(self.store.last_run() + 1)
        refusals = self.refusals
        forwarder = self.catcher.forwarder
        self.limits = enough_descriptors(self.limits, self._say)
        self._undo.append(route_parser_errors(lambda line: refusals.refuse("not valid HTTP", line)))
        self._undo.append(report_accept_failures(asyncio.get_running_loop(), refusals))
        server = CatcherServer(
            self.catcher,
            limits=self.limits,
            refusals=refusals,
            # Keep bodies as sent (gzip stays gzip).
            auto_decompress=False,
        )
        self.guard = server.guard
        runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        try:
            self.port = await _bind(runner, self.host, self.port, "catcher")
            self.url = _url(self.host, self.port)
            if forwarder is not None and forwarder.points_at(self.host, self.port):
                raise StartError(f"--forward {forwarder.url} is this hookbin itself: each request would loop")
            if self.admin_port != 0:
                await self._start_admin()
            self.store.announce(url=self.url, admin_url=self.admin_url)
        except BaseException:
            await self.stop()
            raise
        # No await since the last bind: no change of answer can slip in between these two.
        self._record_run()
        self._undo.append(self.responder.subscribe(self._record_run))

    async def _start_admin(self) -> None:
        runner = web.AppRunner(
            make_admin_app(self.store, self.responder, self.catcher, self.credential),
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            access_log=None,
        )
        await runner.setup()
        self._runners.append(runner)
        # The control API is never exposed beyond this machine, whatever --host says.
        if self.admin_port is None:
            try:
                port = await _bind(runner, "127.0.0.1", self.port + 1, "control API")
            except BindError:
                port = await _bind(runner, "127.0.0.1", 0, "control API")
        else:
            port = await _bind(runner, "127.0.0.1", self.admin_port, "control API")
        self.admin_port = port
        self.admin_url = _url("127.0.0.1", port)
        instance = Instance(
            pid=os.getpid(), url=self.url, admin_url=self.admin_url, db=self.store.path, credential=self.credential
        )
        try:
            self.instance_file = register(instance, self._instances)
        except OSError as exc:
            where = exc.filename or self._instances or runtime_dir()
            raise StartError(
                f"cannot write the instance file in {where} that `hookbin respond` reads: {exc.strerror or exc}"
            ) from None

    async def stop(self) -> None:
        """Stop listening, let in-flight requests finish (delays are cut short)."""
        self.catcher.stop_waiting()
        if self.instance_file is not None:
            unregister(self.instance_file)
            self.instance_file = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        await self.catcher.drain()  # what became of the last answers
        self.refusals.flush()  # say what the last second held back
        if self.catcher.forwarder is not None:
            await self.catcher.forwarder.close()
        while self._undo:
            self._undo.pop()()
