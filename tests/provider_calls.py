"""Driving one provider adapter from a synchronous test, shared by the adapter test files.

Each call runs on a fresh event loop (`asyncio.run`), as the adapters must survive; `error_of` is the
`ProviderError` a call raised, streamed or not."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from core.base import CompletionRequest, ProviderError, ProviderResult, StreamDelta
from core.providers.base import Provider


@dataclass(frozen=True)
class ProviderCalls:
    """`complete`, `stream` and `error_of` with the test file's usual request as the default."""

    request: CompletionRequest

    def complete(self, provider: Provider, request: CompletionRequest | None = None) -> ProviderResult:
        return asyncio.run(provider.complete(request or self.request))

    def stream(self, provider: Provider, request: CompletionRequest | None = None) -> list[StreamDelta]:
        async def collect() -> list[StreamDelta]:
            return [delta async for delta in provider.stream(request or self.request)]

        return asyncio.run(collect())

    def error_of(self, provider: Provider, *, streaming: bool = False) -> ProviderError:
        with pytest.raises(ProviderError) as info:
            self.stream(provider) if streaming else self.complete(provider)
        return info.value
