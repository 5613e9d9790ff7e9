"""An asyncio TCP server on 127.0.0.1 in its own thread: the lifecycle the fake HTTP servers share.

A subclass answers one connection in `_serve`; `start()` returns once the port is bound (or raises what stopped
the server), `stop()` cancels the connections still open and joins the thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Self


class ThreadedServer:
    name = "loopback-server"

    def __init__(self) -> None:
        self.connections = 0  # accepted TCP connections: keep-alive means few
        self.port = 0
        self.url = ""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        ready = self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"{self.name} failed to start") from self._error
        if not ready:
            raise RuntimeError(f"{self.name} did not start")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - handed to start(), which raises it in the caller's thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            with self._lock:
                self.connections += 1
            try:
                await self._serve(reader, writer)
            except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
                pass  # stop() cancelled it, or the client went away: end quietly rather than log a traceback
            finally:
                tasks.discard(task)
                writer.close()

        server = await asyncio.start_server(connection, "127.0.0.1", 0, limit=1 << 20)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> tuple[str, str, str, dict[str, str]]:
    """An HTTP/1.1 request's method, path, query and headers (names in lower case)."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    return method, path, query, headers
