import pytest

from core.config import DEFAULT_MODELS
from core.pricing import ModelPrice, price_for, rank_by_cost


def test_seed_defaults_rank_groq_gemini_grok_openai():
    prices = {name: price_for(name, DEFAULT_MODELS[name]) for name in ("openai", "gemini", "groq", "grok")}
    assert ["groq", "gemini", "grok", "openai"] == rank_by_cost(prices)
    assert all(p.source == "genai-prices" for p in prices.values())


@pytest.mark.parametrize(
    ("provider", "model", "inp", "out"),
    [("openai", "gpt-4o", 0.0025, 0.01), ("gemini", "gemini-2.0-flash", 0.0001, 0.0004)],
)
def test_catalogue_prices_per_1k(provider, model, inp, out):
    price = price_for(provider, model)
    assert (inp, out) == (pytest.approx(price.input_per_1k), pytest.approx(price.output_per_1k))


def test_seed_formula():
    price = ModelPrice(0.01, 0.03, "override")
    # tokens/1000 × price per 1K, input and output apart
    assert pytest.approx(1500 / 1000 * 0.01 + 500 / 1000 * 0.03) == price.cost(1500, 500)


def test_override_wins_over_catalogue():
    price = price_for("openai", "gpt-4o", overrides={"gpt-4o": (1.0, 2.0)})
    assert (1.0, 2.0, "override", False) == (price.input_per_1k, price.output_per_1k, price.source, price.estimated)


@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-nonexistent"), ("custom", "llama3.2"), ("grok", "")])
def test_unknown_model_is_flagged_never_free(provider, model):
    price = price_for(provider, model, unknown_per_1k=(0.02, 0.04))
    assert (0.02, 0.04, True) == (price.input_per_1k, price.output_per_1k, price.estimated)
    assert price.cost(1000, 1000) > 0


def test_local_is_free_and_not_flagged():
    price = price_for("local", "cv-copilot-offline")
    assert (0.0, False) == (price.cost(10_000, 10_000), price.estimated)


def test_ranking_is_stable_on_ties():
    same = ModelPrice(0.001, 0.001, "override")
    assert ["b", "a", "c"] == rank_by_cost({"b": same, "a": same, "c": ModelPrice(0.1, 0.1, "override")})
