"""Rate limits and budgets behind two small interfaces, with backends chosen once by the composition root.

- `RateLimiter` (core.rate_limit): `acquire(provider, user_id, tokens) -> wait_seconds`.
- `Budget` (core.budget): `reserve(user_id, estimate_usd) -> Reservation`, `settle(reservation, actual_usd=None)`,
  `status(user_id)`.

Backends:
- "sqlite" (the default): the window and the holds live in the usage DB file, so the app, the REST API and the CLI
  on one file share one limit and one budget. A provider without rpm/tpm, or a user without a budget, never
  touches the file.
- "memory": this process only (tests, benchmarks, a single process that wants the fastest path).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from core.budget import Budget, BudgetGuard, SpendFunction
from core.config import Settings
from core.limits._db import LimitsDB
from core.limits.sqlite_budget import SQLiteBudget
from core.limits.sqlite_rate import SQLiteRateLimiter
from core.rate_limit import InMemoryRateLimiter, RateLimiter

__all__ = [
    "BACKENDS",
    "Budget",
    "LimitsDB",
    "RateLimiter",
    "SQLiteBudget",
    "SQLiteRateLimiter",
    "build_budget",
    "build_limiter",
    "provider_limits",
]

#: Backend names `build_limiter` and `build_budget` accept.
BACKENDS = ("sqlite", "memory")
DEFAULT_BACKEND = "sqlite"


def _backend(name: str | None) -> str:
    chosen = (name or DEFAULT_BACKEND).strip().lower()
    if chosen not in BACKENDS:
        raise ValueError(f"limits backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    return chosen


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
) -> RateLimiter:
    """The process's rate limiter: shared through the usage DB file (`db_path`, default `settings.db_path`)."""
    limits = provider_limits(settings)
    if _backend(backend) == "memory":
        return InMemoryRateLimiter(limits) if clock is None else InMemoryRateLimiter(limits, clock=clock)
    path = Path(db_path if db_path is not None else settings.db_path)
    return SQLiteRateLimiter(path, limits) if clock is None else SQLiteRateLimiter(path, limits, clock=clock)


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
) -> Budget:
    """The process's budget guard: holds shared through the usage DB file (`db_path`, default `settings.db_path`).

    `spend_fn(since_ts, user_id)` (the tracker's `spend_usd`) is what the "memory" backend reads; the "sqlite"
    backend reads the `usage` table itself, inside the transaction that takes the hold. Pass the tracker's `flush`
    as `flush_usage`: a settled call's row is then written before its hold is dropped, so no other process misses
    it and nothing is counted twice (without it, a settled hold lingers `settle_grace_seconds`, default 2 s).
    """
    extra: dict[str, float | Callable[[], float]] = {} if clock is None else {"clock": clock}
    if _backend(backend) == "memory":
        if spend_fn is None:
            raise ValueError("the memory budget backend needs spend_fn (the tracker's spend_usd)")
        return BudgetGuard(settings.budgets, spend_fn, **extra)  # type: ignore[arg-type]
    if reservation_ttl_seconds is not None:
        extra["reservation_ttl_seconds"] = reservation_ttl_seconds
    if settle_grace_seconds is not None:
        extra["settle_grace_seconds"] = settle_grace_seconds
    path = Path(db_path if db_path is not None else settings.db_path)
    return SQLiteBudget(settings.budgets, path, flush_usage=flush_usage, **extra)  # type: ignore[arg-type]
