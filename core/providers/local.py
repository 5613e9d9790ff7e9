"""The offline engine as a provider: always available, $0, answers every task."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from core.base import CompletionRequest, ErrorKind, ProviderError, ProviderResult, StreamDelta
from core.providers.base import Provider
from core.tokens import count_tokens

LOCAL_MODEL = "cv-copilot-offline"
_PIECE = re.compile(r"\S+\s*|\s+")


class LocalProvider(Provider):
    name = "local"

    def __init__(self, model: str = LOCAL_MODEL) -> None:
        self.model = model

    def _answer(self, request: CompletionRequest) -> str:
        from core import local

        return local.respond(request.task_type.value, request.prompt, request.payload)

    async def complete(self, request: CompletionRequest) -> ProviderResult:
        try:
            text = await asyncio.to_thread(self._answer, request)
        except Exception as exc:  # noqa: BLE001 - the engine promises not to raise; keep a safe message if it does
            raise ProviderError(
                self.name, ErrorKind.BAD_RESPONSE, f"offline engine failed: {type(exc).__name__}"
            ) from None
        return ProviderResult(
            content=text,
            model=self.model,
            input_tokens=count_tokens(request.prompt, self.model).tokens,
            output_tokens=count_tokens(text, self.model).tokens,
            finish_reason="stop",
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        result = await self.complete(request)
        pieces = _PIECE.findall(result.content)
        for start in range(0, len(pieces), 8):
            yield StreamDelta(text="".join(pieces[start : start + 8]))
        yield StreamDelta(
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            finish_reason="stop",
            model=self.model,
        )
