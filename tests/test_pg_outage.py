"""PostgreSQL stops mid-run and starts again: calls go on, rows wait in the local journal, none is lost.

Each test runs a PostgreSQL server of its own (so stopping it disturbs no other test). Skipped, with the reason,
when the PostgreSQL binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

import asyncio
import glob
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.base import StorageError, TaskType
from core.config import load_settings
from core.services import build_services
from core.usage_tracker import UsageTracker
from tests.pg import PASSWORD, PgServer, needs_pg, wait_until
from tests.processes import python_child

pytestmark = [needs_pg, pytest.mark.slow]


@pytest.fixture
def server() -> Iterator[PgServer]:
    srv = PgServer().start()
    yield srv
    srv.destroy()


def count_rows(srv: PgServer) -> int:
    import psycopg

    with psycopg.connect(srv.url(), autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM usage").fetchone()
        rollup = conn.execute("SELECT COALESCE(SUM(requests), 0) FROM usage_daily_total").fetchone()
    assert row is not None and rollup is not None
    assert row[0] == row[1] == rollup[0], "each request once, and the rollups agree"
    return int(row[0])


def test_router_calls_go_on_while_postgresql_is_down_and_rows_equal_requests(server: PgServer, tmp_path: Path) -> None:
    env = {"CV_COPILOT_DB": server.url(), "CV_COPILOT_LOCAL_DB": str(tmp_path / "local.db")}
    env |= {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_CONFIG": str(tmp_path / "none.toml")}
    services = build_services(load_settings(env))
    router, tracker = services.router, services.tracker

    async def calls(n: int) -> int:
        done = 0
        for i in range(n):
            response = await router.generate(task_type=TaskType.FAST_SUMMARY, prompt=f"note {i}", user_id="ann")
            done += bool(response.content)
        return done

    requests = asyncio.run(calls(20))
    tracker.flush()
    assert count_rows(server) == 20

    server.stop()
    started = time.monotonic()
    requests += asyncio.run(calls(30))  # not one call fails while the server is away
    assert time.monotonic() - started < 30
    with pytest.raises(StorageError) as caught:
        tracker.get_usage_stats()
    assert "unavailable" in str(caught.value) and PASSWORD not in str(caught.value)
    journals = glob.glob(str(tmp_path / "local.db.pg-*.journal"))
    assert journals and sum(os.path.getsize(j) for j in journals) > 0, "the rows wait in the local journal"

    server.start()
    requests += asyncio.run(calls(10))
    assert wait_until(lambda: _flushed(tracker), timeout=30)
    assert requests == 60
    assert tracker.get_usage_stats(None)["total_requests"] == requests
    assert count_rows(server) == requests
    services.close()


def _flushed(tracker: UsageTracker) -> bool:
    try:
        tracker.flush()
    except StorageError:
        return False
    return True


_WORKER = """
import os, sys
from core.usage_tracker import UsageTracker
t = UsageTracker(sys.argv[1], local_path=sys.argv[2], flush_interval=0.01)
for i in range(int(sys.argv[3])):
    t.record_usage(task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=i, cost_usd=0.001)
print("recorded", flush=True)
sys.stdin.readline()
"""


def test_a_process_killed_while_postgresql_is_down_loses_no_row(server: PgServer, tmp_path: Path) -> None:
    local = tmp_path / "local.db"
    UsageTracker(server.url(), local_path=local).close()  # the tables exist
    server.stop()
    with python_child("-c", _WORKER, server.url(), str(local), "40") as worker:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "recorded"
    # killed (SIGKILL) as the block ends: no flush, no atexit, only the journal has the rows
    assert worker.returncode == -9
    assert glob.glob(str(tmp_path / "local.db.pg-*-0.journal"))

    server.start()
    survivor = UsageTracker(server.url(), local_path=local)  # a later start on this machine replays it
    assert survivor.get_usage_stats(None)["total_requests"] == 40
    assert survivor.get_usage_stats(None)["total_input_tokens"] == sum(range(40))
    assert not glob.glob(str(tmp_path / f"local.db.pg-*.rows-{worker.pid}-*.journal")), "replayed, then deleted"
    assert count_rows(server) == 40
    survivor.close()


def test_a_tracker_started_while_postgresql_is_down_migrates_once_it_is_back(server: PgServer, tmp_path: Path) -> None:
    server.stop()
    tracker = UsageTracker(server.url(), local_path=tmp_path / "local.db", flush_interval=0.01)
    for _ in range(5):
        tracker.record_usage(task_type="cv_parsing", provider="local", model="local")
    server.start()
    assert wait_until(lambda: _flushed(tracker), timeout=30)
    assert tracker.get_usage_stats()["total_requests"] == 5
    tracker.close()
