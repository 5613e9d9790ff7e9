"""Time limits: each attempt is bounded by its provider's `timeout`, the whole call by `[router] call_timeout`.

Both are absolute points on the event loop's clock, so bytes that trickle in (or SSE keep-alive comments) never
extend them, unlike httpx's per-read timeout.
"""

from __future__ import annotations

import asyncio


class Deadline:
    """The call's end on the running loop's clock; `for_attempt` gives one attempt's end within it."""

    __slots__ = ("_loop", "call_at", "seconds")

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self.seconds = seconds
        self.call_at = self._loop.time() + seconds

    def for_attempt(self, timeout: float) -> float:
        return min(self._loop.time() + timeout, self.call_at)

    def remaining(self) -> float:
        return self.call_at - self._loop.time()

    @property
    def expired(self) -> bool:
        return self._loop.time() >= self.call_at
