"""The providers we know: key and base-URL variables, default models and context windows. Vocabulary, no logic."""

from __future__ import annotations

#: The wire-format family of each provider: which adapter in core/providers/ speaks to it.
FAMILIES: dict[str, str] = {
    "openai": "openai_compat",
    "gemini": "gemini",
    "groq": "openai_compat",
    "grok": "openai_compat",
    "custom": "openai_compat",
    "anthropic": "anthropic",
    "openrouter": "openai_compat",
    "mistral": "openai_compat",
    "deepseek": "openai_compat",
    "local": "local",
}

DEFAULT_MODELS: dict[str, str] = {
    "openai": "gpt-4o",
    "gemini": "gemini-2.0-flash",
    "groq": "llama-3.1-8b-instant",
    "grok": "grok-3-mini",
    "custom": "llama3.2",
    "anthropic": "claude-haiku-4-5",
    "openrouter": "openai/gpt-4o-mini",
    "mistral": "mistral-small-latest",
    "deepseek": "deepseek-v4-flash",  # deepseek-chat is its deprecated alias (DeepSeek API docs)
    "local": "cv-copilot-offline",
}

DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
    "groq": "https://api.groq.com/openai/v1",
    "grok": "https://api.x.ai/v1",
    "custom": "",
    "anthropic": "https://api.anthropic.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com",
    "local": "",
}

#: Environment variables that may hold each provider's key, first match wins.
KEY_ENV_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "grok": ("GROK_API_KEY", "XAI_API_KEY"),
    "custom": ("OPENAI_COMPAT_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
}

BASE_URL_ENV_VARS: dict[str, str] = {
    "openai": "OPENAI_BASE_URL",
    "gemini": "GEMINI_BASE_URL",
    "groq": "GROQ_BASE_URL",
    "grok": "GROK_BASE_URL",
    "custom": "OPENAI_COMPAT_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "openrouter": "OPENROUTER_BASE_URL",
    "mistral": "MISTRAL_BASE_URL",
    "deepseek": "DEEPSEEK_BASE_URL",
}

MODEL_ENV_VARS: dict[str, str] = {
    "openai": "OPENAI_MODEL",
    "gemini": "GEMINI_MODEL",
    "groq": "GROQ_MODEL",
    "grok": "GROK_MODEL",
    "custom": "OPENAI_COMPAT_MODEL",
    "anthropic": "ANTHROPIC_MODEL",
    "openrouter": "OPENROUTER_MODEL",
    "mistral": "MISTRAL_MODEL",
    "deepseek": "DEEPSEEK_MODEL",
}

#: Context windows in tokens, by model name prefix (longest prefix wins); overridable per provider.
DEFAULT_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-5": 400_000,
    "gpt-3.5": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4": 200_000,
    "gemini": 1_048_576,
    "llama-3.1": 131_072,
    "llama-3.3": 131_072,
    "llama3": 8_192,
    "grok": 131_072,
    "claude": 200_000,
    "openai/": 128_000,
    "mistral-large": 131_072,
    "mistral-medium": 131_072,
    "mistral-small": 131_072,
    "deepseek": 128_000,
    "cv-copilot-offline": 10_000_000,
}
FALLBACK_CONTEXT_WINDOW = 8_192
