"""Which application (or CV) the AI call in flight is made for: usage rows and cache keys are tagged with it.

A context variable, set inside the coroutine that runs a service operation (`attributed`), so every router call
and every task it spawns sees it, whichever thread runs the event loop. The router's ledger reads
`current_application_id()` into `UsageRecord.application_id`; the response cache reports each key it writes or
serves through `note_cache_key`, so deleting an application (or a CV) can delete the cached answers that quote it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Attribution", "attributed", "current", "current_application_id", "note_cache_key"]

T = TypeVar("T")


@dataclass
class Attribution:
    """What the calls in flight are for, and the cache keys they touched (filled in as they run)."""

    application_id: str | None = None
    cv_id: str | None = None
    cache_keys: set[str] = field(default_factory=set)


_CURRENT: contextvars.ContextVar[Attribution | None] = contextvars.ContextVar("cv_copilot_attribution", default=None)


def current() -> Attribution | None:
    return _CURRENT.get()


def current_application_id() -> str | None:
    found = _CURRENT.get()
    return found.application_id if found is not None else None


def note_cache_key(key: str) -> None:
    """Called by the response cache for each key it stores or serves (cheap: one context lookup)."""
    found = _CURRENT.get()
    if found is not None:
        found.cache_keys.add(key)


async def attributed(attribution: Attribution, awaitable: Awaitable[T]) -> T:
    """Await `awaitable` with `attribution` current (run it on the loop: `run_sync(attributed(a, coro))`)."""
    token = _CURRENT.set(attribution)
    try:
        return await awaitable
    finally:
        _CURRENT.reset(token)
