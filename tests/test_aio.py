import asyncio
import threading

import pytest

from core.aio import iter_sync, run_sync


async def double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


async def count_to(n: int, fail_at: int | None = None):
    for i in range(n):
        if i == fail_at:
            raise ValueError(f"stopped at {i}")
        await asyncio.sleep(0)
        yield i


def test_run_sync_without_a_loop():
    assert 42 == run_sync(double(21))


def test_run_sync_inside_a_running_loop_uses_a_worker_thread():
    async def outer() -> int:
        return run_sync(double(5))

    assert 10 == asyncio.run(outer())


def test_run_sync_reraises_in_the_caller():
    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run_sync(boom())


def test_iter_sync_yields_in_order_and_joins():
    before = threading.active_count()
    assert [0, 1, 2, 3, 4] == list(iter_sync(count_to(5)))
    assert before == threading.active_count()


def test_iter_sync_reraises_after_the_items_before_the_error():
    seen = []
    with pytest.raises(ValueError, match="stopped at 3"):
        for item in iter_sync(count_to(10, fail_at=3)):
            seen.append(item)
    assert [0, 1, 2] == seen


def test_iter_sync_closes_the_source_when_the_consumer_stops_early():
    closed = threading.Event()

    async def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
                await asyncio.sleep(0)
        finally:
            closed.set()

    before = threading.active_count()
    stream = iter_sync(endless())
    assert [0, 1, 2] == [next(stream) for _ in range(3)]
    stream.close()
    assert closed.wait(5)
    assert before == threading.active_count()
