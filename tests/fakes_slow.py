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
from typing import Any

from tests.fakes import Script, respond
from tests.loopback import ThreadedServer, read_head


class SlowServer(ThreadedServer):
    name = "slow-server"

    def __init__(
        self, mode: str = "trickle", interval: float = 0.5, script: Script | None = None, *, burst: int = 0
    ) -> None:
        if mode not in ("trickle", "keepalive"):
            raise ValueError(f"unknown mode {mode!r}")
        super().__init__()
        self.mode = mode
        self.interval = interval
        self.burst = burst
        self.script = script or Script(text="A slow but complete answer.")
        self.requests: list[str] = []
        self.open_connections = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, path, query, headers = await read_head(reader)
        length = int(headers.get("content-length") or 0)
        raw = await reader.readexactly(length) if length else b""
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
