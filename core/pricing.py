"""Prices per model from genai-prices' bundled data, with config overrides; the seed's cost formula."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

#: genai-prices provider ids for our provider names (custom servers have no public price).
GENAI_PROVIDER_IDS: dict[str, str | None] = {
    "openai": "openai",
    "gemini": "google",
    "groq": "groq",
    "grok": "x-ai",
    "custom": None,
    "local": None,
}

#: Size of the reference call used to rank providers by cost: 1K tokens in, 1K out.
RANKING_CALL = (1000, 1000)


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1K tokens. `estimated` marks a price we do not know (unknown model): never a silent $0."""

    input_per_1k: float
    output_per_1k: float
    source: str  # "genai-prices", "override", "free", "unknown"

    @property
    def estimated(self) -> bool:
        return self.source == "unknown"

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The seed's formula: tokens/1000 × price per 1K, input and output apart."""
        return (input_tokens / 1000) * self.input_per_1k + (output_tokens / 1000) * self.output_per_1k


FREE = ModelPrice(0.0, 0.0, "free")


@functools.lru_cache(maxsize=256)
def _catalogue_price(provider_id: str, model: str) -> tuple[float, float] | None:
    """Per-1K prices from genai-prices' offline snapshot; None when it does not know the model."""
    from genai_prices import Usage, calc_price

    try:
        calc = calc_price(Usage(input_tokens=1_000_000, output_tokens=1_000_000), model, provider_id=provider_id)
    except Exception:  # noqa: BLE001 - LookupError and friends all mean "not in the catalogue"
        return None
    return float(calc.input_price) / 1000, float(calc.output_price) / 1000


def price_for(
    provider: str,
    model: str,
    *,
    overrides: Mapping[str, tuple[float, float]] | None = None,
    unknown_per_1k: tuple[float, float] = (0.01, 0.03),
) -> ModelPrice:
    """Override by model name first, then the catalogue; the offline engine is free; anything else is flagged."""
    if overrides and model in overrides:
        inp, out = overrides[model]
        return ModelPrice(float(inp), float(out), "override")
    if provider == "local":
        return FREE
    provider_id = GENAI_PROVIDER_IDS.get(provider)
    if provider_id is not None:
        found = _catalogue_price(provider_id, model)
        if found is not None:
            return ModelPrice(found[0], found[1], "genai-prices")
    return ModelPrice(unknown_per_1k[0], unknown_per_1k[1], "unknown")


def rank_by_cost(prices: Mapping[str, ModelPrice]) -> list[str]:
    """Provider names, cheapest first, by the cost of a reference 1K-in/1K-out call; ties keep input order."""
    order = list(prices)
    return sorted(order, key=lambda name: (prices[name].cost(*RANKING_CALL), order.index(name)))
