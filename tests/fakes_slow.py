"""Slow providers on 127.0.0.1, for deadline tests: they speak the real wire formats, just too slowly.

`SlowServer(mode, interval)`:
- `"trickle"`: the whole real answer (OpenAI chat completion or Gemini generateContent, JSON or SSE, built by
  `tests.fakes.respond`), one byte every `interval` seconds, after its first `burst` bytes sent at once.
  No read ever waits long, so a per-read timeout never fires: only a deadline on the whole attempt ends it.
- `"keepalive"`: a 200 `text/event-stream` that sends only SSE comments (`: keep-alive`) every `interval` seconds
  and never an event, as proxies and some servers do while a model is busy.

`requests` counts the requests received; `open_connections` the ones still being served (a client that gave up
has closed its side, and the server notices on its next write).
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from tests.fakes import Script, respond


class SlowServer:
    def __init__(
        self, mode: str = "trickle", interval: float = 0.5, script: Script | None = None, *, burst: int = 0
    ) -> None:
        if mode not in ("trickle", "keepalive"):
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.interval = interval
        self.burst = burst
        self.script = script or Script(text="A slow but complete answer.")
        self.requests: list[str] = []
        self.open_connections = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.url = ""

    def __enter__(self) -> SlowServer:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="slow-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("slow server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await self._serve(reader, writer)
            except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                tasks.discard(task)
                writer.close()

        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        raw = await reader.readexactly(length) if length else b""
        path, _, query = target.partition("?")
        with self._lock:
            self.requests.append(path)
            self.open_connections += 1
        try:
            payload: Any = json.loads(raw) if raw else None
            if self.mode == "keepalive":
                await self._keepalive(writer)
            else:
                await self._trickle(writer, respond(self.script, method, path, query, headers, payload))
        finally:
            with self._lock:
                self.open_connections -= 1

    async def _keepalive(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
        while True:
            writer.write(b": keep-alive\n\n")
            await writer.drain()
            await asyncio.sleep(self.interval)

    async def _trickle(self, writer: asyncio.StreamWriter, reply: Any) -> None:
        body = b"".join(reply.chunks)
        ctype = reply.headers.get("content-type", "application/json")
        # no content-length: the body ends when the connection closes, as HTTP/1.1 allows
        writer.write(f"HTTP/1.1 {reply.status} OK\r\ncontent-type: {ctype}\r\nconnection: close\r\n\r\n".encode())
        writer.write(body[: self.burst])
        await writer.drain()
        for i in range(self.burst, len(body)):
            writer.write(body[i : i + 1])
            await writer.drain()
            await asyncio.sleep(self.interval)
