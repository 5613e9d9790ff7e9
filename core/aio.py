"""Run core's coroutines from synchronous code (Streamlit pages, the CLI)."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also when the calling thread already has a running loop (then in a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def iter_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """A plain iterator over an async iterator, run on its own loop in a worker thread (for st.write_stream).

    If the consumer stops early (the user leaves the page), the async iterator is closed and the thread ends.
    """
    items: queue.Queue[Any] = queue.Queue(maxsize=256)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    async def pump() -> None:
        try:
            async for item in agen:
                if not put(item):
                    break
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer's thread
            put(_Failure(exc))
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                await aclose()
            put(_DONE)

    thread = threading.Thread(target=lambda: asyncio.run(pump()), daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                break
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
