"""OpenAI-compatible chat completions over httpx: OpenAI, Groq, Grok (xAI), OpenRouter, Mistral, DeepSeek and
self-hosted servers (Ollama, llama.cpp, vLLM...) all speak `POST {base}/chat/completions`, plain or as SSE.

Every billed answer comes back, with its finish reason and usage: an empty, refused or length-cut answer is
charged by the provider, so it is a result, not an error. Only failures the provider does not bill (HTTP errors,
malformed bodies) raise.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from core.base import (
    CompletionRequest,
    ErrorKind,
    FinishReason,
    ProviderResult,
    StreamDelta,
    StreamInterrupted,
    TokenUsage,
)
from core.providers._http import (
    HTTPProvider,
    classify_status,
    error_info,
    host_of,
    parse_retry_after,
    token_count,
    truncate,
)

# OpenAI's reasoning models (o1/o3/o4..., gpt-5 except the chat variant) reject any temperature but the default.
_FIXED_TEMPERATURE = re.compile(r"^(?:o\d|gpt-5(?!-chat))", re.IGNORECASE)

#: finish_reason values (OpenAI, Groq, xAI, Mistral, DeepSeek, llama.cpp) in our vocabulary.
_FINISH: dict[str, FinishReason] = {
    "stop": FinishReason.STOP,
    "end_turn": FinishReason.STOP,
    "tool_calls": FinishReason.STOP,
    "function_call": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "model_length": FinishReason.LENGTH,  # Mistral: the context window ran out
    "max_tokens": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
    "insufficient_system_resource": FinishReason.ERROR,  # DeepSeek: the server cut the answer
    "error": FinishReason.ERROR,
}

#: Providers that do not accept `stream_options` but send usage on the last chunk anyway.
_NO_STREAM_OPTIONS = frozenset({"mistral"})


def finish_reason_of(raw: Any, *, refused: bool = False) -> FinishReason:
    if refused:
        return FinishReason.CONTENT_FILTER
    if raw is None:
        return FinishReason.UNKNOWN
    return _FINISH.get(str(raw).lower(), FinishReason.UNKNOWN)


class OpenAICompatProvider(HTTPProvider):
    """One OpenAI-compatible endpoint. `name` is the stats name: openai, groq, grok, custom or a catalogue preset."""

    def __init__(
        self,
        name: str,
        *,
        api_key: str | None,
        base_url: str,
        model: str,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        headers.update({k.lower(): v for k, v in (extra_headers or {}).items()})
        if api_key:  # a self-hosted server such as Ollama needs none
            headers["authorization"] = f"Bearer {api_key}"
        super().__init__(
            name, api_key=api_key, base_url=base_url, model=model, timeout=timeout, transport=transport, headers=headers
        )
        self.url = f"{self.base_url}/chat/completions"
        # xAI bills reasoning on top of completion_tokens (see usage_of); recognised by name or by its host.
        self.reasoning_on_top = name == "grok" or host_of(self.base_url).split(":")[0].endswith("x.ai")

    def build_body(self, request: CompletionRequest, *, stream: bool = False) -> dict[str, Any]:
        """The chat-completions JSON for a request (public so tests and benchmarks can check the wire shape)."""
        model = request.model or self.model
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": request.prompt})
        body: dict[str, Any] = {"model": model, "messages": messages}
        # OpenAI's newer models refuse max_tokens; other servers mostly know only max_tokens.
        body["max_completion_tokens" if self.name == "openai" else "max_tokens"] = request.max_tokens
        if not (self.name == "openai" and _FIXED_TEMPERATURE.match(model)):
            body["temperature"] = request.temperature
        if request.json_mode:
            body["response_format"] = {"type": "json_object"}
        if stream:
            body["stream"] = True
            if self.name not in _NO_STREAM_OPTIONS:
                body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: CompletionRequest) -> ProviderResult:
        body = self.build_body(request)
        data = await self._post_json(self.url, body)
        return self._parse_completion(data, body["model"])

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        """Text deltas, then one last delta with the finish reason and the bill (usage), even with no text."""
        body = self.build_body(request, stream=True)
        parts: list[str] = []
        usage: TokenUsage | None = None
        raw_finish: str | None = None
        refusal: list[str] = []
        model: str | None = None
        async for chunk in self._stream_json(self.url, body):
            if not isinstance(chunk, dict):
                raise self._bad(f"expected a JSON object in the stream, got {type(chunk).__name__}")
            usage = self.usage_of(chunk) or usage  # xAI repeats running totals on every chunk: the last one counts
            model = str(chunk.get("model") or "") or model
            failure = _stream_failure(chunk)
            if failure is not None:
                raise self._interrupted(failure, chunk, "".join(parts), usage)
            text, finish, refused = _choice_of(chunk, "delta")
            raw_finish = finish or raw_finish
            if refused:
                refusal.append(refused)
            if text:
                parts.append(text)
                yield StreamDelta(text=text, model=model)
        if not (parts or raw_finish or refusal or usage):
            raise self._bad("the answer stream carried no text, no finish reason and no usage")
        yield StreamDelta(
            text="",
            finish_reason=finish_reason_of(raw_finish, refused=bool(refusal) and not parts),
            model=model,
            usage=usage,
            raw_finish_reason=raw_finish,
        )

    # --- parsing ----------------------------------------------------------------------------------------------

    def usage_of(self, data: dict[str, Any]) -> TokenUsage | None:
        """The bill in `usage` (OpenAI, xAI, Mistral, DeepSeek, OpenRouter, the include_usage final chunk,
        llama.cpp's last choice chunk) or Groq's streamed `x_groq.usage`; None when absent.

        Field sources:
        - input_tokens = `prompt_tokens`: every provider here counts cached input inside it.
        - cached_input_tokens = `prompt_tokens_details.cached_tokens` (OpenAI, Groq, xAI, OpenRouter), else
          DeepSeek's `prompt_cache_hit_tokens`.
        - reasoning_tokens = `completion_tokens_details.reasoning_tokens`.
        - output_tokens = `completion_tokens`, which already includes reasoning for OpenAI, Groq and DeepSeek.
          xAI bills reasoning on top: its `completion_tokens` is the visible answer only and its `total_tokens`
          is prompt + completion + reasoning, so for xAI (or any server whose total shows the same sum) the
          reasoning is added.
        """
        raw = data.get("usage")
        if not isinstance(raw, dict):
            x_groq = data.get("x_groq")
            raw = x_groq.get("usage") if isinstance(x_groq, dict) else None
        if not isinstance(raw, dict):
            return None
        prompt = token_count(raw.get("prompt_tokens"))
        completion = token_count(raw.get("completion_tokens"))
        if prompt is None and completion is None:
            return None
        prompt, completion = prompt or 0, completion or 0
        prompt_details = raw.get("prompt_tokens_details")
        cached = token_count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None
        if cached is None:
            cached = token_count(raw.get("prompt_cache_hit_tokens"))
        completion_details = raw.get("completion_tokens_details")
        reasoning = (
            token_count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else None
        ) or 0
        total = token_count(raw.get("total_tokens"))
        on_top = reasoning > 0 and (self.reasoning_on_top or total == prompt + completion + reasoning)
        output = completion + reasoning if on_top else completion
        return TokenUsage(
            input_tokens=prompt,
            output_tokens=output,
            cached_input_tokens=min(cached or 0, prompt),
            reasoning_tokens=min(reasoning, output),
        )

    def _parse_completion(self, data: Any, model: str) -> ProviderResult:
        if not isinstance(data, dict):
            raise self._bad(f"expected a JSON object, got {type(data).__name__}")
        choices = data.get("choices")
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            if data.get("error"):
                raise self._stream_error(data)
            raise self._bad("the answer has no choices")
        text, raw_finish, refusal = _choice_of(data, "message")
        usage = self.usage_of(data)
        if not (text or raw_finish or refusal or usage):
            raise self._bad("the answer has no text, no finish reason and no usage")
        return ProviderResult(
            content=text,
            model=str(data.get("model") or model),
            finish_reason=finish_reason_of(raw_finish, refused=bool(refusal) and not text),
            usage=usage,
            raw_finish_reason=raw_finish,
            refusal=refusal,
        )

    def _interrupted(
        self, failure: tuple[Any, str], chunk: dict[str, Any], partial: str, usage: TokenUsage | None
    ) -> StreamInterrupted:
        """An error sent inside a 200 stream: classified like an HTTP error of its code, with the bill so far."""
        error, message = failure
        info = error_info({"error": error} if isinstance(error, (dict, str)) else chunk)
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        kind = classify_status(status, info)
        waits = kind in (ErrorKind.RATE_LIMITED, ErrorKind.SERVER)
        retry = parse_retry_after(None, {"error": error}) if waits else None
        text = truncate(self._scrub(message or info.message or "error in the answer stream"))
        if partial:
            text = f"{text} (the answer was cut after {len(partial):,} characters)"
        return StreamInterrupted(
            self.name, kind, text, partial_text=partial, usage=usage, status_code=status, retry_after=retry
        )


def _stream_failure(chunk: dict[str, Any]) -> tuple[Any, str] | None:
    """(error, message) when a stream chunk reports a failure: a top-level `error` object (OpenAI, OpenRouter,
    llama.cpp) or Groq's `x_groq.error` string ("why a stream was stopped early", per groq-python)."""
    error = chunk.get("error")
    if error and not chunk.get("choices"):
        message = error.get("message") if isinstance(error, dict) else error
        return error, str(message or "")
    x_groq = chunk.get("x_groq")
    if isinstance(x_groq, dict) and x_groq.get("error"):
        return x_groq["error"], str(x_groq["error"])
    return None


def _choice_of(data: dict[str, Any], key: str) -> tuple[str, str | None, str | None]:
    """(text, raw finish_reason, refusal) of choices[0]; `key` is "message" or "delta" (a streamed chunk may also
    carry a whole "message" when a server ignored stream=true). Reasoning text (`reasoning_content`) is skipped."""
    choices = data.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return "", None, None
    choice = choices[0]
    message = choice.get(key) or choice.get("message") or {}
    if not isinstance(message, dict):
        return "", _str_or_none(choice.get("finish_reason")), None
    refusal = message.get("refusal")
    return (
        _text_of(message.get("content")),
        _str_or_none(choice.get("finish_reason")),
        str(refusal) if refusal else None,
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _text_of(content: Any) -> str:
    """Content is a string, null, or (some servers) a list of {type: text, text} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return ""
