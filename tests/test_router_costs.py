"""Cost controls inside the router: budgets (both policies, under concurrency), the response cache, challenger
routing, and the cost preview's figures."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.base import AIResponse, BudgetExceeded, NoProviderAvailable, TaskType
from core.budget import BudgetGuard
from core.cache import ResponseCache
from core.config import Settings, load_settings
from core.router import ModelRouter
from core.tokens import count_message_tokens
from core.usage_tracker import UsageTracker
from tests.fakes import FakeHandler, openai_handler

OPENAI_IN, OPENAI_OUT = 0.01, 0.03  # USD per 1K tokens, set as price overrides so the figures are exact
GROQ_IN, GROQ_OUT = 0.001, 0.002
PRICES = f"""
[prices."gpt-4o"]
input = {OPENAI_IN}
output = {OPENAI_OUT}
[prices."llama-3.1-8b-instant"]
input = {GROQ_IN}
output = {GROQ_OUT}
"""
KEYS = {"OPENAI_API_KEY": "sk-openai-test-key-0001", "GROQ_API_KEY": "gsk-groq-test-key-0003"}
HOSTS = {"api.openai.com": "openai", "api.groq.com": "groq"}
PROMPT = "Tailor this CV to the job: Python developer, five years, Django and PostgreSQL."
NOON = datetime(2024, 3, 15, 12, 0, tzinfo=UTC).timestamp()


class Fleet:
    """One OpenAI-format fake per provider, by host; an optional delay makes concurrent calls overlap."""

    def __init__(self, delay: float = 0.0) -> None:
        self.fakes: dict[str, FakeHandler] = {name: openai_handler(f"answer from {name}") for name in HOSTS.values()}
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self.fakes[HOSTS[request.url.host]](request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def calls(self, name: str) -> int:
        return len(self.fakes[name].requests)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings_for(tmp_path: Path, config: str = "", keys: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "cv_copilot.toml"
    path.write_text(PRICES + config, encoding="utf-8")
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "usage.db"), **(KEYS if keys is None else keys)}
    return load_settings(env=env, config_path=path)


def make_router(
    tmp_path: Path, config: str = "", *, fleet: Fleet | None = None, clock: Clock | None = None, **kwargs: Any
) -> ModelRouter:
    """A router on fakes; with `clock`, the tracker, budget and cache all read that clock."""
    settings = settings_for(tmp_path, config, kwargs.pop("keys", None))
    if clock is not None:
        tracker = UsageTracker(settings.db_path, clock=clock)
        kwargs.setdefault("tracker", tracker)
        kwargs.setdefault("budget", BudgetGuard(settings.budgets, tracker.spend_usd, clock=clock))
        kwargs.setdefault("cache", ResponseCache(settings.db_path, ttl_seconds=settings.cache_ttl_seconds, clock=clock))
    return ModelRouter(settings, transport=httpx.MockTransport(fleet or Fleet()), **kwargs)


def generate(
    router: ModelRouter, task: TaskType = TaskType.CV_TAILORING, prompt: str = PROMPT, **kw: Any
) -> AIResponse:
    return asyncio.run(router.generate(task, prompt, **kw))


def stream(router: ModelRouter, task: TaskType = TaskType.CV_TAILORING, prompt: str = PROMPT, **kw: Any):
    async def run() -> tuple[list[str], AIResponse | None]:
        s = router.stream(task, prompt, **kw)
        pieces = [piece async for piece in s]
        return pieces, s.response

    return asyncio.run(run())


def worst_case(provider: str, max_tokens: int, prompt: str = PROMPT) -> float:
    model = {"openai": "gpt-4o", "groq": "llama-3.1-8b-instant"}[provider]
    tokens = count_message_tokens(prompt, None, model).tokens
    price_in, price_out = {"openai": (OPENAI_IN, OPENAI_OUT), "groq": (GROQ_IN, GROQ_OUT)}[provider]
    return tokens / 1000 * price_in + max_tokens / 1000 * price_out


def honest_fleet(max_tokens: int, delay: float = 0.0) -> Fleet:
    """Fakes that bill every call at exactly its worst case (tiktoken input, max_tokens output)."""
    fleet = Fleet(delay)
    for name, model in (("openai", "gpt-4o"), ("groq", "llama-3.1-8b-instant")):
        fleet.fakes[name].script.input_tokens = count_message_tokens(PROMPT, None, model).tokens
        fleet.fakes[name].script.output_tokens = max_tokens
    return fleet


# --- budgets: downgrade ---------------------------------------------------------------------------------------


def test_downgrade_goes_to_a_cheaper_provider_that_fits(tmp_path: Path) -> None:
    # openai's worst case (~$0.03) does not fit $0.01; groq's (~$0.002) does
    fleet = Fleet()
    router = make_router(tmp_path, "[budgets]\nuser_daily_usd = 0.01\n", fleet=fleet)
    response = generate(router, max_tokens=1000)
    assert ("groq", 0, 1) == (response.provider, fleet.calls("openai"), fleet.calls("groq"))
    skipped = [a for a in response.attempts if a.outcome == "skipped"]
    assert [("openai", "over budget (user daily); downgrading")] == [(a.provider, a.reason) for a in skipped]


def test_downgrade_ends_at_the_free_local_engine(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, "[budgets]\nglobal_daily_usd = 0.001\n", fleet=fleet)
    response = generate(router, max_tokens=1000)
    assert ("local", 0.0, 0) == (response.provider, response.cost_usd, fleet.calls("openai") + fleet.calls("groq"))
    assert ["openai", "groq"] == [a.provider for a in response.attempts if a.outcome == "skipped"]


def test_downgrade_counts_spend_already_recorded(tmp_path: Path) -> None:
    clock = Clock(NOON)
    router = make_router(tmp_path, "[budgets]\nuser_daily_usd = 1.0\n", clock=clock)
    router.tracker.record_usage(
        task_type="cv_tailoring", provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1, cost_usd=0.98,
        success=True, user_id="ann",
    )  # fmt: skip
    assert "groq" == generate(router, max_tokens=1000, user_id="ann").provider
    assert "openai" == generate(router, max_tokens=1000, user_id="bob").provider  # bob's budget is untouched


def test_daily_budget_rolls_over_at_utc_midnight_in_the_router(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 3, 15, 23, 59, tzinfo=UTC).timestamp())
    router = make_router(tmp_path, "[budgets]\nuser_daily_usd = 0.05\n", clock=clock)
    assert "openai" == generate(router, max_tokens=1000).provider  # worst case ~$0.03 fits in $0.05
    router.tracker.record_usage(
        task_type="cv_tailoring", provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1, cost_usd=0.04,
        success=True, user_id="anonymous",
    )  # fmt: skip
    assert "groq" == generate(router, prompt=PROMPT + " (2)", max_tokens=1000).provider
    clock.now = datetime(2024, 3, 16, 0, 0, 1, tzinfo=UTC).timestamp()
    assert "openai" == generate(router, prompt=PROMPT + " (3)", max_tokens=1000).provider


def test_reservation_is_settled_and_the_real_cost_recorded(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.fakes["openai"].script.input_tokens, fleet.fakes["openai"].script.output_tokens = 200, 100
    router = make_router(tmp_path, "[budgets]\nuser_daily_usd = 5\n", fleet=fleet, clock=Clock(NOON))
    response = generate(router, max_tokens=1000)
    expected = 200 / 1000 * OPENAI_IN + 100 / 1000 * OPENAI_OUT
    line = router.budget.status("anonymous")[0]
    assert (pytest.approx(expected), pytest.approx(expected), 0.0) == (
        response.cost_usd,
        line.spent_usd,
        line.reserved_usd,
    )


def test_reservation_is_settled_when_every_provider_fails(tmp_path: Path) -> None:
    fleet = Fleet()
    for fake in fleet.fakes.values():
        fake.script.status = 500
    router = make_router(tmp_path, "[budgets]\nuser_daily_usd = 5\n", fleet=fleet, clock=Clock(NOON))
    generate(router, max_tokens=100)  # answered by local after both fail
    assert 0.0 == router.budget.status("anonymous")[0].reserved_usd


# --- budgets: block -----------------------------------------------------------------------------------------------


def test_block_raises_with_spent_limit_and_reset_time(tmp_path: Path) -> None:
    fleet = Fleet()
    config = "[budgets]\npolicy = 'block'\nuser_daily_usd = 0.5\n"
    router = make_router(tmp_path, config, fleet=fleet, clock=Clock(NOON))
    router.tracker.record_usage(
        task_type="cover_letter", provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1, cost_usd=0.49,
        success=True, user_id="ann",
    )  # fmt: skip
    with pytest.raises(BudgetExceeded) as caught:
        generate(router, max_tokens=1000, user_id="ann")
    exc = caught.value
    assert ("user daily", pytest.approx(0.49), 0.5, "2024-03-16 00:00 UTC") == (
        exc.scope,
        exc.spent_usd,
        exc.limit_usd,
        exc.resets_at,
    )
    assert pytest.approx(worst_case("openai", 1000)) == exc.estimate_usd
    assert 0 == fleet.calls("openai") + fleet.calls("groq")  # blocked before any request
    assert 0.0 == router.budget.status("ann")[0].reserved_usd


def test_block_still_lets_free_local_calls_through(tmp_path: Path) -> None:
    config = "[budgets]\npolicy = 'block'\nuser_daily_usd = 0.0001\n"
    router = make_router(tmp_path, config, clock=Clock(NOON))
    assert ("local", 0.0) == (lambda r: (r.provider, r.cost_usd))(generate(router, provider="local"))


def test_block_applies_to_streams(tmp_path: Path) -> None:
    router = make_router(tmp_path, "[budgets]\npolicy = 'block'\nglobal_daily_usd = 0.001\n", clock=Clock(NOON))
    with pytest.raises(BudgetExceeded):
        stream(router, max_tokens=1000)


# --- budgets under concurrency --------------------------------------------------------------------------------

MAX_TOKENS = 1000
CALLS = 20


def _concurrency_config(policy: str, fits: float) -> tuple[str, float]:
    limit = worst_case("openai", MAX_TOKENS) * fits
    return f"[budgets]\npolicy = '{policy}'\nglobal_daily_usd = {limit!r}\n", limit


def _outcomes(results: list[Any]) -> tuple[list[AIResponse], list[BaseException]]:
    answered = [r for r in results if isinstance(r, AIResponse)]
    failed = [r for r in results if isinstance(r, BaseException)]
    return answered, failed


@pytest.mark.parametrize("policy", ["block", "downgrade"])
def test_twenty_concurrent_calls_do_not_overshoot_the_budget_asyncio(tmp_path: Path, policy: str) -> None:
    config, limit = _concurrency_config(policy, 3.5)  # room for 3 worst cases, plus half of one
    fleet = honest_fleet(MAX_TOKENS, delay=0.05)
    router = make_router(tmp_path, config, fleet=fleet, keys={"OPENAI_API_KEY": KEYS["OPENAI_API_KEY"]})

    async def many() -> list[Any]:
        calls = [router.generate(TaskType.CV_TAILORING, PROMPT, max_tokens=MAX_TOKENS) for _ in range(CALLS)]
        return await asyncio.gather(*calls, return_exceptions=True)

    answered, failed = _outcomes(asyncio.run(many()))
    spent = router.tracker.spend_usd(0.0)
    assert spent <= limit + worst_case("openai", MAX_TOKENS)
    assert (3, 3) == (fleet.calls("openai"), fleet.most_in_flight)  # the three that fit ran side by side
    if policy == "block":
        assert (3, CALLS - 3) == (len(answered), len(failed))
        assert all(isinstance(f, BudgetExceeded) for f in failed)
    else:
        assert ([], CALLS - 3) == (failed, sum(r.provider == "local" for r in answered))
    assert 0.0 == sum(line.reserved_usd for line in router.budget.status("anonymous"))


@pytest.mark.parametrize("policy", ["block", "downgrade"])
def test_twenty_threads_do_not_overshoot_the_budget(tmp_path: Path, policy: str) -> None:
    config, limit = _concurrency_config(policy, 4.5)
    fleet = honest_fleet(MAX_TOKENS, delay=0.05)
    router = make_router(tmp_path, config, fleet=fleet, keys={"OPENAI_API_KEY": KEYS["OPENAI_API_KEY"]})
    start = threading.Barrier(CALLS)
    results: list[Any] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        start.wait()
        try:
            outcome: Any = generate(router, prompt=f"{PROMPT} [{i}]", max_tokens=MAX_TOKENS, user_id=f"user{i}")
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CALLS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered, failed = _outcomes(results)
    assert router.tracker.spend_usd(0.0) <= limit + worst_case("openai", MAX_TOKENS)
    assert 4 == fleet.calls("openai")
    if policy == "block":
        assert (4, CALLS - 4) == (len(answered), len(failed))
        assert all(isinstance(f, BudgetExceeded) for f in failed)
    else:
        assert ([], CALLS - 4) == (failed, sum(r.provider == "local" for r in answered))


# --- cache ----------------------------------------------------------------------------------------------------


def test_cache_miss_then_hit_recorded_as_cached_with_saved_cost(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    first = generate(router)
    second = generate(router)
    assert (False, True) == (first.cached, second.cached)
    assert 1 == fleet.calls("openai")
    assert (first.content, first.provider, first.model) == (second.content, second.provider, second.model)
    assert (0.0, pytest.approx(first.cost_usd), 0.0) == (second.cost_usd, second.saved_cost_usd, second.latency_ms)
    assert (first.input_tokens, first.output_tokens) == (second.input_tokens, second.output_tokens)
    rows = router.tracker.recent_calls()  # newest first
    assert [(True, 0.0, pytest.approx(first.cost_usd)), (False, pytest.approx(first.cost_usd), 0.0)] == [
        (r["cached"], r["cost_usd"], r["saved_cost_usd"]) for r in rows
    ]
    assert pytest.approx(first.cost_usd, abs=1e-6) == router.tracker.savings(None)["saved_by_cache_usd"]


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": PROMPT + " "},
        {"max_tokens": 999},
        {"system": "Be brief."},
        {"task": TaskType.COVER_LETTER},
        {"user_id": "bob", "provider": "groq"},
    ],
)
def test_cache_misses_when_anything_that_matters_changes(tmp_path: Path, change: dict[str, Any]) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    generate(router, provider=change.get("provider", "openai"), max_tokens=1000)
    options = {"prompt": PROMPT, "max_tokens": 1000, "task": TaskType.CV_TAILORING, "provider": "openai", **change}
    response = generate(router, options.pop("task"), options.pop("prompt"), **options)
    assert response.cached is ("user_id" in change)  # the user is not part of the key: same request, same answer


@pytest.mark.parametrize("change", [{"json_mode": True}, {"temperature": 0.9}])
def test_cache_key_includes_json_mode_and_temperature(tmp_path: Path, change: dict[str, Any]) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    generate(router)
    assert generate(router, **change).cached is False


@pytest.mark.parametrize("policy", ["block", "downgrade"])
def test_a_cache_hit_is_served_even_when_the_budget_is_spent(tmp_path: Path, policy: str) -> None:
    fleet = Fleet()
    clock = Clock(NOON)
    router = make_router(tmp_path, f"[budgets]\npolicy = '{policy}'\nuser_daily_usd = 0.05\n", fleet=fleet, clock=clock)
    first = generate(router, max_tokens=1000)
    router.tracker.record_usage(
        task_type="cv_tailoring", provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1, cost_usd=0.05,
        success=True, user_id="anonymous",
    )  # fmt: skip
    second = generate(router, max_tokens=1000)  # the same request: its answer is cached and costs nothing
    assert ("openai", True, first.content) == (second.provider, second.cached, second.content)
    assert (1, 0) == (fleet.calls("openai"), fleet.calls("groq"))


def test_cache_entry_expires_after_its_ttl(tmp_path: Path) -> None:
    clock = Clock(NOON)
    fleet = Fleet()
    router = make_router(tmp_path, "[cache]\nttl_days = 1\n", fleet=fleet, clock=clock)
    generate(router)
    clock.now = NOON + 86400 - 1
    assert generate(router).cached
    clock.now = NOON + 86400 + 1
    fleet.fakes["openai"].script.text = "a newer answer"
    response = generate(router)
    assert (False, "a newer answer", 2) == (response.cached, response.content, fleet.calls("openai"))
    assert "a newer answer" == generate(router).content  # the refreshed answer is cached again


def test_cache_disabled_in_settings(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, "[cache]\nenabled = false\n", fleet=fleet)
    assert [False, False] == [generate(router).cached for _ in range(2)]
    assert (2, 0) == (fleet.calls("openai"), router.cache.stats()["entries"])


def test_use_cache_false_neither_reads_nor_writes(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    generate(router)  # cached
    assert [False, False] == [generate(router, use_cache=False).cached for _ in range(2)]
    assert (3, 1) == (fleet.calls("openai"), router.cache.stats()["entries"])


def test_local_answers_are_not_cached(tmp_path: Path) -> None:
    router = make_router(tmp_path, keys={})
    assert [False, False] == [generate(router, TaskType.FAST_SUMMARY, "Ada wrote programs.").cached for _ in range(2)]
    assert 0 == router.cache.stats()["entries"]


def test_clearing_the_cache_forces_a_fresh_call(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    generate(router)
    assert 1 == router.cache.clear()
    assert (False, 2) == (generate(router).cached, fleet.calls("openai"))


# --- streaming through the cache ------------------------------------------------------------------------------


def test_stream_miss_fills_the_cache_and_a_hit_streams_back_at_once(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.fakes["openai"].script.text = "A long streamed answer about the CV and the job."
    router = make_router(tmp_path, fleet=fleet)
    pieces, first = stream(router)
    assert len(pieces) > 1 and first is not None and not first.cached
    again, second = stream(router)
    assert ["".join(pieces)] == again  # one piece, the whole answer
    assert second is not None
    assert (True, 0.0, pytest.approx(first.cost_usd)) == (second.cached, second.cost_usd, second.saved_cost_usd)
    assert 1 == fleet.calls("openai")
    newest = router.tracker.recent_calls(limit=1)[0]
    assert (True, 0.0, pytest.approx(first.cost_usd)) == (
        newest["cached"],
        newest["cost_usd"],
        newest["saved_cost_usd"],
    )


def test_stream_hits_an_answer_cached_by_generate(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    first = generate(router)
    pieces, response = stream(router)
    assert ([first.content], True, 1) == (pieces, response is not None and response.cached, fleet.calls("openai"))


def test_stream_with_cache_off_calls_the_provider(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    stream(router)
    _, response = stream(router, use_cache=False)
    assert (False, 2) == (response is not None and response.cached, fleet.calls("openai"))


# --- challenger routing ---------------------------------------------------------------------------------------

CHALLENGER = "[router]\nchallenger_provider = 'groq'\nchallenger_percent = 10\n"


class Rng:
    def __init__(self, *values: float) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.values.pop(0)


@pytest.mark.parametrize(("draw", "provider", "challenger"), [(0.05, "groq", True), (0.1, "openai", False)])
def test_challenger_gets_its_share_and_is_recorded(
    tmp_path: Path, draw: float, provider: str, challenger: bool
) -> None:
    router = make_router(tmp_path, CHALLENGER, rng=Rng(draw))
    response = generate(router)
    assert (provider, challenger) == (response.provider, response.challenger)
    assert challenger == router.tracker.recent_calls(limit=1)[0]["challenger"]


@pytest.mark.parametrize(
    ("config", "kwargs"),
    [
        (CHALLENGER, {"provider": "openai"}),  # a forced provider is never swapped
        ("[router]\nchallenger_provider = 'grok'\nchallenger_percent = 100\n", {}),  # grok has no key
        ("[router]\nchallenger_provider = 'groq'\nchallenger_percent = 0\n", {}),
        ("[router]\nchallenger_percent = 50\n", {}),  # no challenger named
    ],
)
def test_challenger_not_used(tmp_path: Path, config: str, kwargs: dict[str, Any]) -> None:
    rng = Rng(0.0)
    router = make_router(tmp_path, config, rng=rng)
    response = generate(router, **kwargs)
    assert ("openai", False, 0) == (response.provider, response.challenger, rng.calls)


def test_challenger_that_is_already_first_is_not_recorded_as_challenger(tmp_path: Path) -> None:
    router = make_router(tmp_path, "[router]\nchallenger_provider = 'openai'\nchallenger_percent = 100\n", rng=Rng(0.0))
    assert ("openai", False) == (lambda r: (r.provider, r.challenger))(generate(router))


def test_challenger_share_over_many_calls(tmp_path: Path) -> None:
    draws = [i / 50 for i in range(50)]  # uniform: exactly 5 of 50 fall below 10 % (50 stays under 60 rpm)
    router = make_router(tmp_path, CHALLENGER + "[cache]\nenabled = false\n", rng=Rng(*draws))
    providers = [generate(router).provider for _ in range(50)]
    assert (5, 45) == (providers.count("groq"), providers.count("openai"))
    assert 5 == sum(r["challenger"] for r in router.tracker.recent_calls(limit=None))


def test_fallback_after_a_failing_challenger_is_not_recorded_as_challenger(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.fakes["groq"].script.status = 500
    router = make_router(tmp_path, CHALLENGER, fleet=fleet, rng=Rng(0.0))
    response = generate(router)
    assert ("openai", False) == (response.provider, response.challenger)
    rows = router.tracker.recent_calls()  # newest first: openai's success, then groq's failure
    assert [("openai", False), ("groq", True)] == [(r["provider"], r["challenger"]) for r in rows]


def test_challenger_over_budget_is_skipped(tmp_path: Path) -> None:
    config = CHALLENGER.replace("'groq'", "'openai'") + "[budgets]\nuser_daily_usd = 0.01\n"
    router = make_router(tmp_path, config, rng=Rng(0.0))
    response = generate(router, TaskType.FAST_SUMMARY, max_tokens=1000)  # groq is the default for summaries
    assert "groq" == response.provider


# --- the cost preview ---------------------------------------------------------------------------------------------


def test_estimate_matches_hand_computed_figures(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet=fleet)
    # "hello world" is 2 tokens in both o200k_base and cl100k_base; one user message adds 3 + 3 tokens of framing
    rows = router.estimate(TaskType.COVER_LETTER, "hello world", max_tokens=1024)
    assert [
        ("groq", 8, 500, 8 / 1000 * GROQ_IN + 500 / 1000 * GROQ_OUT, 8 / 1000 * GROQ_IN + 1024 / 1000 * GROQ_OUT),
        ("openai", 8, 500, 8 / 1000 * OPENAI_IN + 500 / 1000 * OPENAI_OUT, 8e-3 * OPENAI_IN + 1.024 * OPENAI_OUT),
        ("local", 8, 500, 0.0, 0.0),
    ] == [
        (
            r["provider"],
            r["input_tokens"],
            r["expected_output_tokens"],
            pytest.approx(r["estimated_cost_usd"]),
            pytest.approx(r["worst_case_cost_usd"]),
        )
        for r in rows
    ]
    assert [False, True, False] == [r["default_for_task"] for r in rows]
    assert 0 == fleet.calls("openai") + fleet.calls("groq")  # no API call


@pytest.mark.parametrize(
    ("task", "max_tokens", "expected"),
    [
        (TaskType.CV_TAILORING, 4000, 1200),
        (TaskType.CV_TAILORING, 300, 300),  # never more than max_tokens
        (TaskType.FAST_SUMMARY, 1024, 150),
        (TaskType.JOB_ANALYSIS, 1024, 400),
    ],
)
def test_estimate_expected_output(tmp_path: Path, task: TaskType, max_tokens: int, expected: int) -> None:
    rows = make_router(tmp_path).estimate(task, "hello world", max_tokens=max_tokens)
    assert {expected} == {r["expected_output_tokens"] for r in rows}


def test_estimate_counts_the_system_message(tmp_path: Path) -> None:
    router = make_router(tmp_path)
    plain = router.estimate(TaskType.FAST_SUMMARY, "hello world")[0]["input_tokens"]
    with_system = router.estimate(TaskType.FAST_SUMMARY, "hello world", system="hello world")[0]["input_tokens"]
    assert 2 + 3 == with_system - plain  # the system text plus its message framing


def test_estimate_with_no_key_lists_only_local(tmp_path: Path) -> None:
    rows = make_router(tmp_path, keys={}).estimate(TaskType.CV_TAILORING, "hello world")
    assert [("local", 0.0)] == [(r["provider"], r["estimated_cost_usd"]) for r in rows]


def test_no_provider_when_the_only_candidate_is_over_budget_and_forced(tmp_path: Path) -> None:
    router = make_router(tmp_path, "[budgets]\nuser_daily_usd = 0.0001\n")
    with pytest.raises(NoProviderAvailable, match="over budget"):
        generate(router, provider="openai", max_tokens=1000)
