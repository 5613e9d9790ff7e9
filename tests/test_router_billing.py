"""Billed answers: a cut, empty or refused answer is recorded at its bill with its finish reason; the router falls
back only when that helps and tells the user plainly; every answer says why its provider was chosen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.base import AIResponse, CompletionRequest, ProviderResult, StreamDelta, TaskType, TokenUsage
from core.config import load_settings
from core.providers.base import Provider
from core.router import TEST_CONNECTION_MAX_TOKENS, ModelRouter
from core.routing.ledger import cost_of
from core.tokens import count_message_tokens
from core.tracker.record import UsageRecord
from core.usage_tracker import UsageTracker
from tests.fakes import FakeHandler, gemini_handler, openai_handler

KEYS = {
    "OPENAI_API_KEY": "sk-openai-test-key-0001",
    "GEMINI_API_KEY": "gemini-test-key-0002",
    "GROQ_API_KEY": "gsk-groq-test-key-0003",
}
HOSTS = {"api.openai.com": "openai", "generativelanguage.googleapis.com": "gemini", "api.groq.com": "groq"}
PRICES = '[prices."gpt-4o"]\ninput = 0.01\noutput = 0.03\n[prices."o4-mini"]\ninput = 0.0011\noutput = 0.0044\n'


class Spy(UsageTracker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[UsageRecord] = []

    def record(self, rec: UsageRecord) -> None:
        self.records.append(rec)
        super().record(rec)


class Fleet:
    def __init__(self) -> None:
        self.fakes: dict[str, FakeHandler] = {
            name: (gemini_handler if name == "gemini" else openai_handler)(f"answer from {name}")
            for name in HOSTS.values()
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.fakes[HOSTS[request.url.host]](request)


class Scripted(Provider):
    """A provider answering with prepared results (the shape the adapters return for billed answers)."""

    def __init__(self, name: str, model: str, *results: ProviderResult) -> None:
        self.name, self.model = name, model
        self.results = list(results)
        self.requests: list[CompletionRequest] = []

    async def complete(self, request: CompletionRequest) -> ProviderResult:
        self.requests.append(request)
        return self.results.pop(0)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        result = await self.complete(request)
        if result.content:
            yield StreamDelta(text=result.content, model=result.model)
        last = StreamDelta(finish_reason=result.finish_reason, model=result.model)
        last.usage = getattr(result, "usage", None)  # type: ignore[attr-defined]
        yield last


def billed(content: str, model: str, usage: TokenUsage, finish: str) -> ProviderResult:
    result = ProviderResult(content, model, usage.input_tokens, usage.output_tokens, finish)
    result.usage = usage  # type: ignore[attr-defined]
    return result


class ScriptedRouter(ModelRouter):
    def __init__(self, *args: Any, scripted: dict[str, Provider], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scripted = scripted

    def provider(self, name: str) -> Provider:
        return self.scripted.get(name) or super().provider(name)


def make_router(
    tmp_path: Path, config: str = "", keys: dict[str, str] | None = None, scripted: dict[str, Provider] | None = None
) -> tuple[ModelRouter, Fleet]:
    path = tmp_path / "cv_copilot.toml"
    path.write_text(PRICES + config, encoding="utf-8")
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "usage.db"), **(KEYS if keys is None else keys)}
    settings = load_settings(env=env, config_path=path)
    fleet = Fleet()
    kwargs: dict[str, Any] = {"tracker": Spy(settings.db_path), "transport": httpx.MockTransport(fleet)}
    if scripted is not None:
        return ScriptedRouter(settings, scripted=scripted, **kwargs), fleet
    return ModelRouter(settings, **kwargs), fleet


def subdir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def records(router: ModelRouter) -> list[UsageRecord]:
    return router.tracker.records  # type: ignore[attr-defined,no-any-return]


def run_stream(router: ModelRouter, task: TaskType, prompt: str, **kw: Any) -> tuple[str, AIResponse | None]:
    async def run() -> tuple[str, AIResponse | None]:
        stream = router.stream(task, prompt, **kw)
        return "".join([piece async for piece in stream]), stream.response

    return asyncio.run(run())


# --- a length-cut answer with text is returned, marked, and told ------------------------------------------------


@pytest.mark.parametrize(("family", "finish"), [("openai", "length"), ("gemini", "MAX_TOKENS")])
@pytest.mark.parametrize("streaming", [False, True])
def test_an_answer_cut_at_the_limit_is_returned_with_a_plain_notice(
    tmp_path: Path, family: str, finish: str, streaming: bool
) -> None:
    router, fleet = make_router(tmp_path)
    script = fleet.fakes[family].script
    script.text, script.finish_reason, script.output_tokens = "Dear hiring manager, I am writing to", finish, 1000
    task = TaskType.COVER_LETTER if family == "openai" else TaskType.JOB_ANALYSIS
    if streaming:
        text, response = run_stream(router, task, "Write a letter.", max_tokens=1000)
    else:
        response = asyncio.run(router.generate(task, "Write a letter.", max_tokens=1000))
        text = response.content
    assert response is not None
    assert ("Dear hiring manager, I am writing to", family, "length") == (
        text,
        response.provider,
        response.finish_reason,
    )
    assert "The answer was cut at the 1,000-token limit." == response.notice
    [row] = records(router)
    assert ("ok", "length", 1000) == (row.outcome, row.finish_reason, row.output_tokens)


def test_a_cut_answer_is_not_cached(tmp_path: Path) -> None:
    router, fleet = make_router(tmp_path)
    fleet.fakes["openai"].script.finish_reason = "length"
    for _ in range(2):
        asyncio.run(router.generate(TaskType.COVER_LETTER, "Write a letter.", max_tokens=50))
    assert 2 == len(fleet.fakes["openai"].requests)


def test_a_finished_stream_records_the_real_finish_reason(tmp_path: Path) -> None:
    router, fleet = make_router(tmp_path)
    fleet.fakes["openai"].script.finish_reason = "content_filter"
    _text, response = run_stream(router, TaskType.COVER_LETTER, "Write a letter.")
    assert response is not None
    assert ("content_filter", "content_filter") == (response.finish_reason, records(router)[0].finish_reason)
    assert "safety filter" in response.notice


def test_a_stream_with_no_usage_counts_the_request_as_sent(tmp_path: Path) -> None:
    router, fleet = make_router(tmp_path, keys={"OPENAI_API_KEY": KEYS["OPENAI_API_KEY"]})
    fleet.fakes["openai"].script.usage_style = "none"  # llama.cpp's server sends no usage
    system, prompt = "You write cover letters.", "Write a letter for a data engineer role at Acme."
    _text, response = run_stream(router, TaskType.COVER_LETTER, prompt, system=system)
    assert response is not None
    expected_input = count_message_tokens(prompt, system, "gpt-4o").tokens
    assert (True, expected_input) == (response.tokens_estimated, response.input_tokens)
    row = records(router)[0]
    assert (True, expected_input) == (row.tokens_estimated, row.input_tokens)
    assert row.output_tokens > 0 and row.cost_usd > 0


# --- a billed answer with no text: recorded at its bill, then the next provider -------------------------------------

REASONING_SPENT = TokenUsage(input_tokens=1500, output_tokens=2500, reasoning_tokens=2500)


def test_an_empty_answer_is_billed_and_the_next_provider_answers(tmp_path: Path) -> None:
    o4 = Scripted("openai", "o4-mini", billed("", "o4-mini", REASONING_SPENT, "length"))
    router, _fleet = make_router(tmp_path, '[providers.openai]\nmodel = "o4-mini"\n', scripted={"openai": o4})
    response = asyncio.run(router.generate(TaskType.CV_PARSING, "Parse this CV.", max_tokens=2500))
    assert ("groq", "answer from groq") == (response.provider, response.content)
    assert ("error", "bad_response") == (response.attempts[0].outcome, response.attempts[0].error_kind)
    assert "the model used the whole limit on reasoning: raise it or pick another model" == response.attempts[0].reason
    first, second = records(router)
    expected = cost_of(router.price("openai"), REASONING_SPENT)
    assert expected > 0
    assert ("openai", "error", "length", 2500, pytest.approx(expected)) == (
        first.provider, first.outcome, first.finish_reason, first.reasoning_tokens, first.cost_usd
    )  # fmt: skip
    assert ("groq", "ok") == (second.provider, second.outcome)


def test_an_empty_answer_on_a_pinned_provider_says_why(tmp_path: Path) -> None:
    o4 = Scripted("openai", "o4-mini", billed("", "o4-mini", REASONING_SPENT, "length"))
    router, _ = make_router(tmp_path, '[providers.openai]\nmodel = "o4-mini"\n', scripted={"openai": o4})
    with pytest.raises(Exception, match="used the whole limit on reasoning"):
        asyncio.run(router.generate(TaskType.CV_PARSING, "Parse this CV.", provider="openai"))
    assert [("openai", "error")] == [(r.provider, r.outcome) for r in records(router)]


def test_a_refused_answer_falls_back_and_says_so(tmp_path: Path) -> None:
    refused = billed("", "gpt-4o", TokenUsage(900, 12), "content_filter")
    refused.refusal = "I can't help with that."  # type: ignore[attr-defined]
    router, _ = make_router(tmp_path, scripted={"openai": Scripted("openai", "gpt-4o", refused)})
    response = asyncio.run(router.generate(TaskType.CV_PARSING, "Parse this CV."))
    assert ("groq", "the model refused: I can't help with that.") == (response.provider, response.attempts[0].reason)
    assert records(router)[0].cost_usd > 0


def test_reasoning_that_eats_most_of_the_limit_is_named_in_the_notice(tmp_path: Path) -> None:
    usage = TokenUsage(input_tokens=1000, output_tokens=1000, reasoning_tokens=900)
    grok = Scripted("openai", "o4-mini", billed("Dear", "o4-mini", usage, "length"))
    router, _ = make_router(tmp_path, scripted={"openai": grok})
    response = asyncio.run(router.generate(TaskType.COVER_LETTER, "Write a letter.", max_tokens=1000))
    assert response.notice == (
        "The answer was cut at the 1,000-token limit: the model spent 900 of them on reasoning. "
        "Raise the limit or pick another model."
    )


def test_provider_usage_by_kind_reaches_the_row(tmp_path: Path) -> None:
    usage = TokenUsage(input_tokens=4000, output_tokens=500, cached_input_tokens=3000, reasoning_tokens=120)
    router, _ = make_router(
        tmp_path, scripted={"openai": Scripted("openai", "gpt-4o", billed("ok", "gpt-4o", usage, "stop"))}
    )
    response = asyncio.run(router.generate(TaskType.CV_PARSING, "Parse this CV."))
    row = records(router)[0]
    assert (4000, 500, 3000, 120, False) == (
        row.input_tokens, row.output_tokens, row.cached_input_tokens, row.reasoning_tokens, row.tokens_estimated
    )  # fmt: skip
    assert pytest.approx(cost_of(router.price("openai"), usage)) == row.cost_usd == response.cost_usd
    assert row.cache_saved_usd >= 0


# --- "Test connection" ----------------------------------------------------------------------------------------


def test_test_connection_leaves_room_for_reasoning_and_accepts_a_cut_answer(tmp_path: Path) -> None:
    router, fleet = make_router(tmp_path, '[providers.groq]\nmodel = "openai/gpt-oss-20b"\n')
    script = fleet.fakes["groq"].script
    script.text, script.finish_reason = "o", "length"
    response = asyncio.run(router.test_connection("groq"))
    assert ("groq", "o", "length") == (response.provider, response.content, response.finish_reason)
    assert fleet.fakes["groq"].last.json["max_tokens"] == TEST_CONNECTION_MAX_TOKENS >= 256


# --- why this provider ------------------------------------------------------------------------------------------


def test_route_reason_default_provider(tmp_path: Path) -> None:
    router, _ = make_router(tmp_path)
    response = asyncio.run(router.generate(TaskType.FAST_SUMMARY, "Summarise."))
    assert "groq: default for fast_summary" == response.route_reason == records(router)[0].route_reason


def test_route_reason_optimize_cost(tmp_path: Path) -> None:
    router, _ = make_router(tmp_path)
    response = asyncio.run(router.generate(TaskType.COVER_LETTER, "Write.", optimize_cost=True))
    assert "groq: cheapest configured for cover_letter" == response.route_reason


def test_route_reason_names_what_was_skipped_and_what_failed(tmp_path: Path) -> None:
    router, _fleet = make_router(tmp_path, "[budgets]\nuser_daily_usd = 0.001\n", keys={
        k: v for k, v in KEYS.items() if not k.startswith("GEMINI")})  # fmt: skip
    response = asyncio.run(router.generate(TaskType.CV_TAILORING, "Tailor.", max_tokens=1000))
    assert "groq: cheapest available for cv_tailoring; openai skipped: over budget" == response.route_reason
    router2, fleet2 = make_router(subdir(tmp_path, "second"))
    fleet2.fakes["openai"].script.fail(500)
    response2 = asyncio.run(router2.generate(TaskType.CV_PARSING, "Parse."))
    assert "groq: cheapest available for cv_parsing; openai error: server" == response2.route_reason


def test_route_reason_cache_hit_and_offline(tmp_path: Path) -> None:
    router, _ = make_router(tmp_path)
    asyncio.run(router.generate(TaskType.CV_PARSING, "Parse."))
    hit = asyncio.run(router.generate(TaskType.CV_PARSING, "Parse."))
    assert "openai: the same request's answer was in the response cache" == hit.route_reason
    offline, _ = make_router(subdir(tmp_path, "offline"), keys={})
    local = asyncio.run(offline.generate(TaskType.FAST_SUMMARY, "Ada Lovelace wrote the first program."))
    assert "local: the free offline engine (no provider configured for fast_summary)" == local.route_reason
