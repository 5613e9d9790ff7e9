"""OpenAI-compatible adapter: request shape, parsing (plain and SSE), error mapping, Retry-After, key hygiene."""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from core.base import CompletionRequest, ErrorKind, FinishReason, TokenUsage
from core.providers._http import parse_retry_after
from core.providers.openai_compat import OpenAICompatProvider
from tests.fakes import (
    GEMINI_RATE_LIMIT,
    GROQ_RATE_LIMIT,
    OPENAI_CONTEXT_LENGTH,
    OPENAI_INSUFFICIENT_QUOTA,
    OPENAI_INVALID_KEY,
    OPENAI_RATE_LIMIT,
    OPENAI_SERVER_ERROR,
    XAI_NO_CREDITS,
    ErrorReply,
    FakeHandler,
    LoopbackServer,
    StaticHandler,
    openai_error,
    openai_handler,
    sse_handler,
)
from tests.provider_calls import ProviderCalls

KEY = "sk-test-0123456789abcdefSECRET"
REQUEST = CompletionRequest(prompt="Summarise this CV.", model="", system="You are terse.", max_tokens=64)


def make(handler: FakeHandler, name: str = "openai", **kwargs: Any) -> OpenAICompatProvider:
    options: dict[str, Any] = {"api_key": KEY, "base_url": "https://api.example.test/v1", "model": "gpt-4o-mini"}
    options.update(kwargs)
    return OpenAICompatProvider(name, transport=handler.transport, **options)


CALLS = ProviderCalls(REQUEST)
complete, stream, error_of = CALLS.complete, CALLS.stream, CALLS.error_of


# --- request shape --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "token_field"),
    [("openai", "max_completion_tokens"), ("groq", "max_tokens"), ("grok", "max_tokens"), ("custom", "max_tokens")],
)
def test_request_shape(name: str, token_field: str) -> None:
    handler = openai_handler()
    complete(make(handler, name, base_url="https://api.example.test/v1/"))
    sent = handler.last
    assert "/v1/chat/completions" == sent.path
    assert f"Bearer {KEY}" == sent.headers["authorization"]
    assert "application/json" == sent.headers["content-type"]
    expected = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Summarise this CV."},
        ],
        token_field: 64,
        "temperature": 0.2,
    }
    assert expected == sent.json


def test_request_model_overrides_default_and_json_mode_asks_for_json_object() -> None:
    handler = openai_handler()
    request = CompletionRequest(prompt="Give JSON", model="llama-3.1-8b-instant", json_mode=True)
    complete(make(handler, "groq"), request)
    assert "llama-3.1-8b-instant" == handler.last.json["model"]
    assert {"type": "json_object"} == handler.last.json["response_format"]
    assert [{"role": "user", "content": "Give JSON"}] == handler.last.json["messages"]


def test_no_key_sends_no_authorization_and_extra_headers_are_sent() -> None:
    handler = openai_handler()
    provider = make(handler, "custom", api_key=None, base_url="http://localhost:11434/v1", extra_headers={"X-T": "1"})
    complete(provider)
    assert "authorization" not in handler.last.headers
    assert "1" == handler.last.headers["x-t"]
    assert not provider.has_key


@pytest.mark.parametrize(
    ("model", "sends_temperature"),
    [("gpt-4o-mini", True), ("gpt-4.1", True), ("o3-mini", False), ("gpt-5-mini", False), ("gpt-5-chat-latest", True)],
)
def test_openai_reasoning_models_get_no_temperature(model: str, sends_temperature: bool) -> None:
    handler = openai_handler()
    complete(make(handler, model=model))
    assert sends_temperature == ("temperature" in handler.last.json)


def test_stream_request_asks_for_usage() -> None:
    handler = openai_handler()
    stream(make(handler))
    assert True is handler.last.json["stream"]
    assert {"include_usage": True} == handler.last.json["stream_options"]


# --- parsing ------------------------------------------------------------------------------------------------


def test_complete_parses_text_model_usage_and_finish() -> None:
    result = complete(make(openai_handler("Ada Lovelace, engineer.", input_tokens=900, output_tokens=42)))
    assert ("Ada Lovelace, engineer.", "gpt-4o-mini") == (result.content, result.model)
    assert (900, 42, "stop") == (result.input_tokens, result.output_tokens, result.finish_reason)


def test_complete_without_usage_reports_none() -> None:
    result = complete(make(openai_handler(usage_style="none")))
    assert (None, None) == (result.input_tokens, result.output_tokens)


def test_complete_reads_groq_x_groq_usage_when_usage_is_absent() -> None:
    body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}], "x_groq": {"usage": {}}}
    body["x_groq"]["usage"] = {"prompt_tokens": 3, "completion_tokens": 1}
    result = complete(make(StaticHandler(body), "groq"))
    assert ("hi", 3, 1) == (result.content, result.input_tokens, result.output_tokens)


def test_complete_accepts_content_as_list_of_text_parts() -> None:
    body = {"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]}
    assert "ab" == complete(make(StaticHandler(body))).content


@pytest.mark.parametrize("style", ["final_chunk", "last_choice", "x_groq"])
def test_stream_text_and_usage_for_each_usage_style(style: str) -> None:
    text = "Tailored CV: led a team of five engineers."
    deltas = stream(make(openai_handler(text, input_tokens=321, output_tokens=17, usage_style=style)))
    assert text == "".join(d.text for d in deltas)
    assert (321, 17) == (deltas[-1].input_tokens, deltas[-1].output_tokens)
    assert "stop" in [d.finish_reason for d in deltas]
    assert len([d for d in deltas if d.text]) > 1


def test_stream_without_usage_reports_none() -> None:
    deltas = stream(make(openai_handler(usage_style="none")))
    assert [] == [d for d in deltas if d.input_tokens is not None or d.output_tokens is not None]


def test_stream_tolerates_null_content_extra_fields_comments_and_missing_blank_lines() -> None:
    chunk = {"choices": [{"delta": {"content": None, "role": "assistant"}, "finish_reason": None}], "extra": {"x": 1}}
    events = [
        ": keep-alive comment",
        "event: message",
        "data: " + json.dumps(chunk),
        "data:" + json.dumps({"choices": [{"delta": {"content": "Hel"}, "logprobs": None}], "usage": None}),
        "data: " + json.dumps({"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]}),
        "data: " + json.dumps({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}),
        "data: [DONE]",
        "data: this line after DONE is never read",
    ]
    deltas = stream(make(sse_handler(*events)))
    assert "Hello" == "".join(d.text for d in deltas)
    assert (5, 2) == (deltas[-1].input_tokens, deltas[-1].output_tokens)


def test_stream_accepts_a_plain_json_answer_from_a_server_that_ignores_stream() -> None:
    body = {"model": "m", "choices": [{"message": {"content": "whole"}, "finish_reason": "stop"}], "usage": {}}
    body["usage"] = {"prompt_tokens": 4, "completion_tokens": 1}
    deltas = stream(make(StaticHandler(body)))
    assert ["whole", ""] == [d.text for d in deltas]
    assert (FinishReason.STOP, TokenUsage(4, 1), "m") == (deltas[-1].finish_reason, deltas[-1].usage, deltas[-1].model)


# --- malformed answers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<html>not json</html>", "malformed JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b"{}", "no choices"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices": ["text"]}', "no choices"),
        (b'{"choices": [{"message": {"content": ""}}]}', "no text, no finish reason and no usage"),
        (b'{"choices": [{}]}', "no text, no finish reason and no usage"),
    ],
)
def test_malformed_200_is_bad_response(content: bytes, words: str) -> None:
    error = error_of(make(StaticHandler(content)))
    assert ErrorKind.BAD_RESPONSE == error.kind
    assert words in error.message
    assert not error.retryable


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"choices": [{"message": {"content": null}, "finish_reason": "length"}]}', (FinishReason.LENGTH, None)),
        (b'{"choices": [{"message": {"content": ""}, "finish_reason": "stop"}]}', (FinishReason.STOP, None)),
        (
            b'{"choices": [{"message": {"content": null, "refusal": "I cannot"}, "finish_reason": "stop"}]}',
            (FinishReason.CONTENT_FILTER, "I cannot"),
        ),
        (
            b'{"choices": [{"message": {"content": "x"}, "finish_reason": "content_filter"}]}',
            (FinishReason.CONTENT_FILTER, None),
        ),
    ],
)
def test_billed_answers_without_text_come_back_with_their_finish_reason(content: bytes, expected: tuple) -> None:
    result = complete(make(StaticHandler(content)))
    assert expected == (result.finish_reason, result.refusal)


@pytest.mark.parametrize(
    ("events", "words"),
    [
        (["data: {not json"], "malformed JSON"),
        (["data: [DONE]"], "no text"),
        (["data: 42"], "expected a JSON object"),
    ],
)
def test_malformed_stream_is_bad_response(events: list[str], words: str) -> None:
    error = error_of(make(sse_handler(*events)), streaming=True)
    assert (ErrorKind.BAD_RESPONSE, True) == (error.kind, words in error.message)


def test_an_empty_stream_that_finished_comes_back_with_its_finish_reason() -> None:
    events = ['data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}', "data: [DONE]"]
    deltas = stream(make(sse_handler(*events)))
    assert [("", FinishReason.STOP)] == [(d.text, d.finish_reason) for d in deltas]


def test_error_event_inside_a_stream_is_mapped() -> None:
    events = ['data: {"choices": [{"delta": {"content": "par"}}]}', "data: " + json.dumps(OPENAI_SERVER_ERROR)]
    error = error_of(make(sse_handler(*events)), streaming=True)
    assert ErrorKind.SERVER == error.kind
    assert "The server had an error" in error.message


# --- HTTP errors ----------------------------------------------------------------------------------------------

CASES: list[tuple[str, int, Any, dict[str, str], ErrorKind | str, float | None]] = [
    ("invalid key", 401, OPENAI_INVALID_KEY, {}, ErrorKind.AUTH, None),
    ("forbidden", 403, openai_error("Project does not have access to model", code="model_not_found"), {}, "auth", None),
    ("rate limit", 429, OPENAI_RATE_LIMIT, {}, ErrorKind.RATE_LIMITED, 20.0),
    ("rate limit header", 429, OPENAI_RATE_LIMIT, {"retry-after-ms": "1500"}, ErrorKind.RATE_LIMITED, 1.5),
    ("groq rate limit", 429, GROQ_RATE_LIMIT, {}, ErrorKind.RATE_LIMITED, 5.2),
    ("no quota", 429, OPENAI_INSUFFICIENT_QUOTA, {"retry-after": "3"}, ErrorKind.QUOTA_EXHAUSTED, None),
    ("xai credits", 429, XAI_NO_CREDITS, {}, ErrorKind.QUOTA_EXHAUSTED, None),
    (
        "xai no credits yet",
        403,
        {"code": "x", "error": "Your team doesn't have any credits yet."},
        {},
        "quota_exhausted",
        None,
    ),
    ("payment", 402, openai_error("Insufficient Balance"), {}, ErrorKind.QUOTA_EXHAUSTED, None),
    ("server", 500, OPENAI_SERVER_ERROR, {}, ErrorKind.SERVER, None),
    ("bad gateway html", 502, "<html>Bad Gateway</html>", {}, ErrorKind.SERVER, None),
    ("unavailable", 503, openai_error("overloaded", type="server_error"), {"retry-after": "7"}, ErrorKind.SERVER, 7.0),
    ("overloaded", 529, openai_error("Overloaded"), {}, ErrorKind.SERVER, None),
    ("context", 400, OPENAI_CONTEXT_LENGTH, {}, ErrorKind.CONTEXT_LENGTH, None),
    (
        "vllm context",
        400,
        openai_error("This model's maximum context length is 4096 tokens."),
        {},
        "context_length",
        None,
    ),
    (
        "llama.cpp context",
        400,
        {
            "error": {
                "code": 400,
                "message": "the request exceeds the available context size, try increasing it",
                "type": "exceed_context_size_error",
            }
        },
        {},
        ErrorKind.CONTEXT_LENGTH,
        None,
    ),
    ("too large", 413, openai_error("Request too large for model"), {}, ErrorKind.CONTEXT_LENGTH, None),
    ("bad request", 400, openai_error("Invalid value for 'temperature'"), {}, ErrorKind.BAD_RESPONSE, None),
    ("not found", 404, {"error": "model 'llama9' not found"}, {}, ErrorKind.BAD_RESPONSE, None),
    ("request timeout", 408, "", {}, ErrorKind.TIMEOUT, None),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "retry_after"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_http_errors_map_to_kinds(status: int, body: Any, headers: dict, kind: str, retry_after: float | None) -> None:
    for streaming in (False, True):
        error = error_of(make(openai_handler(status=status, body=body, headers=headers)), streaming=streaming)
        assert (ErrorKind(kind), status, retry_after) == (error.kind, error.status_code, error.retry_after)


def test_error_message_carries_the_providers_message_truncated() -> None:
    error = error_of(make(openai_handler(status=400, body=openai_error("Bad thing: " + "x" * 1000, code="oops"))))
    assert error.message.startswith("Bad thing: xxx")
    assert len(error.message) <= 300
    assert str(error).startswith("openai: bad_response (HTTP 400): Bad thing")


def test_quota_exhausted_is_not_retryable_but_rate_limit_is() -> None:
    quota = error_of(make(openai_handler(status=429, body=OPENAI_INSUFFICIENT_QUOTA)))
    limited = error_of(make(openai_handler(status=429, body=OPENAI_RATE_LIMIT)))
    assert (False, True) == (quota.retryable, limited.retryable)


# --- transport failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (httpx.ReadTimeout("read timed out"), ErrorKind.TIMEOUT, "timed out waiting for api.example.test"),
        (httpx.ConnectTimeout("connect timed out"), ErrorKind.TIMEOUT, "timed out connecting to api.example.test"),
        (httpx.PoolTimeout("pool"), ErrorKind.TIMEOUT, "timed out"),
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorKind.SERVER, "cannot connect to api.example.test"),
        (httpx.RemoteProtocolError("peer closed connection"), ErrorKind.SERVER, "connection to api.example.test"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), ErrorKind.SERVER, "connection to api.example.test"),
    ],
)
def test_transport_failures_map_to_kinds(exc: Exception, kind: ErrorKind, words: str) -> None:
    for streaming in (False, True):
        error = error_of(make(openai_handler(errors=[exc])), streaming=streaming)
        assert (kind, True) == (error.kind, words in error.message)
        assert error.retryable


def test_connection_refused_on_a_real_closed_port() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    provider = OpenAICompatProvider("custom", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout=5)
    error = error_of(provider)
    assert ErrorKind.SERVER == error.kind
    assert error.message.startswith(f"cannot connect to 127.0.0.1:{port}")


def test_timeout_against_a_slow_loopback_server() -> None:
    with LoopbackServer() as server:
        server.configure("/slow", delay=1.0)
        provider = OpenAICompatProvider(
            "custom", api_key=None, base_url=server.url + "/slow/v1", model="m", timeout=0.2
        )
        started = time.perf_counter()
        error = error_of(provider)
        assert ErrorKind.TIMEOUT == error.kind
        assert time.perf_counter() - started < 0.9


# --- the key never leaks ------------------------------------------------------------------------------------------


def test_key_never_appears_in_errors_or_repr() -> None:
    echoed = openai_error(f"Incorrect API key provided: {KEY}. See https://x.test/?key={KEY}", code="invalid_api_key")
    provider = make(openai_handler(status=401, body=echoed))
    error = error_of(provider)
    for text in (str(error), repr(error), error.message, repr(provider), str(error.args)):
        assert KEY not in text
    assert "Incorrect API key provided: ***" in error.message


def test_key_never_appears_in_transport_error_messages() -> None:
    error = error_of(make(openai_handler(errors=[httpx.ConnectError(f"failed with header Bearer {KEY}")])))
    assert KEY not in str(error)


def test_key_in_extra_auth_header_is_scrubbed_too() -> None:
    secret = "azure-secret-key-123456"
    provider = make(
        openai_handler(status=400, body=openai_error(f"bad key {secret}")), extra_headers={"api-key": secret}
    )
    assert secret not in str(error_of(provider))


# --- clients, loops and threads -------------------------------------------------------------------------------


def test_same_provider_works_across_separate_asyncio_runs_and_closes_each_loops_client() -> None:
    handler = openai_handler()
    provider = make(handler)
    seen: list[httpx.AsyncClient] = []

    async def call() -> str:
        result = await provider.complete(REQUEST)
        seen.append(await provider._clients.get())
        return result.content

    assert ["Hello from the fake provider."] * 2 == [asyncio.run(call()), asyncio.run(call())]
    assert seen[0] is not seen[1]
    assert [True, True] == [client.is_closed for client in seen]  # closed when asyncio.run shut its loop down
    assert 0 == len(provider._clients)


def test_one_client_is_reused_within_a_loop() -> None:
    provider = make(openai_handler())

    async def calls() -> int:
        await asyncio.gather(*(provider.complete(REQUEST) for _ in range(10)))
        first = await provider._clients.get()
        await provider.complete(REQUEST)
        return int(first is await provider._clients.get())

    assert 1 == asyncio.run(calls())


def test_aclose_closes_the_client_and_the_provider_still_works_afterwards() -> None:
    provider = make(openai_handler())

    async def run() -> tuple[bool, str]:
        await provider.complete(REQUEST)
        client = await provider._clients.get()
        await provider.aclose()
        again = await provider.complete(REQUEST)
        return client.is_closed, again.content

    assert (True, "Hello from the fake provider.") == asyncio.run(run())


def test_manually_managed_loop_closed_without_shutdown_does_not_break_the_next_call() -> None:
    provider = make(openai_handler())
    loop = asyncio.new_event_loop()
    loop.run_until_complete(provider.complete(REQUEST))
    loop.close()
    assert "Hello from the fake provider." == complete(provider).content


def test_threads_each_running_their_own_loops_share_one_provider() -> None:
    handler = openai_handler()
    provider = make(handler)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                results.append(asyncio.run(provider.complete(REQUEST)).content)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ([], 30, 30) == (errors, len(results), len(handler.requests))


def test_over_loopback_server_complete_and_stream_with_keep_alive() -> None:
    with LoopbackServer() as server:
        server.configure("/groq", text="Fast summary.", input_tokens=900, output_tokens=3, usage_style="x_groq")
        provider = OpenAICompatProvider("groq", api_key=KEY, base_url=server.url + "/groq/openai/v1", model="llama")

        async def run() -> tuple[str, str, tuple[int | None, int | None]]:
            first = await provider.complete(REQUEST)
            deltas = [d async for d in provider.stream(REQUEST)]
            for _ in range(5):
                await provider.complete(REQUEST)
            return first.content, "".join(d.text for d in deltas), (deltas[-1].input_tokens, deltas[-1].output_tokens)

        assert ("Fast summary.", "Fast summary.", (900, 3)) == asyncio.run(run())
        assert ["/groq/openai/v1/chat/completions"] == sorted({r.path for r in server.requests})
        assert 1 == server.connections


# --- Retry-After ---------------------------------------------------------------------------------------------------


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def _groq(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "tokens", "code": "rate_limit_exceeded"}}


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"retry-after-ms": "250"}, None, 0.25),
        ({"Retry-After-Ms": "1500.5"}, None, 1.5005),
        ({"retry-after": "7"}, None, 7.0),
        ({"Retry-After": "2.5"}, None, 2.5),
        ({"retry-after-ms": "100", "retry-after": "9"}, None, 0.1),
        ({"retry-after": _http_date(-60)}, None, 0.0),
        ({}, GEMINI_RATE_LIMIT, 17.0),
        (
            {},
            {"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}},
            1.5,
        ),
        ({}, [{"error": {"details": [{"@type": "google.rpc.RetryInfo", "retryDelay": "0.25s"}]}}], 0.25),
        (
            {},
            {"error": {"details": [{"@type": "google.rpc.RetryInfo", "retryDelay": {"seconds": 3, "nanos": 5e8}}]}},
            3.5,
        ),
        ({}, _groq("Rate limit reached. Please try again in 5.2s. Need more tokens?"), 5.2),
        ({}, _groq("Please try again in 1m2.5s."), 62.5),
        ({}, _groq("Please try again in 450ms."), 0.45),
        ({}, _groq("Please try again in 2h1m3s"), 7263.0),
        ({}, _groq("Please retry in 17.506718s."), 17.506718),
        ({}, "Too many requests, try again in 3 seconds", 3.0),
        ({}, json.dumps(OPENAI_RATE_LIMIT).encode(), 20.0),
        ({"retry-after": "soon"}, None, None),
        ({}, None, None),
        ({}, {"error": {"message": "slow down"}}, None),
        ({}, b"not json at all", None),
        (httpx.Headers({"Retry-After": "4"}), None, 4.0),
    ],
)
def test_parse_retry_after(headers: Any, body: Any, expected: float | None) -> None:
    assert expected == (None if (v := parse_retry_after(headers, body)) is None else round(v, 6))


def test_parse_retry_after_http_date_in_the_future() -> None:
    assert 25 <= parse_retry_after({"retry-after": _http_date(30)}, None) <= 30


def test_retry_after_lands_on_the_error_from_each_source() -> None:
    handler = openai_handler(errors=[ErrorReply(429, _groq("Please try again in 1m2.5s"))], status=None)
    error = error_of(make(handler, "groq"))
    assert (ErrorKind.RATE_LIMITED, 62.5) == (error.kind, error.retry_after)


# --- usage by token kind ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "usage", "expected"),
    [
        # OpenAI: cached inside prompt_tokens, reasoning inside completion_tokens
        (
            "openai",
            {"prompt_tokens": 4000, "completion_tokens": 900, "total_tokens": 4900,
             "prompt_tokens_details": {"cached_tokens": 3000}, "completion_tokens_details": {"reasoning_tokens": 400}},
            TokenUsage(4000, 900, cached_input_tokens=3000, reasoning_tokens=400),
        ),
        # xAI: reasoning billed on top of completion_tokens (total = prompt + completion + reasoning)
        (
            "grok",
            {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 2000,
             "completion_tokens_details": {"reasoning_tokens": 800}},
            TokenUsage(1000, 1000, reasoning_tokens=800),
        ),
        # xAI even when total_tokens is missing: known by the provider
        (
            "grok",
            {"prompt_tokens": 1000, "completion_tokens": 200, "completion_tokens_details": {"reasoning_tokens": 800}},
            TokenUsage(1000, 1000, reasoning_tokens=800),
        ),
        # any server whose total shows reasoning on top is read the same way
        (
            "custom",
            {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 45,
             "completion_tokens_details": {"reasoning_tokens": 30}},
            TokenUsage(10, 35, reasoning_tokens=30),
        ),
        # DeepSeek: prompt_cache_hit_tokens
        (
            "deepseek",
            {"prompt_tokens": 4000, "completion_tokens": 100, "total_tokens": 4100,
             "prompt_cache_hit_tokens": 2500, "prompt_cache_miss_tokens": 1500},
            TokenUsage(4000, 100, cached_input_tokens=2500),
        ),
        # a nonsense cached count never exceeds the input
        ("openai", {"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 99}},
         TokenUsage(10, 1, cached_input_tokens=10)),
        ("openai", {"prompt_tokens": "n/a"}, None),
        ("openai", {}, None),
    ],
)  # fmt: skip
def test_usage_by_token_kind(name: str, usage: dict[str, Any], expected: TokenUsage | None) -> None:
    body = {"model": "m", "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}], "usage": usage}
    assert expected == complete(make(StaticHandler(body), name)).usage
