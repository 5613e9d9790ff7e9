"""While an AI call is in flight: who the page is waiting for, for how long, and a way to stop waiting.

A call runs on the process's loop (core.aio.spawn) while the script polls it every ~0.25 s. The poll draws the
status line, and each draw is a point where Streamlit can stop the script. A click on "Stop waiting" cancels the
call in flight (the router records it as cancelled, or the stream as abandoned) and the rerun answers with the
offline engine (`service(key)` returns an offline service for that one run). Any other stop (the user went to
another page, or changed a field) leaves a `call` running: its result saves itself (ui.workspace) and the pages
show it when it is there. A streamed letter is drawn as it comes, so leaving its page closes its stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import streamlit as st

from core.ai_service import AIService, record_of
from core.aio import run_sync, spawn
from core.base import TaskType
from core.workspace_context import Attribution, attributed
from ui import state

T = TypeVar("T")
log = logging.getLogger("cv_copilot.ui.waiting")
STOP_LABEL = "Stop waiting and use the offline engine"
POLL_SECONDS = 0.25


class _Watch:
    """The router, remembering the stream it last opened (its `.provider` and `.started_at` are the live attempt)."""

    def __init__(self, router: Any, *, offline: bool = False) -> None:
        self._router = router
        self.offline = offline
        self.stream_: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._router, name)

    async def generate(self, *args: Any, **kw: Any) -> Any:
        if self.offline:
            kw["provider"] = "local"
        return await self._router.generate(*args, **kw)

    def stream(self, *args: Any, **kw: Any) -> Any:
        if self.offline:
            kw["provider"] = "local"
        self.stream_ = self._router.stream(*args, **kw)
        return self.stream_


def _flag(key: str) -> str:
    return f"{key}_use_offline"


_IN_FLIGHT = "_waiting_in_flight"  # key -> the Future of the call that page is waiting for


def _choose_offline(key: str) -> None:
    """The stop button's callback (it runs before the rerun): cancel the call in flight, answer offline."""
    st.session_state[_flag(key)] = True
    future = dict(st.session_state.get(_IN_FLIGHT, {})).get(key)
    if future is not None:
        future.cancel()


def stopped(key: str) -> bool:
    """The user stopped waiting on the last run: this run answers offline (the page runs the action again)."""
    return bool(st.session_state.get(_flag(key)))


def service(key: str, router: Any | None = None) -> AIService:
    """The service for this run: the session's router, or the offline engine when the user stopped waiting."""
    offline = bool(st.session_state.pop(_flag(key), False))
    return AIService(_Watch(router if router is not None else state.router(), offline=offline))


def _watch(svc: AIService) -> _Watch | None:
    router = svc.router
    return router if isinstance(router, _Watch) else None


def waiting_for(svc: AIService, task: TaskType) -> str:
    """The provider being asked: the live stream's, else the first one the router plans for `task`."""
    watch = _watch(svc)
    live = getattr(watch.stream_, "provider", None) if watch is not None else None
    if live:
        return str(live)
    plan = svc.router.plan(task, optimize_cost=state.optimize_cost())
    return str(plan[0]) if plan else "local"


def status_text(provider: str, elapsed: float) -> str:
    return f"Waiting for {provider}… {elapsed:.1f} s"


def poll(future: Future[T], show: Callable[[], None], interval: float = POLL_SECONDS, *, cancel: bool = True) -> T:
    """Wait for `future`, calling `show` every `interval`. If the wait is stopped (Streamlit's rerun, an error), the
    call in flight is cancelled before the stop goes through, unless `cancel` is False (it then runs to its end)."""
    try:
        while True:
            show()
            try:
                return future.result(timeout=interval)
            except TimeoutError:
                continue
    except BaseException:
        if cancel:
            future.cancel()
        raise


_WHAT = {"cv": "CV parse", "tailor": "tailored CV", "match": "job match"}


def finish_in_flight(interval: float = POLL_SECONDS) -> None:
    """Wait for the calls this session left running (it went to another page, or changed a field, while a page
    waited): they save their results when they end, and the page about to be drawn should show them. A stop
    button's call was cancelled by its click and is not waited for."""
    flights = dict(st.session_state.get(_IN_FLIGHT, {}))
    for key, future in flights.items():
        if not future.done():
            with st.spinner(f"Finishing your {_WHAT.get(key, 'last request')}…"):
                try:
                    poll(future, lambda: None, interval, cancel=False)
                except Exception:
                    log.warning("a call left running by %s failed", key, exc_info=True)
    if flights:
        st.session_state[_IN_FLIGHT] = {k: f for k, f in flights.items() if not f.done()}


class _Status:
    """The status line and the stop button, drawn in placeholders so both can be removed when the call ends."""

    def __init__(self, svc: AIService, task: TaskType, key: str) -> None:
        self.svc, self.task = svc, task
        self.offline = bool(getattr(svc.router, "offline", False))
        self.begun = time.monotonic()
        self.line = st.empty()
        self.button = st.empty()
        if not self.offline:
            self.button.button(STOP_LABEL, key=f"{key}_stop", on_click=_choose_offline, args=(key,))

    def show(self) -> None:
        if self.offline:
            return
        watch = _watch(self.svc)
        started = getattr(watch.stream_, "started_at", None) if watch is not None else None
        elapsed = time.monotonic() - (started or self.begun)
        self.line.caption(status_text(waiting_for(self.svc, self.task), elapsed))

    def done(self, provider: str | None) -> None:
        self.button.empty()
        who = "The offline engine" if self.offline else (provider or waiting_for(self.svc, self.task))
        self.line.caption(f"{who} answered in {time.monotonic() - self.begun:.1f} s")


def call(make: Callable[[], Coroutine[Any, Any, T]], svc: AIService, *, task: TaskType, key: str) -> T:
    """Run `make()` (a call on `svc`) showing who it waits for and for how long, with a stop button. Only the stop
    button cancels it: if the script is stopped otherwise, the call runs on (make it save its own result)."""
    status = _Status(svc, task, key)
    if status.offline:
        result = run_sync(make())
    else:
        future = spawn(make())
        st.session_state[_IN_FLIGHT] = {**st.session_state.get(_IN_FLIGHT, {}), key: future}
        result = poll(future, status.show, cancel=False)
        st.session_state[_IN_FLIGHT] = {k: f for k, f in st.session_state[_IN_FLIGHT].items() if k != key}
    record = record_of(result)
    status.done(getattr(record, "provider", None))
    return result


class Runner:
    """One page action's calls, tied by its key: `svc`, the service for this run (the offline engine when the user
    stopped waiting on the last one), and `run(coro)`, which runs a call made on `svc` as `call` does (who it waits
    for, for how long, the stop button). `run` fits the `run=` of ui.workspace's saving helpers."""

    def __init__(self, key: str, task: TaskType) -> None:
        self.key, self.task = key, task
        self.svc = service(key)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return call(lambda: coro, self.svc, task=self.task, key=self.key)


def runner(key: str, task: TaskType) -> Runner:
    """The page's one line of wiring: `wait = waiting.runner("tailor", TaskType.CV_TAILORING)`, then calls on
    `wait.svc`, run by `wait.run`."""
    return Runner(key, task)


async def _next(iterator: AsyncIterator[str]) -> str | None:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return None


async def _close(iterator: AsyncIterator[str]) -> None:
    """Close the stream once its cancelled step has unwound (closing a running generator is refused)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    for _ in range(100):
        try:
            await aclose()
            return
        except RuntimeError:
            await asyncio.sleep(0.02)


def stream(
    source: AsyncIterable[str], svc: AIService, *, task: TaskType, key: str, attribution: Attribution | None = None
) -> Iterator[str]:
    """Like core.aio.iter_sync, but each wait for the next piece draws the status line and can be stopped; a stop
    closes the stream (the attempt in flight is recorded as abandoned).

    Each piece is fetched in a task of its own, so a context variable set in one is gone in the next: with
    `attribution`, every step (and the close) runs with it, and the router's calls made inside (the stream, a
    fallback, a check) are tagged with its application."""

    def step(coro: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
        return coro if attribution is None else attributed(attribution, coro)

    status = _Status(svc, task, key)
    iterator = aiter(source)
    try:
        while True:
            piece = poll(spawn(step(_next(iterator))), status.show)
            if piece is None:
                break
            yield piece
    finally:
        run_sync(step(_close(iterator)))
    watch = _watch(svc)
    status.done(getattr(watch.stream_, "provider", None) if watch is not None else None)
