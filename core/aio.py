"""Run core's coroutines from synchronous code (Streamlit pages, the CLI) on one event loop for the process.

One loop in one daemon thread (anyio's blocking portal) serves every synchronous caller, so each provider keeps one
`httpx.AsyncClient` (and its pooled connections) for the life of the process instead of one per call.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal

T = TypeVar("T")

_portal: BlockingPortal | None = None
_thread: threading.Thread | None = None
_portal_lock = threading.Lock()


def _start_portal() -> BlockingPortal:
    """Start the loop thread (daemon: it never holds the process open) and return its portal."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with BlockingPortal() as portal:
            box["portal"] = portal
            ready.set()
            await portal.sleep_until_stopped()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported to the thread that is waiting for the loop
            box["error"] = exc
            ready.set()

    global _thread
    _thread = threading.Thread(target=run, name="cv-copilot-loop", daemon=True)
    _thread.start()
    ready.wait()
    if "error" in box:
        raise box["error"]
    portal: BlockingPortal = box["portal"]
    return portal


def portal() -> BlockingPortal:
    """The process's event loop portal, started on first use."""
    global _portal
    current = _portal
    if current is not None:
        return current
    with _portal_lock:
        if _portal is None:
            _portal = _start_portal()
        return _portal


def loop_thread() -> threading.Thread | None:
    """The thread running the process's loop (None before first use)."""
    return _thread


def _on_loop_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the process's loop and return its result (its exception is raised here).

    Called from the loop's own thread (sync code inside a coroutine), it runs on a fresh loop in a worker thread
    instead, as waiting on our own loop would deadlock.
    """
    if _on_loop_thread():
        return _run_in_worker(coro)
    return portal().call(_await, coro)


def spawn(coro: Coroutine[Any, Any, Any]) -> Future[Any]:
    """Start `coro` on the process's loop without waiting for it (closing things in the background)."""
    return portal().start_task_soon(_await, coro)


def _run_in_worker(coro: Coroutine[Any, Any, T]) -> T:
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
    return box["value"]  # type: ignore[no-any-return]


class _End:
    pass


_END = _End()


async def _next(iterator: AsyncIterator[T]) -> T | _End:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _END


def iter_sync(agen: AsyncIterable[T]) -> Iterator[T]:
    """A plain iterator over an async iterator that runs on the process's loop (for st.write_stream).

    Each item is fetched on the loop when the consumer asks for it. If the consumer stops early (the user leaves
    the page), the async iterator is closed on the loop.
    """
    if _on_loop_thread():
        raise RuntimeError("iter_sync cannot run on the event loop's own thread; iterate with `async for`")
    run = portal().call
    iterator = aiter(agen)
    finished = False
    try:
        while True:
            item = run(_next, iterator)
            if isinstance(item, _End):
                finished = True
                return
            yield item
    except BaseException:
        finished = True  # an error from the source: it has finished; close it all the same below
        raise
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            try:
                run(aclose)
            except RuntimeError:
                if not finished:
                    raise


def _stop() -> None:
    """At exit: stop the loop so pending closes run and clients shut their connections."""
    global _portal
    with _portal_lock:
        current, _portal = _portal, None
    if current is not None:
        try:
            current.call(current.stop, True)  # cancel what is still pending
        except BaseException:  # noqa: BLE001 - the process is ending anyway
            pass
    if _thread is not None:
        _thread.join(timeout=2)


atexit.register(_stop)
