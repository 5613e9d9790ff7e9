"""The usage tracker's public face: one row per AI call attempt, and the stats the dashboard, API and budgets read.

Only metadata is stored (who, which task, which provider/model, tokens by kind, cost, latency, outcome): never
prompt or response text, since CVs are personal data, and never API keys. Nothing is deleted unless
`retention_days` is set or `purge_older_than` / `clear` is called.

The work is done in `core.tracker`: `storage` (connections, transactions, migrations), `schema` (the table, its
rollups and migrations), `writer` (write-behind with a crash-proof journal), `queries` (the rollup planner and the
seed's stats) and `dashboard` (the usage page's data). No raw `sqlite3` error leaves this class: a database locked
by another process past the busy timeout is a `StorageBusy`, anything else from SQLite a `StorageError`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from core.config import PROJECT_ROOT, is_db_url
from core.tracker.dashboard import LATENCY_SAMPLE_CAP, DashboardQueries, default_bucket_seconds
from core.tracker.queries import DIMENSIONS, UsageQueries
from core.tracker.record import UsageRecord
from core.tracker.schema import DAY, HOUR, INSERT_SQL, MIGRATIONS, ROLLUPS, record_of, row_of
from core.tracker.storage import Storage, run_migrations
from core.tracker.writer import Writer, writer_for

__all__ = [
    "DIMENSIONS",
    "LATENCY_SAMPLE_CAP",
    "UsageRecord",
    "UsageTracker",
    "default_bucket_seconds",
    "get_usage_tracker",
]

SQLiteConnections = Storage  # the name core.cache and core.ab used before core.tracker.storage


class UsageTracker:
    """Records every AI call attempt and answers the stats the dashboard, the API and the budgets need.

    Filters accepted by the query methods: `provider`, `task_type`, `user_id` (and `model`), each a string, a
    sequence of strings (TaskType accepted), or None. An empty sequence means "no filter", like an empty
    multiselect. `hours=None` means all time; windows are [now - hours, ∞).

    `flush_interval` is how long a recorded row may wait in memory (it is in the journal meanwhile, so it survives
    a crash); None writes each row synchronously.

    `db_path` may be a postgresql:// URL (`core.tracker.pg_storage`): then `local_path` is this machine's SQLite
    file, beside which the journal of rows waiting for PostgreSQL lives (default `data/usage.db`).
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        retention_days: float | None = None,
        clock: Callable[[], float] = time.time,
        flush_interval: float | None = 0.05,
        local_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if retention_days is not None and not retention_days > 0:
            raise ValueError(f"retention_days must be > 0 or None, got {retention_days!r}")
        if flush_interval is not None and not (math.isfinite(flush_interval) and flush_interval >= 0):
            raise ValueError(f"flush_interval must be a finite number >= 0 or None, got {flush_interval!r}")
        self._clock = clock
        self._flush_interval = flush_interval
        self._retention_days = retention_days
        self._next_retention_check = -math.inf
        self._pg = is_db_url(str(db_path))
        if self._pg:
            from core.tracker.pg_writer import pg_writer_for

            pg_writer = pg_writer_for(str(db_path), local_path or PROJECT_ROOT / "data" / "usage.db")
            self._writer: Writer = pg_writer
            self._storage: Any = pg_writer.pg
        else:
            self._storage = Storage(db_path)
            run_migrations(self._storage, "usage", MIGRATIONS)
            self._writer = writer_for(self._storage.path)
        spend = getattr(self._writer, "spend", None)  # PostgreSQL: the spend budgets read while the server is down
        self._queries = UsageQueries(self._storage, clock, self._writer.flush, spend)
        self._dashboard = DashboardQueries(self._queries)
        if retention_days is not None:
            self._writer.after_flush = self._maybe_apply_retention
            self._apply_retention()

    @property
    def db_path(self) -> Path:
        """The SQLite file (with PostgreSQL: this machine's file, beside which the journal lives)."""
        return Path(self._storage.path)

    @property
    def location(self) -> str:
        """Where the rows are, fit for a page or a log line (a PostgreSQL URL without its password)."""
        return str(getattr(self._storage, "display", self._storage.path))

    @property
    def dashboard(self) -> DashboardQueries:
        """The usage page's reads, with absolute ranges (`since` / `until`) and granularities."""
        return self._dashboard

    def flush(self) -> None:
        """Write the rows recorded so far in this process to the file. Every query method calls it first."""
        self._writer.flush()

    def close(self) -> None:
        """Flush, then close this tracker's connections (all threads)."""
        self._writer.flush()
        self._storage.close()

    # --- writing ----------------------------------------------------------------------------------------------

    def record(self, rec: UsageRecord) -> None:
        """Store one attempt (and fold it into its rollups). When this returns, the row survives a crash.

        Raises ValueError for a record that cannot be stored (an empty provider, negative tokens…); text is made
        valid first (a lone surrogate in a model name or user id becomes U+FFFD), so provider replies cannot
        poison the tracker.
        """
        row = row_of(rec, self._clock())
        if self._flush_interval is None:
            self._writer.write_now([row])
        else:
            self._writer.add(row, self._flush_interval)

    def record_usage(self, **fields: Any) -> None:
        """`record` with the fields of a `UsageRecord` as keyword arguments (enums and lists accepted)."""
        self.record(record_of(fields))

    def record_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Bulk insert (benchmarks, demo data, imports): same keys as `record_usage`; one transaction. Returns count."""
        now = self._clock()
        values = [row_of(record_of(row), now) for row in rows]
        if not values:
            return 0
        if self._pg:  # concurrent writers: the rollups are summed from this batch, not from "rows above an id"
            self._writer.write_now(values)
            return len(values)
        self.flush()
        with self._storage.write() as conn:
            last_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM usage").fetchone()[0]
            conn.executemany(INSERT_SQL, values)
            for rollup in ROLLUPS:
                conn.execute(rollup.from_raw_sql("id > ?"), (last_id,))
        return len(values)

    # --- deleting ---------------------------------------------------------------------------------------------

    def purge_older_than(self, days: float) -> int:
        """Delete rows older than `days` (and their rollups; the boundary hour is rebuilt). Returns rows deleted."""
        days = float(days)
        if not (math.isfinite(days) and days >= 0):
            raise ValueError(f"days must be a finite number >= 0, got {days!r}")
        cutoff = self._clock() - days * DAY
        with self._write() as conn:
            self._exclusive(conn)
            deleted = int(conn.execute("DELETE FROM usage WHERE ts < ?", (cutoff,)).rowcount)
            for rollup in ROLLUPS:
                boundary = int(cutoff // rollup.seconds) * rollup.seconds
                conn.execute(f"DELETE FROM {rollup.table} WHERE {rollup.time_column} < ?", (boundary,))
                rollup.rebuild_range(conn, boundary, boundary + rollup.seconds)
        return deleted

    def clear(self) -> int:
        """Delete every usage row and rollup. Returns the number of usage rows deleted."""
        with self._write() as conn:
            self._exclusive(conn)
            deleted = int(conn.execute("DELETE FROM usage").rowcount)
            for rollup in ROLLUPS:
                conn.execute(f"DELETE FROM {rollup.table}")
        return deleted

    def rebuild_rollup(self) -> None:
        """Recompute every rollup from raw rows (repair after editing `usage` by hand)."""
        with self._write() as conn:
            self._exclusive(conn)
            for rollup in ROLLUPS:
                conn.execute(f"DELETE FROM {rollup.table}")
                conn.execute(rollup.from_raw_sql("1"))

    def _exclusive(self, conn: Any) -> None:
        """Rewrites of rollups see no concurrent insert (SQLite's BEGIN IMMEDIATE already ensures it)."""
        if self._pg:
            conn.execute("LOCK TABLE usage IN SHARE ROW EXCLUSIVE MODE")

    def _write(self) -> Any:
        self._writer.flush()
        return self._storage.write()

    def _maybe_apply_retention(self) -> None:
        if self._clock() >= self._next_retention_check:
            self._apply_retention()

    def _apply_retention(self) -> None:
        assert self._retention_days is not None
        self._next_retention_check = self._clock() + HOUR
        self.purge_older_than(self._retention_days)

    # --- reading ----------------------------------------------------------------------------------------------

    def get_usage_stats(self, hours: float | None = 24, **filters: Any) -> dict[str, Any]:
        """The seed's stats JSON, keys exactly as in the seed and in its order. Costs rounded to 6 decimals."""
        return self._queries.usage_stats(hours, **filters)

    def get_provider_stats(self, provider: str, hours: float | None = 24) -> dict[str, Any]:
        """Stats of one provider; an unknown provider gives the same keys with zeros and empty dicts."""
        return self._queries.provider_stats(provider, hours)

    def token_stats(self, hours: float | None = 24, **filters: Any) -> dict[str, Any]:
        """Cached input tokens, reasoning tokens and their share of output, and what prompt caching saved."""
        return self._queries.token_stats(hours, **filters)

    def spend_usd(self, since_ts: float, user_id: str | None = None) -> float:
        """Cost of every row since `since_ts` (for budgets), optionally for one user. Not rounded."""
        return self._queries.spend_usd(since_ts, user_id)

    def get_user_stats(self, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """Per-user totals, most expensive first."""
        return self._dashboard.user_stats(hours, **filters)

    def breakdown(self, dimension: str, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """Totals grouped by one of `DIMENSIONS`, most expensive first."""
        return self._dashboard.breakdown(dimension, hours, **filters)

    def timeseries(
        self, hours: float | None = 24, bucket_seconds: int | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Per (bucket, provider) totals, oldest first. Buckets are aligned to UTC (weeks start on Monday)."""
        return self._dashboard.timeseries(hours, bucket_seconds, **filters)

    def errors_by_provider(self, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """Failed attempts per (provider, error kind), most frequent first; a missing kind shows as 'unknown'."""
        return self._dashboard.errors_by_provider(hours, **filters)

    def latency_by_provider(self, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """p50/p95 latency per provider over non-cached calls (see `DashboardQueries.latency_by_provider`)."""
        return self._dashboard.latency_by_provider(hours, **filters)

    def savings(self, hours: float | None = 24, **filters: Any) -> dict[str, float]:
        """What routing, the response cache and the providers' prompt caching saved."""
        return self._dashboard.savings(hours, **filters)

    def recent_calls(self, limit: int | None = 200, hours: float | None = None, **filters: Any) -> list[dict[str, Any]]:
        """The newest attempts first: every column but id, plus `time` (ISO 8601 UTC); fallback_chain as a list."""
        return self._dashboard.recent_calls(limit, hours, **filters)

    def iter_calls(self, hours: float | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every attempt in the window and filters, newest first (`recent_calls` rows), read in batches."""
        return self._dashboard.iter_calls(hours, **filters)

    def distinct_values(self, column: str) -> list[str]:
        """Every value ever seen in one of `DIMENSIONS` (for filter dropdowns), sorted."""
        return self._dashboard.distinct_values(column)


# --- process-wide instance --------------------------------------------------------------------------------------


def get_usage_tracker() -> UsageTracker:
    """The process's tracker, on the database the settings name (core.services builds it, once)."""
    from core.services import get_services

    return get_services().tracker
