"""The usage DB opens as it is in the analysts' tools: sqlite-utils (CLI) and Datasette."""

import asyncio
import json
import subprocess
import sys

import pytest

from core.usage_tracker import UsageTracker


@pytest.fixture
def usage_db(tmp_path):
    path = tmp_path / "usage.db"
    tracker = UsageTracker(path)
    for provider, cost in (("openai", 0.25), ("groq", 0.5), ("openai", 0.125)):
        tracker.record_usage(
            task_type="cv_parsing", provider=provider, model="m", input_tokens=100, output_tokens=10,
            cost_usd=cost, success=True, user_id="ana",
        )  # fmt: skip
    tracker.close()
    return path


def sqlite_utils(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "sqlite_utils", *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def test_sqlite_utils_reads_the_tables_and_view(usage_db):
    counts = {t["table"]: t["count"] for t in json.loads(sqlite_utils("tables", str(usage_db), "--counts"))}
    assert 3 == counts["usage"]
    rows = json.loads(
        sqlite_utils("query", str(usage_db), "select provider, sum(cost_usd) as usd from usage group by 1")
    )
    assert [{"provider": "groq", "usd": 0.5}, {"provider": "openai", "usd": 0.375}] == rows
    readable = json.loads(sqlite_utils("rows", str(usage_db), "usage_readable"))
    assert 3 == len(readable) and readable[0]["time"].startswith("20")


def test_datasette_serves_the_file_without_conversion(usage_db):
    from datasette.app import Datasette

    async def fetch():
        ds = Datasette(files=[str(usage_db)])
        response = await ds.client.get("/usage/usage.json?_shape=array&_sort=id")
        return response.status_code, response.json()

    status, rows = asyncio.run(fetch())
    assert 200 == status
    assert ["openai", "groq", "openai"] == [r["provider"] for r in rows]
