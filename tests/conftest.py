"""Shared fixtures: a clean environment for every test, and a fresh usage DB."""

from __future__ import annotations

import os
import sys
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
    main = sys.modules.get("__main__")
    yield
    _reset_singletons()
    # AppTest runs its script as `__main__` and may leave it there: a child spawned later (multiprocessing) would
    # run that script again as its own main, so pytest's own main module is put back
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


def _reset_singletons() -> None:
    """Forget the process's composition root (and close it), so the next test reads its own settings."""
    services = sys.modules.get("core.services")
    if services is not None:
        services.reset()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "usage.db"


# --- the `slow` marker: `python -m pytest -m "not slow"` is the quick unit run ------------------------------------

#: Whole files that drive Streamlit's AppTest or a real browser.
_SLOW_FILES = ("test_pages", "e2e/", "test_security_browser")
#: A test (or one of its fixtures) whose source mentions one of these starts a process, a page run or a browser.
_SLOW_MARKS = ("subprocess.", "sys.executable", "AppTest", "open_page(", "sync_playwright")


def _source(func: object) -> str:
    import inspect

    try:
        return inspect.getsource(func)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _slow_helpers(module: object) -> set[str]:
    """Module-level functions that (directly or through each other) start a process, a page run or a browser."""
    import inspect

    sources = {
        name: _source(value)
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == getattr(module, "__name__", None)
    }
    slow = {name for name, src in sources.items() if any(mark in src for mark in _SLOW_MARKS)}
    while True:
        more = {n for n, src in sources.items() if n not in slow and any(f"{h}(" in src for h in slow)}
        if not more:
            return slow
        slow |= more


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    helpers: dict[str, set[str]] = {}

    for item in items:
        path = str(getattr(item, "path", "")).replace("\\", "/")
        module = getattr(item, "module", None)
        if module is not None and module.__name__ not in helpers:
            helpers[module.__name__] = _slow_helpers(module)
        slow_names = helpers.get(getattr(module, "__name__", ""), set())
        funcs = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        for defs in info.name2fixturedefs.values() if info is not None else ():
            funcs += [d.func for d in defs]
        text = "".join(_source(f) for f in funcs if f is not None)
        if (
            any(f"/{name}" in path for name in _SLOW_FILES)
            or any(mark in text for mark in _SLOW_MARKS)
            or any(f"{name}(" in text for name in slow_names)
        ):
            item.add_marker(pytest.mark.slow)
