"""Anthropic (Claude) over httpx, on the Messages API: `POST {base}/messages` with `x-api-key` and
`anthropic-version`, plain JSON or SSE (`message_start`, `content_block_delta`, `message_delta`, `message_stop`).

As for the other adapters, an answer cut at `max_tokens` or refused is billed and comes back as a result with its
finish reason and usage; HTTP errors (429 rate limits, 529 overloaded, with `retry-after`) raise ProviderError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from core.base import (
    CompletionRequest,
    ErrorKind,
    FinishReason,
    ProviderError,
    ProviderResult,
    StreamDelta,
    StreamInterrupted,
    TokenUsage,
)
from core.providers._http import HTTPProvider, classify_status, error_info, parse_retry_after, token_count, truncate

#: The API version this adapter speaks (the one the official SDK sends).
ANTHROPIC_VERSION = "2023-06-01"

#: stop_reason values (anthropic-sdk-python `StopReason`) in our vocabulary.
_FINISH: dict[str, FinishReason] = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "tool_use": FinishReason.STOP,
    "pause_turn": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "refusal": FinishReason.CONTENT_FILTER,
}

#: The HTTP status Anthropic documents for each error `type`, to classify an error event sent inside a stream.
_ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_JSON_INSTRUCTION = "Answer with one JSON value only, no prose and no code fences."


def finish_reason_of(raw: str | None) -> FinishReason:
    return FinishReason.UNKNOWN if raw is None else _FINISH.get(raw, FinishReason.UNKNOWN)


class AnthropicProvider(HTTPProvider):
    """The Claude Messages API (or a compatible gateway at another base URL)."""

    def __init__(
        self,
        name: str = "anthropic",
        *,
        api_key: str | None,
        base_url: str,
        model: str,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if api_key:
            headers["x-api-key"] = api_key
        super().__init__(
            name, api_key=api_key, base_url=base_url, model=model, timeout=timeout, transport=transport, headers=headers
        )
        self.url = f"{self.base_url}/messages"

    def build_body(self, request: CompletionRequest, *, stream: bool = False) -> dict[str, Any]:
        """The Messages JSON for a request (public so tests can check the wire shape). The API has no JSON mode:
        JSON is asked for in the system prompt."""
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
            "temperature": request.temperature,
        }
        system = request.system or ""
        if request.json_mode:
            system = f"{system}\n\n{_JSON_INSTRUCTION}".strip()
        if system:
            body["system"] = system
        if stream:
            body["stream"] = True
        return body

    async def complete(self, request: CompletionRequest) -> ProviderResult:
        body = self.build_body(request)
        data = await self._post_json(self.url, body)
        if not isinstance(data, dict):
            raise self._bad(f"expected a JSON object, got {type(data).__name__}")
        if data.get("type") == "error" or (data.get("error") and "content" not in data):
            raise self._stream_error(data)
        content = data.get("content")
        usage = usage_of(data.get("usage"))
        raw_finish = data.get("stop_reason")
        if not isinstance(content, list) and usage is None:
            raise self._bad("the answer has no content and no usage")
        return ProviderResult(
            content=_text_of(content),
            model=str(data.get("model") or body["model"]),
            finish_reason=finish_reason_of(raw_finish),
            usage=usage,
            raw_finish_reason=str(raw_finish) if raw_finish else None,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        """Text deltas, then one last delta with the stop reason and the bill.

        `message_start` carries the input side of the bill (and output so far); `message_delta` carries the
        cumulative output (and, on newer API versions, cumulative input and cache counts), so later values win.
        """
        body = self.build_body(request, stream=True)
        parts: list[str] = []
        counts: dict[str, Any] = {}
        raw_finish: str | None = None
        model: str | None = None
        async for event in self._stream_json(self.url, body):
            if not isinstance(event, dict):
                raise self._bad(f"expected a JSON object in the stream, got {type(event).__name__}")
            kind = event.get("type")
            if kind == "error" or (kind is None and event.get("error")):
                error = self._stream_error(event)
                raise StreamInterrupted(
                    self.name, error.kind, error.message, partial_text="".join(parts),
                    usage=usage_of(counts), status_code=error.status_code, retry_after=error.retry_after,
                )  # fmt: skip
            if kind == "message_start" and isinstance(event.get("message"), dict):
                message = event["message"]
                model = str(message.get("model") or "") or model
                _merge(counts, message.get("usage"))
                if isinstance(message.get("content"), list):  # a message_start may already hold text
                    text = _text_of(message["content"])
                    if text:
                        parts.append(text)
                        yield StreamDelta(text=text, model=model)
            elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
                delta = event["delta"]
                if delta.get("type") == "text_delta" and delta.get("text"):
                    parts.append(str(delta["text"]))
                    yield StreamDelta(text=str(delta["text"]), model=model)
            elif kind == "message_delta":
                stop = event.get("delta")
                stop = stop.get("stop_reason") if isinstance(stop, dict) else None
                raw_finish = str(stop or "") or raw_finish
                _merge(counts, event.get("usage"))
        usage = usage_of(counts)
        if not (parts or raw_finish or usage):
            raise self._bad("the answer stream carried no text, no stop reason and no usage")
        yield StreamDelta(
            text="", finish_reason=finish_reason_of(raw_finish), model=model, usage=usage, raw_finish_reason=raw_finish
        )

    def _stream_error(self, chunk: Any) -> ProviderError:
        """An `error` event ({"type": "error", "error": {"type": "overloaded_error", ...}}) classified like the
        HTTP status Anthropic documents for its type."""
        info = error_info(chunk)
        error = chunk.get("error") if isinstance(chunk, dict) else None
        status = _ERROR_STATUS.get(str(error.get("type")), 500) if isinstance(error, dict) else 500
        kind = classify_status(status, info)
        waits = kind in (ErrorKind.RATE_LIMITED, ErrorKind.SERVER)
        retry = parse_retry_after(None, chunk) if waits else None
        message = truncate(self._scrub(info.message or "error in the answer stream"))
        return ProviderError(self.name, kind, message, status_code=status, retry_after=retry)


def _merge(counts: dict[str, Any], usage: Any) -> None:
    if isinstance(usage, dict):
        counts.update({k: v for k, v in usage.items() if v is not None})


def usage_of(usage: Any) -> TokenUsage | None:
    """The Messages `usage` object as Anthropic bills it; None when absent.

    Field sources (anthropic-sdk-python `Usage` / `MessageDeltaUsage`):
    - input_tokens = `input_tokens` + `cache_read_input_tokens` + `cache_creation_input_tokens`: Anthropic's
      `input_tokens` counts only the uncached input after the last cache breakpoint.
    - cached_input_tokens = `cache_read_input_tokens`; cache_write_tokens = `cache_creation_input_tokens`.
    - output_tokens = `output_tokens` (includes thinking); reasoning_tokens = `output_tokens_details.thinking_tokens`
      where the API reports it.
    """
    if not isinstance(usage, dict):
        return None
    fresh = token_count(usage.get("input_tokens"))
    output = token_count(usage.get("output_tokens"))
    if fresh is None and output is None:
        return None
    read = token_count(usage.get("cache_read_input_tokens")) or 0
    write = token_count(usage.get("cache_creation_input_tokens")) or 0
    details = usage.get("output_tokens_details")
    thinking = token_count(details.get("thinking_tokens")) if isinstance(details, dict) else None
    output = output or 0
    return TokenUsage(
        input_tokens=(fresh or 0) + read + write,
        output_tokens=output,
        cached_input_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=min(thinking or 0, output),
    )


def _text_of(content: Any) -> str:
    """The text blocks of a message, joined; thinking and tool blocks are not part of the answer."""
    if not isinstance(content, list):
        return ""
    return "".join(str(b.get("text") or "") for b in content if isinstance(b, dict) and b.get("type") == "text")
