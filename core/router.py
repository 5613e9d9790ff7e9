"""The cost-aware model router: plan candidates → check limits, budget, cache → call → fall back → record.

Every AI call in CV Copilot goes through `ModelRouter.generate` (or `.stream`). This module plans (which
providers, in which order) and wires the parts; the steps live in `core.routing`: the pre-call checks
(`checks/`, one per file), provider health, deadlines, the ledger that writes one usage row per provider request,
the dispatcher that runs a call through its candidates, and the streaming path.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from core.base import AIResponse, TaskType
from core.config import DEFAULT_CONTEXT_WINDOWS, FALLBACK_CONTEXT_WINDOW, Settings, get_settings
from core.pricing import ModelPrice, price_for, rank_by_cost
from core.providers.base import Provider
from core.routing.dispatch import Dispatcher
from core.routing.health import HealthBook
from core.routing.ledger import Ledger
from core.routing.types import Call
from core.tasks import TASKS
from core.tokens import TokenCount, count_message_tokens, encoding_name_for
from core.workspace_context import current_application_id

if TYPE_CHECKING:  # httpx, the budget and streaming are imported when first used, not to build a router
    import httpx

    from core.budget import BudgetGuard
    from core.cache import ResponseCache
    from core.rate_limit import RateLimiter
    from core.routing.strategy import Ranking, Strategy
    from core.routing.streaming import RouterStream
    from core.usage_tracker import UsageTracker

__all__ = ["ModelRouter", "RouterStream", "context_window_for", "get_model_router", "reset_model_router"]

log = logging.getLogger("cv_copilot.router")
T = TypeVar("T")

#: Output room for "Test connection": enough for a reasoning model to think and still say "ok".
TEST_CONNECTION_MAX_TOKENS = 512


def context_window_for(model: str, override: int | None = None) -> int:
    if override:
        return override
    name = model.lower().rsplit("/", 1)[-1]
    best = max((p for p in DEFAULT_CONTEXT_WINDOWS if name.startswith(p)), key=len, default=None)
    return DEFAULT_CONTEXT_WINDOWS[best] if best else FALLBACK_CONTEXT_WINDOW


class ModelRouter:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tracker: UsageTracker | None = None,
        limiter: RateLimiter | None = None,
        cache: ResponseCache | None = None,
        budget: BudgetGuard | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings or get_settings()
        self._tracker = tracker
        self._limiter = limiter
        self._cache = cache
        self._budget = budget
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._providers: dict[str, Provider] = {}
        self._prices: dict[str, ModelPrice] = {}
        self._ranking: list[str] | None = None  # settings are immutable, so the ranking is computed once
        self._windows: dict[str, int] = {}
        self._plans: dict[tuple[TaskType, bool], tuple[str, ...]] = {}  # cost order per (task, optimize_cost)
        self._lock = threading.RLock()
        self.health = HealthBook(self.settings, clock)
        self.strategy = self._new_strategy() if self.settings.strategy.active else None
        self._dispatcher = Dispatcher(self, Ledger(self), sleep)

    # --- lazily built parts -------------------------------------------------------------------------------
    # The composition root (core.services) passes these in. A router built on its own (tests, benches) gets its
    # own, from the same factories, on first use.

    def _built(self, attr: str, factory: Callable[[], T]) -> T:
        """The part stored in `attr`, built once on first use (import cost and files only when needed)."""
        value = getattr(self, attr)
        if value is None:
            with self._lock:
                value = getattr(self, attr)
                if value is None:
                    value = factory()
                    setattr(self, attr, value)
        return value  # type: ignore[no-any-return]

    @property
    def tracker(self) -> UsageTracker:
        if self._tracker is not None:
            return self._tracker
        from core import services

        return self._built("_tracker", lambda: services.build_tracker(self.settings))

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is not None:
            return self._limiter
        from core import services

        return self._built("_limiter", lambda: services.build_limiter(self.settings))

    @property
    def cache(self) -> ResponseCache:
        if self._cache is not None:
            return self._cache
        from core import services

        return self._built("_cache", lambda: services.build_cache(self.settings))

    @property
    def budget(self) -> BudgetGuard:
        if self._budget is not None:
            return self._budget
        from core import services

        return self._built("_budget", lambda: services.build_budget(self.settings, self.tracker))

    def provider(self, name: str) -> Provider:
        """The adapter for `name`, built on first use."""
        existing = self._providers.get(name)
        if existing is not None:
            return existing
        with self._lock:
            if name not in self._providers:
                self._providers[name] = self._build_provider(name)
            return self._providers[name]

    def _build_provider(self, name: str) -> Provider:
        from core.providers import build_provider

        return build_provider(name, self.settings.providers[name], self._transport)

    def price(self, name: str) -> ModelPrice:
        found = self._prices.get(name)
        if found is None:
            ps = self.settings.providers[name]
            found = price_for(
                name,
                ps.model,
                overrides=self.settings.price_overrides,
                unknown_per_1k=self.settings.unknown_price_per_1k,
                base_url=ps.base_url,
            )
            self._prices[name] = found
        return found

    # --- planning ------------------------------------------------------------------------------------------

    def cost_ranking(self) -> list[str]:
        """Configured LLM providers, cheapest first (local is not ranked: it is always the last resort)."""
        if self._ranking is None:
            names = [n for n in self.settings.configured_providers if n != "local"]
            self._ranking = rank_by_cost({n: self.price(n) for n in names})
        return list(self._ranking)

    def plan(self, task_type: TaskType, *, optimize_cost: bool = False, provider: str | None = None) -> list[str]:
        return self._plan(task_type, optimize_cost, provider)[0]

    def _plan(self, task_type: TaskType, optimize_cost: bool, provider: str | None) -> tuple[list[str], Ranking | None]:
        """The providers in the order to try, and the strategy's ranking when one reordered them."""
        if provider is not None:
            return [provider], None
        planned = self._plans.get((task_type, optimize_cost))
        if planned is None:  # settings are immutable: each (task, optimize_cost) has one cost order
            ranked = self.cost_ranking()
            default = self.settings.task_routing.get(task_type)
            if not optimize_cost and default in ranked:
                ranked.remove(default)
                ranked.insert(0, default)
            planned = self._plans[(task_type, optimize_cost)] = (*ranked, "local")
        if self.strategy is None or optimize_cost:
            return list(planned), None
        ranking = self.strategy.rank(TaskType(task_type), list(planned))
        return list(ranking.order), ranking

    def _new_strategy(self) -> Strategy:
        """`[router] strategy = "balanced"` or `prefer_ab_winner`: stats from the tracker's rows, in the background."""
        from core.routing.stats import DbLoader, RouteStats
        from core.routing.strategy import Strategy

        s = self.settings.strategy
        load = DbLoader(
            self.settings.db_path,
            lambda: {n: self.settings.providers[n].model for n in self.cost_ranking()},
            window_hours=s.window_hours, last_calls=s.last_calls, with_votes=s.prefer_ab_winner,
            flush=lambda: self.tracker.flush(), db_url=str(s_url) if (s_url := self.settings.db_url) else None,
        )  # fmt: skip
        return Strategy(s, RouteStats(load, s.refresh_seconds, self._clock), self.price)

    def _maybe_challenger(self, plan: list[str], forced: bool) -> tuple[list[str], bool]:
        challenger = self.settings.challenger_provider
        pct = self.settings.challenger_percent
        if forced or not challenger or pct <= 0 or challenger not in self.settings.configured_providers:
            return plan, False
        if (plan and plan[0] == challenger) or self._rng() * 100 >= pct:
            return plan, False
        return [challenger, *[p for p in plan if p != challenger]], True

    def context_window(self, name: str) -> int:
        window = self._windows.get(name)
        if window is None:
            ps = self.settings.providers[name]
            window = self._windows[name] = context_window_for(ps.model, ps.context_window)
        return window

    def _begin(
        self,
        task: TaskType,
        prompt: str,
        *,
        optimize_cost: bool,
        provider: str | None,
        system: str | None,
        max_tokens: int,
        temperature: float,
        json_mode: bool,
        user_id: str,
        use_cache: bool,
    ) -> tuple[Call, list[str]]:
        """The call's parameters and its plan (with the challenger, when this call is picked for it)."""
        planned, ranking = self._plan(task, optimize_cost, provider)
        plan, challenger = self._maybe_challenger(planned, provider is not None)
        call = Call(
            task, prompt, system, max_tokens, temperature, json_mode, user_id, use_cache,
            self.settings.challenger_provider if challenger else None, optimize_cost, provider is not None,
            current_application_id(),  # taken now: a stream's later steps may run in other tasks
            ranking,
        )  # fmt: skip
        return call, plan

    # --- the call ------------------------------------------------------------------------------------------

    async def generate(
        self,
        task_type: TaskType | str,
        prompt: str,
        *,
        user_id: str = "anonymous",
        optimize_cost: bool = False,
        max_tokens: int = 1024,
        temperature: float = 0.2,
        system: str | None = None,
        json_mode: bool = False,
        payload: dict[str, Any] | None = None,
        provider: str | None = None,
        use_cache: bool = True,
    ) -> AIResponse:
        """Answer `prompt` on the best available provider for `task_type`; see the module docstring.

        Raises NoProviderAvailable (each provider and why), CallDeadlineExceeded (past `[router] call_timeout`),
        ContextLengthExceeded, or BudgetExceeded under the `block` policy.
        """
        call, plan = self._begin(
            task_type if type(task_type) is TaskType else TaskType(task_type), prompt, optimize_cost=optimize_cost,
            provider=provider, system=system, max_tokens=max_tokens, temperature=temperature, json_mode=json_mode,
            user_id=user_id, use_cache=use_cache,
        )  # fmt: skip
        return await self._dispatcher.run(call, plan, payload)

    def stream(
        self,
        task_type: TaskType | str,
        prompt: str,
        *,
        user_id: str = "anonymous",
        optimize_cost: bool = False,
        max_tokens: int = 1024,
        temperature: float = 0.2,
        system: str | None = None,
        payload: dict[str, Any] | None = None,
        provider: str | None = None,
        use_cache: bool = True,
    ) -> RouterStream:
        """Like generate, but yields text as it arrives. Falls back while nothing has been sent yet."""
        from core.routing.streaming import RouterStream

        call, plan = self._begin(
            TaskType(task_type), prompt, optimize_cost=optimize_cost, provider=provider, system=system,
            max_tokens=max_tokens, temperature=temperature, json_mode=False, user_id=user_id, use_cache=use_cache,
        )  # fmt: skip
        return RouterStream(self._dispatcher, call, plan, payload)

    # --- status and previews -------------------------------------------------------------------------------

    def provider_status(self) -> list[dict[str, Any]]:
        """One row per provider for the sidebar and settings page. Keys appear masked (last 4 at most)."""
        rows = []
        for name, ps in self.settings.providers.items():
            price = self.price(name)
            rows.append(
                {
                    "name": name,
                    "configured": ps.configured,
                    "model": ps.model,
                    "base_url": ps.base_url,
                    "key_hint": ps.api_key.masked() if ps.api_key else "",
                    "key_source": ps.key_source,
                    "cooling_down": round(self.health.cooling(name)),
                    "input_per_1k": price.input_per_1k,
                    "output_per_1k": price.output_per_1k,
                    "price_estimated": price.estimated,
                    "context_window": self.context_window(name),
                }
            )
        return rows

    def estimate(
        self, task_type: TaskType | str, prompt: str, *, max_tokens: int = 1024, system: str | None = None
    ) -> list[dict[str, Any]]:
        """Cost preview per configured provider, with no API call: tiktoken input + expected output at each price."""
        task = TaskType(task_type)
        expected_output = min(max_tokens, _EXPECTED_OUTPUT.get(task, max_tokens))
        rows = []
        counts: dict[str, TokenCount] = {}  # one count per encoding: most providers share cl100k_base
        for name in [*self.cost_ranking(), "local"]:
            ps = self.settings.providers[name]
            encoding = encoding_name_for(ps.model)
            if encoding not in counts:
                counts[encoding] = count_message_tokens(prompt, system, ps.model)
            counted = counts[encoding]
            price = self.price(name)
            rows.append(
                {
                    "provider": name,
                    "model": ps.model,
                    "input_tokens": counted.tokens,
                    "expected_output_tokens": expected_output,
                    "estimated_cost_usd": price.cost(counted.tokens, expected_output),
                    "worst_case_cost_usd": price.cost(counted.tokens, max_tokens),
                    "default_for_task": self.settings.task_routing.get(task) == name,
                    "price_estimated": price.estimated,
                    "tokens_estimated": counted.estimated,
                }
            )
        return rows

    async def test_connection(self, provider: str) -> AIResponse:
        """One small real call to `provider`, bypassing cache and fallback, so the user sees the true result.

        Reasoning models (o-series, gpt-5, grok-3-mini, gemini-2.5) count their reasoning in the output limit, so
        the limit leaves room for it; an answer cut at the limit still proves the key and the model work.
        """
        return await self.generate(
            TaskType.FAST_SUMMARY, "Reply with the single word: ok", provider=provider,
            max_tokens=TEST_CONNECTION_MAX_TOKENS, use_cache=False, user_id="settings-test",
        )  # fmt: skip

    async def aclose(self) -> None:
        for provider in list(self._providers.values()):
            await provider.aclose()


#: Typical output sizes per task for the cost preview (tokens).
_EXPECTED_OUTPUT: dict[TaskType, int] = {task: s.expected_output_tokens for task, s in TASKS.items()}


# --- process-wide routers ---------------------------------------------------------------------------------


def __getattr__(name: str) -> Any:
    """`core.router.RouterStream`, imported on first use (a router that never streams does not load it)."""
    if name == "RouterStream":
        from core.routing.streaming import RouterStream

        return RouterStream
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_model_router(session_keys: Mapping[str, str | None] | None = None) -> ModelRouter:
    """The process's router (from the composition root, core.services); with session-only keys typed in the UI, a
    router that shares its tracker, limits, cache and budget."""
    from core.services import get_services

    return get_services().session_router(session_keys)


def reset_model_router() -> None:
    """Re-read the settings (after the config file or a stored key changed) and rebuild the routers from them."""
    from core.services import reload

    reload()
