"""The CSV export on PostgreSQL streams: every row comes out, read in batches from a server-side cursor.

A plain psycopg cursor fetches a whole result before the first row is handed over, so an export of ten million
calls would hold ten million tuples. `PgConnection.stream` reads through a named (server-side) cursor instead; these
tests count its round trips and compare what comes out with the same rows read at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.charts import export_csv
from core.cli import demo_rows
from core.usage_tracker import UsageTracker
from tests.pg import needs_pg, pg_url  # noqa: F401 - the fixture

pytestmark = needs_pg

ROWS = 503


@pytest.fixture
def tracker(pg_url: str, tmp_path: Path) -> Iterator[UsageTracker]:  # noqa: F811
    t = UsageTracker(pg_url, local_path=tmp_path / "local.db")
    t.record_many(demo_rows(ROWS, days=3, users=5))
    yield t
    t.close()


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch a server-side cursor fetched (plain cursors are not counted)."""
    sizes: list[int] = []
    original = psycopg.ServerCursor.fetchmany

    def counted(self: psycopg.ServerCursor[Any], size: int = 0) -> list[Any]:
        rows = original(self, size)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(psycopg.ServerCursor, "fetchmany", counted)
    return sizes


# the last fetch is the empty one that ends the read
@pytest.mark.parametrize(("batch", "expected_fetches"), [(1, ROWS + 1), (50, 12), (500, 3), (5000, 2)])
def test_every_call_comes_out_in_batches_from_a_server_side_cursor(
    tracker: UsageTracker, fetches: list[int], batch: int, expected_fetches: int
) -> None:
    streamed = list(tracker.dashboard.iter_calls(batch=batch))
    assert len(streamed) == ROWS
    assert streamed == tracker.recent_calls(None)  # the same rows, newest first
    assert (len(fetches), max(fetches)) == (expected_fetches, min(batch, ROWS))


@pytest.mark.parametrize(
    ("filters", "hours"), [({}, None), ({"provider": "openai"}, None), ({"user_id": ["user-001", "user-002"]}, 24)]
)
def test_the_csv_export_holds_every_call_in_the_view(
    tracker: UsageTracker, fetches: list[int], filters: dict[str, Any], hours: float | None
) -> None:
    rows = list(csv.reader(io.StringIO(export_csv(tracker, hours, filters).decode("utf-8"))))
    expected = tracker.recent_calls(None, hours, **filters)
    assert 0 < len(expected) and len(rows) - 1 == len(expected)
    head = rows[0]
    columns = [head.index(c) for c in ("time", "user_id", "provider", "input_tokens")]
    assert [tuple(r[i] for i in columns) for r in rows[1:]] == [
        (c["time"], c["user_id"], c["provider"], str(c["input_tokens"])) for c in expected
    ]
    assert fetches, "read through a server-side cursor"


def test_an_export_abandoned_halfway_gives_its_connection_back(tracker: UsageTracker) -> None:
    for _ in range(20):  # more than the pool's connections: a leaked one would make this wait and fail
        calls = tracker.dashboard.iter_calls(batch=10)
        assert len([next(calls) for _ in range(15)]) == 15
        calls.close()
    assert tracker.get_usage_stats(None)["total_requests"] == ROWS
