"""A/B comparison: concurrent runs (one provider failing), vote storage, win rates in SQL against hand counts."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.ab import VoteStore, compare, get_vote_store
from core.base import AIResponse, TaskType
from core.config import load_settings
from core.router import ModelRouter
from tests.fakes import FakeHandler, gemini_handler, openai_handler

DELAY = 0.15


class ByHost:
    """A MockTransport handler that sends each provider's host to its own fake, after a delay (so calls overlap)."""

    def __init__(self, fakes: dict[str, FakeHandler], delay: float = DELAY) -> None:
        self.fakes = fakes
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            return self.fakes[request.url.host](request)
        finally:
            self.in_flight -= 1


@pytest.fixture
def store(tmp_path: Path) -> VoteStore:
    s = VoteStore(tmp_path / "usage.db")
    yield s
    s.close()


def make_router(tmp_path: Path, fakes: dict[str, FakeHandler] | ByHost, **keys: str) -> ModelRouter:
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "usage.db"), **keys}
    settings = load_settings(env=env, config_path=tmp_path / "none.toml")
    handler = fakes if isinstance(fakes, ByHost) else ByHost(fakes)
    return ModelRouter(settings, transport=httpx.MockTransport(handler))


# --- compare ------------------------------------------------------------------------------------------------------


def test_compare_runs_providers_concurrently_and_one_failure_does_not_sink_the_others(tmp_path: Path) -> None:
    fakes = {
        "api.openai.com": openai_handler("OpenAI answer", input_tokens=100, output_tokens=50),
        "api.groq.com": openai_handler(status=500),
        "generativelanguage.googleapis.com": gemini_handler("Gemini answer", input_tokens=90, output_tokens=40),
    }
    hosts = ByHost(fakes)
    router = make_router(tmp_path, hosts, OPENAI_API_KEY="sk-test-openai", GROQ_API_KEY="gsk", GEMINI_API_KEY="g")
    results = asyncio.run(
        compare(router, TaskType.COVER_LETTER, "Write a letter", ["openai", "groq", "gemini"], user_id="ann")
    )
    assert 3 == hosts.most_in_flight  # all three requests were open at the same time
    assert ["openai", "groq", "gemini"] == [r["provider"] for r in results]
    openai, groq, gemini = results
    assert ("OpenAI answer", 100, 50, None) == (
        openai["content"],
        openai["input_tokens"],
        openai["output_tokens"],
        openai["error"],
    )
    assert pytest.approx(router.price("openai").cost(100, 50)) == openai["cost_usd"]
    assert ("Gemini answer", None) == (gemini["content"], gemini["error"])
    assert ("", 0.0, "llama-3.1-8b-instant") == (groq["content"], groq["cost_usd"], groq["model"])
    assert groq["error"].startswith("server:")
    assert openai["latency_ms"] >= DELAY * 1000 * 0.9
    # forced providers: no fallback to another provider, and each fake saw exactly one request (no cache)
    assert [1, 1, 1] == [len(f.requests) for f in fakes.values()]


def test_compare_bypasses_the_cache(tmp_path: Path) -> None:
    fakes = {"api.openai.com": openai_handler("fresh"), "api.groq.com": openai_handler("fresh too")}
    router = make_router(tmp_path, fakes, OPENAI_API_KEY="sk-1", GROQ_API_KEY="gsk")
    for _ in range(2):
        asyncio.run(compare(router, "fast_summary", "Summarise", ["openai", "groq"]))
    assert [2, 2] == [len(f.requests) for f in fakes.values()]


def test_compare_reports_an_unconfigured_provider_readably(tmp_path: Path) -> None:
    fakes = {"api.openai.com": openai_handler("ok")}
    router = make_router(tmp_path, fakes, OPENAI_API_KEY="sk-1")
    results = asyncio.run(compare(router, "fast_summary", "Summarise", ["openai", "grok"]))
    assert [None, "not configured (no API key)"] == [r["error"] for r in results]


def test_compare_records_every_call_in_the_tracker(tmp_path: Path) -> None:
    fakes = {"api.openai.com": openai_handler("a"), "api.groq.com": openai_handler(status=401)}
    router = make_router(tmp_path, fakes, OPENAI_API_KEY="sk-1", GROQ_API_KEY="gsk")
    asyncio.run(compare(router, "job_analysis", "Analyse", ["openai", "groq"], user_id="ann"))
    rows = router.tracker.recent_calls()
    assert {("openai", True, "ann"), ("groq", False, "ann")} == {
        (r["provider"], r["success"], r["user_id"]) for r in rows
    }


class StubRouter:
    """Just enough router for compare(): one provider raises something unexpected."""

    def __init__(self) -> None:
        self.settings = load_settings(env={"CV_COPILOT_NO_DOTENV": "1"}, config_path=Path("/nonexistent.toml"))
        self.calls: list[dict[str, Any]] = []

    async def generate(self, task: TaskType, prompt: str, **kwargs: Any) -> AIResponse:
        self.calls.append(kwargs)
        if kwargs["provider"] == "openai":
            raise RuntimeError("boom with secret details")
        return AIResponse("local text", "local", "cv-copilot-offline", 10, 20, 0.0, 1.5, task_type=task)


def test_compare_turns_an_unexpected_exception_into_a_short_error() -> None:
    router = StubRouter()
    payload = {"cv": "x", "job_description": "y"}
    results = asyncio.run(compare(router, "cv_tailoring", "p", ["openai", "local"], payload=payload, max_tokens=99))
    assert ["unexpected error (RuntimeError)", None] == [r["error"] for r in results]
    assert "local text" == results[1]["content"]
    assert all(c["use_cache"] is False and c["payload"] == payload and c["max_tokens"] == 99 for c in router.calls)


@pytest.mark.parametrize("providers", [[], ["openai", "openai"], ["a", "b", "c", "d", "e"]])
def test_compare_rejects_bad_provider_lists(providers: list[str]) -> None:
    with pytest.raises(ValueError):
        asyncio.run(compare(StubRouter(), "fast_summary", "p", providers))


# --- votes --------------------------------------------------------------------------------------------------------


def test_record_vote_stores_task_providers_winner_costs_and_latencies(store: VoteStore) -> None:
    vote_id = store.record_vote(
        task_type=TaskType.COVER_LETTER,
        providers=["openai", "groq"],
        winner="groq",
        costs={"openai": 0.012, "groq": 0.0004},
        latencies={"openai": 900.0, "groq": 300.0},
        user_id="ann",
        ts=1000.0,
    )
    assert [
        {
            "id": vote_id,
            "ts": 1000.0,
            "user_id": "ann",
            "task_type": "cover_letter",
            "providers": ["openai", "groq"],
            "winner": "groq",
            "costs": {"groq": 0.0004, "openai": 0.012},
            "latencies": {"groq": 300.0, "openai": 900.0},
        }
    ] == store.votes()


def test_votes_share_the_usage_database_file(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    from core.usage_tracker import UsageTracker

    tracker = UsageTracker(db)
    votes = VoteStore(db)
    votes.record_vote(task_type="fast_summary", providers=["local", "groq"], winner="tie")
    import sqlite3

    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"usage", "ab_votes"} <= tables
    tracker.close()
    votes.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"providers": ["openai"], "winner": "openai"}, "2 to 4"),
        ({"providers": ["a", "b", "c", "d", "e"], "winner": "a"}, "2 to 4"),
        ({"providers": ["openai", "openai"], "winner": "openai"}, "once"),
        ({"providers": ["openai", "groq"], "winner": "gemini"}, "winner"),
        ({"providers": ["openai", "tie"], "winner": "openai"}, "valid provider"),
        ({"providers": ["openai", "x'); DROP TABLE ab_votes;--"], "winner": "openai"}, "valid provider"),
        ({"providers": ["openai", "groq"], "winner": "tie", "costs": {"gemini": 1.0}}, "not one of"),
        ({"providers": ["openai", "groq"], "winner": "tie", "costs": {"groq": -1.0}}, ">= 0"),
        ({"providers": ["openai", "groq"], "winner": "tie", "latencies": {"groq": float("nan")}}, ">= 0"),
        ({"providers": ["openai", "groq"], "winner": "tie", "user_id": ""}, "user_id"),
    ],
)
def test_record_vote_rejects_bad_votes(store: VoteStore, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.record_vote(task_type="cover_letter", **kwargs)
    assert [] == store.votes()


def test_record_vote_rejects_an_unknown_task(store: VoteStore) -> None:
    with pytest.raises(ValueError):
        store.record_vote(task_type="poetry", providers=["a", "b"], winner="a")


def test_win_rates_match_hand_counts(store: VoteStore) -> None:
    cl = "cover_letter"
    store.record_vote(
        task_type=cl, providers=["openai", "groq"], winner="openai", costs={"openai": 0.01, "groq": 0.001}
    )
    store.record_vote(task_type=cl, providers=["openai", "groq"], winner="groq", costs={"openai": 0.02, "groq": 0.002})
    store.record_vote(task_type=cl, providers=["openai", "groq", "gemini"], winner="tie", costs={"openai": 0.01})
    store.record_vote(task_type=cl, providers=["groq", "gemini"], winner="groq", costs={"groq": 0.001, "gemini": 0.004})
    store.record_vote(task_type="fast_summary", providers=["groq", "local"], winner="local", costs={"groq": 0.5})
    rows = store.win_rates(task_type="cover_letter")
    # groq: 4 comparisons, 2 wins (votes 2 and 4), 1 tie; cost 0.001 + 0.002 + 0 + 0.001
    # openai: 3 comparisons, 1 win, 1 tie; cost 0.04
    # gemini: 2 comparisons, 0 wins, 1 tie; cost 0.004, so no cost per win
    assert [
        ("groq", 4, 2, 1, 0.5, 0.004, 0.002),
        ("openai", 3, 1, 1, pytest.approx(1 / 3), 0.04, 0.04),
        ("gemini", 2, 0, 1, 0.0, 0.004, None),
    ] == [
        (r["provider"], r["comparisons"], r["wins"], r["ties"], r["win_rate"], r["cost_usd"], r["cost_per_win"])
        for r in rows
    ]
    assert {"cover_letter", "fast_summary"} == {r["task_type"] for r in store.win_rates()}
    assert [("local", 1.0, 0.0), ("groq", 0.0, 0.5)] == [
        (r["provider"], r["win_rate"], r["cost_usd"]) for r in store.win_rates(task_type="fast_summary")
    ]


def test_win_rates_window_and_user_filters(tmp_path: Path) -> None:
    now = [10_000.0]
    s = VoteStore(tmp_path / "usage.db", clock=lambda: now[0])
    s.record_vote(task_type="fast_summary", providers=["a", "b"], winner="a", ts=now[0] - 7200, user_id="ann")
    s.record_vote(task_type="fast_summary", providers=["a", "b"], winner="b", ts=now[0] - 60, user_id="bob")
    assert {"a": 0, "b": 1} == {r["provider"]: r["wins"] for r in s.win_rates(hours=1)}
    assert {"a": 1, "b": 1} == {r["provider"]: r["wins"] for r in s.win_rates(hours=None)}
    assert {"a": 1, "b": 0} == {r["provider"]: r["wins"] for r in s.win_rates(user_id="ann")}
    with pytest.raises(ValueError):
        s.win_rates(hours=-1)
    s.close()


def test_win_rates_empty(store: VoteStore) -> None:
    assert [] == store.win_rates()
    assert [] == store.win_rates(task_type="cv_tailoring")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_win_rates_agree_with_a_python_count_on_random_votes(store: VoteStore, seed: int) -> None:
    rng = random.Random(seed)
    names = ["openai", "gemini", "groq", "grok", "local"]
    tasks = ["cv_tailoring", "cover_letter", "fast_summary"]
    expected: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    for _ in range(150):
        providers = rng.sample(names, rng.randint(2, 4))
        winner = rng.choice([*providers, "tie"])
        costs = {p: round(rng.random() / 100, 6) for p in providers if rng.random() < 0.8}
        task = rng.choice(tasks)
        store.record_vote(task_type=task, providers=providers, winner=winner, costs=costs)
        for p in providers:
            counts = expected[(task, p)]
            counts[0] += 1
            counts[1] += winner == p
            counts[2] += winner == "tie"
            counts[3] += costs.get(p, 0.0)
    actual = {(r["task_type"], r["provider"]): r for r in store.win_rates()}
    assert set(expected) == set(actual)
    for key, (comparisons, wins, ties, cost) in expected.items():
        row = actual[key]
        assert (comparisons, wins, ties) == (row["comparisons"], row["wins"], row["ties"])
        assert pytest.approx(wins / comparisons) == row["win_rate"]
        assert pytest.approx(cost, abs=1e-7) == row["cost_usd"]
        assert (None if wins == 0 else pytest.approx(cost / wins, abs=1e-7)) == row["cost_per_win"]


def test_votes_from_many_threads_are_all_stored(store: VoteStore) -> None:
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        start.wait()
        for j in range(25):
            store.record_vote(task_type="fast_summary", providers=["a", "b"], winner="a" if j % 2 else "b")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {"a": (200, 8 * 12), "b": (200, 8 * 13)} == {
        r["provider"]: (r["comparisons"], r["wins"]) for r in store.win_rates()
    }


def test_clear_deletes_every_vote(store: VoteStore) -> None:
    store.record_vote(task_type="fast_summary", providers=["a", "b"], winner="a")
    store.record_vote(task_type="fast_summary", providers=["a", "b"], winner="b")
    assert (2, []) == (store.clear(), store.votes())


def test_get_vote_store_shares_one_store_per_file(tmp_path: Path) -> None:
    first = get_vote_store(tmp_path / "usage.db")
    assert first is get_vote_store(str(tmp_path / "usage.db"))
    assert first is not get_vote_store(tmp_path / "other.db")


def test_stored_json_is_plain_json(store: VoteStore, tmp_path: Path) -> None:
    """Someone browsing the file (sqlite-utils, Datasette) sees readable JSON columns."""
    store.record_vote(task_type="job_analysis", providers=["gemini", "local"], winner="tie", costs={"gemini": 0.5})
    import sqlite3

    with sqlite3.connect(tmp_path / "usage.db") as conn:
        providers, costs = conn.execute("SELECT providers, costs FROM ab_votes").fetchone()
    assert (["gemini", "local"], {"gemini": 0.5}) == (json.loads(providers), json.loads(costs))
