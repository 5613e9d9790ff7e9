import asyncio
import json
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from core.base import AIResponse, ContextLengthExceeded, ErrorKind, NoProviderAvailable, ProviderError, TaskType
from core.config import load_settings
from core.router import ModelRouter, context_window_for
from core.usage_tracker import UsageTracker
from tests.fakes import (
    GEMINI_RATE_LIMIT,
    OPENAI_CONTEXT_LENGTH,
    OPENAI_INSUFFICIENT_QUOTA,
    OPENAI_INVALID_KEY,
    OPENAI_SERVER_ERROR,
    ErrorReply,
    FakeHandler,
    gemini_handler,
    openai_handler,
)

ALL_KEYS = {
    "OPENAI_API_KEY": "sk-openai-test-key-0001",
    "GEMINI_API_KEY": "gemini-test-key-0002",
    "GROQ_API_KEY": "gsk-groq-test-key-0003",
    "GROK_API_KEY": "xai-grok-test-key-0004",
}

HOSTS = {
    "api.openai.com": "openai",
    "generativelanguage.googleapis.com": "gemini",
    "api.groq.com": "groq",
    "api.x.ai": "grok",
}


class Fleet:
    """One fake per provider, dispatched by host, all behind one MockTransport."""

    def __init__(self) -> None:
        self.fakes: dict[str, FakeHandler] = {
            name: (gemini_handler if name == "gemini" else openai_handler)(f"answer from {name}")
            for name in HOSTS.values()
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.fakes[HOSTS[request.url.host]](request)

    def calls(self, name: str) -> int:
        return len(self.fakes[name].requests)


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_router(tmp_path: Path, env: dict[str, str] | None = None, config: str = "", **kwargs) -> ModelRouter:
    config_path = tmp_path / "cv_copilot.toml"
    config_path.write_text(config)
    settings = load_settings(env={**(env or {}), "CV_COPILOT_DB": str(tmp_path / "usage.db")}, config_path=config_path)
    return ModelRouter(settings, **kwargs)


def generate(router: ModelRouter, task=TaskType.FAST_SUMMARY, prompt="Summarise: a CV.", **kwargs) -> AIResponse:
    return asyncio.run(router.generate(task_type=task, prompt=prompt, **kwargs))


@pytest.fixture
def fleet() -> Fleet:
    return Fleet()


@pytest.fixture
def router(tmp_path, fleet) -> ModelRouter:
    return make_router(tmp_path, ALL_KEYS, transport=httpx.MockTransport(fleet), sleep=Sleeps())


# --- planning -------------------------------------------------------------------------------------------------


def test_no_keys_everything_goes_local(tmp_path):
    router = make_router(tmp_path)
    for task in TaskType:
        assert router.plan(task) == ["local"]
    response = generate(router, TaskType.FAST_SUMMARY, "Ada Lovelace wrote the first program. She was a mathematician.")
    assert (response.provider, response.cost_usd, response.cached) == ("local", 0.0, False)
    assert response.content
    assert response.input_tokens > 0


@pytest.mark.parametrize(
    ("task", "provider"),
    [
        (TaskType.CV_PARSING, "openai"),
        (TaskType.CV_TAILORING, "openai"),
        (TaskType.COVER_LETTER, "openai"),
        (TaskType.EMAIL_DRAFTING, "grok"),
        (TaskType.FAST_SUMMARY, "groq"),
        (TaskType.JOB_ANALYSIS, "gemini"),
        (TaskType.JOB_MATCHING, "gemini"),
    ],
)
def test_seed_routing_per_task(router, fleet, task, provider):
    response = generate(router, task)
    assert (provider, f"answer from {provider}") == (response.provider, response.content)
    assert fleet.calls(provider) == 1


def test_fallback_order_is_default_then_cost_rank_then_local(router):
    assert router.plan(TaskType.CV_PARSING) == ["openai", "groq", "gemini", "grok", "local"]
    assert router.plan(TaskType.JOB_MATCHING) == ["gemini", "groq", "grok", "openai", "local"]


def test_optimize_cost_puts_cheapest_first(router, fleet):
    assert router.plan(TaskType.CV_PARSING, optimize_cost=True) == ["groq", "gemini", "grok", "openai", "local"]
    response = generate(router, TaskType.COVER_LETTER, optimize_cost=True)
    assert response.provider == "groq"


def test_unconfigured_default_is_skipped(tmp_path):
    fleet = Fleet()
    router = make_router(tmp_path, {"GROQ_API_KEY": "gsk-only-groq-000"}, transport=httpx.MockTransport(fleet))
    assert router.plan(TaskType.CV_PARSING) == ["groq", "local"]
    assert generate(router, TaskType.CV_PARSING).provider == "groq"


# --- tokens, cost, tracking -----------------------------------------------------------------------------------


def test_provider_reported_tokens_and_seed_cost(router, fleet):
    fleet.fakes["openai"].script.input_tokens = 1500
    fleet.fakes["openai"].script.output_tokens = 500
    response = generate(router, TaskType.CV_PARSING)
    assert (response.input_tokens, response.output_tokens, response.tokens_estimated) == (1500, 500, False)
    # gpt-4o: $0.0025 / 1K in, $0.01 / 1K out
    assert pytest.approx(1.5 * 0.0025 + 0.5 * 0.01) == response.cost_usd


def test_missing_usage_is_counted_with_tiktoken_and_flagged(router, fleet):
    fleet.fakes["groq"].script.usage_style = "none"
    fleet.fakes["groq"].script.input_tokens = None  # the fake then sends no usage at all
    response = asyncio.run(router.generate(TaskType.FAST_SUMMARY, "hello world", user_id="u"))
    assert response.tokens_estimated
    assert response.input_tokens > 0 and response.output_tokens > 0


def test_the_seeds_testing_example(router):
    """The seed's 'Test Cost Tracking' example, as a test."""
    asyncio.run(router.generate(task_type=TaskType.FAST_SUMMARY, prompt="Test prompt", user_id="test-user"))
    stats = router.tracker.get_usage_stats(hours=1)
    assert stats["total_requests"] > 0
    assert stats["cost_usd"] > 0


def test_every_attempt_is_recorded(router, fleet):
    fleet.fakes["openai"].script.fail(500, OPENAI_SERVER_ERROR)
    response = generate(router, TaskType.CV_PARSING, user_id="alice")
    assert response.provider == "groq"
    rows = router.tracker.recent_calls(limit=None)
    assert [(r["provider"], r["success"], r["error_kind"]) for r in rows] == [
        ("groq", 1, None),
        ("openai", 0, "server"),
    ]
    assert rows[0]["fallback_chain"] == ["openai", "groq"]
    assert {"alice"} == {r["user_id"] for r in rows}


def test_no_api_key_is_written_to_the_db_or_logs(router, fleet, caplog):
    caplog.set_level("DEBUG")
    fleet.fakes["openai"].script.fail(401, OPENAI_INVALID_KEY)
    generate(router, TaskType.CV_PARSING)
    generate(router, TaskType.JOB_ANALYSIS)
    db = Path(router.settings.db_path)
    blob = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    dump = "\n".join(sqlite3.connect(db).iterdump())
    for key in ALL_KEYS.values():
        assert key.encode() not in blob
        assert key not in dump
        assert key not in caplog.text


# --- errors and fallback ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (500, OPENAI_SERVER_ERROR, "server"),
        (503, None, "server"),
        (401, OPENAI_INVALID_KEY, "auth"),
        (429, OPENAI_INSUFFICIENT_QUOTA, "quota_exhausted"),
        (200, "{not json", "bad_response"),
    ],
)
def test_fallback_on_each_error_kind(router, fleet, status, body, kind):
    if status == 200:
        fleet.fakes["openai"].script.errors.append(ErrorReply(200, body, {"content-type": "application/json"}))
    else:
        fleet.fakes["openai"].script.fail(status, body)
    response = generate(router, TaskType.CV_PARSING)
    assert response.provider == "groq"
    failed = [a for a in response.attempts if a.outcome == "error"]
    assert [("openai", kind)] == [(a.provider, a.error_kind) for a in failed]
    assert fleet.calls("openai") == 1  # not retried


def test_timeout_falls_back(router, fleet):
    fleet.fakes["openai"].script.errors.append(httpx.ReadTimeout("timed out"))
    response = generate(router, TaskType.CV_PARSING)
    assert (response.provider, response.attempts[0].error_kind) == ("groq", "timeout")


def test_short_retry_after_is_honoured_then_same_provider_retried(tmp_path):
    fleet = Fleet()
    sleeps = Sleeps()
    router = make_router(tmp_path, ALL_KEYS, transport=httpx.MockTransport(fleet), sleep=sleeps)
    fleet.fakes["openai"].script.fail(429, {"error": {"message": "slow down"}}, {"retry-after": "1"})
    response = generate(router, TaskType.CV_PARSING)
    assert (response.provider, sleeps, fleet.calls("openai")) == ("openai", [1.0], 2)


def test_rate_limit_without_retry_after_backs_off_once(tmp_path):
    fleet = Fleet()
    sleeps = Sleeps()
    router = make_router(
        tmp_path, ALL_KEYS, "[router]\nmax_retries = 2\n", transport=httpx.MockTransport(fleet), sleep=sleeps
    )
    fleet.fakes["openai"].script.fail(429, {"error": {"message": "slow down"}}, times=3)
    response = generate(router, TaskType.CV_PARSING)
    assert ("groq", [0.5, 1.0], 3) == (response.provider, sleeps, fleet.calls("openai"))


def test_long_retry_after_falls_back_and_cools_down(tmp_path):
    fleet = Fleet()
    sleeps = Sleeps()
    router = make_router(tmp_path, ALL_KEYS, transport=httpx.MockTransport(fleet), sleep=sleeps)
    fleet.fakes["gemini"].script.fail(429, GEMINI_RATE_LIMIT)  # RetryInfo 17s > the 5 s bound
    response = generate(router, TaskType.JOB_ANALYSIS)
    assert (response.provider, sleeps) == ("groq", [])
    second = generate(router, TaskType.JOB_ANALYSIS)
    assert second.provider == "groq"
    assert "cooling down" in second.attempts[0].reason
    assert fleet.calls("gemini") == 1


def test_cooldown_after_repeated_failures_then_recovery(tmp_path):
    clock = [1000.0]
    fleet = Fleet()
    router = make_router(tmp_path, ALL_KEYS, transport=httpx.MockTransport(fleet), clock=lambda: clock[0])
    fleet.fakes["openai"].script.fail(500, OPENAI_SERVER_ERROR, times=3)
    for _ in range(3):
        assert generate(router, TaskType.CV_PARSING).provider == "groq"
    skipped = generate(router, TaskType.CV_PARSING)
    assert fleet.calls("openai") == 3
    assert (skipped.attempts[0].outcome, "cooling down" in skipped.attempts[0].reason) == ("skipped", True)
    clock[0] += 61
    assert generate(router, TaskType.CV_PARSING).provider == "openai"


def test_auth_error_is_not_retried_and_cools_down(router, fleet):
    fleet.fakes["openai"].script.status = 401
    fleet.fakes["openai"].script.body = OPENAI_INVALID_KEY
    generate(router, TaskType.CV_PARSING)
    generate(router, TaskType.CV_PARSING)
    assert fleet.calls("openai") == 1


def test_no_provider_available_lists_every_provider_and_why(router, fleet):
    fleet.fakes["openai"].script.status = 500
    with pytest.raises(NoProviderAvailable) as info:
        generate(router, TaskType.CV_PARSING, provider="openai")
    message = str(info.value)
    assert "cv_parsing" in message and "openai: server" in message


def test_no_provider_available_says_when_to_retry_when_all_rate_limited(tmp_path):
    router = make_router(tmp_path, config="[providers.local]\n")
    router.limiter.configure("local", rpm=1)
    generate(router, TaskType.FAST_SUMMARY)
    with pytest.raises(NoProviderAvailable, match=r"All providers are rate-limited; try again in \d+ s"):
        generate(router, TaskType.FAST_SUMMARY)


def test_rate_limit_skips_to_next_provider(tmp_path):
    fleet = Fleet()
    router = make_router(tmp_path, ALL_KEYS, "[providers.openai]\nrpm = 2\n", transport=httpx.MockTransport(fleet))
    providers = [generate(router, TaskType.CV_PARSING, f"cv {i}", user_id="bob").provider for i in range(3)]
    assert providers == ["openai", "openai", "groq"]
    assert generate(router, TaskType.CV_PARSING, user_id="carol").provider == "openai"  # per user


def test_rate_limit_is_exact_under_concurrency(tmp_path):
    fleet = Fleet()
    router = make_router(tmp_path, ALL_KEYS, "[providers.openai]\nrpm = 10\n", transport=httpx.MockTransport(fleet))

    async def burst() -> list[AIResponse]:
        return await asyncio.gather(*(router.generate(TaskType.CV_PARSING, f"p{i}", user_id="x") for i in range(40)))

    providers = [r.provider for r in asyncio.run(burst())]
    assert 10 == providers.count("openai") == fleet.calls("openai")


def test_shared_router_is_thread_safe(router, fleet):
    results: list[str] = []

    def worker() -> None:
        for _ in range(5):
            results.append(generate(router, TaskType.JOB_MATCHING, user_id=threading.current_thread().name).provider)

    threads = [threading.Thread(target=worker, name=f"user-{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["gemini"] * 40
    assert router.tracker.get_usage_stats(hours=1)["total_requests"] == 40


# --- token limits -------------------------------------------------------------------------------------------


def test_too_long_for_one_provider_falls_back_to_a_larger_window(tmp_path):
    fleet = Fleet()
    config = "[providers.openai]\ncontext_window = 300\n"
    router = make_router(tmp_path, ALL_KEYS, config, transport=httpx.MockTransport(fleet))
    response = generate(router, TaskType.CV_PARSING, "word " * 400, max_tokens=100)
    assert response.provider == "groq"
    assert "too long" in response.attempts[0].reason


def test_too_long_everywhere_says_how_much_to_cut(tmp_path):
    router = make_router(tmp_path, ALL_KEYS, "[providers.openai]\ncontext_window = 300\n")
    with pytest.raises(ContextLengthExceeded, match="Cut about") as info:
        generate(router, TaskType.CV_PARSING, "word " * 400, max_tokens=100, provider="openai")
    assert info.value.needed_tokens > 400 and info.value.window == 300


def test_provider_context_length_error_maps_to_the_same_thing(router, fleet):
    fleet.fakes["openai"].script.status = 400
    fleet.fakes["openai"].script.body = OPENAI_CONTEXT_LENGTH
    with pytest.raises(ContextLengthExceeded):
        generate(router, TaskType.CV_PARSING, provider="openai")
    assert generate(router, TaskType.CV_PARSING).provider == "groq"  # and unforced, it falls back


@pytest.mark.parametrize(
    ("model", "window"),
    [("gpt-4o", 128_000), ("gpt-4o-mini", 128_000), ("gemini-2.0-flash", 1_048_576), ("mystery", 8_192)],
)
def test_context_window_table(model, window):
    assert window == context_window_for(model)


# --- streaming ------------------------------------------------------------------------------------------------


def test_stream_yields_text_and_records_provider_usage(router, fleet):
    fleet.fakes["openai"].script.input_tokens = 40
    fleet.fakes["openai"].script.output_tokens = 9

    async def run():
        stream = router.stream(TaskType.COVER_LETTER, "write", user_id="s")
        return [piece async for piece in stream], stream.response

    pieces, response = asyncio.run(run())
    assert "".join(pieces) == "answer from openai"
    assert len(pieces) > 1
    assert (response.provider, response.input_tokens, response.output_tokens) == ("openai", 40, 9)
    assert router.tracker.get_usage_stats(hours=1)["successful_requests"] == 1


def test_stream_falls_back_before_first_text(router, fleet):
    fleet.fakes["openai"].script.fail(503)

    async def run():
        stream = router.stream(TaskType.COVER_LETTER, "write")
        return "".join([p async for p in stream]), stream.response

    text, response = asyncio.run(run())
    assert (text, response.provider) == ("answer from groq", "groq")


def test_stream_with_no_keys_uses_local(tmp_path):
    router = make_router(tmp_path)

    async def run():
        stream = router.stream(TaskType.FAST_SUMMARY, "One sentence here. Another sentence there.")
        return "".join([p async for p in stream]), stream.response

    text, response = asyncio.run(run())
    assert text and response.provider == "local"


# --- status and preview ----------------------------------------------------------------------------------------


def test_provider_status_masks_keys(router):
    rows = {r["name"]: r for r in router.provider_status()}
    assert rows["openai"]["key_hint"] == "…0001"
    assert not rows["custom"]["configured"]
    text = json.dumps(router.provider_status())
    assert all(key not in text for key in ALL_KEYS.values())


def test_estimate_needs_no_call(router, fleet):
    rows = router.estimate(TaskType.COVER_LETTER, "hello world", max_tokens=1000)
    assert [r["provider"] for r in rows] == ["groq", "gemini", "grok", "openai", "local"]
    openai_row = rows[3]
    assert (
        pytest.approx((openai_row["input_tokens"] / 1000) * 0.0025 + (500 / 1000) * 0.01)
        == openai_row["estimated_cost_usd"]
    )
    assert sum(fleet.calls(n) for n in HOSTS.values()) == 0


def test_test_connection_reports_a_readable_error(router, fleet):
    fleet.fakes["groq"].script.status = 401
    fleet.fakes["groq"].script.body = OPENAI_INVALID_KEY
    with pytest.raises(NoProviderAvailable, match="groq: auth"):
        asyncio.run(router.test_connection("groq"))


def test_provider_error_is_safe_to_show():
    error = ProviderError("openai", ErrorKind.SERVER, "boom", status_code=502)
    assert str(error) == "openai: server (HTTP 502): boom"


def test_tracker_is_a_real_sqlite_file(router):
    generate(router, TaskType.CV_PARSING)
    assert isinstance(router.tracker, UsageTracker)
    router.tracker.flush()  # rows reach the file within ~50 ms; another connection must flush to see them at once
    assert sqlite3.connect(router.settings.db_path).execute("select count(*) from usage").fetchone()[0] == 1
