"""Through the router, every row of the cost audit is recorded at the provider's bill (genai-prices, within 1%),
streamed and not, including the answers with no text, which the provider bills too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.base import CVCopilotError, TaskType
from core.config import load_settings
from core.providers.catalog import BASE_URL_ENV_VARS, KEY_ENV_VARS
from core.router import ModelRouter
from core.tracker.record import UsageRecord
from core.usage_tracker import UsageTracker
from tests.fakes import StaticHandler
from tests.test_provider_bills import FIXTURES, IDS, ROWS, Row, genai_bill


class Spy(UsageTracker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[UsageRecord] = []

    def record(self, rec: UsageRecord) -> None:
        self.records.append(rec)
        super().record(rec)


def router_for(tmp_path: Path, row: Row, streaming: bool) -> ModelRouter:
    """A router whose only keyed provider answers every request with the row's recorded body."""
    body = (FIXTURES / f"{row.fixture}.{'sse' if streaming else 'json'}").read_bytes()
    handler = StaticHandler(body, 200, "text/event-stream" if streaming else "application/json")
    env = {
        "CV_COPILOT_NO_DOTENV": "1",
        "CV_COPILOT_DB": str(tmp_path / "usage.db"),
        KEY_ENV_VARS[row.provider][0]: "test-key-0123456789",
        BASE_URL_ENV_VARS[row.provider]: "https://provider.example.test/v1",
    }
    config = tmp_path / "cv_copilot.toml"
    config.write_text(f'[providers.{row.provider}]\nmodel = "{row.model}"\n', encoding="utf-8")
    settings = load_settings(env=env, config_path=config)
    return ModelRouter(settings, tracker=Spy(settings.db_path), transport=handler.transport)


async def ask(router: ModelRouter, row: Row, streaming: bool) -> str:
    options: dict[str, Any] = {"provider": row.provider, "max_tokens": 2500, "use_cache": False}
    if not streaming:
        return (await router.generate(TaskType.COVER_LETTER, "Write a letter.", **options)).content
    return "".join([piece async for piece in router.stream(TaskType.COVER_LETTER, "Write a letter.", **options)])


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_the_usage_row_holds_the_providers_bill(tmp_path: Path, row: Row, streaming: bool) -> None:
    router = router_for(tmp_path, row, streaming)
    if row.text:
        assert row.text == asyncio.run(ask(router, row, streaming))
    else:  # billed but empty: recorded, then (pinned, so no fallback) a readable error
        with pytest.raises(CVCopilotError, match=r"reasoning|limit"):
            asyncio.run(ask(router, row, streaming))
    [record] = router.tracker.records  # type: ignore[attr-defined]
    assert pytest.approx(genai_bill(row), rel=0.01) == record.cost_usd
    assert (row.finish.value, "ok" if row.text else "error") == (record.finish_reason, record.outcome)
    assert record.cache_saved_usd > 0 if row.billed.get("cache_read_tokens") else record.cache_saved_usd == 0
