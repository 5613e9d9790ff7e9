"""Time limits: each attempt is bounded by its provider's `timeout`, the whole call by `[router] call_timeout`.

Both are absolute points on the event loop's clock, so bytes that trickle in (or SSE keep-alive comments) never
extend them, unlike httpx's per-read timeout.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Deadline:
    """The call's end on the running loop's clock; `for_attempt` gives one attempt's end within it."""

    __slots__ = ("_loop", "call_at", "seconds")

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self.seconds = seconds
        self.call_at = self._loop.time() + seconds

    def for_attempt(self, timeout: float) -> float:
        return min(self._loop.time() + timeout, self.call_at)

    def limit(self, timeout: float) -> Limit:
        """The time limit of one attempt: its provider's `timeout`, within the call's end."""
        return Limit(self._loop, self.for_attempt(timeout))

    def remaining(self) -> float:
        return self.call_at - self._loop.time()

    @property
    def expired(self) -> bool:
        return self._loop.time() >= self.call_at


class Limit:
    """`asyncio.timeout_at(when)` on a loop already known: the body is cancelled at `when`, and the cancellation
    comes out as TimeoutError (`expired()` then says it was this limit's), while a cancellation from outside stays a
    CancelledError. Python 3.11's `asyncio.Timeout` looks the running loop up twice per use, each a getpid() system
    call; a router attempt knows its loop already."""

    __slots__ = ("_cancelling", "_fired", "_handle", "_loop", "_task", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        self._loop = loop
        self._when = when
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.Handle | None = None
        self._cancelling = 0
        self._fired = False

    async def __aenter__(self) -> Limit:
        if self._task is not None:
            raise RuntimeError("a Limit is entered once")
        task = asyncio.current_task(self._loop)
        if task is None:
            raise RuntimeError("a Limit is used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        loop = self._loop
        if self._when <= loop.time():
            self._handle = loop.call_soon(self._on_timeout)
        else:
            self._handle = loop.call_at(self._when, self._on_timeout)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        # the cancellation is ours when no other was asked for meanwhile (as asyncio.Timeout decides)
        fired, task = self._fired, self._task
        if fired and task is not None and task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc

    def _on_timeout(self) -> None:
        assert self._task is not None
        self._task.cancel()
        self._fired = True
        self._handle = None

    def expired(self) -> bool:
        """Whether this limit cancelled the body."""
        return self._fired
