"""Shared fixtures: a clean environment for every test, and a fresh usage DB."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_ENV_PREFIXES = ("OPENAI_", "GEMINI_", "GROQ_", "GROK_", "XAI_", "CV_COPILOT_")
_ENV_PREFIXES += ("ANTHROPIC_", "OPENROUTER_", "MISTRAL_", "DEEPSEEK_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No key, base URL or DB path from the developer's shell leaks into a test; each test gets its own DB."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CV_COPILOT_DB", str(tmp_path / "usage.db"))
    monkeypatch.setenv("CV_COPILOT_CONFIG", str(tmp_path / "cv_copilot.toml"))
    monkeypatch.setenv("CV_COPILOT_NO_DOTENV", "1")
    yield
    _reset_singletons()


def _reset_singletons() -> None:
    """Forget the process's composition root (and close it), so the next test reads its own settings."""
    import sys

    services = sys.modules.get("core.services")
    if services is not None:
        services.reset()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "usage.db"
