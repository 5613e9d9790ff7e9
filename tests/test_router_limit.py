"""An attempt's time limit (core.routing.deadline.Limit) behaves as asyncio.timeout_at: it cuts a slow body with
TimeoutError, leaves a fast one alone, and never takes a cancellation from outside for its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from core.routing.deadline import Deadline, Limit


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(body())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["limit", "asyncio"])
def test_a_slow_body_ends_with_timeout_error_at_the_limit(kind: str) -> None:
    async def body() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        limit: Any = Limit(loop, start + 0.05) if kind == "limit" else asyncio.timeout_at(start + 0.05)
        with pytest.raises(TimeoutError):
            async with limit:
                await asyncio.sleep(5)
        return limit.expired(), loop.time() - start

    expired, took = run(body)
    assert expired
    assert 0.04 <= took < 1.0


def test_a_fast_body_is_untouched_and_its_timer_is_gone() -> None:
    async def body() -> tuple[str, bool, int]:
        loop = asyncio.get_running_loop()
        limit = Limit(loop, loop.time() + 5)
        async with limit:
            await asyncio.sleep(0)
            value = "done"
        return value, limit.expired(), len([h for h in loop._scheduled if not h.cancelled()])  # type: ignore[attr-defined]

    assert ("done", False, 0) == run(body)


def test_a_limit_already_past_cuts_at_the_first_wait() -> None:
    async def body() -> bool:
        loop = asyncio.get_running_loop()
        limit = Limit(loop, loop.time() - 1)
        with pytest.raises(TimeoutError):
            async with limit:
                await asyncio.sleep(1)
        return limit.expired()

    assert run(body)


def test_an_error_in_the_body_passes_through() -> None:
    async def body() -> None:
        loop = asyncio.get_running_loop()
        async with Limit(loop, loop.time() + 5):
            raise KeyError("boom")

    with pytest.raises(KeyError):
        run(body)


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    """The caller cancels first (asyncio.wait_for, a closed page): CancelledError, not TimeoutError."""

    async def body() -> tuple[str, bool]:
        loop = asyncio.get_running_loop()
        limit = Limit(loop, loop.time() + 5)

        async def attempt() -> None:
            async with limit:
                await asyncio.sleep(5)

        task = asyncio.create_task(attempt())
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled", limit.expired()
        except TimeoutError:
            return "timeout", limit.expired()
        return "finished", limit.expired()

    assert ("cancelled", False) == run(body)


def test_a_cancellation_from_outside_after_the_limit_fired_is_not_swallowed() -> None:
    """Both at once: the limit fired and the caller cancelled too. The caller's cancellation wins, as with
    asyncio.timeout_at (the task was cancelled twice: uncancelling once leaves one)."""

    async def body() -> str:
        loop = asyncio.get_running_loop()

        async def attempt() -> None:
            limit = Limit(loop, loop.time())
            async with limit:
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                await asyncio.sleep(1)

        try:
            await attempt()
        except asyncio.CancelledError:
            return "cancelled"
        except TimeoutError:
            return "timeout"
        return "finished"

    assert "cancelled" == run(body)


def test_a_limit_is_entered_once_and_only_inside_a_task() -> None:
    async def twice() -> None:
        loop = asyncio.get_running_loop()
        limit = Limit(loop, loop.time() + 5)
        async with limit:
            pass
        async with limit:
            pass

    with pytest.raises(RuntimeError):
        run(twice)


def test_an_attempts_limit_is_within_the_calls_deadline() -> None:
    async def body() -> tuple[float, float]:
        deadline = Deadline(0.05)
        limit = deadline.limit(30)
        return limit._when, deadline.call_at

    when, call_at = run(body)
    assert when == call_at
