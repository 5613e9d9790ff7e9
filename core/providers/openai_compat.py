"""OpenAI-compatible chat completions over httpx: OpenAI, Groq, Grok (xAI) and self-hosted servers (Ollama,
llama.cpp, vLLM...) all speak `POST {base}/chat/completions`, plain or as SSE."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from core.base import CompletionRequest, ProviderResult, StreamDelta
from core.providers._http import HTTPProvider, token_count

# OpenAI's reasoning models (o1/o3/o4..., gpt-5 except the chat variant) reject any temperature but the default.
_FIXED_TEMPERATURE = re.compile(r"^(?:o\d|gpt-5(?!-chat))", re.IGNORECASE)


class OpenAICompatProvider(HTTPProvider):
    """One OpenAI-compatible endpoint. `name` is the stats name: openai, groq, grok or custom."""

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
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: CompletionRequest) -> ProviderResult:
        body = self.build_body(request)
        data = await self._post_json(self.url, body)
        return self._parse_completion(data, body["model"])

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        body = self.build_body(request, stream=True)
        got_text = False
        async for chunk in self._stream_json(self.url, body):
            delta = self._parse_chunk(chunk)
            if delta is not None:
                got_text = got_text or bool(delta.text)
                yield delta
        if not got_text:
            raise self._bad("the answer stream carried no text")

    # --- parsing ----------------------------------------------------------------------------------------------

    def _parse_completion(self, data: Any, model: str) -> ProviderResult:
        if not isinstance(data, dict):
            raise self._bad(f"expected a JSON object, got {type(data).__name__}")
        choices = data.get("choices")
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            if data.get("error"):
                raise self._stream_error(data)
            raise self._bad("the answer has no choices")
        choice = choices[0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        text = _text_of(message.get("content"))
        finish = choice.get("finish_reason")
        if not text:
            refusal = message.get("refusal")
            raise self._bad(f"the model refused: {refusal}" if refusal else f"the answer has no text (finish {finish})")
        input_tokens, output_tokens = _usage(data)
        return ProviderResult(
            content=text,
            model=str(data.get("model") or model),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish,
        )

    def _parse_chunk(self, chunk: Any) -> StreamDelta | None:
        if not isinstance(chunk, dict):
            raise self._bad(f"expected a JSON object in the stream, got {type(chunk).__name__}")
        choices = chunk.get("choices") or []
        if chunk.get("error") and not choices:
            raise self._stream_error(chunk)
        text, finish = "", None
        if choices and isinstance(choices[0], dict):
            choice = choices[0]
            # "message" when a server ignored stream=true and answered with one whole completion
            delta = choice.get("delta") or choice.get("message") or {}
            text = _text_of(delta.get("content")) if isinstance(delta, dict) else ""
            finish = choice.get("finish_reason")
        input_tokens, output_tokens = _usage(chunk)
        if not text and finish is None and input_tokens is None and output_tokens is None:
            return None
        model = chunk.get("model")
        return StreamDelta(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish,
            model=str(model) if model else None,
        )


def _text_of(content: Any) -> str:
    """Content is a string, null, or (some servers) a list of {type: text, text} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return ""


def _usage(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """`usage` (OpenAI, include_usage final chunk, llama.cpp's last choice chunk) or Groq's `x_groq.usage`."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        x_groq = data.get("x_groq")
        usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
    if not isinstance(usage, dict):
        return None, None
    return token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))
