"""A TCP proxy on loopback that a test can cut and restore: a database or a server that goes away.

The shared PostgreSQL (and any real server) keeps running; the processes under test talk to it
through the proxy, and the test decides what they see:

- `restore()`: bytes pass both ways (the normal state);
- `cut()`: every open connection is closed and new ones are closed at once (a database that
  restarts, a server that is down);
- `stall()`: connections are accepted and then nothing comes back (a server that hangs).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Optional, Set

PASS, CUT, STALL = "pass", "cut", "stall"


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = PASS
        self.port = 0
        self.connections_seen = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: Set[asyncio.StreamWriter] = set()

    def start(self) -> "TcpProxy":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0), self._loop
        ).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def restore(self) -> None:
        self.mode = PASS

    def cut(self) -> None:
        self.mode = CUT
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(timeout=10)

    def stall(self) -> None:
        self.mode = STALL

    async def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_seen += 1
        if self.mode == CUT:
            writer.close()
            return
        self._writers.add(writer)
        if self.mode == STALL:
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while self.mode == PASS:
                data = await reader.read(65536)
                if not data or self.mode != PASS:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
