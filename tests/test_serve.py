"""The lifespan hook of `streamlit run serve.py`: it warms the usage page's default view, and a warm-up that fails
never stops the server (the browser test in tests/e2e/test_usage_browser.py serves the app through it)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ui import usage_data


def _run_lifespan() -> None:
    async def go() -> None:
        async with usage_data.lifespan(None):
            pass

    asyncio.run(go())


def test_the_lifespan_warms_the_default_view(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(usage_data, "warm", lambda: calls.append("warm"))
    _run_lifespan()
    assert ["warm"] == calls


def test_a_failing_warm_up_is_logged_and_the_server_starts(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise OSError("database is unreachable")

    monkeypatch.setattr(usage_data, "warm", broken)
    with caplog.at_level(logging.WARNING, logger="ui.usage_data"):
        _run_lifespan()  # no exception: the server goes on, cold
    assert "warm-up skipped" in caplog.text
    assert "database is unreachable" in caplog.text
