"""Provider adapters: one module per wire-format family, and `build_provider` to make the right one by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

    from core.providers.base import Provider


class _ProviderSettings(Protocol):
    """What `build_provider` reads from core.config.ProviderSettings."""

    @property
    def api_key(self) -> Any: ...
    @property
    def base_url(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def timeout(self) -> float: ...


def build_provider(
    name: str, settings: _ProviderSettings, transport: httpx.AsyncBaseTransport | None = None
) -> Provider:
    """The adapter for provider `name` (see core.providers.catalog.FAMILIES), configured from its settings.

    An unknown name is served as an OpenAI-compatible endpoint, the format most servers speak.
    """
    from core.providers.catalog import FAMILIES

    family = FAMILIES.get(name, "openai_compat")
    api_key = settings.api_key or None  # a config Secret stays a Secret (it never shows in a repr)
    common: dict[str, Any] = {
        "api_key": api_key,
        "base_url": settings.base_url,
        "model": settings.model,
        "timeout": settings.timeout,
        "transport": transport,
    }
    if family == "local":
        from core.providers.local import LocalProvider

        return LocalProvider(settings.model)
    if family == "gemini":
        from core.providers.gemini import GeminiProvider

        return GeminiProvider(name, **common)
    if family == "anthropic":
        from core.providers.anthropic import AnthropicProvider

        return AnthropicProvider(name, **common)
    from core.providers.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(name, **common)
