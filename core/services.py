"""The composition root: the one place that builds the process's services from one validated `Settings`.

Everything process-wide (tracker, response cache, rate limiter, budget guard, vote store, router, AI service) is
built here, once, and handed to whoever needs it. The seed's accessors (`get_model_router()`, `get_ai_service()`,
`get_usage_tracker()`, `get_vote_store()`) are thin views of `get_services()`. Tests and scripts build their own
root with `build_services(settings, transport=..., clock=...)`; `reset()` forgets the process root (the one hook the
test suite calls between tests).

Parts are built on first use: a CLI command that only lists providers never opens the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from core.config import Settings, load_settings

if TYPE_CHECKING:
    import httpx

    from core.ab import VoteStore
    from core.ai_service import AIService
    from core.budget import BudgetGuard
    from core.cache import ResponseCache
    from core.rate_limit import RateLimiter
    from core.router import ModelRouter
    from core.usage_tracker import UsageTracker
    from core.workspace import Workspace

__all__ = ["Services", "build_services", "get_services", "reload", "reset"]

log = logging.getLogger("cv_copilot.services")
T = TypeVar("T")

#: How many routers with session-only keys are kept; the least recently used one beyond that is closed.
MAX_SESSION_ROUTERS = 32


# --- how each part is built (the router uses these too when it is built on its own, in tests and benches) --------


def build_tracker(settings: Settings) -> UsageTracker:
    from core.usage_tracker import UsageTracker

    if settings.db_url:  # PostgreSQL (core.tracker.pg_storage); db_path is then this machine's file
        return UsageTracker(str(settings.db_url), retention_days=settings.retention_days, local_path=settings.db_path)
    return UsageTracker(settings.db_path, retention_days=settings.retention_days)


def build_cache(settings: Settings) -> ResponseCache:
    from core.cache import ResponseCache

    if settings.db_url:  # shared by the replicas, with the tracker
        return ResponseCache(str(settings.db_url), ttl_seconds=settings.cache_ttl_seconds, local_path=settings.db_path)
    return ResponseCache(settings.db_path, ttl_seconds=settings.cache_ttl_seconds)


def build_limiter(settings: Settings) -> RateLimiter:
    """Shared by every process on the usage DB (or on Redis with CV_COPILOT_REDIS_URL); `[limits] backend`."""
    from core import limits

    return limits.build_limiter(
        settings, settings.db_path, backend=settings.limits_backend, redis_url=_redis_url(settings),
        replicas=settings.limits_replicas,
    )  # fmt: skip


def build_budget(settings: Settings, tracker: UsageTracker) -> BudgetGuard:
    """Holds shared like the limiter's window; the tracker's flush writes a settled call's row before its hold goes."""
    from core import limits

    backend = settings.limits_backend
    if settings.db_url and backend is None and not settings.redis_url:
        backend = "memory"  # the spend is PostgreSQL's (tracker.spend_usd), not the local file's usage table
    guard = limits.build_budget(
        settings, settings.db_path, tracker.spend_usd, backend=backend, flush_usage=tracker.flush,
        redis_url=_redis_url(settings), replicas=settings.limits_replicas,
    )  # fmt: skip
    if not settings.budgets.any_set:
        return guard  # type: ignore[return-value]
    from core.alerts import Alerter, AlertingBudget  # budget alerts: checked after each settled call, off-thread

    return AlertingBudget(guard, Alerter(settings.alerts, settings.budgets, tracker))  # type: ignore[return-value]


def _redis_url(settings: Settings) -> str | None:
    return str(settings.redis_url) if settings.redis_url else None


def build_vote_store(settings: Settings) -> VoteStore:
    from core.ab import VoteStore

    if settings.db_url:  # beside the usage rows in PostgreSQL
        return VoteStore(str(settings.db_url), local_path=settings.db_path)
    return VoteStore(settings.db_path)


def build_workspace(settings: Settings) -> Workspace:
    from core.workspace import Workspace

    if settings.db_url:  # the same CVs and applications on every replica
        return Workspace(str(settings.db_url), local_path=settings.db_path)
    return Workspace(settings.db_path)


def _fingerprint(keys: Mapping[str, str]) -> str:
    return hashlib.sha256(repr(sorted(keys.items())).encode()).hexdigest()


class Services:
    """The process's services, built from one Settings. Thread-safe; each part is built once, on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        tracker: UsageTracker | None = None,
        cache: ResponseCache | None = None,
        limiter: RateLimiter | None = None,
        budget: BudgetGuard | None = None,
        max_session_routers: int = MAX_SESSION_ROUTERS,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._parts: dict[str, Any] = {
            k: v for k, v in (("tracker", tracker), ("cache", cache), ("limiter", limiter), ("budget", budget)) if v
        }
        self._lock = threading.RLock()
        self._sessions: OrderedDict[str, ModelRouter] = OrderedDict()
        self._max_sessions = max(1, int(max_session_routers))
        self._other_vote_stores: dict[str, VoteStore] = {}
        self.closed = False

    def _part(self, name: str, factory: Callable[[], T]) -> T:
        part = self._parts.get(name)
        if part is None:
            with self._lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = factory()
        return part

    @property
    def tracker(self) -> UsageTracker:
        return self._part("tracker", lambda: build_tracker(self.settings))

    @property
    def cache(self) -> ResponseCache:
        return self._part("cache", lambda: build_cache(self.settings))

    @property
    def limiter(self) -> RateLimiter:
        return self._part("limiter", lambda: build_limiter(self.settings))

    @property
    def budget(self) -> BudgetGuard:
        return self._part("budget", lambda: build_budget(self.settings, self.tracker))

    @property
    def votes(self) -> VoteStore:
        return self._part("votes", lambda: build_vote_store(self.settings))

    @property
    def workspace(self) -> Workspace:
        """CVs and applications (core.workspace), in the same database as the usage rows."""
        return self._part("workspace", lambda: build_workspace(self.settings))

    @property
    def router(self) -> ModelRouter:
        return self._part("router", lambda: self._new_router(self.settings))

    @property
    def ai(self) -> AIService:
        from core.ai_service import AIService

        return self._part("ai", lambda: AIService(self.router))

    def _new_router(self, settings: Settings) -> ModelRouter:
        from core.router import ModelRouter

        return ModelRouter(
            settings, tracker=self.tracker, limiter=self.limiter, cache=self.cache, budget=self.budget,
            transport=self._transport, clock=self._clock, sleep=self._sleep, rng=self._rng,
        )  # fmt: skip

    # --- routers with keys typed into the UI ------------------------------------------------------------------

    def session_router(self, keys: Mapping[str, str | None] | None) -> ModelRouter:
        """A router with session-only keys on top, sharing this root's tracker, limits, cache and budget.

        One router per distinct set of keys, at most `max_session_routers` of them: the least recently used one
        beyond that is closed. With no keys, the shared router.
        """
        given = {k: v.strip() for k, v in (keys or {}).items() if v and v.strip()}
        if not given:
            return self.router
        fingerprint = _fingerprint(given)
        evicted: list[ModelRouter] = []
        with self._lock:
            router = self._sessions.get(fingerprint)
            if router is None:
                router = self._sessions[fingerprint] = self._new_router(self.settings.with_keys(given))
                while len(self._sessions) > self._max_sessions:
                    evicted.append(self._sessions.popitem(last=False)[1])
            else:
                self._sessions.move_to_end(fingerprint)
        for old in evicted:
            _close_router_later(old, self.settings.call_timeout_seconds)
        return router

    def release_session_router(self, keys_or_router: Mapping[str, str | None] | ModelRouter) -> None:
        """Forget and close a session's router (a browser session ended, or its keys were forgotten)."""
        with self._lock:
            if isinstance(keys_or_router, Mapping):
                given = {k: v.strip() for k, v in keys_or_router.items() if v and v.strip()}
                router = self._sessions.pop(_fingerprint(given), None) if given else None
            else:
                router = keys_or_router
                for fp, r in list(self._sessions.items()):
                    if r is router:
                        del self._sessions[fp]
                if router is self._parts.get("router"):
                    return  # the shared router is never released by a session
        if router is not None:
            _close_router_later(router, self.settings.call_timeout_seconds)

    @property
    def session_router_count(self) -> int:
        with self._lock:
            return len(self._sessions)

    # --- vote stores on other files (a page or script asking for a specific DB) -------------------------------

    def vote_store(self, db_path: str | os.PathLike[str] | None = None) -> VoteStore:
        if db_path is None or _same_file(db_path, self.settings.db_path):
            return self.votes
        from core.ab import VoteStore

        key = str(Path(db_path).expanduser().resolve())
        with self._lock:
            store = self._other_vote_stores.get(key)
            if store is None:
                store = self._other_vote_stores[key] = VoteStore(db_path)
            return store

    # --- shutting down ----------------------------------------------------------------------------------------

    def routers(self) -> list[ModelRouter]:
        with self._lock:
            shared = self._parts.get("router")
            return ([shared] if shared is not None else []) + list(self._sessions.values())

    async def aclose(self) -> None:
        """Close the routers' HTTP clients, then flush and close the databases."""
        for router in self.routers():
            try:
                await router.aclose()
            except Exception:
                log.exception("closing a router failed")
        self._close_stores()

    def close(self) -> None:
        """`aclose()` from synchronous code (on the process's event loop)."""
        from core import aio

        aio.run_sync(self.aclose())

    def _close_stores(self) -> None:
        with self._lock:
            self.closed = True
            self._sessions.clear()
            stores = [self._parts.get(n) for n in ("tracker", "cache", "votes", "workspace")]
            stores += list(self._other_vote_stores.values())
            self._other_vote_stores.clear()
        for store in stores:
            if store is not None:
                try:
                    store.close()
                except Exception:
                    log.exception("closing %s failed", type(store).__name__)


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _close_router_later(router: ModelRouter, grace_seconds: float) -> None:
    """Close a router no longer handed out, once any call still running on it has had time to finish."""
    from core import aio

    async def close() -> None:
        await asyncio.sleep(max(0.0, grace_seconds))
        await router.aclose()

    aio.spawn(close())


def build_services(
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
    tracker: UsageTracker | None = None,
    cache: ResponseCache | None = None,
    limiter: RateLimiter | None = None,
    budget: BudgetGuard | None = None,
    max_session_routers: int = MAX_SESSION_ROUTERS,
) -> Services:
    """A root for tests and scripts: from `settings` (default: every source, validated), with injected parts."""
    return Services(
        settings if settings is not None else load_settings(),
        transport=transport, clock=clock, sleep=sleep, rng=rng, tracker=tracker, cache=cache, limiter=limiter,
        budget=budget, max_session_routers=max_session_routers,
    )  # fmt: skip


# --- the process root ---------------------------------------------------------------------------------------------

_root: Services | None = None
_root_lock = threading.Lock()


def get_services() -> Services:
    """The process's root, built on first use from every settings source. A bad setting raises ConfigError."""
    global _root
    root = _root
    if root is not None:
        return root
    with _root_lock:
        if _root is None:
            _root = build_services(load_settings())
        return _root


def install(services: Services) -> Services | None:
    """Make `services` the process root (a script or test with its own parts); returns the previous one."""
    global _root
    with _root_lock:
        previous, _root = _root, services
    return previous


def reload() -> Services:
    """Re-read the settings (after the config file or a stored key changed) and build a new root from them.

    The old root's routers are closed after a grace period (calls still running on them finish); its databases
    are left to the garbage collector, as other threads may still be reading them.
    """
    global _root
    settings = load_settings()
    with _root_lock:
        old, _root = _root, build_services(settings)
        new = _root
    if old is not None:
        for router in old.routers():
            _close_router_later(router, old.settings.call_timeout_seconds)
    return new


def reset() -> None:
    """Forget the process root and close it now: the next `get_services()` reads every source again (tests)."""
    global _root
    with _root_lock:
        old, _root = _root, None
    if old is not None:
        old.close()
