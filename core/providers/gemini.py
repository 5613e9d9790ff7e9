"""Google Gemini over httpx: `generateContent` and `streamGenerateContent?alt=sse`, the key only in the
`x-goog-api-key` header (a key in the URL ends up in proxy and server logs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from core.base import CompletionRequest, ProviderResult, StreamDelta
from core.providers._http import HTTPProvider, token_count

#: finishReasons meaning the answer was withheld, not finished.
BLOCKED_FINISH = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"}
)


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
        text, finish = self._parse_chunk_text(data)
        input_tokens, output_tokens = _usage(data)
        if not text:
            raise self._bad(_empty_reason(finish, output_tokens))
        return ProviderResult(
            content=text,
            model=str(data.get("modelVersion") or model),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        model = request.model or self.model
        got_text = False
        usage: tuple[int | None, int | None] = (None, None)
        finish: str | None = None
        model_version: str | None = None
        async for chunk in self._stream_json(self.url(model, stream=True), self.build_body(request)):
            text, chunk_finish = self._parse_chunk_text(chunk)
            finish = chunk_finish or finish
            model_version = str(chunk.get("modelVersion") or "") or model_version
            if chunk.get("usageMetadata"):  # each chunk repeats the running totals; the last one is final
                usage = _usage(chunk)
            if text:
                got_text = True
                yield StreamDelta(text=text, model=model_version)
        if not got_text:
            raise self._bad(_empty_reason(finish, usage[1]))
        yield StreamDelta(
            text="", input_tokens=usage[0], output_tokens=usage[1], finish_reason=finish, model=model_version
        )

    def _parse_chunk_text(self, data: Any) -> tuple[str, str | None]:
        """Text of candidates[0] (thought parts skipped) and its finishReason; a blocked answer raises."""
        if not isinstance(data, dict):
            raise self._bad(f"expected a JSON object, got {type(data).__name__}")
        if data.get("error"):
            raise self._stream_error(data)
        feedback = data.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            raise self._bad(f"Gemini blocked the prompt (blockReason {feedback['blockReason']})")
        candidates = data.get("candidates")
        if not candidates:
            if "usageMetadata" in data:  # a usage-only chunk
                return "", None
            raise self._bad("the answer has no candidates")
        candidate = candidates[0] if isinstance(candidates[0], dict) else {}
        finish = candidate.get("finishReason")
        if finish in BLOCKED_FINISH:
            raise self._bad(f"Gemini withheld the answer (finishReason {finish})")
        content = candidate.get("content") if isinstance(candidate.get("content"), dict) else {}
        parts = content.get("parts") if isinstance(content.get("parts"), list) else []
        text = "".join(str(p.get("text") or "") for p in parts if isinstance(p, dict) and not p.get("thought"))
        return text, finish


def _usage(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """usageMetadata: prompt tokens in; candidates plus thinking tokens out (both are billed as output)."""
    meta = data.get("usageMetadata")
    if not isinstance(meta, dict):
        return None, None
    candidates = token_count(meta.get("candidatesTokenCount"))
    thoughts = token_count(meta.get("thoughtsTokenCount"))
    output = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    return token_count(meta.get("promptTokenCount")), output


def _empty_reason(finish: str | None, output_tokens: int | None) -> str:
    if finish == "MAX_TOKENS":
        return f"the answer has no text: maxOutputTokens ran out (output/thinking tokens used: {output_tokens})"
    return f"the answer has no text (finishReason {finish})"
