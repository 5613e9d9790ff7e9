"""The `balanced` strategy on the team's PostgreSQL tracker: one replica's calls inform another replica's routing.

Each replica is a router of its own (its own local file, as on another machine) on one PostgreSQL database; the
rows one of them records reach the other's stats through the server, not through any local file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ab import VoteStore
from core.base import TaskType
from core.config import load_settings
from core.router import ModelRouter
from core.routing.strategy import preview
from core.usage_tracker import UsageTracker
from tests.pg import needs_pg, pg_url  # noqa: F401 - the fixture
from tests.test_routing_strategy import KEYS, fill

pytestmark = needs_pg

TASK = TaskType.COVER_LETTER


def replica(tmp_path: Path, url: str, name: str, config: str) -> ModelRouter:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "cv_copilot.toml").write_text(config, encoding="utf-8")
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": url, "CV_COPILOT_LOCAL_DB": str(folder / "local.db"), **KEYS}
    return ModelRouter(load_settings(env=env, config_path=folder / "cv_copilot.toml"))


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ("price = 0\nlatency = 0\nerrors = 1", ["groq", "openai", "gemini", "local"]),
        ("price = 0\nlatency = 1\nerrors = 5", ["groq", "openai", "gemini", "local"]),
        ("price = 1\nlatency = 3\nerrors = 0", ["gemini", "groq", "openai", "local"]),
    ],
)
def test_rows_one_replica_writes_to_postgresql_steer_another_replicas_balanced_routing(
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    weights: str,
    expected: list[str],
) -> None:
    writer = UsageTracker(pg_url, local_path=tmp_path / "writer-local.db", flush_interval=None)
    fill(writer, "groq", ok=30, latency_ms=400 if "latency = 3" not in weights else 9000)
    fill(writer, "gemini", ok=15, failed=15, latency_ms=600 if "latency = 3" not in weights else 300)
    fill(writer, "openai", ok=30, latency_ms=2100 if "latency = 3" not in weights else 8000)
    if "latency = 3" in weights:  # gemini: fast and healthy this time
        fill(writer, "gemini", ok=15, latency_ms=300)
    other = replica(tmp_path, pg_url, "replica-b", f"[router]\nstrategy = 'balanced'\n[router.weights]\n{weights}\n")
    other.strategy.stats.refresh()
    assert expected == other.plan(TASK)
    assert other.plan(TASK) != ["groq", "gemini", "openai", "local"], "not the price order: the stats were read"
    writer.close()


def test_without_rows_on_the_server_balanced_falls_back_to_price_order(tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    local = UsageTracker(tmp_path / "replica-b" / "local.db")  # rows in the local file must not count
    (tmp_path / "replica-b").mkdir(exist_ok=True)
    fill(local, "groq", ok=30, latency_ms=9000)
    fill(local, "gemini", ok=30, latency_ms=100)
    local.close()
    other = replica(tmp_path, pg_url, "replica-b", "[router]\nstrategy = 'balanced'\n")
    other.strategy.stats.refresh()
    assert ["groq", "gemini", "openai", "local"] == other.plan(TASK)


def test_the_settings_preview_and_the_votes_read_the_server_too(tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    store = VoteStore(pg_url, local_path=tmp_path / "writer-local.db")
    for _ in range(20):
        store.record_vote(task_type="cover_letter", providers=["openai", "groq"], winner="openai",
                          costs={"openai": 0.0002, "groq": 0.0002})  # fmt: skip
    other = replica(tmp_path, pg_url, "replica-b", "[router]\nprefer_ab_winner = true\n")
    other.strategy.stats.refresh()
    assert "openai" == other.plan(TASK)[0]
    ranking = preview(other, TASK, other.settings.strategy)
    assert "openai" == ranking.order[0]
    assert other.tracker.get_usage_stats(None)["total_requests"] == 0  # the pool survives the preview's close
