"""The `balanced` strategy and routing by A/B votes: scoring from a real usage DB, config validation, the vote
threshold, the route reason, and that the stats are read off the hot path (one read per refresh, not per call)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from core.ab import VoteStore, evidence
from core.base import Outcome, TaskType
from core.config import ConfigError, load_settings
from core.router import ModelRouter
from core.routing.stats import ProviderStats, RouteStats, read_stats, same_model
from core.routing.strategy import score
from core.tracker.record import UsageRecord
from core.tracker.storage import open_storage
from core.usage_tracker import UsageTracker
from tests.fakes import FakeHandler, gemini_handler, openai_handler

KEYS = {"OPENAI_API_KEY": "sk-test-openai-0001", "GROQ_API_KEY": "gsk-test-0002", "GEMINI_API_KEY": "g-test-0003"}
MODELS = {"openai": "gpt-4o", "groq": "llama-3.1-8b-instant", "gemini": "gemini-2.0-flash"}
TASK = TaskType.COVER_LETTER


def settings_for(tmp_path: Path, config: str, **env: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "cv_copilot.toml"
    path.write_text(config, encoding="utf-8")
    base = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "usage.db"), **KEYS, **env}
    return load_settings(env=base, config_path=path)


def fill(tracker: UsageTracker, provider: str, *, ok: int, failed: int = 0, latency_ms: float, ts: float | None = None,
         model: str | None = None, error_kind: str = "server", outcome: str = Outcome.ERROR.value) -> None:  # fmt: skip
    model = model or MODELS[provider]
    for i in range(ok):
        tracker.record(
            UsageRecord("cover_letter", provider, model, latency_ms=latency_ms + i % 3, ts=ts, request_id="")
        )
    for _ in range(failed):
        tracker.record(
            UsageRecord(
                "cover_letter",
                provider,
                model,
                latency_ms=50.0,
                success=False,
                outcome=outcome,
                error_kind=error_kind,
                ts=ts,
            )
        )
    tracker.flush()


def balanced_router(tmp_path: Path, weights: str = "", extra: str = "", **kw: object) -> ModelRouter:
    config = f"[router]\nstrategy = 'balanced'\n{extra}\n[router.weights]\n{weights}\n"
    return ModelRouter(settings_for(tmp_path, config), **kw)  # type: ignore[arg-type]


@pytest.fixture
def tracker(tmp_path: Path) -> UsageTracker:
    t = UsageTracker(tmp_path / "usage.db", flush_interval=None)
    yield t
    t.close()


# --- scoring from a real tracker file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        # groq: cheapest, fast, healthy; gemini: cheap, fast, fails half its calls; openai: dear and slow.
        ("", ["groq", "gemini", "openai", "local"]),
        ("price = 0\nlatency = 1\nerrors = 0", ["groq", "gemini", "openai", "local"]),
        ("price = 0\nlatency = 0\nerrors = 1", ["groq", "openai", "gemini", "local"]),
        ("price = 1\nlatency = 0\nerrors = 0", ["groq", "gemini", "openai", "local"]),
        ("price = 0\nlatency = 1\nerrors = 5", ["groq", "openai", "gemini", "local"]),
    ],
)
def test_balanced_orders_fast_slow_and_erroring_providers(
    tmp_path: Path, tracker: UsageTracker, weights: str, expected: list[str]
) -> None:
    fill(tracker, "groq", ok=30, latency_ms=400)
    fill(tracker, "gemini", ok=15, failed=15, latency_ms=600)
    fill(tracker, "openai", ok=30, latency_ms=2100)
    router = balanced_router(tmp_path, weights)
    router.strategy.stats.refresh()
    assert expected == router.plan(TASK)


def test_a_slow_cheap_provider_loses_to_a_fast_one_when_latency_weighs_more(
    tmp_path: Path, tracker: UsageTracker
) -> None:
    fill(tracker, "groq", ok=20, latency_ms=9000)
    fill(tracker, "gemini", ok=20, latency_ms=300)
    fill(tracker, "openai", ok=20, latency_ms=8000)
    router = balanced_router(tmp_path, "price = 1\nlatency = 3\nerrors = 1")
    router.strategy.stats.refresh()
    assert ["gemini", "groq", "openai", "local"] == router.plan(TASK)  # openai: slow too, and dear


def test_without_stats_balanced_falls_back_to_price_order(tmp_path: Path, tracker: UsageTracker) -> None:
    router = balanced_router(tmp_path)
    router.strategy.stats.refresh()
    assert ["groq", "gemini", "openai", "local"] == router.plan(TASK)


def test_old_rows_and_rows_beyond_the_last_calls_do_not_count(tmp_path: Path, tracker: UsageTracker) -> None:
    now = time.time()
    fill(tracker, "groq", ok=0, failed=40, latency_ms=100, ts=now - 3 * 3600)  # outside a 2 h window
    fill(tracker, "groq", ok=10, latency_ms=100, ts=now - 60)
    fill(tracker, "gemini", ok=0, failed=30, latency_ms=100, ts=now - 600)  # older than its newest 10 rows
    fill(tracker, "gemini", ok=10, latency_ms=150, ts=now - 30)
    stats = read_stats(open_storage(tracker.db_path), MODELS, since=now - 2 * 3600, last_calls=10)
    assert (10, 0, 101.0) == (stats["groq"].calls, stats["groq"].failures, stats["groq"].p50_ms)
    assert (10, 0, 151.0) == (stats["gemini"].calls, stats["gemini"].failures, stats["gemini"].p50_ms)
    assert (0, None, None) == (stats["openai"].calls, stats["openai"].error_rate, stats["openai"].p50_ms)


@pytest.mark.parametrize(
    ("outcome", "error_kind", "counted", "failures"),
    [
        (Outcome.ERROR.value, "server", 4, 2),
        (Outcome.ERROR.value, "rate_limited", 4, 2),
        (Outcome.DEADLINE.value, "timeout", 4, 2),
        (Outcome.ERROR.value, "context_length", 2, 0),  # the prompt's fault, not the provider's
        (Outcome.CANCELLED.value, None, 2, 0),  # the caller's doing
        (Outcome.ABANDONED.value, None, 2, 0),
    ],
)
def test_what_counts_as_a_failure(
    tracker: UsageTracker, outcome: str, error_kind: str | None, counted: int, failures: int
) -> None:
    fill(tracker, "groq", ok=2, failed=2, latency_ms=100, outcome=outcome, error_kind=error_kind)  # type: ignore[arg-type]
    stats = read_stats(open_storage(tracker.db_path), {"groq": MODELS["groq"]}, since=0, last_calls=100)
    assert (counted, failures) == (stats["groq"].calls, stats["groq"].failures)


def test_cached_rows_and_other_models_do_not_count(tracker: UsageTracker) -> None:
    fill(tracker, "openai", ok=3, latency_ms=1000, model="gpt-4o-2024-08-06")
    fill(tracker, "openai", ok=5, failed=5, latency_ms=10, model="gpt-4o-mini")
    tracker.record(UsageRecord("cover_letter", "openai", "gpt-4o", latency_ms=1.0, cached=True))
    tracker.flush()
    stats = read_stats(open_storage(tracker.db_path), {"openai": "gpt-4o"}, since=0, last_calls=100)
    assert (3, 0, 1001.0) == (stats["openai"].calls, stats["openai"].failures, stats["openai"].p50_ms)


@pytest.mark.parametrize(
    ("configured", "recorded", "same"),
    [
        ("gpt-4o", "gpt-4o", True),
        ("gpt-4o", "gpt-4o-2024-08-06", True),
        ("gemini-2.0-flash", "gemini-2.0-flash-001", True),
        ("claude-haiku-4-5", "claude-haiku-4-5@20251001", True),
        ("gpt-4o", "gpt-4o-mini", False),
        ("gpt-4o", "gpt-4o-mini-2024-07-18", False),
        ("gpt-4", "gpt-4o", False),
        ("llama3.2", "llama3.2:latest", False),
    ],
)
def test_same_model(configured: str, recorded: str, same: bool) -> None:
    assert same == same_model(configured, recorded)


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({}, ["a", "b"]),  # price alone
        ({"a": ProviderStats("a", "m", 10, 10, None)}, ["b", "a"]),  # a always fails
        ({"a": ProviderStats("a", "m", 1, 1, None)}, ["a", "b"]),  # 1 failure, counted as 1 in 5: not enough to flip
        ({"a": ProviderStats("a", "m", 10, 0, 5000.0), "b": ProviderStats("b", "m", 10, 0, 100.0)}, ["b", "a"]),
    ],
)
def test_score(stats: dict[str, ProviderStats], expected: list[str]) -> None:
    ranked = score({"a": 0.001, "b": 0.002}, stats, (1.0, 1.0, 2.0), min_calls=5)
    assert expected == [s.name for s in ranked]


# --- the stats stay off the hot path ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_stats_are_read_once_per_refresh_interval_in_the_background_not_per_call() -> None:
    loads: list[float] = []
    clock = Clock()

    def load():  # type: ignore[no-untyped-def]
        loads.append(clock.now)
        return {}, (), {}

    stats = RouteStats(load, refresh_seconds=30, clock=clock)
    for _ in range(500):
        stats.current()
    stats.wait()
    assert [1000.0] == loads
    clock.now += 29
    for _ in range(500):
        stats.current()
    stats.wait()
    assert [1000.0] == loads
    clock.now += 2
    stats.current()
    stats.wait()
    assert [1000.0, 1031.0] == loads


def test_a_failing_refresh_keeps_routing_and_retries_after_the_interval() -> None:
    clock = Clock()
    calls = []

    def load():  # type: ignore[no-untyped-def]
        calls.append(clock.now)
        raise OSError("disk gone")

    stats = RouteStats(load, refresh_seconds=10, clock=clock)
    assert 0 == stats.current().version
    stats.wait()
    stats.current()
    stats.wait()
    assert [1000.0] == calls  # not retried on every call
    clock.now += 11
    stats.current()
    stats.wait()
    assert [1000.0, 1011.0] == calls


def test_cost_strategy_builds_no_stats_at_all(tmp_path: Path) -> None:
    router = ModelRouter(settings_for(tmp_path, ""))
    assert router.strategy is None
    assert ["openai", "groq", "gemini", "local"] == router.plan(TASK)


# --- config -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[router]\nstrategy = 'fastest'\n", "[router] strategy: must be 'cost' or 'balanced'"),
        (
            "[router.weights]\nprice = 0\nlatency = 0\nerrors = 0\n",
            "[router] weights: price, latency and errors cannot all be 0: give at least one a weight > 0",
        ),
        ("[router.weights]\nprice = -1\n", "[router.weights] price: Input should be greater than or equal to 0"),
        ("[router.weights]\nspeed = 1\n", "[router.weights] speed: unknown key (misspelled?)"),
        ("[router.weights]\nerrors = 'high'\n", "[router.weights] errors: Input should be a valid number"),
        ("[router]\nab_min_votes = 0\n", "[router] ab_min_votes: Input should be greater than or equal to 1"),
        ("[router]\nprefer_ab_winner = 'maybe'\n", "[router] prefer_ab_winner: Input should be a valid boolean"),
        ("[router]\nstats_window_hours = 0\n", "[router] stats_window_hours: Input should be greater than 0"),
        ("[router]\nstats_last_calls = 0\n", "[router] stats_last_calls: Input should be greater than or equal to 1"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_for(tmp_path, config)
    assert message in str(info.value)


def test_config_values_reach_the_settings(tmp_path: Path) -> None:
    config = (
        "[router]\nstrategy = 'balanced'\nstats_window_hours = 6\nstats_last_calls = 50\nstats_min_calls = 3\n"
        "stats_refresh_seconds = 5\nprefer_ab_winner = true\nab_min_votes = 30\n"
        "[router.weights]\nprice = 2\nlatency = 0.5\nerrors = 4\n"
    )
    s = settings_for(tmp_path, config).strategy
    assert ("balanced", 2.0, 0.5, 4.0, 6.0, 50, 3, 5.0, True, 30) == (
        s.name, s.price_weight, s.latency_weight, s.errors_weight, s.window_hours, s.last_calls, s.min_calls,
        s.refresh_seconds, s.prefer_ab_winner, s.ab_min_votes,
    )  # fmt: skip
    assert ("cost", 1.0, 1.0, 2.0, False, 20) == (
        (d := settings_for(tmp_path, "").strategy).name, d.price_weight, d.latency_weight, d.errors_weight,
        d.prefer_ab_winner, d.ab_min_votes,
    )  # fmt: skip


# --- A/B votes ----------------------------------------------------------------------------------------------------


def vote(store: VoteStore, n: int, winner: str, task: str = "cover_letter", costs: dict | None = None) -> None:
    costs = costs or {"openai": 0.004, "groq": 0.0002}
    for _ in range(n):
        store.record_vote(task_type=task, providers=["openai", "groq"], winner=winner, costs=costs)


@pytest.mark.parametrize(("votes", "first"), [(19, "openai"), (20, "groq"), (21, "groq")])
def test_votes_steer_routing_from_the_threshold_on(tmp_path: Path, votes: int, first: str) -> None:
    store = VoteStore(tmp_path / "usage.db")
    vote(store, votes - 5, "groq")
    vote(store, 5, "openai")
    router = ModelRouter(settings_for(tmp_path, "[router]\nprefer_ab_winner = true\n"))
    router.strategy.stats.refresh()
    assert first == router.plan(TASK)[0]
    assert "openai" == router.plan(TaskType.CV_TAILORING)[0]  # no votes for this task: the cost plan
    store.close()


def test_votes_are_ignored_unless_turned_on(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "usage.db")
    vote(store, 30, "groq")
    router = ModelRouter(settings_for(tmp_path, ""))
    assert "openai" == router.plan(TASK)[0]
    store.close()


@pytest.mark.parametrize(
    ("rows", "winner"),
    [
        # (provider, comparisons, wins, cost_usd): win rate per dollar = wins / cost
        ([("openai", 20, 15, 0.08), ("groq", 20, 5, 0.004)], "groq"),  # 1250 vs 187.5 per dollar
        ([("openai", 20, 15, 0.08), ("groq", 20, 0, 0.004)], "openai"),  # groq never won
        ([("openai", 20, 10, 0.02), ("gemini", 20, 10, 0.02)], "gemini"),  # a tie: by name
        ([("openai", 20, 12, 0.02), ("custom", 20, 8, 0.0)], "custom"),  # a free server that wins
        ([("openai", 20, 2, 0.02), ("local", 20, 18, 0.0)], "openai"),  # never the offline engine
    ],
)
def test_the_winner_is_the_best_win_rate_per_dollar(rows: list[tuple], winner: str) -> None:
    table = [
        {
            "task_type": "cover_letter",
            "provider": p,
            "comparisons": c,
            "wins": w,
            "win_rate": w / c,
            "cost_usd": u,
            "cost_per_win": u / w if w else None,
            "ties": 0,
        }
        for p, c, w, u in rows
    ]
    assert winner == evidence(table, {"cover_letter": 20}, "cover_letter", 20).winner


def test_evidence_sentences(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "usage.db")
    vote(store, 15, "groq")
    vote(store, 5, "openai")
    rows, counts = store.win_rates(), store.vote_counts()
    assert "groq preferred for cover_letter: 20 votes, win rate 75%, $0.0003 per win" == (
        evidence(rows, counts, "cover_letter", 20).sentence()
    )
    assert "20 of 25 votes needed for cover_letter; routing ignores them so far" == (
        evidence(rows, counts, "cover_letter", 25).sentence()
    )
    store.close()


# --- the route reason, end to end through fake providers ---------------------------------------------------------


def fleet(**handlers: FakeHandler) -> httpx.MockTransport:
    hosts = {"api.openai.com": "openai", "api.groq.com": "groq", "generativelanguage.googleapis.com": "gemini"}
    return httpx.MockTransport(lambda request: handlers[hosts[request.url.host]](request))


def test_the_route_reason_names_the_strategy_and_the_figures(tmp_path: Path, tracker: UsageTracker) -> None:
    fill(tracker, "groq", ok=20, latency_ms=400)
    fill(tracker, "gemini", ok=10, failed=10, latency_ms=600)
    fill(tracker, "openai", ok=20, latency_ms=2100)
    transport = fleet(
        openai=openai_handler("from openai"), groq=openai_handler("from groq"), gemini=gemini_handler("from gemini")
    )
    router = balanced_router(tmp_path, transport=transport, tracker=tracker)
    router.strategy.stats.refresh()
    answer = asyncio.run(router.generate(TASK, "Write a letter", max_tokens=200))
    assert "groq" == answer.provider
    assert (
        "balanced: groq chosen (p50 0.4 s, 0% errors, ~$0.000090); gemini p50 0.6 s, 50% errors, ~$0.0003; "
        "openai p50 2.1 s, 0% errors, ~$0.0075"
    ) == answer.route_reason
    tracker.flush()
    stored = tracker.recent_calls(limit=1)[0]["route_reason"]
    assert answer.route_reason == stored


def test_the_route_reason_when_the_first_choice_fails(tmp_path: Path, tracker: UsageTracker) -> None:
    fill(tracker, "groq", ok=20, latency_ms=400)
    fill(tracker, "gemini", ok=20, latency_ms=600)
    transport = fleet(openai=openai_handler("x"), groq=openai_handler(status=500), gemini=gemini_handler("from g"))
    router = balanced_router(tmp_path, transport=transport, tracker=tracker, extra="max_retries = 0")
    router.strategy.stats.refresh()
    answer = asyncio.run(router.generate(TASK, "Write a letter", max_tokens=200))
    assert "gemini" == answer.provider
    assert answer.route_reason.startswith("balanced: gemini chosen (p50 0.6 s, 0% errors, ~$0.0003); groq p50 0.4 s")
    assert answer.route_reason.endswith("; groq error: server")


def test_the_route_reason_for_a_vote_winner(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "usage.db")
    vote(store, 20, "groq")
    transport = fleet(openai=openai_handler("from openai"), groq=openai_handler("from groq"))
    router = ModelRouter(settings_for(tmp_path, "[router]\nprefer_ab_winner = true\n"), transport=transport)
    router.strategy.stats.refresh()
    answer = asyncio.run(router.generate(TASK, "Write a letter", max_tokens=200))
    assert ("groq", "A/B votes: groq preferred for cover_letter: 20 votes, win rate 100%, $0.0002 per win") == (
        answer.provider,
        answer.route_reason,
    )
    store.close()


def test_optimize_cost_and_a_named_provider_bypass_the_strategy(tmp_path: Path, tracker: UsageTracker) -> None:
    fill(tracker, "groq", ok=0, failed=30, latency_ms=100)
    router = balanced_router(tmp_path)
    router.strategy.stats.refresh()
    assert "groq" != router.plan(TASK)[0]
    assert ["groq", "gemini", "openai", "local"] == router.plan(TASK, optimize_cost=True)
    assert ["groq"] == router.plan(TASK, provider="groq")


def test_evidence_when_only_the_offline_engine_won(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "usage.db")
    for _ in range(20):
        store.record_vote(task_type="cover_letter", providers=["openai", "local"], winner="local")
    found = evidence(store.win_rates(), store.vote_counts(), "cover_letter", 20)
    assert (None, "20 votes for cover_letter, but no provider other than the offline engine has won one") == (
        found.winner,
        found.sentence(),
    )
    store.close()
