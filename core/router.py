"""The cost-aware model router: plan candidates → check limits, budget, cache → call → fall back → record.

Every AI call in CV Copilot goes through `ModelRouter.generate` (or `.stream`). A reader can follow one call here
from plan to provider to tracker; the pieces it uses (pricing, tokens, rate limits, budgets, cache, tracker) each
live in their own module.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from core.base import (
    AIResponse,
    Attempt,
    BudgetExceeded,
    CompletionRequest,
    ContextLengthExceeded,
    CVCopilotError,
    ErrorKind,
    NoProviderAvailable,
    ProviderError,
    ProviderResult,
    TaskType,
)
from core.budget import BudgetGuard, Reservation
from core.config import DEFAULT_CONTEXT_WINDOWS, FALLBACK_CONTEXT_WINDOW, Settings, get_settings
from core.pricing import FREE, ModelPrice, price_for, rank_by_cost
from core.providers.base import Provider
from core.tasks import TASKS
from core.tokens import TokenCount, count_message_tokens, count_tokens, encoding_name_for, upper_bound_tokens

if TYPE_CHECKING:
    from core.cache import ResponseCache
    from core.rate_limit import RateLimiter
    from core.usage_tracker import UsageTracker

log = logging.getLogger("cv_copilot.router")
T = TypeVar("T")

#: Cooldown multiplier for errors that retrying cannot fix soon.
_HARD_COOLDOWN = {ErrorKind.AUTH: 3600.0, ErrorKind.QUOTA_EXHAUSTED: 900.0}


@dataclass
class _Health:
    consecutive_failures: int = 0
    cooldown_until: float = 0.0
    last_error: str = ""


@dataclass
class _Candidate:
    name: str
    model: str
    price: ModelPrice
    reservation: Reservation | None = None
    cache_key: str | None = None
    hit: Mapping[str, Any] | None = None  # a cache hit: served without rate limit or budget, it costs nothing
    challenger: bool = False  # routed here as the challenger of an A/B traffic split


@dataclass(frozen=True)
class _Call:
    """The parameters of one generate/stream call that every candidate check needs."""

    task: TaskType
    prompt: str
    system: str | None
    max_tokens: int
    temperature: float
    json_mode: bool
    user_id: str
    use_cache: bool
    challenger: str | None = None  # the provider name, when this call was picked for the challenger

    def request(self, model: str, payload: dict[str, Any] | None) -> CompletionRequest:
        return CompletionRequest(
            prompt=self.prompt, model=model, task_type=self.task, system=self.system, max_tokens=self.max_tokens,
            temperature=self.temperature, json_mode=self.json_mode, payload=payload,
        )  # fmt: skip


def _only_too_long(attempts: list[Attempt]) -> bool:
    """True when the input was too long for every provider that could have answered."""
    too_long = [a for a in attempts if a.error_kind == ErrorKind.CONTEXT_LENGTH.value]
    others = [a for a in attempts if a.error_kind not in (None, ErrorKind.CONTEXT_LENGTH.value)]
    return bool(too_long) and not others


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
        self._health: dict[str, _Health] = {}
        self._ranking: list[str] | None = None  # settings are immutable, so the ranking is computed once
        self._budgets_set = self.settings.budgets.any_set
        self._lock = threading.RLock()

    # --- lazily built parts -------------------------------------------------------------------------------

    def _built(self, attr: str, factory: Callable[[], T]) -> T:
        """The part stored in `attr`, built once on first use (import cost and files only when needed)."""
        value = getattr(self, attr)
        if value is None:
            with self._lock:
                value = getattr(self, attr)
                if value is None:
                    value = factory()
                    setattr(self, attr, value)
        return value

    @property
    def tracker(self) -> UsageTracker:
        def build() -> UsageTracker:
            from core.usage_tracker import UsageTracker

            return UsageTracker(self.settings.db_path, retention_days=self.settings.retention_days)

        return self._built("_tracker", build)

    @property
    def limiter(self) -> RateLimiter:
        def build() -> RateLimiter:
            from core.rate_limit import InMemoryRateLimiter

            limits = {n: (p.rpm, p.tpm) for n, p in self.settings.providers.items() if n != "local"}
            return InMemoryRateLimiter({**limits, "local": (None, None)})

        return self._built("_limiter", build)

    @property
    def cache(self) -> ResponseCache:
        def build() -> ResponseCache:
            from core.cache import ResponseCache

            return ResponseCache(self.settings.db_path, ttl_seconds=self.settings.cache_ttl_seconds)

        return self._built("_cache", build)

    @property
    def budget(self) -> BudgetGuard:
        return self._built("_budget", lambda: BudgetGuard(self.settings.budgets, self._spend))

    def _spend(self, since_ts: float, user_id: str | None) -> float:
        return self.tracker.spend_usd(since_ts, user_id)

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
        if provider is not None:
            return [provider]
        ranked = self.cost_ranking()
        default = self.settings.task_routing.get(task_type)
        if not optimize_cost and default in ranked:
            ranked.remove(default)
            ranked.insert(0, default)
        return [*ranked, "local"]

    def _maybe_challenger(self, plan: list[str], forced: bool) -> tuple[list[str], bool]:
        challenger = self.settings.challenger_provider
        pct = self.settings.challenger_percent
        if forced or not challenger or pct <= 0 or challenger not in self.settings.configured_providers:
            return plan, False
        if (plan and plan[0] == challenger) or self._rng() * 100 >= pct:
            return plan, False
        return [challenger, *[p for p in plan if p != challenger]], True

    def _cooling(self, name: str) -> float:
        health = self._health.get(name)
        if health is None:
            return 0.0
        return max(0.0, health.cooldown_until - self._clock())

    def _note_failure(self, name: str, error: ProviderError) -> None:
        if error.kind == ErrorKind.CONTEXT_LENGTH:  # the input's fault, not the provider's
            return
        with self._lock:
            health = self._health.setdefault(name, _Health())
            health.consecutive_failures += 1
            health.last_error = error.kind.value
            now = self._clock()
            if error.kind in _HARD_COOLDOWN:
                health.cooldown_until = now + _HARD_COOLDOWN[error.kind]
            elif error.retry_after and error.retry_after > self.settings.retry_after_cap_seconds:
                health.cooldown_until = now + error.retry_after
            elif health.consecutive_failures >= self.settings.cooldown_failures:
                extra = health.consecutive_failures - self.settings.cooldown_failures
                health.cooldown_until = now + min(self.settings.cooldown_seconds * 2**extra, 3600.0)

    def _note_success(self, name: str) -> None:
        health = self._health.get(name)
        if health is not None and (health.consecutive_failures or health.cooldown_until):
            with self._lock:
                self._health[name] = _Health()

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
        """Answer `prompt` on the best available provider for `task_type`; see the module docstring."""
        call, plan = self._begin(
            TaskType(task_type), prompt, optimize_cost=optimize_cost, provider=provider, system=system,
            max_tokens=max_tokens, temperature=temperature, json_mode=json_mode, user_id=user_id, use_cache=use_cache,
        )  # fmt: skip
        attempts: list[Attempt] = []
        needs: list[int] = []
        for candidate in self._candidates(call, plan, attempts, needs):
            if candidate.hit is not None:
                return self._cached_response(call.task, candidate, candidate.hit, user_id, attempts)
            try:
                request = call.request(candidate.model, payload)
                response = await self._call_with_retries(candidate, request, user_id, attempts)
            finally:
                self.budget.settle(candidate.reservation)
            if response is not None:
                return response
        raise self._unanswered(call, plan, attempts, needs)

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
    ) -> tuple[_Call, list[str]]:
        """The call's parameters and its plan (with the challenger, when this call is picked for it)."""
        plan, challenger = self._maybe_challenger(
            self.plan(task, optimize_cost=optimize_cost, provider=provider), provider is not None
        )
        call = _Call(
            task, prompt, system, max_tokens, temperature, json_mode, user_id, use_cache,
            self.settings.challenger_provider if challenger else None,
        )  # fmt: skip
        return call, plan

    def _candidates(
        self, call: _Call, plan: list[str], attempts: list[Attempt], needs: list[int]
    ) -> Iterator[_Candidate]:
        """The plan's providers that pass their checks, in order; token counts too long for a window go to `needs`."""
        for name in plan:
            candidate = self._admit(name, call, attempts)
            if isinstance(candidate, int):
                needs.append(candidate)
            elif candidate is not None:
                yield candidate

    def _unanswered(self, call: _Call, plan: list[str], attempts: list[Attempt], needs: list[int]) -> CVCopilotError:
        """The error for a call no provider answered: too long everywhere, or each provider's reason."""
        if _only_too_long(attempts):
            counted = count_message_tokens(call.prompt, call.system, self.settings.providers[plan[-1]].model).tokens
            return ContextLengthExceeded(max([*needs, counted + call.max_tokens]), max(self._window(n) for n in plan))
        return NoProviderAvailable(call.task, attempts)

    def _window(self, name: str) -> int:
        ps = self.settings.providers[name]
        return context_window_for(ps.model, ps.context_window)

    def _admit(self, name: str, call: _Call, attempts: list[Attempt]) -> _Candidate | int | None:
        """Check one candidate: configured, cooldown, context window, cache, rate limit, budget.

        A cache hit is served before the rate limit and the budget: it costs nothing and calls nobody.
        Skips are kept as attempts; an int is the token count that did not fit the context window.
        """
        settings = self.settings
        ps = settings.providers.get(name)
        if ps is None or not ps.configured:
            attempts.append(Attempt(name, ps.model if ps else "", "skipped", "not configured (no API key)"))
            return None
        waiting = self._cooling(name)
        if waiting > 0:
            health = self._health.get(name)
            why = health.last_error if health else "errors"
            attempts.append(
                Attempt(name, ps.model, "skipped", f"cooling down after {why}; try again in {waiting:.0f} s")
            )
            return None
        window = self._window(name)
        input_tokens: int | None = None
        if upper_bound_tokens(call.prompt) + upper_bound_tokens(call.system or "") + call.max_tokens > window:
            input_tokens = count_message_tokens(call.prompt, call.system, ps.model).tokens
            if input_tokens + call.max_tokens > window:
                attempts.append(
                    Attempt(
                        name, ps.model, "skipped",
                        f"too long: needs {input_tokens + call.max_tokens:,} tokens, context window is {window:,}",
                        error_kind=ErrorKind.CONTEXT_LENGTH.value,
                    )
                )  # fmt: skip
                return input_tokens + call.max_tokens
        price = self.price(name)
        candidate = _Candidate(name, ps.model, price, challenger=name == call.challenger)
        if call.use_cache and settings.cache_enabled and name != "local":
            candidate.cache_key = self._cache_key(candidate, call)
            candidate.hit = self.cache.get(candidate.cache_key)
            if candidate.hit is not None:
                return candidate
        needs_count = ps.tpm is not None or (self._budgets_set and price is not FREE)
        if needs_count and input_tokens is None:
            input_tokens = count_message_tokens(call.prompt, call.system, ps.model).tokens
        wait = self.limiter.acquire(name, call.user_id, (input_tokens or 0) + call.max_tokens if ps.tpm else 0)
        if wait > 0:
            attempts.append(
                Attempt(
                    name, ps.model, "skipped", f"rate-limited; try again in {wait:.1f} s", ErrorKind.RATE_LIMITED.value
                )
            )
            return None
        if self._budgets_set and price is not FREE:
            estimate = price.cost(input_tokens or 0, call.max_tokens)
            try:
                candidate.reservation = self.budget.reserve(call.user_id, estimate)
            except BudgetExceeded as exc:
                if settings.budgets.policy == "block":
                    raise
                attempts.append(Attempt(name, ps.model, "skipped", f"over budget ({exc.scope}); downgrading"))
                return None
        return candidate

    def _cache_key(self, c: _Candidate, call: _Call) -> str:
        from core.cache import ResponseCache

        return ResponseCache.make_key(
            c.name, c.model, call.prompt, system=call.system, max_tokens=call.max_tokens,
            temperature=call.temperature, json_mode=call.json_mode, extra={"task": call.task.value},
        )  # fmt: skip

    async def _call_with_retries(
        self,
        candidate: _Candidate,
        request: CompletionRequest,
        user_id: str,
        attempts: list[Attempt],
    ) -> AIResponse | None:
        provider = self.provider(candidate.name)
        for retry in range(self.settings.max_retries + 1):
            started = time.perf_counter()
            try:
                result = await provider.complete(request)
            except ProviderError as error:
                latency = (time.perf_counter() - started) * 1000
                self._record_failure(request.task_type, candidate, error, latency, user_id, attempts)
                wait = self._retry_wait(error, retry)
                if wait is not None:
                    await self._sleep(wait)
                    continue
                return None
            latency = (time.perf_counter() - started) * 1000
            return self._success(request, candidate, result, latency, user_id, attempts)
        return None

    def _retry_wait(self, error: ProviderError, retry: int) -> float | None:
        """Seconds to wait before retrying the same provider, or None to fall back now.

        Only a rate limit is worth waiting for: its Retry-After when short enough, else an exponential backoff
        (0.5 s, 1 s, …) within the same bound. Timeouts and 5xx fall back at once: another provider is the faster cure.
        """
        cap = self.settings.retry_after_cap_seconds
        if retry >= self.settings.max_retries or error.kind != ErrorKind.RATE_LIMITED:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= cap else None
        return min(0.5 * 2**retry, cap)

    def _baseline_cost(self, task: TaskType, input_tokens: int, output_tokens: int) -> float:
        default = self.settings.task_routing.get(task)
        if default is None or default not in self.settings.providers:
            return 0.0
        return self.price(default).cost(input_tokens, output_tokens)

    def _success(
        self,
        request: CompletionRequest,
        candidate: _Candidate,
        result: ProviderResult,
        latency_ms: float,
        user_id: str,
        attempts: list[Attempt],
    ) -> AIResponse:
        estimated = result.input_tokens is None or result.output_tokens is None
        input_tokens = result.input_tokens
        if input_tokens is None:
            input_tokens = count_message_tokens(request.prompt, request.system, candidate.model).tokens
        output_tokens = result.output_tokens
        if output_tokens is None:
            output_tokens = count_tokens(result.content, candidate.model).tokens
        cost = candidate.price.cost(input_tokens, output_tokens)
        attempts.append(Attempt(candidate.name, result.model or candidate.model, "ok", latency_ms=latency_ms))
        response = AIResponse(
            content=result.content,
            provider=candidate.name,
            model=result.model or candidate.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            latency_ms=latency_ms,
            task_type=request.task_type,
            tokens_estimated=estimated,
            price_estimated=candidate.price.estimated,
            challenger=candidate.challenger,
            attempts=attempts,
        )
        self._note_success(candidate.name)
        self._record(response, user_id, success=True)
        if candidate.cache_key is not None and result.content:
            try:
                self.cache.put(
                    candidate.cache_key, content=result.content, input_tokens=input_tokens,
                    output_tokens=output_tokens, cost_usd=cost, model=response.model,
                )  # fmt: skip
            except Exception:
                log.warning("response cache write failed", exc_info=True)
        return response

    def _cached_response(
        self,
        task: TaskType,
        candidate: _Candidate,
        hit: Mapping[str, Any],
        user_id: str,
        attempts: list[Attempt],
    ) -> AIResponse:
        attempts.append(Attempt(candidate.name, candidate.model, "ok", "cache hit"))
        response = AIResponse(
            content=hit["content"],
            provider=candidate.name,
            model=hit.get("model") or candidate.model,
            input_tokens=int(hit.get("input_tokens", 0)),
            output_tokens=int(hit.get("output_tokens", 0)),
            cost_usd=0.0,
            latency_ms=0.0,
            cached=True,
            task_type=task,
            saved_cost_usd=float(hit.get("cost_usd", 0.0)),
            price_estimated=candidate.price.estimated,
            challenger=candidate.challenger,
            attempts=attempts,
        )
        self._record(response, user_id, success=True)
        return response

    def _record_failure(
        self,
        task: TaskType,
        candidate: _Candidate,
        error: ProviderError,
        latency_ms: float,
        user_id: str,
        attempts: list[Attempt],
    ) -> None:
        log.info("provider %s failed for %s: %s", candidate.name, task.value, error.kind.value)
        reason = f"{error.kind.value}: {error.message}"[:300]
        if error.retry_after:
            reason += f"; try again in {error.retry_after:.1f} s"
        attempts.append(Attempt(candidate.name, candidate.model, "error", reason, error.kind.value, latency_ms))
        self._note_failure(candidate.name, error)
        self._safe_record(
            task_type=task.value, provider=candidate.name, model=candidate.model, input_tokens=0, output_tokens=0,
            cost_usd=0.0, success=False, user_id=user_id, latency_ms=latency_ms, error_kind=error.kind.value,
            fallback_chain=[a.provider for a in attempts if a.outcome != "skipped"], baseline_cost_usd=0.0,
            challenger=candidate.challenger,
        )  # fmt: skip

    def _record(self, response: AIResponse, user_id: str, *, success: bool) -> None:
        task = response.task_type or TaskType.FAST_SUMMARY
        baseline = self._baseline_cost(task, response.input_tokens, response.output_tokens)
        self._safe_record(
            task_type=task.value, provider=response.provider, model=response.model,
            input_tokens=response.input_tokens, output_tokens=response.output_tokens, cost_usd=response.cost_usd,
            success=success, user_id=user_id, latency_ms=response.latency_ms, cached=response.cached,
            fallback_chain=response.fallback_chain, baseline_cost_usd=baseline,
            saved_cost_usd=response.saved_cost_usd, tokens_estimated=response.tokens_estimated,
            price_estimated=response.price_estimated, challenger=response.challenger,
        )  # fmt: skip

    def _safe_record(self, **row: Any) -> None:
        try:
            self.tracker.record_usage(**row)
        except Exception:
            log.error("usage tracker write failed", exc_info=True)

    # --- streaming -----------------------------------------------------------------------------------------

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
        return RouterStream(
            self, TaskType(task_type), prompt, user_id=user_id, optimize_cost=optimize_cost, max_tokens=max_tokens,
            temperature=temperature, system=system, payload=payload, provider=provider, use_cache=use_cache,
        )  # fmt: skip

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
                    "cooling_down": round(self._cooling(name)),
                    "input_per_1k": price.input_per_1k,
                    "output_per_1k": price.output_per_1k,
                    "price_estimated": price.estimated,
                    "context_window": self._window(name),
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
        """One tiny real call to `provider`, bypassing cache and fallback, so the user sees the true result."""
        return await self.generate(
            TaskType.FAST_SUMMARY, "Reply with the single word: ok", provider=provider, max_tokens=5, use_cache=False,
            user_id="settings-test",
        )  # fmt: skip

    async def aclose(self) -> None:
        for provider in list(self._providers.values()):
            await provider.aclose()


#: Typical output sizes per task for the cost preview (tokens).
_EXPECTED_OUTPUT: dict[TaskType, int] = {task: s.expected_output_tokens for task, s in TASKS.items()}


class RouterStream:
    """An async iterator of text; `.response` holds the AIResponse once the stream has finished."""

    def __init__(self, router: ModelRouter, task: TaskType, prompt: str, **options: Any) -> None:
        self._router = router
        self._task = task
        self._prompt = prompt
        self._options = options
        self.response: AIResponse | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        r = self._router
        o = dict(self._options)
        payload = o.pop("payload")
        call, plan = r._begin(self._task, self._prompt, json_mode=False, **o)
        attempts: list[Attempt] = []
        needs: list[int] = []
        for candidate in r._candidates(call, plan, attempts, needs):
            if candidate.hit is not None:
                self.response = r._cached_response(self._task, candidate, candidate.hit, call.user_id, attempts)
                yield candidate.hit["content"]
                return
            try:
                sent_any = False
                async for piece in self._stream_one(candidate, call.request(candidate.model, payload), attempts):
                    sent_any = True
                    yield piece
                if self.response is not None or sent_any:
                    return
            finally:
                r.budget.settle(candidate.reservation)
        raise r._unanswered(call, plan, attempts, needs)

    async def _stream_one(
        self, candidate: _Candidate, request: CompletionRequest, attempts: list[Attempt]
    ) -> AsyncIterator[str]:
        r = self._router
        user_id = self._options["user_id"]
        started = time.perf_counter()
        parts: list[str] = []
        input_tokens = output_tokens = None
        model = candidate.model
        try:
            async for delta in r.provider(candidate.name).stream(request):
                if delta.input_tokens is not None:
                    input_tokens = delta.input_tokens
                if delta.output_tokens is not None:
                    output_tokens = delta.output_tokens
                if delta.model:
                    model = delta.model
                if delta.text:
                    parts.append(delta.text)
                    yield delta.text
        except ProviderError as error:
            latency = (time.perf_counter() - started) * 1000
            r._record_failure(self._task, candidate, error, latency, user_id, attempts)
            if parts:  # text already reached the user: say so instead of silently switching provider
                raise
            return
        latency = (time.perf_counter() - started) * 1000
        result = ProviderResult("".join(parts), model, input_tokens, output_tokens, "stop")
        self.response = r._success(request, candidate, result, latency, user_id, attempts)


# --- process-wide routers ---------------------------------------------------------------------------------

_default: ModelRouter | None = None
_default_env: tuple[tuple[str, str], ...] = ()
_session_routers: dict[str, ModelRouter] = {}
_lock = threading.Lock()
_ENV_PREFIXES = ("OPENAI_", "GEMINI_", "GOOGLE_API_KEY", "GROQ_", "GROK_", "XAI_", "CV_COPILOT_")
_ENV_PREFIXES += ("ANTHROPIC_", "OPENROUTER_", "MISTRAL_", "DEEPSEEK_")  # the catalogue's newer providers


def _env_fingerprint() -> tuple[tuple[str, str], ...]:
    """The environment the settings were read from: keys, base URLs, models, DB path and config path."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)))


def get_model_router(session_keys: Mapping[str, str | None] | None = None) -> ModelRouter:
    """The shared router; with session-only keys (typed in the UI), a router that shares its tracker and limits.

    It is rebuilt when the provider environment changes (a key or base URL set after the first call).
    """
    global _default, _default_env
    with _lock:
        env = _env_fingerprint()
        if _default is None or env != _default_env:
            from core.config import reload_settings

            _session_routers.clear()
            _default, _default_env = ModelRouter(reload_settings()), env
        keys = {k: v for k, v in (session_keys or {}).items() if v}
        if not keys:
            return _default
        fingerprint = hashlib.sha256(repr(sorted(keys.items())).encode()).hexdigest()
        router = _session_routers.get(fingerprint)
        if router is None:
            router = ModelRouter(
                _default.settings.with_keys(keys), tracker=_default.tracker, limiter=_default.limiter,
                cache=_default.cache, budget=_default.budget,
            )  # fmt: skip
            _session_routers[fingerprint] = router
        return router


def reset_model_router() -> None:
    """Forget the routers, e.g. after settings change; the next call rebuilds them from fresh settings."""
    global _default
    from core.config import reload_settings

    with _lock:
        _default = None
        _session_routers.clear()
    reload_settings()


def _reset_for_tests() -> None:
    global _default
    with _lock:
        _default = None
        _session_routers.clear()
