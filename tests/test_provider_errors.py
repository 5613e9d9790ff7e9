"""Errors and endings classified as each provider sends them: xAI's bad key and prompt-length errors, Groq's 413
plan limit and mid-stream `x_groq.error`, the rate-limit reset headers, and streamed finish reasons."""

from __future__ import annotations

from typing import Any

import pytest

from core.base import (
    CompletionRequest,
    ErrorKind,
    FinishReason,
    StreamInterrupted,
    TokenUsage,
)
from core.providers._http import parse_retry_after
from core.providers.openai_compat import OpenAICompatProvider
from tests.fakes import (
    GROQ_RATE_LIMIT,
    GROQ_REQUEST_TOO_LARGE,
    OPENAI_CONTEXT_LENGTH,
    XAI_CONTEXT_LENGTH,
    XAI_INVALID_KEY,
    FakeHandler,
    StaticHandler,
    openai_handler,
    sse_handler,
)
from tests.provider_calls import ProviderCalls

KEY = "test-key-0123456789-SECRET"
REQUEST = CompletionRequest(prompt="Draft an e-mail.", model="", max_tokens=64)
BASES = {"grok": "https://api.x.ai/v1", "groq": "https://api.groq.com/openai/v1", "openai": "https://api.openai.com/v1"}
MODELS = {"grok": "grok-3-mini", "groq": "llama-3.1-8b-instant", "openai": "o4-mini"}


def make(handler: FakeHandler, name: str) -> OpenAICompatProvider:
    return OpenAICompatProvider(
        name, api_key=KEY, base_url=BASES[name], model=MODELS[name], transport=handler.transport
    )


CALLS = ProviderCalls(REQUEST)
complete, stream, error_of = CALLS.complete, CALLS.stream, CALLS.error_of


# --- HTTP errors with each provider's real body -----------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize(
    ("name", "status", "body", "kind"),
    [
        ("grok", 400, XAI_INVALID_KEY, ErrorKind.AUTH),
        ("grok", 400, XAI_CONTEXT_LENGTH, ErrorKind.CONTEXT_LENGTH),
        ("groq", 413, GROQ_REQUEST_TOO_LARGE, ErrorKind.RATE_LIMITED),
        (
            "groq",
            413,
            {"error": {"message": "Request Entity Too Large", "type": "invalid_request_error"}},
            ErrorKind.CONTEXT_LENGTH,
        ),
        ("groq", 429, GROQ_RATE_LIMIT, ErrorKind.RATE_LIMITED),
        ("openai", 400, OPENAI_CONTEXT_LENGTH, ErrorKind.CONTEXT_LENGTH),
    ],
)
def test_errors_are_classified_as_each_provider_sends_them(
    name: str, status: int, body: Any, kind: ErrorKind, streaming: bool
) -> None:
    handler = openai_handler()
    handler.script.fail(status, body)
    error = error_of(make(handler, name), streaming=streaming)
    assert (kind, status) == (error.kind, error.status_code)
    assert KEY not in str(error)


def test_xai_bad_key_is_auth_so_the_router_cools_it_down() -> None:
    handler = openai_handler()
    handler.script.fail(400, XAI_INVALID_KEY)
    error = error_of(make(handler, "grok"))
    assert (ErrorKind.AUTH, False, True) == (error.kind, error.retryable, "Incorrect API key" in error.message)


def test_groq_413_plan_limit_is_not_mistaken_for_the_context_window() -> None:
    handler = openai_handler()
    handler.script.fail(413, GROQ_REQUEST_TOO_LARGE)
    error = error_of(make(handler, "groq"))
    assert ErrorKind.CONTEXT_LENGTH != error.kind
    assert "tokens per minute (TPM)" in error.message


# --- Retry-After from the reset headers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"x-ratelimit-reset-requests": "1m2.5s"}, 62.5),
        ({"x-ratelimit-reset-tokens": "6s"}, 6.0),
        ({"x-ratelimit-reset-tokens": "250ms"}, 0.25),
        ({"x-ratelimit-reset-requests": "2h0m0s"}, 7200.0),
        ({"x-ratelimit-reset-requests": "17.28s", "x-ratelimit-reset-tokens": "250ms"}, 17.28),  # neither said: longer
        (
            {
                "x-ratelimit-reset-requests": "17.28s",
                "x-ratelimit-reset-tokens": "250ms",
                "x-ratelimit-remaining-requests": "14",
                "x-ratelimit-remaining-tokens": "0",
            },
            0.25,
        ),  # the tokens window ran out: its reset counts
        ({"x-ratelimit-reset-tokens": "6s", "retry-after": "2"}, 2.0),  # retry-after wins
        ({"x-ratelimit-reset-tokens": "soon"}, None),
    ],
)
def test_reset_headers_give_the_wait(headers: dict[str, str], seconds: float | None) -> None:
    assert seconds == parse_retry_after(headers, {"error": {"message": "Rate limit reached."}})


def test_a_429_without_retry_after_waits_for_the_reset_header() -> None:
    handler = openai_handler()
    body = {"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}
    handler.script.fail(429, body, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"})
    error = error_of(make(handler, "groq"))
    assert (ErrorKind.RATE_LIMITED, 1.5) == (error.kind, error.retry_after)


# --- mid-stream errors ------------------------------------------------------------------------------------------

GROQ_CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "llama-3.1-8b-instant"}


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {**GROQ_CHUNK, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def test_groq_x_groq_error_mid_stream_is_an_interruption_with_the_text_so_far() -> None:
    usage = {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940}
    events = [
        chunk({"role": "assistant", "content": ""}, x_groq={"id": "req_1"}),
        chunk({"content": "Dear hiring manager, "}),
        chunk({}, x_groq={"id": "req_1", "error": "service unavailable: the model is overloaded", "usage": usage}),
        "data: [DONE]",
    ]
    error = error_of(make(sse_handler(*events), "groq"), streaming=True)
    assert isinstance(error, StreamInterrupted)
    assert ("Dear hiring manager, ", TokenUsage(900, 40)) == (error.partial_text, error.usage)
    assert (ErrorKind.SERVER, True) == (error.kind, "overloaded" in error.message)


def test_error_object_mid_stream_keeps_the_last_running_usage() -> None:
    """xAI sends running usage on every chunk: a failure after some text still carries the bill so far."""
    running = {"prompt_tokens": 50, "completion_tokens": 3, "total_tokens": 53}
    events = [
        chunk({"content": "Hi"}, usage=running),
        {"error": {"message": "The service is temporarily overloaded", "type": "server_error", "code": 503}},
    ]
    error = error_of(make(sse_handler(*events), "grok"), streaming=True)
    assert isinstance(error, StreamInterrupted)
    assert (ErrorKind.SERVER, 503, "Hi", TokenUsage(50, 3)) == (
        error.kind,
        error.status_code,
        error.partial_text,
        error.usage,
    )


def test_an_error_before_any_text_is_still_a_provider_error_the_router_can_fall_back_on() -> None:
    events = [{"error": {"message": "Rate limit reached. Please try again in 2s.", "type": "tokens", "code": 429}}]
    error = error_of(make(sse_handler(*events), "groq"), streaming=True)
    assert (ErrorKind.RATE_LIMITED, 2.0, "") == (error.kind, error.retry_after, error.partial_text)


# --- finish reasons, streamed and not ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("stop", FinishReason.STOP),
        ("length", FinishReason.LENGTH),
        ("content_filter", FinishReason.CONTENT_FILTER),
        ("tool_calls", FinishReason.STOP),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
def test_the_real_finish_reason_comes_through(raw: str, finish: FinishReason, streaming: bool) -> None:
    handler = openai_handler("A letter cut mid-", finish_reason=raw)
    if streaming:
        deltas = stream(make(handler, "groq"))
        assert (finish, raw) == (deltas[-1].finish_reason, deltas[-1].raw_finish_reason)
    else:
        result = complete(make(handler, "groq"))
        assert (finish, raw) == (result.finish_reason, result.raw_finish_reason)


@pytest.mark.parametrize("streaming", [False, True])
def test_a_tiny_limit_on_a_reasoning_model_comes_back_cut_not_failed(streaming: bool) -> None:
    """ "Test connection" on o4-mini with 5 tokens: all reasoning, no text, finish "length": a billed answer."""
    handler = openai_handler("", finish_reason="length", input_tokens=14, output_tokens=5, reasoning_tokens=5)
    provider = make(handler, "openai")
    request = CompletionRequest(prompt="Reply with the single word: ok", model="", max_tokens=5)
    if streaming:
        deltas = stream(provider, request)
        text, finish, usage = "".join(d.text for d in deltas), deltas[-1].finish_reason, deltas[-1].usage
    else:
        result = complete(provider, request)
        text, finish, usage = result.content, result.finish_reason, result.usage
    assert ("", FinishReason.LENGTH, TokenUsage(14, 5, reasoning_tokens=5)) == (text, finish, usage)
    assert (5, "temperature" in handler.last.json) == (handler.last.json["max_completion_tokens"], False)


def test_grok_reasoning_that_used_the_whole_limit_comes_back_cut_and_billed() -> None:
    body = {
        "id": "x",
        "object": "chat.completion",
        "model": "grok-3-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "length"}],
        "usage": {
            "prompt_tokens": 300,
            "completion_tokens": 0,
            "total_tokens": 364,
            "completion_tokens_details": {"reasoning_tokens": 64},
        },
    }
    result = complete(make(StaticHandler(body), "grok"))
    assert ("", FinishReason.LENGTH, TokenUsage(300, 64, reasoning_tokens=64)) == (
        result.content,
        result.finish_reason,
        result.usage,
    )
