import datetime

import pytest
from genai_prices import Usage, calc_price

from core.base import TokenUsage
from core.config import DEFAULT_MODELS
from core.pricing import LOCAL_SERVER, ModelPrice, is_local_url, price_for, prices_as_of, rank_by_cost


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


# --- the bill by token kind ------------------------------------------------------------------------------------


def genai(model: str, provider_id: str, **usage: int) -> float:
    return float(calc_price(Usage(**usage), model, provider_id=provider_id).total_price)


@pytest.mark.parametrize(
    ("provider", "model", "provider_id", "usage", "billed"),
    [
        (
            "openai",
            "gpt-4o",
            "openai",
            TokenUsage(4000, 500, cached_input_tokens=3000),
            {"input_tokens": 4000, "cache_read_tokens": 3000, "output_tokens": 500},
        ),
        (
            "gemini",
            "gemini-2.5-flash",
            "google",
            TokenUsage(4000, 500, cached_input_tokens=3000),
            {"input_tokens": 4000, "cache_read_tokens": 3000, "output_tokens": 500},
        ),
        (
            "anthropic",
            "claude-sonnet-4-5",
            "anthropic",
            TokenUsage(4000, 500, cached_input_tokens=2000, cache_write_tokens=1000),
            {"input_tokens": 4000, "cache_read_tokens": 2000, "cache_write_tokens": 1000, "output_tokens": 500},
        ),
        (
            "deepseek",
            "deepseek-chat",
            "deepseek",
            TokenUsage(4000, 500, cached_input_tokens=2000),
            {"input_tokens": 4000, "cache_read_tokens": 2000, "output_tokens": 500},
        ),
        (
            "gemini",
            "gemini-2.5-pro",
            "google",
            TokenUsage(250_000, 1000),
            {"input_tokens": 250_000, "output_tokens": 1000},
        ),
        (
            "grok",
            "grok-3-mini",
            "x-ai",
            TokenUsage(1000, 1000, reasoning_tokens=800),
            {"input_tokens": 1000, "output_tokens": 1000},
        ),
    ],
)
def test_cost_of_is_the_genai_prices_bill(provider, model, provider_id, usage, billed):
    assert price_for(provider, model).cost_of(usage) == pytest.approx(genai(model, provider_id, **billed), rel=1e-9)


def test_cost_keeps_working_and_prices_the_base_tier():
    price = price_for("gemini", "gemini-2.5-pro")
    assert price.cost(2000, 1000) == pytest.approx(
        genai("gemini-2.5-pro", "google", input_tokens=2000, output_tokens=1000)
    )
    assert (0.00125, 0.01) == (pytest.approx(price.input_per_1k), pytest.approx(price.output_per_1k))


def test_cache_saving_is_the_full_rate_bill_minus_the_real_one():
    price = price_for("openai", "gpt-4o")
    usage = TokenUsage(4000, 500, cached_input_tokens=3000)
    full = genai("gpt-4o", "openai", input_tokens=4000, output_tokens=500)
    real = genai("gpt-4o", "openai", input_tokens=4000, cache_read_tokens=3000, output_tokens=500)
    assert price.cache_saving(usage) == pytest.approx(full - real)
    assert 0.0 == price.cache_saving(TokenUsage(4000, 500))
    assert 0.0 == price_for("local", "cv-copilot-offline").cache_saving(usage)


@pytest.mark.parametrize(
    ("override", "usage", "expected"),
    [
        ((1.0, 2.0), TokenUsage(1000, 1000, cached_input_tokens=500), 1.0 + 2.0),  # a pair: no cached rate
        (
            {"input": 1.0, "output": 2.0, "cached_input": 0.1},
            TokenUsage(1000, 1000, cached_input_tokens=500),
            0.5 + 0.05 + 2.0,
        ),
        ({"input": 1.0, "output": 2.0, "cache_write": 1.25}, TokenUsage(1000, 0, cache_write_tokens=1000), 1.25),
        ({"input": 0.0, "output": 0.0}, TokenUsage(5000, 5000), 0.0),
    ],
)
def test_config_overrides_per_token_kind(override, usage, expected):
    price = price_for("openai", "gpt-4o", overrides={"gpt-4o": override})
    assert ("override", expected) == (price.source, pytest.approx(price.cost_of(usage)))


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:11434/v1",
        "http://127.0.0.1:8080/v1",
        "http://[::1]:8000/v1",
        "http://10.0.0.5/v1",
        "http://192.168.1.20:1234/v1",
        "http://172.16.3.4/v1",
        "http://ollama:11434/v1",
        "http://gpu-box.local/v1",
        "http://host.docker.internal:11434/v1",
        "http://169.254.1.1/v1",
    ],
)
def test_a_custom_server_on_a_local_address_is_free(url):
    price = price_for("custom", "llama3.2", base_url=url)
    assert (LOCAL_SERVER, 0.0, False) == (price, price.cost(10_000, 10_000), price.estimated)
    assert is_local_url(url)


@pytest.mark.parametrize(
    "url", ["https://api.together.xyz/v1", "http://8.8.8.8/v1", "https://my-llm.example.com/v1", "", None]
)
def test_a_hosted_custom_model_stays_estimated(url):
    price = price_for("custom", "llama3.2", base_url=url)
    assert ("unknown", True) == (price.source, price.estimated)
    assert price.cost(1000, 1000) > 0


def test_a_config_price_wins_over_the_local_server_rule():
    price = price_for(
        "custom", "llama3.2", base_url="http://localhost:11434/v1", overrides={"llama3.2": (0.001, 0.002)}
    )
    assert ("override", pytest.approx(0.003)) == (price.source, price.cost(1000, 1000))


def test_only_custom_gets_the_local_server_rule():
    assert "genai-prices" == price_for("openai", "gpt-4o", base_url="http://127.0.0.1:9/v1").source


def test_prices_as_of_is_a_past_date():
    found = prices_as_of()
    assert isinstance(found, datetime.date)
    assert datetime.date(2025, 1, 1) <= found <= datetime.datetime.now(tz=datetime.UTC).date()


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "claude-haiku-4-5"),
        ("openrouter", "openai/gpt-4o-mini"),
        ("mistral", "mistral-small-latest"),
        ("deepseek", "deepseek-v4-flash"),
    ],
)
def test_catalogue_presets_are_priced_by_genai_prices(provider, model):
    assert "genai-prices" == price_for(provider, model).source


CATALOGUE = [
    ("openai", "gpt-4o", "openai"),
    ("openai", "o4-mini", "openai"),
    ("gemini", "gemini-2.5-pro", "google"),
    ("gemini", "gemini-2.5-flash", "google"),
    ("anthropic", "claude-sonnet-4-5", "anthropic"),
    ("grok", "grok-3-mini", "x-ai"),
    ("groq", "openai/gpt-oss-20b", "groq"),
    ("deepseek", "deepseek-chat", "deepseek"),
]


@pytest.mark.parametrize(("provider", "model", "provider_id"), CATALOGUE)
def test_fast_path_equals_calc_price_on_many_usages_across_tiers(provider, model, provider_id):
    import random

    rng = random.Random(f"{provider}/{model}")
    price = price_for(provider, model)
    sizes = [1, 999, 1000, 1001, 128_000, 199_999, 200_000, 200_001, 272_000, 1_000_000]
    sizes += [rng.randint(1, 400_000) for _ in range(40)]
    for input_tokens in sizes:
        cached = rng.randint(0, input_tokens)
        write = rng.randint(0, input_tokens - cached) if provider == "anthropic" else 0
        output = rng.randint(0, 20_000)
        usage = TokenUsage(input_tokens, output, cached_input_tokens=cached, cache_write_tokens=write)
        billed = {"input_tokens": input_tokens, "output_tokens": output}
        billed |= {"cache_read_tokens": cached} if cached else {}
        billed |= {"cache_write_tokens": write} if write else {}
        assert price.cost_of(usage) == pytest.approx(genai(model, provider_id, **billed), rel=1e-9, abs=1e-12)


def test_a_tier_that_is_not_linear_is_priced_call_by_call(monkeypatch):
    import core.pricing as pricing

    monkeypatch.setattr(pricing, "_tier_rates", lambda *args: None)
    usage = TokenUsage(250_000, 700, cached_input_tokens=50_000)
    expected = genai("gemini-2.5-pro", "google", input_tokens=250_000, cache_read_tokens=50_000, output_tokens=700)
    assert price_for("gemini", "gemini-2.5-pro").cost_of(usage) == pytest.approx(expected, rel=1e-12)


def test_config_file_prices_per_token_kind(tmp_path):
    from core.config import load_settings

    path = tmp_path / "cv_copilot.toml"
    path.write_text(
        '[prices."gpt-4o"]\ninput = 1.0\noutput = 2.0\ncached_input = 0.1\n\n[prices."gpt-4o-mini"]\ninput = 0.5\n'
    )
    overrides = load_settings(env={}, config_path=path).price_overrides
    assert ((1.0, 2.0, 0.1, 1.0), (0.5, 0.0)) == (overrides["gpt-4o"], overrides["gpt-4o-mini"])
    price = price_for("openai", "gpt-4o", overrides=overrides)
    assert price.cost_of(TokenUsage(1000, 1000, cached_input_tokens=500)) == pytest.approx(0.5 + 0.05 + 2.0)


def test_a_one_tier_models_rates_are_remembered_for_the_day_only(monkeypatch):
    """Rates read off genai-prices are kept per model for the UTC day: the next day they are read again."""
    import time

    import core.pricing as pricing

    price = price_for("openai", "gpt-4o")
    usage = TokenUsage(1000, 100)
    first = price.cost_of(usage)
    assert first == pytest.approx(genai("gpt-4o", "openai", input_tokens=1000, output_tokens=100), rel=1e-12)
    monkeypatch.setattr(pricing, "_tier_rates", lambda *args: (1.0, 0.0, 0.0, 2.0, 0.0))
    assert first == price.cost_of(usage)  # the same day: remembered
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 86_400)
    assert 1200.0 == price.cost_of(usage)
