"""A receiver for replay tests: a raw asyncio server on 127.0.0.1 that keeps each request's
bytes exactly as they arrived (no HTTP library tidies them) and answers whatever bytes it is told."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable

OK = b'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"ok": true}'

Answer = bytes | Callable[[bytes], bytes]
"""The raw answer, or a function of the raw request returning it; `b""` closes without answering,
`RESET` resets the connection, `HANG` never answers."""
RESET = b"<reset>"
HANG = b"<hang>"


class RawReceiver:
    """Records raw requests (`requests`, in arrival order) and answers each with `answer`."""

    def __init__(self, answer: Answer = OK) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.url = ""
        self.port = 0
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Event()
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> RawReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 20)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._open:  # hanging answers: wait_closed waits for every handler
                writer.transport.abort()
            await self._server.wait_closed()

    async def wait_for(self, count: int, timeout: float = 10) -> None:
        """Wait until `count` requests have arrived."""
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            await self._exchange(reader, writer)
        finally:
            self._open.discard(writer)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            raw = head + await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.requests.append(raw)
        self._arrived.set()
        answer = self.answer(raw) if callable(self.answer) else self.answer
        if answer == HANG:
            await reader.read()  # until the client gives up
            writer.close()
            return
        if answer == RESET:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        try:
            writer.write(answer)
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()
