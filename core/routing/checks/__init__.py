"""Pre-call checks, one per module, run in this order for each planned provider:

configured → cooldown → context window → cache → budget → rate limit.

Each check returns None (admitted so far) or a typed `Skip`. A cache hit ends the checks early: it is served
without a budget or a rate-limit slot, since it costs nothing and calls nobody. The rate limit runs last, so a
call refused for any other reason never holds a slot; a skip after the budget releases its reservation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from core.routing.checks import budget, cache, configured, context_window, cooldown, rate_limit
from core.routing.types import Call, Candidate, Skip

if TYPE_CHECKING:
    from core.budget import BudgetGuard
    from core.cache import ResponseCache
    from core.config import Settings
    from core.rate_limit import RateLimiter
    from core.routing.health import HealthBook


class Parts(Protocol):
    """What the checks read from the router: its settings and its shared parts."""

    @property
    def settings(self) -> Settings: ...
    @property
    def health(self) -> HealthBook: ...
    @property
    def limiter(self) -> RateLimiter: ...
    @property
    def budget(self) -> BudgetGuard: ...
    @property
    def cache(self) -> ResponseCache: ...
    def context_window(self, name: str) -> int: ...


Check = Callable[["Parts", Call, Candidate], "Skip | None"]

#: The checks, in the order they run.
CHECKS: tuple[Check, ...] = (
    configured.check,
    cooldown.check,
    context_window.check,
    cache.check,
    budget.check,
    rate_limit.check,
)


def admit(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    """Run every check on `candidate`: None when admitted (or served from the cache: see `candidate.hit`)."""
    for check in CHECKS:
        skip = check(parts, call, candidate)
        if skip is not None:
            if candidate.reservation is not None:
                parts.budget.settle(candidate.reservation)
                candidate.reservation = None
            return skip
        if candidate.hit is not None:
            return None
    return None


__all__ = ["CHECKS", "Check", "Parts", "admit"]
