"""What keeps the router cheap, as counts (never timings): what `import core.router` loads, what a routed call
counts and builds, and that the shortcuts give the same values as the plain constructors."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import pricing, tokens
from core.base import TaskType, TokenUsage
from core.config import load_settings
from core.router import ModelRouter
from core.routing import ledger
from core.tracker.record import UsageRecord
from core.usage_tracker import UsageTracker
from tests.fakes import openai_handler

ROOT = Path(__file__).resolve().parent.parent
#: Not needed to build a router: loaded when a config file is validated, a provider is called, a budget is set,
#: a stream is opened, a catalogue price is read, tokens are counted, or the dashboard is drawn.
LAZY = (
    "pydantic", "httpx", "core.budget", "core.routing.streaming", "decimal", "tiktoken", "genai_prices", "sqlite3",
    "pandas", "sqlite_utils", "core.cache", "core.usage_tracker",
)  # fmt: skip


def test_import_router_loads_none_of_the_lazy_modules() -> None:
    code = f"import json, sys; import core.router; print(json.dumps([m for m in {list(LAZY)!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert [] == json.loads(out.stdout)


def test_router_stream_is_still_importable_from_core_router() -> None:
    from core.router import RouterStream
    from core.routing.streaming import RouterStream as Direct

    assert Direct is RouterStream


def test_unknown_attribute_of_core_router_is_an_attribute_error() -> None:
    import core.router

    with pytest.raises(AttributeError):
        core.router.NoSuchThing  # noqa: B018


def _router(tmp_path: Path, config: str = "") -> ModelRouter:
    path = tmp_path / "cv_copilot.toml"
    path.write_text("[cache]\nenabled = false\n[providers.openai]\nrpm = 0\n" + config)
    settings = load_settings(
        env={"OPENAI_API_KEY": "sk-openai-test-key-0001", "CV_COPILOT_NO_DOTENV": "1"}, config_path=path
    )
    tracker = UsageTracker(tmp_path / "usage.db", flush_interval=None)
    return ModelRouter(settings, tracker=tracker, transport=httpx.MockTransport(openai_handler("fine")))


def test_a_call_whose_provider_reports_usage_counts_no_tokens(tmp_path: Path, monkeypatch: Any) -> None:
    loaded: list[str] = []
    real = tokens._encoding

    def counting(name: str) -> Any:
        loaded.append(name)
        return real(name)

    monkeypatch.setattr(tokens, "_encoding", counting)
    router = _router(tmp_path)

    async def go() -> None:
        for i in range(3):
            answer = await router.generate(TaskType.CV_PARSING, f"prompt {i} " * 200, user_id="u1")
            assert ("openai", False) == (answer.provider, answer.tokens_estimated)
        await router.aclose()

    asyncio.run(go())
    assert [] == loaded


@pytest.mark.parametrize("optimize_cost", [False, True])
@pytest.mark.parametrize("task", list(TaskType))
def test_the_plan_is_the_same_each_time_and_a_fresh_list(tmp_path: Path, task: TaskType, optimize_cost: bool) -> None:
    router = _router(tmp_path)
    first = router.plan(task, optimize_cost=optimize_cost)
    first.append("mutated by the caller")
    assert router.plan(task, optimize_cost=optimize_cost) == first[:-1]
    assert "local" == first[-2]


@pytest.mark.parametrize(
    "values",
    [
        {"task_type": "cv_parsing", "provider": "openai", "model": "gpt-4o"},
        {"task_type": "t", "provider": "p", "model": "m", "input_tokens": 3, "fallback_chain": ("a", "p")},
        {"task_type": "t", "provider": "p", "model": "m", "cost_usd": 0.5, "baseline_cost_usd": None, "ts": 1.0},
        {"task_type": "t", "provider": "p", "model": "m", "extra": {"k": "v"}, "route_reason": "why"},
    ],
)
def test_usage_record_of_equals_the_constructor(values: dict[str, Any]) -> None:
    made, quick = UsageRecord(**values), UsageRecord.of(**values)
    assert (made, list(vars(made))) == (quick, list(vars(quick)))


def test_usage_record_of_gives_each_record_its_own_extra() -> None:
    one = UsageRecord.of(task_type="t", provider="p", model="m")
    one.extra["k"] = "v"
    assert {} == UsageRecord.of(task_type="t", provider="p", model="m").extra


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"task_type": "t", "provider": "p"}, "missing fields: model"),
        ({"task_type": "t", "provider": "p", "model": "m", "bogus": 1}, "unexpected fields: bogus"),
    ],
)
def test_usage_record_of_refuses_what_the_constructor_refuses(values: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError):
        UsageRecord(**values)
    with pytest.raises(TypeError, match=message):
        UsageRecord.of(**values)


def test_request_ids_are_unique_and_name_the_process_after_a_fork() -> None:
    ids = {ledger.request_id() for _ in range(1000)}
    assert 1000 == len(ids)
    assert all(f"{os.getpid():x}-" in i for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports one id and leaves at once
        os.write(write, ledger.request_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 200).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert f"{pid:x}-" in child_id and child_id not in ids


def test_today_is_the_utc_date(monkeypatch: Any) -> None:
    assert dt.datetime.now(tz=dt.UTC).date() == pricing._today()
    monkeypatch.setattr(pricing.time, "time", lambda: 86400 * 20000 + 5.0)  # 2024-10-04 00:00:05 UTC
    assert dt.date(2024, 10, 4) == pricing._today()
    monkeypatch.setattr(pricing.time, "time", lambda: 86400 * 20000 - 5.0)
    assert dt.date(2024, 10, 3) == pricing._today()


@pytest.mark.parametrize(
    "usage",
    [TokenUsage(950, 12), TokenUsage(0, 0), TokenUsage(1000, 50, cached_input_tokens=400), TokenUsage(10, 5, 0, 0, 2)],
)
def test_catalogue_cost_of_common_usage_matches_genai_prices(usage: TokenUsage) -> None:
    price = pricing.price_for("openai", "gpt-4o")
    assert "genai-prices" == price.source
    key = pricing._usage_key(usage)
    expected = pricing._bill("openai", "gpt-4o", *key, pricing._today())
    assert expected == pytest.approx(price.cost_of(usage), rel=1e-9, abs=1e-12)
