"""The provider interface every adapter implements."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator

from core.base import CompletionRequest, ProviderResult, StreamDelta


class Provider(abc.ABC):
    """One configured provider. `name` is the stats name (openai, gemini, groq, grok, custom, local)."""

    name: str
    model: str

    @abc.abstractmethod
    async def complete(self, request: CompletionRequest) -> ProviderResult:
        """One whole answer. Raises core.base.ProviderError with a kind on any failure."""

    @abc.abstractmethod
    def stream(self, request: CompletionRequest) -> AsyncIterator[StreamDelta]:
        """Text deltas as they arrive; usage on the last delta(s). Raises ProviderError like complete()."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
