"""The baseline for `throughput.py`: the least an aiohttp webhook receiver can do.

A catch-all low-level `aiohttp.web.Server`: any method on any path, read the whole body,
answer 200 with a small JSON body. No storage, no logging. It listens on 127.0.0.1, prints
`bare aiohttp listening on http://127.0.0.1:PORT/` on stderr once bound (the same shape as
hookbin's line, so one parser serves both), and exits 0 on SIGTERM or SIGINT. `--loop uvloop`
runs it on uvloop (when installed), which makes aiohttp faster still: the benchmarks measure
both and hold hookbin against the faster.

    python benchmarks/bare_server.py [--port 0] [--loop asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable

from aiohttp import web

REPLY = b'{"ok": true}'


async def handle(request: web.BaseRequest) -> web.Response:
    await request.read()
    return web.Response(body=REPLY, content_type="application/json")


async def serve(host: str, port: int) -> None:
    # access_log=None as hookbin does: neither side pays for an access log.
    runner = web.ServerRunner(web.Server(handle), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = runner.addresses[0][1]
    print(f"bare aiohttp listening on http://{host}:{bound}/", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A new event loop of the kind named: `asyncio` (the standard one) or `uvloop`."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio", help="event loop (asyncio)")
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
