"""Gemini adapter: request shape (key only in a header), parsing of generateContent and SSE, blocks and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from core.base import (
    CompletionRequest,
    ErrorKind,
    FinishReason,
    StreamInterrupted,
    TokenUsage,
)
from core.providers.gemini import GeminiProvider
from tests.fakes import (
    GEMINI_CONTEXT_LENGTH,
    GEMINI_INVALID_KEY,
    GEMINI_OVERLOADED,
    GEMINI_QUOTA_EXHAUSTED,
    GEMINI_RATE_LIMIT,
    FakeHandler,
    LoopbackServer,
    StaticHandler,
    gemini_error,
    gemini_handler,
    sse_handler,
)
from tests.provider_calls import ProviderCalls

KEY = "AIzaSyTEST-0123456789-secretSECRET"
BASE = "https://generativelanguage.example.test/v1beta"
REQUEST = CompletionRequest(prompt="Match this CV to the job.", model="", system="Answer briefly.", max_tokens=256)


def answer(body: Any, status: int = 200) -> StaticHandler:
    return StaticHandler(body, status)


def sse(*chunks: Any) -> StaticHandler:
    return sse_handler(*chunks, crlf=True)


def make(handler: FakeHandler, **kwargs: Any) -> GeminiProvider:
    options: dict[str, Any] = {"api_key": KEY, "base_url": BASE, "model": "gemini-2.5-flash"}
    options.update(kwargs)
    return GeminiProvider(transport=handler.transport, **options)


CALLS = ProviderCalls(REQUEST)
complete, stream, error_of = CALLS.complete, CALLS.stream, CALLS.error_of


def candidate(text: str | None = "ok", finish: str | None = "STOP", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"index": 0, **extra}
    if text is not None:
        body["content"] = {"role": "model", "parts": [{"text": text}]}
    if finish:
        body["finishReason"] = finish
    return body


# --- request shape --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
def test_request_shape_and_key_only_in_header(streaming: bool) -> None:
    handler = gemini_handler()
    provider = make(handler, base_url=BASE + "/")
    stream(provider) if streaming else complete(provider)
    sent = handler.last
    method = "streamGenerateContent" if streaming else "generateContent"
    assert (f"/v1beta/models/gemini-2.5-flash:{method}", "alt=sse" if streaming else "") == (sent.path, sent.query)
    assert KEY == sent.headers["x-goog-api-key"]
    assert KEY not in sent.url_path
    assert "authorization" not in sent.headers
    expected = {
        "contents": [{"role": "user", "parts": [{"text": "Match this CV to the job."}]}],
        "systemInstruction": {"parts": [{"text": "Answer briefly."}]},
        "generationConfig": {"maxOutputTokens": 256, "temperature": 0.2},
    }
    assert expected == sent.json


def test_json_mode_no_system_and_models_prefix() -> None:
    handler = gemini_handler()
    request = CompletionRequest(prompt="JSON please", model="models/gemini-2.0-flash", json_mode=True, temperature=0)
    complete(make(handler), request)
    assert "/v1beta/models/gemini-2.0-flash:generateContent" == handler.last.path
    assert "systemInstruction" not in handler.last.json
    expected = {"maxOutputTokens": 1024, "temperature": 0, "responseMimeType": "application/json"}
    assert expected == handler.last.json["generationConfig"]


# --- parsing --------------------------------------------------------------------------------------------------


def test_complete_parses_text_usage_and_model_version() -> None:
    result = complete(make(gemini_handler("Strong match: 82%.", input_tokens=1500, output_tokens=9)))
    assert ("Strong match: 82%.", "gemini-2.5-flash", FinishReason.STOP) == (
        result.content,
        result.model,
        result.finish_reason,
    )
    assert "STOP" == result.raw_finish_reason
    assert (1500, 9) == (result.input_tokens, result.output_tokens)


def test_thinking_tokens_count_as_output() -> None:
    result = complete(make(gemini_handler(input_tokens=10, output_tokens=20, thoughts_tokens=300)))
    assert (10, 320) == (result.input_tokens, result.output_tokens)


def test_parts_are_concatenated_and_thought_parts_skipped() -> None:
    parts = [{"text": "thinking...", "thought": True}, {"text": "Hello, "}, {"text": "world"}, {"inlineData": {}}]
    body = {"candidates": [{"content": {"parts": parts}, "finishReason": "STOP"}], "usageMetadata": {}}
    body["usageMetadata"] = {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5, "x": [1]}
    result = complete(make(answer(body)))
    assert ("Hello, world", 3, 2) == (result.content, result.input_tokens, result.output_tokens)


def test_missing_usage_metadata_reports_none() -> None:
    result = complete(make(gemini_handler(usage_style="none")))
    assert (None, None) == (result.input_tokens, result.output_tokens)


def test_stream_joins_text_and_reports_final_usage_once() -> None:
    text = "Cover letter: Dear hiring manager, I build reliable systems."
    deltas = stream(make(gemini_handler(text, input_tokens=700, output_tokens=30, thoughts_tokens=5)))
    assert text == "".join(d.text for d in deltas)
    assert [(700, 35)] == [(d.input_tokens, d.output_tokens) for d in deltas if d.input_tokens is not None]
    assert (FinishReason.STOP, "gemini-2.5-flash") == (deltas[-1].finish_reason, deltas[-1].model)
    assert len([d for d in deltas if d.text]) > 1


def test_stream_accepts_a_json_array_answer() -> None:
    chunks = [{"candidates": [candidate("a", None)]}, {"candidates": [candidate("b")], "usageMetadata": {}}]
    chunks[1]["usageMetadata"] = {"promptTokenCount": 4, "candidatesTokenCount": 2}
    deltas = stream(make(answer(chunks)))
    assert ("ab", 4, 2) == ("".join(d.text for d in deltas), deltas[-1].input_tokens, deltas[-1].output_tokens)


# --- blocked, empty and malformed answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"candidates": [candidate(None, "SAFETY")]}, ("", FinishReason.CONTENT_FILTER, "SAFETY")),
        ({"candidates": [candidate("partial", "RECITATION")]}, ("partial", FinishReason.CONTENT_FILTER, "RECITATION")),
        (
            {"candidates": [candidate(None, "PROHIBITED_CONTENT")]},
            ("", FinishReason.CONTENT_FILTER, "PROHIBITED_CONTENT"),
        ),
        (
            {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9}},
            ("", FinishReason.CONTENT_FILTER, "BLOCK_SAFETY"),
        ),
        ({"candidates": [candidate(None, "MAX_TOKENS")]}, ("", FinishReason.LENGTH, "MAX_TOKENS")),
        ({"candidates": [candidate("", "STOP")]}, ("", FinishReason.STOP, "STOP")),
        ({"candidates": [candidate("x", "OTHER")]}, ("x", FinishReason.UNKNOWN, "OTHER")),
    ],
)
def test_blocked_cut_or_empty_answers_come_back_billed(body: Any, expected: tuple[str, FinishReason, str]) -> None:
    result = complete(make(answer(body)))
    assert expected == (result.content, result.finish_reason, result.raw_finish_reason)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"candidates": []}, "no candidates"),
        ({}, "no candidates"),
        ([], "no candidates"),
        ('"just a string"', "expected a JSON object"),
    ],
)
def test_answers_with_nothing_billed_are_bad_response(body: Any, words: str) -> None:
    error = error_of(make(answer(body)))
    assert (ErrorKind.BAD_RESPONSE, False) == (error.kind, error.retryable)
    assert words in error.message


def test_malformed_json_is_bad_response() -> None:
    error = error_of(make(StaticHandler(b"{oops")))
    assert (ErrorKind.BAD_RESPONSE, True) == (error.kind, "malformed JSON" in error.message)


def test_stream_failures_after_text_carry_the_partial_text() -> None:
    error = error_of(make(sse({"candidates": [candidate("Hel", None)]}, GEMINI_OVERLOADED)), streaming=True)
    assert isinstance(error, StreamInterrupted)
    assert (ErrorKind.SERVER, "Hel", True) == (error.kind, error.partial_text, "overloaded" in error.message)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (
            [{"candidates": [candidate("Hel", None)]}, {"candidates": [candidate(None, "SAFETY")]}],
            ("Hel", FinishReason.CONTENT_FILTER, None),
        ),
        ([{"usageMetadata": {"promptTokenCount": 1}}], ("", FinishReason.UNKNOWN, TokenUsage(1, 0))),
    ],
)
def test_stream_stopped_or_empty_comes_back_billed(chunks: list[Any], expected: tuple) -> None:
    deltas = stream(make(sse(*chunks)))
    assert expected == ("".join(d.text for d in deltas), deltas[-1].finish_reason, deltas[-1].usage)


def test_empty_stream_is_bad_response() -> None:
    error = error_of(make(sse_handler()), streaming=True)
    assert (ErrorKind.BAD_RESPONSE, True) == (error.kind, "no text" in error.message)


# --- HTTP errors ------------------------------------------------------------------------------------------------

PER_DAY = gemini_error(
    429,
    "Quota exceeded for metric: generate_content_free_tier_requests, limit: 250",
    details=[
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "40s"},
    ],
)


@pytest.mark.parametrize(
    ("status", "body", "kind", "retry_after"),
    [
        (400, GEMINI_INVALID_KEY, ErrorKind.AUTH, None),
        (403, gemini_error(403, "Method doesn't allow unregistered callers."), ErrorKind.AUTH, None),
        (401, gemini_error(401, "Request had invalid authentication credentials."), ErrorKind.AUTH, None),
        (429, GEMINI_RATE_LIMIT, ErrorKind.RATE_LIMITED, 17.0),
        (429, GEMINI_QUOTA_EXHAUSTED, ErrorKind.QUOTA_EXHAUSTED, None),
        (429, PER_DAY, ErrorKind.QUOTA_EXHAUSTED, None),
        (429, gemini_error(429, "Resource has been exhausted (e.g. check quota)."), ErrorKind.RATE_LIMITED, None),
        (400, GEMINI_CONTEXT_LENGTH, ErrorKind.CONTEXT_LENGTH, None),
        (400, gemini_error(400, "Invalid JSON payload received. Unknown name"), ErrorKind.BAD_RESPONSE, None),
        (404, gemini_error(404, "models/gemini-9 is not found for API version v1beta"), ErrorKind.BAD_RESPONSE, None),
        (500, gemini_error(500, "An internal error has occurred."), ErrorKind.SERVER, None),
        (503, GEMINI_OVERLOADED, ErrorKind.SERVER, None),
        (504, gemini_error(504, "Deadline expired before operation could complete."), ErrorKind.SERVER, None),
    ],
)
def test_http_errors_map_to_kinds(status: int, body: Any, kind: ErrorKind, retry_after: float | None) -> None:
    for streaming in (False, True):
        error = error_of(make(gemini_handler(status=status, body=body)), streaming=streaming)
        assert (kind, status, retry_after) == (error.kind, error.status_code, error.retry_after)
        assert body["error"]["message"][:40] in error.message


def test_error_list_body_as_stream_endpoints_send_it() -> None:
    error = error_of(make(answer([GEMINI_RATE_LIMIT], status=429)), streaming=True)
    assert (ErrorKind.RATE_LIMITED, 17.0) == (error.kind, error.retry_after)


def test_key_never_appears_in_errors_or_repr() -> None:
    body = gemini_error(400, f"API key not valid: {KEY}. Called https://x.test/v1beta/models/m?key={KEY}")
    provider = make(gemini_handler(status=400, body=body))
    error = error_of(provider)
    for text in (str(error), repr(error), repr(provider), str(error.args)):
        assert KEY not in text
    assert ErrorKind.AUTH == error.kind


def test_transport_timeout_maps_to_timeout_without_the_key() -> None:
    error = error_of(make(gemini_handler(errors=[httpx.ReadTimeout(f"timed out key={KEY}")])), streaming=True)
    assert (ErrorKind.TIMEOUT, False) == (error.kind, KEY in str(error))


# --- over a real socket, across loops -------------------------------------------------------------------------


def test_over_loopback_server_across_two_asyncio_runs() -> None:
    with LoopbackServer() as server:
        server.configure("/v1beta", text="Gap: Kubernetes.", input_tokens=640, output_tokens=6, api_key=KEY)
        provider = GeminiProvider(api_key=KEY, base_url=server.url + "/v1beta", model="gemini-2.5-flash")
        first = asyncio.run(provider.complete(REQUEST))
        deltas = stream(provider)
        assert ("Gap: Kubernetes.", 640, 6) == (first.content, first.input_tokens, first.output_tokens)
        assert ("Gap: Kubernetes.", 640, 6) == (
            "".join(d.text for d in deltas),
            deltas[-1].input_tokens,
            deltas[-1].output_tokens,
        )
        assert [KEY, KEY] == [r.headers["x-goog-api-key"] for r in server.requests]
        assert [] == [r for r in server.requests if KEY in r.url_path]
        wrong = GeminiProvider(api_key="AIza-wrong-key", base_url=server.url + "/v1beta", model="gemini-2.5-flash")
        assert ErrorKind.AUTH == error_of(wrong).kind


# --- usage by token kind ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        (
            {"promptTokenCount": 4000, "cachedContentTokenCount": 3000, "candidatesTokenCount": 500,
             "thoughtsTokenCount": 700, "toolUsePromptTokenCount": 250, "totalTokenCount": 5450},
            TokenUsage(4250, 1200, cached_input_tokens=3000, reasoning_tokens=700, tool_prompt_tokens=250),
        ),
        ({"promptTokenCount": 1500, "thoughtsTokenCount": 800, "totalTokenCount": 2300},
         TokenUsage(1500, 800, reasoning_tokens=800)),
        ({"promptTokenCount": 12}, TokenUsage(12, 0)),
    ],
)  # fmt: skip
def test_usage_by_token_kind(meta: dict[str, Any], expected: TokenUsage) -> None:
    body = {"candidates": [candidate("ok")], "usageMetadata": meta}
    assert expected == complete(make(answer(body))).usage
