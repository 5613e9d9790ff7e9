"""USD budgets per user and globally, daily and monthly: reserve a call's worst case first, settle after.

Reserving under one lock makes the limit hold under concurrency: simultaneous calls see each other's
reservations, so together they overshoot by at most one call's worst case (the one that fits exactly).

`Budget` is the interface the router and the pages use. `BudgetGuard` keeps reservations in this process's memory;
`core.limits.SQLiteBudget` keeps them in the usage DB file, so every process on it shares one budget;
`core.limits.build_budget` picks one from the settings.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from core.base import BudgetExceeded
from core.config import BudgetSettings

SpendFunction = Callable[[float, "str | None"], float]  # (since_ts, user_id or None for everyone) → USD


@dataclass(frozen=True)
class Reservation:
    """Money held for one call in flight. `id` 0 means nothing was held (no budget applied)."""

    id: int
    user_id: str
    amount_usd: float
    expires_at: float | None = None  # wall-clock time the hold lapses by itself (shared backends)


@dataclass(frozen=True)
class BudgetLine:
    scope: str  # "user daily", "global monthly", …
    limit_usd: float
    spent_usd: float
    reserved_usd: float
    resets_at: str

    @property
    def fraction(self) -> float:
        return (self.spent_usd + self.reserved_usd) / self.limit_usd if self.limit_usd else 0.0

    @property
    def warning(self) -> bool:
        return self.fraction >= 0.8


def period_start(period: str, now: float) -> float:
    dt = datetime.fromtimestamp(now, UTC)
    if period == "daily":
        start = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp()


def period_end(period: str, now: float) -> datetime:
    dt = datetime.fromtimestamp(period_start(period, now), UTC)
    if period == "daily":
        return datetime.fromtimestamp(dt.timestamp() + 86400, UTC)
    year, month = (dt.year + 1, 1) if dt.month == 12 else (dt.year, dt.month + 1)
    return dt.replace(year=year, month=month)


@runtime_checkable
class Budget(Protocol):
    def reserve(self, user_id: str, estimate_usd: float) -> Reservation:
        """Hold `estimate_usd` against every budget that applies, or raise BudgetExceeded naming the first too full."""
        ...

    def settle(self, reservation: Reservation | None, actual_usd: float | None = None) -> None:
        """Release a hold once the call's real cost is recorded (idempotent; None is a no-op; never raises)."""
        ...

    def status(self, user_id: str) -> list[BudgetLine]:
        """Every budget that applies to `user_id`: spent, held, limit and reset time."""
        ...


def budget_lines(settings: BudgetSettings, user_id: str) -> list[tuple[str, str, float, str | None]]:
    """(scope, period, limit, user or None for everyone) of each budget set for `user_id`."""
    lines = []
    for key, limit in settings.limits_for(user_id).items():
        if limit is None:
            continue
        who, period_word, _ = key.split("_")
        period = "daily" if period_word == "daily" else "monthly"
        lines.append((f"{who} {period}", period, float(limit), user_id if who == "user" else None))
    return lines


def resets_text(period: str, now: float) -> str:
    return period_end(period, now).strftime("%Y-%m-%d %H:%M UTC")


class BudgetGuard:
    """`Budget` with reservations in this process's memory: exact for one process (see `core.limits` for many)."""

    def __init__(
        self,
        settings: BudgetSettings,
        spend: SpendFunction,
        *,
        clock: Callable[[], float] = time.time,
        in_flight_share: int = 1,
    ):
        """`in_flight_share` > 1 makes this process stricter, for when it stands in for a shared backend that is
        down: its holds (and the new estimate) count that many times, so that many processes doing the same stay
        within the budget together."""
        if in_flight_share < 1:
            raise ValueError(f"in_flight_share must be >= 1, got {in_flight_share!r}")
        self.settings = settings
        self._spend = spend
        self._clock = clock
        self._share = in_flight_share
        self._lock = threading.Lock()
        self._reserved: dict[int, Reservation] = {}
        self._ids = itertools.count(1)

    def _lines(self, user_id: str) -> list[tuple[str, str, float, str | None]]:
        return budget_lines(self.settings, user_id)

    def _reserved_for(self, user: str | None) -> float:
        return sum(r.amount_usd for r in self._reserved.values() if user is None or r.user_id == user)

    def status(self, user_id: str) -> list[BudgetLine]:
        now = self._clock()
        with self._lock:
            return [
                BudgetLine(
                    scope=scope,
                    limit_usd=limit,
                    spent_usd=self._spend(period_start(period, now), user),
                    reserved_usd=self._reserved_for(user),
                    resets_at=resets_text(period, now),
                )
                for scope, period, limit, user in self._lines(user_id)
            ]

    def reserve(self, user_id: str, estimate_usd: float) -> Reservation:
        """Hold `estimate_usd` against every budget that applies, or raise BudgetExceeded naming the first too full."""
        now = self._clock()
        with self._lock:
            for scope, period, limit, user in self._lines(user_id):
                spent = self._spend(period_start(period, now), user)
                if spent + (self._reserved_for(user) + estimate_usd) * self._share > limit + 1e-12:
                    raise BudgetExceeded(
                        scope,
                        spent + self._reserved_for(user),
                        limit,
                        resets_text(period, now),
                        estimate_usd,
                    )
            reservation = Reservation(next(self._ids), user_id, estimate_usd)
            self._reserved[reservation.id] = reservation
            return reservation

    def settle(self, reservation: Reservation | None, actual_usd: float | None = None) -> None:
        """Drop the hold once the real cost is in the tracker (record first, then settle)."""
        if reservation is None:
            return
        with self._lock:
            self._reserved.pop(reservation.id, None)
