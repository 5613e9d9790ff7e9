"""Router contract under `balanced`, over real HTTP on 127.0.0.1: a provider that keeps failing is demoted once the
stats refresh in the background, while under `cost` it stays first and every call pays for its failure first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.base import TaskType
from core.config import load_settings
from core.router import ModelRouter
from tests.fakes import LoopbackServer

#: fast_summary: groq is both its default and the cheapest provider, so `cost` always tries groq first.
TASK = TaskType.FAST_SUMMARY
#: No retries, and a cooldown that never starts: what demotes groq here is the strategy, not the health book.
ROUTER = (
    "max_retries = 0\ncooldown_failures = 1000\n"
    "stats_refresh_seconds = 0.2\nstats_min_calls = 3\nstats_last_calls = 20\n"
)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        srv.configure("/openai", text="answer from openai", input_tokens=300, output_tokens=40)
        srv.configure("/groq", status=503)  # every request fails
        yield srv


def make_router(tmp_path: Path, srv: LoopbackServer, strategy: str) -> ModelRouter:
    env = {
        "CV_COPILOT_NO_DOTENV": "1",
        "CV_COPILOT_DB": str(tmp_path / "usage.db"),
        "OPENAI_API_KEY": "sk-openai-test-key-0001",
        "OPENAI_BASE_URL": f"{srv.url}/openai/v1",
        "GROQ_API_KEY": "gsk-groq-test-key-0003",
        "GROQ_BASE_URL": f"{srv.url}/groq/v1",
    }
    config = tmp_path / "cv_copilot.toml"
    config.write_text(
        f"[router]\nstrategy = '{strategy}'\n{ROUTER}",
        encoding="utf-8",
    )
    return ModelRouter(load_settings(env=env, config_path=config))


async def calls(router: ModelRouter, n: int) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for i in range(n):
        answer = await router.generate(TASK, f"Summarise CV number {i}", max_tokens=60, use_cache=False)
        out.append((answer.provider, tuple(a.provider for a in answer.attempts)))
    return out


def test_cost_keeps_trying_the_failing_provider_first(tmp_path: Path, server: LoopbackServer) -> None:
    router = make_router(tmp_path, server, "cost")
    results = asyncio.run(calls(router, 8))
    assert [("openai", ("groq", "openai"))] * 8 == results
    assert 8 == len(server.requests_for("/groq"))


def test_balanced_demotes_a_consistently_failing_provider(tmp_path: Path, server: LoopbackServer) -> None:
    router = make_router(tmp_path, server, "balanced")

    async def scenario() -> tuple[list[tuple[str, tuple[str, ...]]], int]:
        first = await calls(router, 4)  # no stats yet: price order, groq first, and it fails
        deadline = time.monotonic() + 10
        while router.plan(TASK)[0] != "openai" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the background refresh reads the new rows
        before = len(server.requests_for("/groq"))
        after = await calls(router, 6)
        return first + after, len(server.requests_for("/groq")) - before

    results, groq_requests_after = asyncio.run(scenario())
    assert [("openai", ("groq", "openai"))] * 4 == results[:4]
    assert [("openai", ("openai",))] * 6 == results[4:]
    assert 0 == groq_requests_after
    reason = router.tracker.recent_calls(limit=1)[0]["route_reason"]
    assert reason.startswith("balanced: openai chosen (p50 ")
    assert "groq no recent calls" not in reason and "groq p50 –, 100% errors" in reason
    asyncio.run(router.aclose())


def test_balanced_gives_a_recovered_provider_its_place_back(tmp_path: Path, server: LoopbackServer) -> None:
    router = make_router(tmp_path, server, "balanced")

    async def scenario() -> str:
        await calls(router, 4)
        server.configure("/groq", status=None, text="answer from groq", input_tokens=300, output_tokens=40)
        # demoted, groq is only tried when pinned (a health check, or a comparison on the Compare page)
        for i in range(20):  # the newest 20 rows are what counts
            await router.generate(TASK, f"ping {i}", provider="groq", max_tokens=10, use_cache=False)
        router.strategy.stats.refresh()
        return router.plan(TASK)[0]

    assert "groq" == asyncio.run(scenario())
    asyncio.run(router.aclose())
