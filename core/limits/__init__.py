"""Rate limits and budgets behind two small interfaces, with backends chosen once by the composition root.

- `RateLimiter` (core.rate_limit): `acquire(provider, user_id, tokens) -> wait_seconds`.
- `Budget` (core.budget): `reserve(user_id, estimate_usd) -> Reservation`, `settle(reservation, actual_usd=None)`,
  `status(user_id)`.

Backends:
- "sqlite" (the default): the window and the holds live in the usage DB file, so the app, the REST API and the CLI
  on one file share one limit and one budget. A provider without rpm/tpm, or a user without a budget, never
  touches the file.
- "memory": this process only (tests, benchmarks, a single process that wants the fastest path).
- "redis" (when a Redis URL is given, `CV_COPILOT_REDIS_URL`): shared by every process on every machine, for a
  team deployment; see core.limits.redis_backend (needs the `redis` package). Provider cooldowns are then shared
  too (core.limits.redis_cooldown), and `redis_problem(settings)` says, for a banner, when Redis does not answer.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.budget import Budget, BudgetGuard, SpendFunction
from core.config import Settings
from core.limits._db import LimitsDB
from core.limits.sqlite_budget import SQLiteBudget
from core.limits.sqlite_rate import SQLiteRateLimiter
from core.rate_limit import InMemoryRateLimiter, RateLimiter

if TYPE_CHECKING:
    from core.limits.redis_backend import RedisConnection
    from core.limits.redis_cooldown import SharedCooldowns

__all__ = [
    "BACKENDS",
    "Budget",
    "LimitsDB",
    "RateLimiter",
    "SQLiteBudget",
    "SQLiteRateLimiter",
    "build_budget",
    "build_limiter",
    "limits_db",
    "provider_limits",
    "redis_connection",
    "redis_problem",
    "shared_cooldowns",
]

#: Backend names `build_limiter` and `build_budget` accept.
BACKENDS = ("sqlite", "memory", "redis")
DEFAULT_BACKEND = "sqlite"

_REDIS: dict[str, RedisConnection] = {}
_REDIS_GUARD = threading.Lock()
_FILES: weakref.WeakValueDictionary[str, LimitsDB] = weakref.WeakValueDictionary()
_FILES_GUARD = threading.Lock()


def limits_db(path: str | os.PathLike[str]) -> LimitsDB:
    """One `LimitsDB` per file in this process, shared by its limiter and its budget: one connection per thread
    then does both, and its page cache stays valid from one's transaction to the other's (a write by another
    connection makes SQLite re-read the pages it touched)."""
    key = os.path.abspath(os.path.expanduser(os.fspath(path)))
    with _FILES_GUARD:
        db = _FILES.get(key)
        if db is None:
            db = _FILES[key] = LimitsDB(key)
        return db


def _backend(name: str | None, redis_url: str | None) -> str:
    chosen = (name or ("redis" if redis_url else DEFAULT_BACKEND)).strip().lower()
    if chosen not in BACKENDS:
        raise ValueError(f"limits backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if chosen == "redis" and not redis_url:
        raise ValueError("the redis limits backend needs a URL (CV_COPILOT_REDIS_URL=redis://host:6379/0)")
    return chosen


def redis_connection(url: str) -> RedisConnection:
    """One Redis client (and one up/down state) per URL in this process, shared by the limiter and the budget."""
    from core.limits.redis_backend import RedisConnection

    with _REDIS_GUARD:
        connection = _REDIS.get(url)
        if connection is None:
            connection = _REDIS[url] = RedisConnection(url)
        return connection


def shared_redis_url(settings: Settings) -> str | None:
    """The Redis URL limits, holds and cooldowns use (None: no Redis, or another `[limits] backend` chosen)."""
    url = str(settings.redis_url) if settings.redis_url else None
    return url if url and _backend(settings.limits_backend, url) == "redis" else None


def redis_problem(settings: Settings) -> str | None:
    """None while the shared Redis answers (or none is configured); else a sentence for a banner.

    Asks Redis (one PING) when this process has not heard from it for a few seconds, so a page learns of an outage,
    and of the recovery, even while no call is made.
    """
    url = shared_redis_url(settings)
    return None if url is None else redis_connection(url).probe()


def shared_cooldowns(settings: Settings) -> SharedCooldowns | None:
    """Provider cooldowns shared by every process through Redis, or None (each process keeps its own)."""
    url = shared_redis_url(settings)
    if url is None:
        return None
    from core.limits.redis_cooldown import SharedCooldowns, fingerprint

    def scope(name: str) -> str:
        provider = settings.providers.get(name)
        return (
            fingerprint(provider.base_url, str(provider.api_key) if provider and provider.api_key else None)
            if provider
            else "-"
        )

    return SharedCooldowns(redis_connection(url), scope)


def provider_limits(settings: Settings) -> dict[str, tuple[int | None, int | None]]:
    """(rpm, tpm) per provider from the settings; the offline engine is never limited."""
    limits = {name: (p.rpm, p.tpm) for name, p in settings.providers.items()}
    limits["local"] = (None, None)
    return limits


def build_limiter(
    settings: Settings,
    db_path: str | os.PathLike[str] | None = None,
    *,
    backend: str | None = None,
    clock: Callable[[], float] | None = None,
    redis_url: str | None = None,
    replicas: int | None = None,
) -> RateLimiter:
    """The process's rate limiter: shared through the usage DB file (`db_path`, default `settings.db_path`), or
    through Redis when `redis_url` is given (`replicas`: how many processes share it, for the fallback when Redis
    is down). `clock` must be a wall clock (time.time): processes share no other."""
    limits = provider_limits(settings)
    chosen = _backend(backend, redis_url)
    if chosen == "redis":
        from core.limits.redis_backend import DEFAULT_REPLICAS, RedisRateLimiter

        assert redis_url is not None
        return RedisRateLimiter(redis_connection(redis_url), limits, clock=clock, replicas=replicas or DEFAULT_REPLICAS)
    if chosen == "memory":
        return InMemoryRateLimiter(limits) if clock is None else InMemoryRateLimiter(limits, clock=clock)
    db = limits_db(Path(db_path if db_path is not None else settings.db_path))
    return SQLiteRateLimiter(db, limits) if clock is None else SQLiteRateLimiter(db, limits, clock=clock)


def build_budget(
    settings: Settings,
    db_path: str | os.PathLike[str] | None = None,
    spend_fn: SpendFunction | None = None,
    *,
    backend: str | None = None,
    clock: Callable[[], float] | None = None,
    reservation_ttl_seconds: float | None = None,
    settle_grace_seconds: float | None = None,
    flush_usage: Callable[[], None] | None = None,
    redis_url: str | None = None,
    replicas: int | None = None,
) -> Budget:
    """The process's budget guard: holds shared through the usage DB file (`db_path`, default `settings.db_path`).

    `spend_fn(since_ts, user_id)` (the tracker's `spend_usd`) is what the "memory" backend reads; the "sqlite"
    backend reads the `usage` table itself, inside the transaction that takes the hold. Pass the tracker's `flush`
    as `flush_usage`: a settled call's row is then written before its hold is dropped, so no other process misses
    it and nothing is counted twice (without it, a settled hold lingers `settle_grace_seconds`, default 2 s).
    """
    chosen = _backend(backend, redis_url)
    if chosen == "redis":
        from core.limits.redis_backend import DEFAULT_REPLICAS, RedisBudget

        if spend_fn is None or redis_url is None:
            raise ValueError("the redis budget backend needs spend_fn (the tracker's spend_usd)")
        return RedisBudget(
            settings.budgets, redis_connection(redis_url), spend_fn, clock=clock, flush_usage=flush_usage,
            replicas=replicas or DEFAULT_REPLICAS,
            **({} if reservation_ttl_seconds is None else {"reservation_ttl_seconds": reservation_ttl_seconds}),
            **({} if settle_grace_seconds is None else {"settle_grace_seconds": settle_grace_seconds}),
        )  # fmt: skip
    extra: dict[str, float | Callable[[], float]] = {} if clock is None else {"clock": clock}
    if chosen == "memory":
        if spend_fn is None:
            raise ValueError("the memory budget backend needs spend_fn (the tracker's spend_usd)")
        return BudgetGuard(settings.budgets, spend_fn, **extra)  # type: ignore[arg-type]
    if reservation_ttl_seconds is not None:
        extra["reservation_ttl_seconds"] = reservation_ttl_seconds
    if settle_grace_seconds is not None:
        extra["settle_grace_seconds"] = settle_grace_seconds
    db = limits_db(Path(db_path if db_path is not None else settings.db_path))
    return SQLiteBudget(settings.budgets, db, flush_usage=flush_usage, **extra)  # type: ignore[arg-type]
