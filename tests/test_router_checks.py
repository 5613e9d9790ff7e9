"""The router's pre-call checks (core/routing/checks): each admits or returns a typed skip, in a fixed order; a
refusal never holds a rate-limit slot or a budget reservation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.base import Attempt, NoProviderAvailable, TaskType
from core.budget import BudgetGuard
from core.config import load_settings
from core.rate_limit import InMemoryRateLimiter
from core.router import ModelRouter
from core.routing import checks
from core.routing.checks import budget, cache, configured, context_window, cooldown, rate_limit
from core.routing.health import HealthBook
from core.routing.types import Call, Candidate, Skip, SkipKind
from core.usage_tracker import UsageTracker
from tests.fakes import openai_handler

KEY = {"OPENAI_API_KEY": "sk-openai-test-key-0001"}
PRICE = '[prices."gpt-4o"]\ninput = 0.01\noutput = 0.03\n'
NOON = datetime(2024, 3, 15, 12, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings_for(tmp_path: Path, config: str = "", keys: dict[str, str] | None = None) -> Any:
    path = tmp_path / "cv_copilot.toml"
    path.write_text(PRICE + config, encoding="utf-8")
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "usage.db"), **(KEY if keys is None else keys)}
    return load_settings(env=env, config_path=path)


def router_for(tmp_path: Path, config: str, clock: Clock, fake: Any = None) -> ModelRouter:
    settings = settings_for(tmp_path, config)
    tracker = UsageTracker(settings.db_path, clock=clock)
    return ModelRouter(
        settings, tracker=tracker, budget=BudgetGuard(settings.budgets, tracker.spend_usd, clock=clock),
        transport=httpx.MockTransport(fake or openai_handler("answer from openai")),
    )  # fmt: skip


def spend(router: ModelRouter, usd: float, user: str, ts: float) -> None:
    router.tracker.record_usage(
        task_type="cv_tailoring", provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1, cost_usd=usd,
        success=True, user_id=user, ts=ts,
    )  # fmt: skip


def generate(router: ModelRouter, **kw: Any) -> Any:
    return asyncio.run(router.generate(TaskType.CV_TAILORING, "Tailor this CV to the job.", **kw))


# --- bug 2: a budget refusal leaves the rate-limit window untouched ------------------------------------------------


def test_a_budget_refusal_takes_no_rate_limit_slot(tmp_path: Path) -> None:
    clock = Clock(NOON)
    router = router_for(tmp_path, "[budgets]\nuser_daily_usd = 0.05\n[providers.openai]\nrpm = 1\n", clock)
    spend(router, 0.05, "ann", NOON - 60)  # today's budget is spent
    refused = generate(router, user_id="ann", max_tokens=100)
    assert ("local", "over budget (user daily); downgrading") == (refused.provider, refused.attempts[0].reason)
    clock.now += 86400  # tomorrow: the budget allows, and (real time) well within the limiter's 60 s window
    allowed = generate(router, user_id="ann", max_tokens=100)
    assert ("openai", ["ok"]) == (allowed.provider, [a.outcome for a in allowed.attempts])


def test_a_budget_refusal_under_block_takes_no_rate_limit_slot(tmp_path: Path) -> None:
    clock = Clock(NOON)
    config = "[budgets]\npolicy = 'block'\nuser_daily_usd = 0.05\n[providers.openai]\nrpm = 1\n"
    router = router_for(tmp_path, config, clock)
    spend(router, 0.05, "ann", NOON - 60)
    with pytest.raises(Exception, match="budget reached"):
        generate(router, user_id="ann", max_tokens=100)
    clock.now += 86400
    assert "openai" == generate(router, user_id="ann", max_tokens=100).provider


def test_a_rate_limit_refusal_releases_the_budget_reservation(tmp_path: Path) -> None:
    clock = Clock(NOON)
    router = router_for(tmp_path, "[budgets]\nuser_daily_usd = 5\n[providers.openai]\nrpm = 1\n", clock)
    assert "openai" == generate(router, user_id="bob", max_tokens=100, use_cache=False).provider
    second = generate(router, user_id="bob", max_tokens=100, use_cache=False)
    assert ("local", "rate_limited") == (second.provider, second.attempts[0].error_kind)
    assert 0.0 == router.budget.status("bob")[0].reserved_usd


# --- each check on its own: admitted, or a typed skip ----------------------------------------------------------


class Parts:
    """The router parts the checks read, each a real object on tmp files."""

    def __init__(self, tmp_path: Path, config: str = "", keys: dict[str, str] | None = None) -> None:
        self.settings = settings_for(tmp_path, config, keys)
        self.clock = Clock(1000.0)
        self.health = HealthBook(self.settings, self.clock)
        self.limiter = InMemoryRateLimiter({"openai": (self.settings.providers["openai"].rpm, None)})
        tracker = UsageTracker(self.settings.db_path)
        self.budget = BudgetGuard(self.settings.budgets, tracker.spend_usd)
        from core.cache import ResponseCache

        self.cache = ResponseCache(self.settings.db_path)
        self.window = 128_000

    def context_window(self, name: str) -> int:
        return self.window

    def candidate(self, name: str = "openai") -> Candidate:
        from core.pricing import price_for

        ps = self.settings.providers[name]
        return Candidate(name, ps, price_for(name, ps.model, overrides=self.settings.price_overrides))


def call(prompt: str = "Tailor this CV.", max_tokens: int = 100, **kw: Any) -> Call:
    defaults: dict[str, Any] = {"system": None, "temperature": 0.2, "json_mode": False, "user_id": "u"}
    defaults["use_cache"] = True
    defaults.update(kw)
    return Call(TaskType.CV_TAILORING, prompt, max_tokens=max_tokens, **defaults)


def test_the_checks_run_in_the_documented_order() -> None:
    assert (
        configured.check, cooldown.check, context_window.check, cache.check, budget.check, rate_limit.check
    ) == checks.CHECKS  # fmt: skip


def test_every_check_admits_a_healthy_configured_provider(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    verdicts = [check(parts, call(), parts.candidate()) for check in checks.CHECKS]
    assert [None] * 6 == verdicts


def test_configured_skips_a_provider_with_no_key(tmp_path: Path) -> None:
    parts = Parts(tmp_path, keys={})
    skip = configured.check(parts, call(), parts.candidate())
    assert Skip("not configured (no API key)", SkipKind.NOT_CONFIGURED) == skip


def test_cooldown_skip_says_when_to_try_again(tmp_path: Path) -> None:
    from core.base import ErrorKind

    parts = Parts(tmp_path)
    parts.health.failed("openai", ErrorKind.AUTH)
    skip = cooldown.check(parts, call(), parts.candidate())
    assert (SkipKind.COOLING_DOWN, 3600.0, "cooling down after auth; try again in 3600 s") == (
        skip.kind, skip.retry_after, skip.reason
    )  # fmt: skip
    parts.clock.now += 3600
    assert cooldown.check(parts, call(), parts.candidate()) is None


def test_context_window_skip_carries_the_tokens_needed(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    parts.window = 300
    candidate = parts.candidate()
    skip = context_window.check(parts, call("word " * 400, max_tokens=100), candidate)
    assert (SkipKind.CONTEXT_LENGTH, candidate.input_tokens + 100) == (skip.kind, skip.tokens_needed)
    assert skip.tokens_needed > 400


def test_cache_check_finds_a_stored_answer(tmp_path: Path) -> None:
    parts = Parts(tmp_path)
    first = parts.candidate()
    assert cache.check(parts, call(), first) is None and first.hit is None
    parts.cache.put(first.cache_key, content="cached", input_tokens=1, output_tokens=1, cost_usd=0.1, model="gpt-4o")
    second = parts.candidate()
    assert (None, "cached") == (cache.check(parts, call(), second), second.hit["content"])


def test_budget_skip_under_downgrade_and_raise_under_block(tmp_path: Path) -> None:
    parts = Parts(tmp_path, "[budgets]\nuser_daily_usd = 0.0001\n")
    skip = budget.check(parts, call(), parts.candidate())
    assert (SkipKind.OVER_BUDGET, None) == (skip.kind, skip.retry_after)
    blocking = Parts(tmp_path, "[budgets]\npolicy = 'block'\nuser_daily_usd = 0.0001\n")
    with pytest.raises(Exception, match="budget reached"):
        budget.check(blocking, call(), blocking.candidate())


LONG = "Tailor this CV to the job, keeping every date. " * 40  # 1,960 UTF-8 bytes, far fewer tokens


@pytest.mark.parametrize(
    ("daily", "held_tokens", "counted"),
    [
        (5.0, len(LONG) + 6, False),  # room for the byte bound: held without a tiktoken count
        ("exact", None, True),  # room for the exact worst case only: counted, then held exactly
    ],
)
def test_budget_holds_the_byte_bound_when_it_fits_else_the_counted_worst_case(
    tmp_path: Path, daily: Any, held_tokens: int | None, counted: bool
) -> None:
    from core.tokens import count_message_tokens

    exact = count_message_tokens(LONG, None, "gpt-4o").tokens
    assert exact < len(LONG) // 3  # the bound is far above the count, so the second case tells them apart
    exact_usd = exact * 0.01 / 1000 + 100 * 0.03 / 1000
    limit = exact_usd + 1e-9 if daily == "exact" else daily
    parts = Parts(tmp_path, f"[budgets]\nuser_daily_usd = {limit!r}\n")
    candidate = parts.candidate()
    assert budget.check(parts, call(LONG), candidate) is None
    tokens = exact if held_tokens is None else held_tokens
    assert candidate.reservation is not None
    expected = (pytest.approx(tokens * 0.01 / 1000 + 100 * 0.03 / 1000), counted)
    assert expected == (candidate.reservation.amount_usd, candidate.input_tokens is not None)


def test_rate_limit_skip_has_a_retry_after(tmp_path: Path) -> None:
    parts = Parts(tmp_path, "[providers.openai]\nrpm = 1\n")
    assert rate_limit.check(parts, call(), parts.candidate()) is None
    skip = rate_limit.check(parts, call(), parts.candidate())
    assert (SkipKind.RATE_LIMITED, True) == (skip.kind, 59 < skip.retry_after <= 60)


def test_admit_releases_the_reservation_when_a_later_check_refuses(tmp_path: Path) -> None:
    parts = Parts(tmp_path, "[budgets]\nuser_daily_usd = 5\n[providers.openai]\nrpm = 1\n")
    first = parts.candidate()
    assert checks.admit(parts, call(use_cache=False), first) is None
    second = parts.candidate()
    skip = checks.admit(parts, call(use_cache=False), second)
    assert (SkipKind.RATE_LIMITED, None) == (skip.kind, second.reservation)
    assert pytest.approx(first.reservation.amount_usd) == parts.budget.status("u")[0].reserved_usd  # first's only


# --- retry_after travels typed, not through the message ------------------------------------------------------


@pytest.mark.parametrize(
    ("waits", "expected"),
    [([12.0, 3.5], 3.5), ([None, 7.0], 7.0), ([None, None], None)],
)
def test_no_provider_available_retry_after_comes_from_the_attempts(waits: list[Any], expected: Any) -> None:
    attempts = [Attempt(f"p{i}", "m", "skipped", "busy", "rate_limited", retry_after=w) for i, w in enumerate(waits)]
    assert expected == NoProviderAvailable(TaskType.FAST_SUMMARY, attempts).retry_after


def test_the_all_rate_limited_hint_uses_the_typed_wait() -> None:
    attempts = [Attempt("groq", "m", "skipped", "rate-limited", "rate_limited", retry_after=41.2)]
    assert "All providers are rate-limited; try again in 41 s." in str(NoProviderAvailable("fast_summary", attempts))
