"""Fakes that speak the real provider wire formats, for tests and benchmarks that must never leave this machine.

- `openai_handler(...)` / `gemini_handler(...)` / `anthropic_handler(...)`: handlers for `httpx.MockTransport`
  (in-process, fastest).
- `LoopbackServer`: a real HTTP/1.1 server on 127.0.0.1 serving every family at once, scriptable per path prefix.

Both answer OpenAI chat completions (`.../chat/completions`, plain JSON or SSE with `stream_options.include_usage`),
Gemini `.../models/{model}:generateContent` / `:streamGenerateContent?alt=sse` and Anthropic `.../messages`
(plain JSON or SSE `message_start` … `message_delta` … `message_stop`), with usage in each family's own shape
(cached, cache-write and reasoning tokens included when scripted), and record every request.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.loopback import ThreadedServer, read_head

# --- realistic error bodies, as the providers send them ---------------------------------------------------------

_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
_GEMINI_STATUS |= {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def openai_error(message: str, *, type: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error"}
_ANTHROPIC_TYPES |= {404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error"}
_ANTHROPIC_TYPES |= {529: "overloaded_error"}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"), "message": message}}


def gemini_error(status: int, message: str, *, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "UNKNOWN")}
    if details:
        error["details"] = details
    return {"error": error}


OPENAI_INVALID_KEY = openai_error(
    "Incorrect API key provided: sk-te****1234. You can find your API key at "
    "https://platform.openai.com/account/api-keys.",
    code="invalid_api_key",
)
OPENAI_RATE_LIMIT = openai_error(
    "Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 3, "
    "Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits.",
    type="requests",
    code="rate_limit_exceeded",
)
OPENAI_INSUFFICIENT_QUOTA = openai_error(
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    type="insufficient_quota",
    code="insufficient_quota",
)
OPENAI_CONTEXT_LENGTH: dict[str, Any] = {
    "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in "
        "130512 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
OPENAI_SERVER_ERROR = openai_error(
    "The server had an error while processing your request. Sorry about that!", type="server_error"
)
GROQ_RATE_LIMIT: dict[str, Any] = {
    "error": {
        "message": "Rate limit reached for model `llama-3.1-8b-instant` in organization `org_01abc` service tier "
        "`on_demand` on tokens per minute (TPM): Limit 6000, Used 5800, Requested 700. Please try again in 5.2s. "
        "Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing",
        "type": "tokens",
        "code": "rate_limit_exceeded",
    }
}
XAI_NO_CREDITS: dict[str, Any] = {
    "code": "Some resource has been exhausted",
    "error": "Your team 0a1b2c has either used all available credits or reached its monthly spending limit. To "
    "continue making API requests, please purchase more credits or raise your spending limit.",
}
GEMINI_RATE_LIMIT = gemini_error(
    429,
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    details=[
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                    "quotaValue": "10",
                }
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more", "url": "x"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"},
    ],
)
GEMINI_QUOTA_EXHAUSTED = gemini_error(
    429, "You exceeded your current quota, please check your plan and billing details."
)
GEMINI_INVALID_KEY = gemini_error(
    400,
    "API key not valid. Please pass a valid API key.",
    details=[
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }
    ],
)
GEMINI_CONTEXT_LENGTH = gemini_error(
    400, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
)
GEMINI_OVERLOADED = gemini_error(503, "The model is overloaded. Please try again later.")

XAI_INVALID_KEY: dict[str, Any] = {
    "code": "Client specified an invalid argument",
    "error": "Incorrect API key provided: xa***yz. You can obtain an API key from https://console.x.ai.",
}
XAI_CONTEXT_LENGTH: dict[str, Any] = {
    "code": "Client specified an invalid argument",
    "error": "This model's maximum prompt length is 131072 but the request contains 140211 tokens.",
}
GROQ_REQUEST_TOO_LARGE: dict[str, Any] = {
    "error": {
        "message": "Request too large for model `llama-3.1-8b-instant` in organization `org_01abc` service tier "
        "`on_demand` on tokens per minute (TPM): Limit 6000, Requested 9850, please reduce your message size and "
        "try again. Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing",
        "type": "tokens",
        "code": "rate_limit_exceeded",
    }
}
ANTHROPIC_RATE_LIMIT = {
    **anthropic_error(
        429,
        "This request would exceed the rate limit for your organization (0a1b2c) of 50 input tokens "
        "per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.",
    ),
    "request_id": "req_011CTestRateLimit",
}
ANTHROPIC_OVERLOADED = {**anthropic_error(529, "Overloaded"), "request_id": "req_011CTestOverloaded"}
ANTHROPIC_INVALID_KEY = {**anthropic_error(401, "invalid x-api-key"), "request_id": "req_011CTestAuth"}
ANTHROPIC_NO_CREDIT = anthropic_error(
    400,
    "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to "
    "upgrade or purchase credits.",
)
ANTHROPIC_CONTEXT_LENGTH = anthropic_error(400, "prompt is too long: 208310 tokens > 200000 maximum")

# --- scripts ------------------------------------------------------------------------------------------------------


@dataclass
class ErrorReply:
    """One scripted failure. `body` may be a dict (sent as JSON), str or bytes; None gets the family's default."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Script:
    """How a fake answers. Mutate it between calls; queued `errors` are served first, one per request.

    An `errors` item may also be an Exception: MockTransport handlers raise it; LoopbackServer drops the
    connection without answering.
    """

    text: str = "Hello from the fake provider."
    input_tokens: int = 12
    output_tokens: int = 7
    thoughts_tokens: int = 0  # Gemini thinking tokens (billed as output)
    cached_input_tokens: int = 0  # part of input_tokens read from the provider's prompt cache
    cache_write_tokens: int = 0  # Anthropic: input tokens written to the cache
    reasoning_tokens: int = 0  # OpenAI-style reasoning, reported inside output_tokens
    #: where streamed OpenAI usage goes: "final_chunk" (include_usage), "last_choice" (llama.cpp), "x_groq", "none"
    usage_style: str = "final_chunk"
    model: str | None = None  # None: echo the requested model
    finish_reason: str | None = None  # None: "stop" / "STOP"
    delay: float = 0.0  # seconds before answering (LoopbackServer only)
    chunk_delay: float = 0.0  # seconds between stream events (LoopbackServer only)
    api_key: str | None = None  # when set, a request without this key gets the family's auth error
    status: int | None = None  # when set, every request fails with this status (after queued errors)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    errors: deque[ErrorReply | BaseException] = field(default_factory=deque)
    family: str | None = None  # "openai" / "gemini" / "anthropic" to refuse other families' paths; None serves all
    replies: deque[Reply] = field(default_factory=deque)  # recorded raw replies, served as they are, one per request

    def fail(self, status: int, body: Any = None, headers: dict[str, str] | None = None, *, times: int = 1) -> Script:
        for _ in range(times):
            self.errors.append(ErrorReply(status, body, dict(headers or {})))
        return self


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    json: Any
    body: bytes = b""

    @property
    def url_path(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]  # one item for a plain body; one per SSE event when streaming
    stream: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0


# --- wire formats ---------------------------------------------------------------------------------------------


def split_text(text: str, pieces: int = 4) -> list[str]:
    """Text cut into up to `pieces` parts that concatenate back to it exactly."""
    if not text:
        return [""]
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _sse(obj: Any, sep: bytes = b"\n\n") -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + sep


def openai_usage(script: Script) -> dict[str, Any]:
    return {
        "prompt_tokens": script.input_tokens,
        "completion_tokens": script.output_tokens,
        "total_tokens": script.input_tokens + script.output_tokens,
        "prompt_tokens_details": {"cached_tokens": script.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": script.reasoning_tokens},
    }


def openai_completion(script: Script, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": script.model or model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": script.text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": script.finish_reason or "stop",
            }
        ],
        "system_fingerprint": "fp_fake",
    }
    if script.usage_style != "none":
        body["usage"] = openai_usage(script)
    return body


def openai_stream_events(script: Script, model: str) -> list[bytes]:
    """SSE events as OpenAI, llama.cpp or Groq send them, ending with `data: [DONE]`."""
    style = script.usage_style
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = script.model or model
    extra: dict[str, Any] = {"usage": None} if style == "final_chunk" else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "system_fingerprint": "fp_fake", "choices": [choice], **extra}

    events = [_sse(chunk({"role": "assistant", "content": "", "refusal": None}))]
    events += [_sse(chunk({"content": piece})) for piece in split_text(script.text)]
    last = chunk({}, script.finish_reason or "stop")
    if style == "last_choice":
        last["usage"] = openai_usage(script)
        last["timings"] = {"prompt_n": script.input_tokens, "predicted_n": script.output_tokens}
    elif style == "x_groq":
        last["x_groq"] = {"id": "req_fake", "usage": {**openai_usage(script), "queue_time": 0.01}}
    events.append(_sse(last))
    if style == "final_chunk":
        events.append(_sse({**base, "choices": [], "usage": openai_usage(script)}))
    events.append(b"data: [DONE]\n\n")
    return events


def gemini_usage(script: Script, *, final: bool = True) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": script.input_tokens}
    if script.cached_input_tokens:
        usage["cachedContentTokenCount"] = script.cached_input_tokens
    if final:
        usage["candidatesTokenCount"] = script.output_tokens
        if script.thoughts_tokens:
            usage["thoughtsTokenCount"] = script.thoughts_tokens
    usage["totalTokenCount"] = script.input_tokens + (script.output_tokens + script.thoughts_tokens if final else 0)
    return usage


def gemini_response(script: Script, model: str, text: str | None = None, *, final: bool = True) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"parts": [{"text": script.text if text is None else text}], "role": "model"},
        "index": 0,
    }
    if final:
        candidate["finishReason"] = script.finish_reason or "STOP"
    body: dict[str, Any] = {"candidates": [candidate]}
    if script.usage_style != "none":
        body["usageMetadata"] = gemini_usage(script, final=final)
    body["modelVersion"] = script.model or model
    body["responseId"] = "fake-response"
    return body


def gemini_stream_events(script: Script, model: str) -> list[bytes]:
    """SSE events as Gemini sends them (CRLF-separated), running usage on each, final usage on the last."""
    pieces = split_text(script.text)
    return [
        _sse(gemini_response(script, model, piece, final=i == len(pieces) - 1), b"\r\n\r\n")
        for i, piece in enumerate(pieces)
    ]


def anthropic_usage(script: Script, *, start: bool = False) -> dict[str, Any]:
    """Messages `usage`: `input_tokens` is the uncached part only; cache reads and writes are counted apart."""
    fresh = script.input_tokens - script.cached_input_tokens - script.cache_write_tokens
    return {
        "input_tokens": max(0, fresh),
        "cache_creation_input_tokens": script.cache_write_tokens,
        "cache_read_input_tokens": script.cached_input_tokens,
        "output_tokens": 1 if start else script.output_tokens,
    }


def anthropic_message(script: Script, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": script.model or model,
        "content": [{"type": "text", "text": script.text}] if script.text else [],
        "stop_reason": script.finish_reason or "end_turn",
        "stop_sequence": None,
    }
    if script.usage_style != "none":
        body["usage"] = anthropic_usage(script)
    return body


def _event(name: str, obj: Any) -> bytes:
    return f"event: {name}\n".encode() + _sse(obj)


def anthropic_stream_events(script: Script, model: str) -> list[bytes]:
    """SSE as the Messages API sends it: message_start (input usage), content blocks, message_delta (output)."""
    message = anthropic_message(script, model)
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = anthropic_usage(script, start=True)
    events = [_event("message_start", {"type": "message_start", "message": start})]
    events.append(
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
    )
    events.append(_event("ping", {"type": "ping"}))
    for piece in split_text(script.text) if script.text else []:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        events.append(_event("content_block_delta", delta))
    events.append(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    delta_usage = {"output_tokens": script.output_tokens} if script.usage_style != "none" else None
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(_event("message_delta", {"type": "message_delta", "delta": stop, "usage": delta_usage}))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


def _error_reply(family: str, error: ErrorReply) -> Reply:
    body = error.body
    if body is None:
        message = f"scripted error {error.status}"
        if family == "anthropic":
            body = anthropic_error(error.status, message)
        else:
            body = gemini_error(error.status, message) if family == "gemini" else openai_error(message)
    if isinstance(body, (dict, list)):
        raw, ctype = json.dumps(body).encode(), "application/json"
    else:
        raw = body.encode() if isinstance(body, str) else bytes(body)
        ctype = "text/plain"
    return Reply(error.status, {"content-type": ctype, **error.headers}, [raw])


def _family(path: str) -> str | None:
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/messages"):
        return "anthropic"
    if "/models/" in path and (path.endswith(":generateContent") or path.endswith(":streamGenerateContent")):
        return "gemini"
    return None


#: Families whose request names the model in its body: (the SSE events, the JSON answer) for a script and model.
_MODEL_IN_BODY: dict[str, tuple[Callable[[Script, str], list[bytes]], Callable[[Script, str], dict[str, Any]]]] = {
    "anthropic": (anthropic_stream_events, anthropic_message),
    "openai": (openai_stream_events, openai_completion),
}


def respond(
    script: Script, method: str, path: str, query: str, headers: dict[str, str], payload: Any, *, drop: bool = False
) -> Reply:
    """The reply a real provider would give to this request under this script (shared by both fakes).

    A scripted exception is raised, or with `drop=True` returned as a status-0 reply meaning "drop the connection".
    """
    family = _family(path)
    if method != "POST" or family is None or (script.family and family != script.family):
        return _error_reply("openai", ErrorReply(404, {"error": {"message": f"no route for {method} {path}"}}))
    if script.replies:
        return script.replies.popleft()
    if script.errors:
        error = script.errors.popleft()
        if isinstance(error, BaseException):
            if drop:
                return Reply(0, {}, [])
            raise error
        return _error_reply(family, error)
    if script.api_key is not None:
        if family == "openai" and headers.get("authorization") != f"Bearer {script.api_key}":
            return _error_reply(family, ErrorReply(401, OPENAI_INVALID_KEY))
        if family == "gemini" and headers.get("x-goog-api-key") != script.api_key:
            return _error_reply(family, ErrorReply(400, GEMINI_INVALID_KEY))
        if family == "anthropic" and headers.get("x-api-key") != script.api_key:
            return _error_reply(family, ErrorReply(401, ANTHROPIC_INVALID_KEY))
    if script.status is not None:
        return _error_reply(family, ErrorReply(script.status, script.body, dict(script.headers)))
    timing = {"delay": script.delay, "chunk_delay": script.chunk_delay}
    if family in _MODEL_IN_BODY:  # the model and `stream` are in the JSON body
        stream_events, answer = _MODEL_IN_BODY[family]
        model = str(payload.get("model", "")) if isinstance(payload, dict) else ""
        if isinstance(payload, dict) and payload.get("stream"):
            return Reply(
                200, {"content-type": "text/event-stream"}, stream_events(script, model), stream=True, **timing
            )
        raw = json.dumps(answer(script, model)).encode()
        return Reply(200, {"content-type": "application/json"}, [raw], **timing)
    model, _, method_name = path.rsplit("/models/", 1)[1].partition(":")
    if method_name == "streamGenerateContent":
        if "alt=sse" in query:
            events = gemini_stream_events(script, model)
            return Reply(200, {"content-type": "text/event-stream"}, events, stream=True, **timing)
        pieces = split_text(script.text)
        array = [gemini_response(script, model, p, final=i == len(pieces) - 1) for i, p in enumerate(pieces)]
        return Reply(200, {"content-type": "application/json"}, [json.dumps(array).encode()], **timing)
    raw = json.dumps(gemini_response(script, model)).encode()
    return Reply(200, {"content-type": "application/json"}, [raw], **timing)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


# --- MockTransport handlers -------------------------------------------------------------------------------------


class FakeHandler:
    """A `httpx.MockTransport` handler: `httpx.MockTransport(handler)`. Inspect `.requests`; change `.script`."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode(),
            headers={k.lower(): v for k, v in request.headers.items()},
            json=_parse_json(raw),
            body=raw,
        )
        with self._lock:
            self.requests.append(recorded)
            reply = respond(
                self.script, recorded.method, recorded.path, recorded.query, recorded.headers, recorded.json
            )
        return httpx.Response(reply.status, headers=reply.headers, content=b"".join(reply.chunks))

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]


class StaticHandler(FakeHandler):
    """Answers every request with the same raw body: for malformed or hand-written answers no script makes.

    `content` may be bytes/str (sent as is) or a dict/list (sent as JSON).
    """

    def __init__(self, content: Any, status: int = 200, content_type: str = "application/json") -> None:
        super().__init__(Script())
        self.status, self.content_type = status, content_type
        self.content = json.dumps(content).encode() if isinstance(content, (dict, list)) else content

    def __call__(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        path, query = request.url.path, request.url.query.decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.requests.append(RecordedRequest(request.method, path, query, headers, _parse_json(raw), raw))
        return httpx.Response(self.status, headers={"content-type": self.content_type}, content=self.content)


def sse_handler(*events: Any, crlf: bool = False) -> StaticHandler:
    """A 200 `text/event-stream` of these events: a str is one raw line, anything else is sent as `data: <json>`."""
    sep = "\r\n\r\n" if crlf else "\n\n"
    lines = [e if isinstance(e, str) else "data: " + json.dumps(e) for e in events]
    return StaticHandler("".join(line + sep for line in lines).encode(), 200, "text/event-stream")


def _handler(family: str, text: str | None, options: dict[str, Any]) -> FakeHandler:
    errors = options.pop("errors", ())
    script = Script(family=family, **options)
    if text is not None:
        script.text = text
    script.errors.extend(errors)
    return FakeHandler(script)


def openai_handler(text: str | None = None, **options: Any) -> FakeHandler:
    """An OpenAI-compatible fake. Options are Script fields: input_tokens, output_tokens, usage_style, model,
    finish_reason, api_key, status/body/headers (always fail), errors (a list of ErrorReply or exceptions)."""
    return _handler("openai", text, options)


def gemini_handler(text: str | None = None, **options: Any) -> FakeHandler:
    """A Gemini fake. Options as for `openai_handler`, plus thoughts_tokens."""
    return _handler("gemini", text, options)


def anthropic_handler(text: str | None = None, **options: Any) -> FakeHandler:
    """An Anthropic Messages fake. Options as for `openai_handler`, plus cached_input_tokens and
    cache_write_tokens (both part of input_tokens)."""
    return _handler("anthropic", text, options)


# --- loopback server --------------------------------------------------------------------------------------------

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden"}
_REASONS |= {404: "Not Found", 408: "Request Timeout", 413: "Payload Too Large", 429: "Too Many Requests"}
_REASONS |= {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_REASONS |= {529: "Overloaded"}


class LoopbackServer(ThreadedServer):
    """A real HTTP/1.1 server (keep-alive, chunked SSE) on 127.0.0.1, run by asyncio in its own thread.

    Scripts are chosen per path prefix, longest match first (`server.script("/openai")`); the default script
    (prefix "") answers everything else. `url` is `http://127.0.0.1:<port>`; `requests` logs every request.
    """

    def __init__(self, default: Script | None = None) -> None:
        super().__init__()
        self.default = default or Script()
        self._scripts: dict[str, Script] = {}
        self.requests: list[RecordedRequest] = []

    # scripting

    def script(self, prefix: str = "") -> Script:
        """The script for a path prefix, created (as a copy of the default) on first use."""
        with self._lock:
            if not prefix:
                return self.default
            if prefix not in self._scripts:
                self._scripts[prefix] = copy.deepcopy(self.default)
            return self._scripts[prefix]

    def configure(self, prefix: str = "", **fields: Any) -> Script:
        script = self.script(prefix)
        for name, value in fields.items():
            if not hasattr(script, name):
                raise AttributeError(f"Script has no field {name!r}")
            setattr(script, name, value)
        return script

    def fail(
        self, prefix: str, status: int, body: Any = None, headers: dict[str, str] | None = None, *, times: int = 1
    ) -> Script:
        """Queue `times` error replies on the script of `prefix`."""
        return self.script(prefix).fail(status, body, headers, times=times)

    def requests_for(self, prefix: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def _match(self, path: str) -> Script:
        best = ""
        for prefix in self._scripts:
            if path.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self._scripts[best] if best else self.default

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                method, path, query, headers = await read_head(reader)
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    raw = await _read_chunked(reader)
                else:
                    length = int(headers.get("content-length") or 0)
                    raw = await reader.readexactly(length) if length else b""
                recorded = RecordedRequest(method, path, query, headers, _parse_json(raw), raw)
                with self._lock:
                    self.requests.append(recorded)
                    script = self._match(path)
                    reply = respond(script, method, path, query, headers, recorded.json, drop=True)
                if reply.status == 0:  # a scripted exception: drop the connection unanswered
                    writer.transport.abort()
                    return
                reply.delay = reply.delay or script.delay
                await self._write(writer, reply)
                if headers.get("connection", "").lower() == "close":
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        status = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        head = [status, *(f"{k}: {v}\r\n" for k, v in reply.headers.items())]
        if not reply.stream:
            body = b"".join(reply.chunks)
            writer.write("".join([*head, f"content-length: {len(body)}\r\n\r\n"]).encode("latin-1") + body)
            await writer.drain()
            return
        writer.write("".join([*head, "cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"]).encode())
        for event in reply.chunks:
            if reply.chunk_delay:
                await writer.drain()
                await asyncio.sleep(reply.chunk_delay)
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readline()
