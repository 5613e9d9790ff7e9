"""Google Gemini over httpx: `generateContent` and `streamGenerateContent?alt=sse`, the key only in the
`x-goog-api-key` header (a key in the URL ends up in proxy and server logs).

A safety stop, a blocked prompt (`promptFeedback.blockReason`) or `MAX_TOKENS` after thoughts only is billed: it
comes back as a result with its finish reason and usage, not as an error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from core.base import CompletionRequest, FinishReason, ProviderResult, StreamDelta, StreamInterrupted, TokenUsage
from core.providers._http import HTTPProvider, token_count

#: finishReasons meaning the answer was withheld, not finished (billed all the same).
BLOCKED_FINISH = frozenset(
    {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE",
        "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
    }
)  # fmt: skip
_FINISH: dict[str, FinishReason] = {
    "STOP": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    "MALFORMED_FUNCTION_CALL": FinishReason.ERROR,
    "UNEXPECTED_TOOL_CALL": FinishReason.ERROR,
}


class GeminiProvider(HTTPProvider):
    """The Gemini API (Google AI Studio keys)."""

    def __init__(
        self,
        name: str = "gemini",
        *,
        api_key: str | None,
        base_url: str,
        model: str,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"content-type": "application/json"}
        if api_key:
            headers["x-goog-api-key"] = api_key
        super().__init__(
            name, api_key=api_key, base_url=base_url, model=model, timeout=timeout, transport=transport, headers=headers
        )

    def url(self, model: str, *, stream: bool = False) -> str:
        model = model.removeprefix("models/")
        if stream:
            return f"{self.base_url}/models/{model}:streamGenerateContent?alt=sse"
        return f"{self.base_url}/models/{model}:generateContent"

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        """The generateContent JSON for a request (public so tests can check the wire shape)."""
        config: dict[str, Any] = {"maxOutputTokens": request.max_tokens, "temperature": request.temperature}
        if request.json_mode:
            config["responseMimeType"] = "application/json"
        body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": request.prompt}]}]}
        if request.system:
            body["systemInstruction"] = {"parts": [{"text": request.system}]}
        body["generationConfig"] = config
        return body

    async def complete(self, request: CompletionRequest) -> ProviderResult:
        model = request.model or self.model
        data = await self._post_json(self.url(model), self.build_body(request))
        if isinstance(data, list):  # tolerate an array of one response
            data = data[0] if data else {}
        if not isinstance(data, dict):
            raise self._bad(f"expected a JSON object, got {type(data).__name__}")
        if data.get("error"):
            raise self._stream_error(data)
        usage = usage_of(data)
        text, raw_finish = _candidate_of(data)
        if raw_finish is None and not text and usage is None and not _blocked_prompt(data):
            raise self._bad("the answer has no candidates")
        return ProviderResult(
            content=text,
            model=str(data.get("modelVersion") or model),
            finish_reason=finish_reason_of(raw_finish),
            usage=usage,
            raw_finish_reason=raw_finish,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        """Text deltas, then one last delta with the finish reason and the bill, even when nothing was said."""
        model = request.model or self.model
        parts: list[str] = []
        usage: TokenUsage | None = None
        raw_finish: str | None = None
        model_version: str | None = None
        async for chunk in self._stream_json(self.url(model, stream=True), self.build_body(request)):
            if not isinstance(chunk, dict):
                raise self._bad(f"expected a JSON object in the stream, got {type(chunk).__name__}")
            if chunk.get("error"):
                error = self._stream_error(chunk)
                raise StreamInterrupted(
                    self.name, error.kind, error.message, partial_text="".join(parts), usage=usage,
                    status_code=error.status_code, retry_after=error.retry_after,
                )  # fmt: skip
            usage = usage_of(chunk) or usage  # each chunk repeats the running totals; the last one is the bill
            model_version = str(chunk.get("modelVersion") or "") or model_version
            text, chunk_finish = _candidate_of(chunk)
            raw_finish = chunk_finish or raw_finish
            if text:
                parts.append(text)
                yield StreamDelta(text=text, model=model_version)
        if not (parts or raw_finish or usage):
            raise self._bad("the answer stream carried no text, no finish reason and no usage")
        yield StreamDelta(
            text="",
            finish_reason=finish_reason_of(raw_finish),
            model=model_version,
            usage=usage,
            raw_finish_reason=raw_finish,
        )


def finish_reason_of(raw: str | None) -> FinishReason:
    if raw is None:
        return FinishReason.UNKNOWN
    if raw in BLOCKED_FINISH or raw.startswith("BLOCK"):
        return FinishReason.CONTENT_FILTER
    return _FINISH.get(raw, FinishReason.UNKNOWN)


def _blocked_prompt(data: dict[str, Any]) -> str | None:
    feedback = data.get("promptFeedback")
    reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    return f"BLOCK_{reason}" if reason else None


def _candidate_of(data: dict[str, Any]) -> tuple[str, str | None]:
    """Text of candidates[0] (thought parts skipped) and its finishReason. A prompt blocked by
    `promptFeedback.blockReason` has no candidates: its reason comes back as "BLOCK_<reason>"."""
    blocked = _blocked_prompt(data)
    candidates = data.get("candidates")
    if not candidates or not isinstance(candidates, list):
        return "", blocked
    candidate = candidates[0] if isinstance(candidates[0], dict) else {}
    finish = candidate.get("finishReason")
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    parts = parts if isinstance(parts, list) else []
    text = "".join(str(p.get("text") or "") for p in parts if isinstance(p, dict) and not p.get("thought"))
    return text, (str(finish) if finish else None) or blocked


def usage_of(data: dict[str, Any]) -> TokenUsage | None:
    """`usageMetadata` as Gemini bills it; None when absent.

    Field sources (python-genai `GenerateContentResponseUsageMetadata`):
    - input_tokens = `promptTokenCount` + `toolUsePromptTokenCount`: the prompt count already includes any cached
      content ("the total effective prompt size"); tool-use prompt tokens are counted apart and billed as input.
    - cached_input_tokens = `cachedContentTokenCount` (explicit caches and the implicit caching of 2.5 models).
    - output_tokens = `candidatesTokenCount` + `thoughtsTokenCount`: thinking is billed at the output rate.
    - reasoning_tokens = `thoughtsTokenCount`; tool_prompt_tokens = `toolUsePromptTokenCount`.
    """
    meta = data.get("usageMetadata")
    if not isinstance(meta, dict):
        return None
    prompt = token_count(meta.get("promptTokenCount")) or 0
    tool = token_count(meta.get("toolUsePromptTokenCount")) or 0
    cached = token_count(meta.get("cachedContentTokenCount")) or 0
    candidates = token_count(meta.get("candidatesTokenCount")) or 0
    thoughts = token_count(meta.get("thoughtsTokenCount")) or 0
    return TokenUsage(
        input_tokens=prompt + tool,
        output_tokens=candidates + thoughts,
        cached_input_tokens=min(cached, prompt),
        reasoning_tokens=thoughts,
        tool_prompt_tokens=tool,
    )
