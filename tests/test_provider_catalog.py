"""The provider catalogue: every provider has its key and base-URL variables, a documented default base, a
default model genai-prices knows, and `build_provider` makes the adapter of its wire format."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.base import PROVIDER_NAMES, CompletionRequest, TaskType
from core.config import load_settings
from core.pricing import price_for
from core.providers import build_provider
from core.providers.anthropic import AnthropicProvider
from core.providers.catalog import BASE_URL_ENV_VARS, DEFAULT_BASE_URLS, DEFAULT_MODELS, FAMILIES, KEY_ENV_VARS
from core.providers.gemini import GeminiProvider
from core.providers.local import LocalProvider
from core.providers.openai_compat import OpenAICompatProvider
from core.router import ModelRouter
from tests.fakes import FakeHandler, anthropic_handler, gemini_handler, openai_handler

PRESETS = [
    ("openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1", "/api/v1/chat/completions"),
    ("mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1", "/v1/chat/completions"),
    ("deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com", "/chat/completions"),
    ("anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com/v1", "/v1/messages"),
]
ADAPTERS = {"openai_compat": OpenAICompatProvider, "gemini": GeminiProvider, "anthropic": AnthropicProvider}
ADAPTERS["local"] = LocalProvider


def test_every_provider_name_has_a_catalogue_entry() -> None:
    assert set(PROVIDER_NAMES) == set(FAMILIES) == set(DEFAULT_MODELS) == set(DEFAULT_BASE_URLS)
    assert {n for n in PROVIDER_NAMES if n != "local"} == set(KEY_ENV_VARS) == set(BASE_URL_ENV_VARS)
    assert "local" == PROVIDER_NAMES[-1]


@pytest.mark.parametrize("name", [n for n in PROVIDER_NAMES if n not in ("custom", "local")])
def test_every_hosted_default_model_has_a_genai_prices_price(name: str) -> None:
    assert "genai-prices" == price_for(name, DEFAULT_MODELS[name]).source


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_build_provider_makes_the_adapter_of_its_family(name: str) -> None:
    settings = load_settings(env={KEY_ENV_VARS.get(name, ("X",))[0]: "key-0123456789abcdef"})
    provider = build_provider(name, settings.providers[name])
    assert isinstance(provider, ADAPTERS[FAMILIES[name]])
    assert name == provider.name


@pytest.mark.parametrize(("name", "key_var", "base", "path"), PRESETS)
def test_presets_read_their_key_and_default_base(name: str, key_var: str, base: str, path: str) -> None:
    settings = load_settings(env={key_var: "key-0123456789abcdef"})
    ps = settings.providers[name]
    assert (base, True, DEFAULT_MODELS[name]) == (ps.base_url, ps.configured, ps.model)
    handler = anthropic_handler() if name == "anthropic" else openai_handler()
    result = asyncio.run(build_provider(name, ps, handler.transport).complete(CompletionRequest("hi", "")))
    sent = handler.last
    assert (httpx.URL(base).host, path) == (sent.headers["host"], sent.path)
    auth = sent.headers.get("x-api-key") if name == "anthropic" else sent.headers.get("authorization")
    assert auth in ("key-0123456789abcdef", "Bearer key-0123456789abcdef")
    assert "Hello from the fake provider." == result.content


@pytest.mark.parametrize(("name", "key_var", "base", "path"), PRESETS)
def test_preset_base_urls_are_overridable(name: str, key_var: str, base: str, path: str) -> None:
    env = {key_var: "key-0123456789abcdef", BASE_URL_ENV_VARS[name]: "http://127.0.0.1:9/v9/"}
    assert "http://127.0.0.1:9/v9" == load_settings(env=env).providers[name].base_url


def test_mistral_is_not_sent_stream_options_it_would_refuse() -> None:
    handler = openai_handler()
    settings = load_settings(env={"MISTRAL_API_KEY": "key-0123456789abcdef"})

    async def run() -> None:
        async for _ in build_provider("mistral", settings.providers["mistral"], handler.transport).stream(
            CompletionRequest("hi", "")
        ):
            pass

    asyncio.run(run())
    assert (True, False) == (handler.last.json["stream"], "stream_options" in handler.last.json)


@pytest.mark.parametrize("name", ["openrouter", "mistral", "deepseek", "anthropic"])
def test_router_answers_with_each_preset_and_prices_it(tmp_path, name: str) -> None:
    key_var = KEY_ENV_VARS[name][0]
    handler: FakeHandler = anthropic_handler() if name == "anthropic" else openai_handler()
    handler.script.input_tokens, handler.script.output_tokens = 1000, 1000
    config = tmp_path / "cv_copilot.toml"
    config.write_text("")
    settings = load_settings(
        env={key_var: "key-0123456789abcdef", "CV_COPILOT_DB": str(tmp_path / "u.db")}, config_path=config
    )
    router = ModelRouter(settings, transport=handler.transport)
    response = asyncio.run(router.generate(TaskType.FAST_SUMMARY, "hi", provider=name))
    expected = price_for(name, DEFAULT_MODELS[name]).cost(1000, 1000)
    assert (name, "Hello from the fake provider.") == (response.provider, response.content)
    assert (response.cost_usd, response.price_estimated) == (pytest.approx(expected), False)
    assert expected > 0


def test_gemini_family_is_built_too() -> None:
    handler = gemini_handler("g")
    settings = load_settings(env={"GEMINI_API_KEY": "key-0123456789abcdef"})
    result = asyncio.run(
        build_provider("gemini", settings.providers["gemini"], handler.transport).complete(CompletionRequest("hi", ""))
    )
    assert "g" == result.content


@pytest.mark.parametrize(
    ("base", "cost_is_zero", "estimated"),
    [("http://127.0.0.1:11434/v1", True, False), ("https://llm.example.com/v1", False, True)],
)
def test_router_prices_a_custom_server_on_this_machine_at_zero(
    tmp_path, base: str, cost_is_zero: bool, estimated: bool
) -> None:
    handler = openai_handler("local answer", input_tokens=900, output_tokens=300)
    config = tmp_path / "cv_copilot.toml"
    config.write_text("")
    env = {"OPENAI_COMPAT_BASE_URL": base, "OPENAI_COMPAT_MODEL": "llama3.2", "CV_COPILOT_DB": str(tmp_path / "u.db")}
    router = ModelRouter(load_settings(env=env, config_path=config), transport=handler.transport)
    response = asyncio.run(router.generate(TaskType.FAST_SUMMARY, "hi", provider="custom"))
    assert ("custom", cost_is_zero, estimated) == (response.provider, response.cost_usd == 0, response.price_estimated)
