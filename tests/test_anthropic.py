"""Anthropic adapter on the Messages wire format: request shape, plain and SSE parsing, usage with cache reads and
writes, stop reasons, errors (429, 529 with retry-after), and the router contract (fallback, 429, stream cost)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from genai_prices import Usage, calc_price

from core.base import (
    CompletionRequest,
    ErrorKind,
    FinishReason,
    StreamInterrupted,
    TaskType,
    TokenUsage,
)
from core.config import load_settings
from core.providers.anthropic import ANTHROPIC_VERSION, AnthropicProvider
from core.router import ModelRouter
from tests.fakes import (
    ANTHROPIC_CONTEXT_LENGTH,
    ANTHROPIC_NO_CREDIT,
    ANTHROPIC_OVERLOADED,
    ANTHROPIC_RATE_LIMIT,
    FakeHandler,
    LoopbackServer,
    StaticHandler,
    anthropic_handler,
    openai_handler,
    sse_handler,
)
from tests.provider_calls import ProviderCalls

KEY = "sk-ant-api03-test-0123456789-SECRET"
BASE = "https://api.anthropic.com/v1"
MODEL = "claude-sonnet-4-5"
REQUEST = CompletionRequest(prompt="Write a cover letter.", model="", system="Be brief.", max_tokens=300)


def make(handler: FakeHandler, **kwargs: Any) -> AnthropicProvider:
    options: dict[str, Any] = {"api_key": KEY, "base_url": BASE, "model": MODEL}
    options.update(kwargs)
    return AnthropicProvider(transport=handler.transport, **options)


CALLS = ProviderCalls(REQUEST)
complete, stream, error_of = CALLS.complete, CALLS.stream, CALLS.error_of


def events(*items: dict[str, Any]) -> StaticHandler:
    """SSE with the `event:` line before each `data:` line, as the Messages API sends it."""
    lines = [f"event: {item['type']}\ndata: {json.dumps(item)}" for item in items]
    return sse_handler(*lines)


# --- request shape --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
def test_request_shape_headers_and_path(streaming: bool) -> None:
    handler = anthropic_handler()
    stream(make(handler, base_url=BASE + "/")) if streaming else complete(make(handler, base_url=BASE + "/"))
    sent = handler.last
    assert ("POST", "/v1/messages") == (sent.method, sent.path)
    assert (KEY, ANTHROPIC_VERSION) == (sent.headers["x-api-key"], sent.headers["anthropic-version"])
    assert "authorization" not in sent.headers
    expected = {
        "model": MODEL,
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "Write a cover letter."}],
        "temperature": 0.2,
        "system": "Be brief.",
    }
    if streaming:
        expected["stream"] = True
    assert expected == sent.json


def test_json_mode_is_asked_for_in_the_system_prompt() -> None:
    handler = anthropic_handler('{"ok": true}')
    complete(make(handler), CompletionRequest(prompt="JSON", model="claude-3-5-haiku-latest", json_mode=True))
    assert ("claude-3-5-haiku-latest", True) == (handler.last.json["model"], "JSON" in handler.last.json["system"])


# --- parsing --------------------------------------------------------------------------------------------------


def test_complete_parses_text_usage_with_cache_and_stop_reason() -> None:
    handler = anthropic_handler("Dear team,", input_tokens=4000, cached_input_tokens=2000, cache_write_tokens=1000)
    handler.script.output_tokens = 500
    result = complete(make(handler))
    assert ("Dear team,", MODEL, FinishReason.STOP, "end_turn") == (
        result.content,
        result.model,
        result.finish_reason,
        result.raw_finish_reason,
    )
    assert TokenUsage(4000, 500, cached_input_tokens=2000, cache_write_tokens=1000) == result.usage
    assert (4000, 500) == (result.input_tokens, result.output_tokens)


def test_thinking_blocks_are_not_part_of_the_answer() -> None:
    body = {
        "type": "message",
        "model": MODEL,
        "content": [{"type": "thinking", "thinking": "hmm", "signature": "x"}, {"type": "text", "text": "Answer"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 90, "output_tokens_details": {"thinking_tokens": 80}},
    }
    result = complete(make(StaticHandler(body)))
    assert ("Answer", TokenUsage(10, 90, reasoning_tokens=80)) == (result.content, result.usage)


@pytest.mark.parametrize(
    ("stop_reason", "text", "finish"),
    [
        ("max_tokens", "Dear hiring manager, I am writ", FinishReason.LENGTH),
        ("refusal", "", FinishReason.CONTENT_FILTER),
        ("stop_sequence", "done", FinishReason.STOP),
        ("model_context_window_exceeded", "long", FinishReason.LENGTH),
        ("something_new", "x", FinishReason.UNKNOWN),
    ],
)
def test_cut_or_refused_answers_come_back_billed(stop_reason: str, text: str, finish: FinishReason) -> None:
    handler = anthropic_handler(text, finish_reason=stop_reason, input_tokens=100, output_tokens=300)
    for result in (complete(make(handler)),):
        assert (text, finish, TokenUsage(100, 300)) == (result.content, result.finish_reason, result.usage)
    deltas = stream(make(handler))
    assert (text, finish, TokenUsage(100, 300)) == (
        "".join(d.text for d in deltas),
        deltas[-1].finish_reason,
        deltas[-1].usage,
    )


def test_stream_joins_text_and_reports_usage_once_at_the_end() -> None:
    text = "Dear hiring manager, I build reliable systems."
    handler = anthropic_handler(text, input_tokens=700, cached_input_tokens=600, output_tokens=30)
    deltas = stream(make(handler))
    assert text == "".join(d.text for d in deltas)
    assert len([d for d in deltas if d.text]) > 1
    assert [TokenUsage(700, 30, cached_input_tokens=600)] == [d.usage for d in deltas if d.usage is not None]
    assert (FinishReason.STOP, MODEL) == (deltas[-1].finish_reason, deltas[-1].model)


def test_message_delta_cumulative_input_counts_win() -> None:
    """Newer API versions repeat cumulative input and cache counts on message_delta: the later values count."""
    start = {
        "type": "message_start",
        "message": {"model": MODEL, "content": [], "usage": {"input_tokens": 5, "output_tokens": 1}},
    }
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}
    usage = {"input_tokens": 50, "cache_read_input_tokens": 20, "output_tokens": 7}
    end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage}
    deltas = stream(make(events(start, delta, end, {"type": "message_stop"})))
    assert TokenUsage(70, 7, cached_input_tokens=20) == deltas[-1].usage


def test_error_event_mid_stream_is_interrupted_with_partial_text_and_input_usage() -> None:
    start = {
        "type": "message_start",
        "message": {"model": MODEL, "content": [], "usage": {"input_tokens": 12, "output_tokens": 1}},
    }
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Dear"}}
    error = events(start, delta, ANTHROPIC_OVERLOADED)
    failure = error_of(make(error), streaming=True)
    assert isinstance(failure, StreamInterrupted)
    assert (ErrorKind.SERVER, "Dear", 12) == (failure.kind, failure.partial_text, failure.usage.input_tokens)
    assert failure.retryable


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"{oops", "malformed JSON"), (b"[1]", "expected a JSON object"), (b"{}", "no content and no usage")],
)
def test_malformed_answers_are_bad_response(content: bytes, words: str) -> None:
    failure = error_of(make(StaticHandler(content)))
    assert (ErrorKind.BAD_RESPONSE, True) == (failure.kind, words in failure.message)


def test_empty_stream_is_bad_response() -> None:
    failure = error_of(make(sse_handler()), streaming=True)
    assert ErrorKind.BAD_RESPONSE == failure.kind


# --- errors, as Anthropic sends them ------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "retry_after"),
    [
        (429, ANTHROPIC_RATE_LIMIT, {"retry-after": "7"}, ErrorKind.RATE_LIMITED, 7.0),
        (529, ANTHROPIC_OVERLOADED, {"retry-after": "3"}, ErrorKind.SERVER, 3.0),
        (529, ANTHROPIC_OVERLOADED, {}, ErrorKind.SERVER, None),
        (401, None, {}, ErrorKind.AUTH, None),
        (400, ANTHROPIC_NO_CREDIT, {}, ErrorKind.QUOTA_EXHAUSTED, None),
        (400, ANTHROPIC_CONTEXT_LENGTH, {}, ErrorKind.CONTEXT_LENGTH, None),
        (
            413,
            {"type": "error", "error": {"type": "request_too_large", "message": "Request exceeds the maximum size"}},
            {},
            ErrorKind.CONTEXT_LENGTH,
            None,
        ),
    ],
)
def test_errors_are_classified_with_retry_after(
    status: int, body: Any, headers: dict[str, str], kind: ErrorKind, retry_after: float | None, streaming: bool
) -> None:
    handler = anthropic_handler()
    handler.script.fail(status, body, headers)
    failure = error_of(make(handler), streaming=streaming)
    assert (kind, retry_after, status) == (failure.kind, failure.retry_after, failure.status_code)
    assert KEY not in str(failure)


def test_wrong_key_is_auth_and_never_echoed() -> None:
    failure = error_of(make(anthropic_handler(api_key="the-right-key")))
    assert (ErrorKind.AUTH, "invalid x-api-key [authentication_error]") == (failure.kind, failure.message)


def test_over_a_real_loopback_server() -> None:
    with LoopbackServer() as server:
        server.configure("", text="Hello over HTTP", input_tokens=9, output_tokens=4)
        provider = AnthropicProvider(api_key=KEY, base_url=server.url + "/v1", model=MODEL)
        result = complete(provider)
        deltas = stream(provider)
    assert ("Hello over HTTP", TokenUsage(9, 4)) == (result.content, result.usage)
    assert ("Hello over HTTP", TokenUsage(9, 4)) == ("".join(d.text for d in deltas), deltas[-1].usage)


# --- the router contract ----------------------------------------------------------------------------------------

ENV = {"ANTHROPIC_API_KEY": KEY, "OPENAI_API_KEY": "sk-openai-test-key-0001", "ANTHROPIC_MODEL": MODEL}


class Fleet:
    def __init__(self) -> None:
        self.anthropic = anthropic_handler("answer from anthropic", input_tokens=1200, output_tokens=300)
        self.openai = openai_handler("answer from openai")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return (self.anthropic if request.url.host == "api.anthropic.com" else self.openai)(request)


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_router(tmp_path: Path, fleet: Fleet, sleeps: Sleeps) -> ModelRouter:
    config = tmp_path / "cv_copilot.toml"
    config.write_text('[routing]\ncover_letter = "anthropic"\n')
    settings = load_settings(env={**ENV, "CV_COPILOT_DB": str(tmp_path / "usage.db")}, config_path=config)
    return ModelRouter(settings, transport=httpx.MockTransport(fleet), sleep=sleeps)


def bill(input_tokens: int, output_tokens: int) -> float:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return float(calc_price(usage, MODEL, provider_id="anthropic").total_price)


def test_router_answers_with_anthropic_at_its_genai_prices_cost(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet, Sleeps())
    response = asyncio.run(router.generate(TaskType.COVER_LETTER, "write", user_id="u"))
    assert ("anthropic", "answer from anthropic", 1200, 300) == (
        response.provider,
        response.content,
        response.input_tokens,
        response.output_tokens,
    )
    assert response.cost_usd == pytest.approx(bill(1200, 300), rel=0.01)
    assert "/v1/messages" == fleet.anthropic.last.path


def test_router_falls_back_from_an_overloaded_anthropic(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.anthropic.script.fail(529, ANTHROPIC_OVERLOADED)
    router = make_router(tmp_path, fleet, Sleeps())
    response = asyncio.run(router.generate(TaskType.COVER_LETTER, "write", user_id="u"))
    assert ("openai", [("anthropic", "server")]) == (
        response.provider,
        [(a.provider, a.error_kind) for a in response.attempts if a.outcome == "error"],
    )


def test_router_honours_anthropic_retry_after_on_429(tmp_path: Path) -> None:
    fleet = Fleet()
    fleet.anthropic.script.fail(429, ANTHROPIC_RATE_LIMIT, {"retry-after": "1"})
    sleeps = Sleeps()
    router = make_router(tmp_path, fleet, sleeps)
    response = asyncio.run(router.generate(TaskType.COVER_LETTER, "write", user_id="u"))
    assert ("anthropic", [1.0], 2) == (response.provider, sleeps, len(fleet.anthropic.requests))


def test_router_streams_anthropic_with_usage_and_cost(tmp_path: Path) -> None:
    fleet = Fleet()
    router = make_router(tmp_path, fleet, Sleeps())

    async def run() -> tuple[list[str], Any]:
        streamed = router.stream(TaskType.COVER_LETTER, "write", user_id="s")
        return [piece async for piece in streamed], streamed.response

    pieces, response = asyncio.run(run())
    assert ("answer from anthropic", True) == ("".join(pieces), len(pieces) > 1)
    assert ("anthropic", 1200, 300) == (response.provider, response.input_tokens, response.output_tokens)
    assert response.cost_usd == pytest.approx(bill(1200, 300), rel=0.01)
    assert fleet.anthropic.last.json["stream"] is True
