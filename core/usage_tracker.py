"""SQLite usage tracker: one row per AI call attempt, plus daily, hourly and minute rollups so stats stay fast.

Only metadata is stored (who, which task, which provider/model, tokens, cost, latency, outcome): never prompt or
response text, since CVs are personal data, and never API keys. Nothing is deleted unless `retention_days` is set
or `purge_older_than` / `clear` is called.

Why the rollups: `get_usage_stats(24)` over 1M raw rows takes ~0.5 s as a plain scan, and an hourly rollup barely
shrinks a year of traffic (1M calls spread over 365 days give 660k (hour, user, task, provider, model) rows). Every
insert also upserts, in the same transaction, a row of each rollup in `_ROLLUPS`: per day (without the user: ~25
rows a day; per user alone; and per user, task, provider and model), per hour (with and without the user) and per
minute (without the user). A window query reads whole days from the smallest daily rollup that has the columns it
groups or filters by, the partial first day from an hourly rollup, the partial first hour from the minute rollup
(or from raw rows when the query is about users) and the partial first minute from raw rows. Results equal the
same sums over raw rows. Latency percentiles need raw values: they come from the (provider, cached, ts,
latency_ms) index, from a systematic 1-in-k sample by id when a provider has more than `LATENCY_SAMPLE_CAP` calls in
the window; for long windows (k >= `_LATENCY_STRIDE`) that sample is read from a small covering index that holds
only every `_LATENCY_STRIDE`-th non-cached row by id.

Concurrency: every thread gets its own connection (Streamlit runs each session in a thread), WAL lets readers run
beside the writer, and writers in this process queue on one lock per database file instead of spinning in SQLite's
busy handler. Other processes are covered by `busy_timeout`.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from core.tracker.record import UsageRecord
from core.tracker.storage import Migration, Storage, run_migrations

_log = logging.getLogger(__name__)

__all__ = [
    "DIMENSIONS",
    "LATENCY_SAMPLE_CAP",
    "UsageTracker",
    "default_bucket_seconds",
    "get_usage_tracker",
]

#: Above this many calls per provider in a window, latency percentiles come from a systematic sample.
LATENCY_SAMPLE_CAP = 10_000
#: Columns the breakdown, filters and dropdowns may group by.
DIMENSIONS: tuple[str, ...] = ("provider", "task_type", "user_id", "model")

_HOUR = 3600
_DAY = 86_400
#: The latency sample index holds the non-cached rows whose id is a multiple of this (see m007; keep them equal).
_LATENCY_STRIDE = 16
_WEEK = 7 * _DAY
#: 1970-01-05 was a Monday: weekly buckets start on Mondays, 00:00 UTC.
_MONDAY_ORIGIN = 4 * _DAY
_BUSY_TIMEOUT_MS = 5000

# --- connections and migrations (shared with core.cache, which keeps its table in the same file) ---------------


SQLiteConnections = Storage  # the name core.cache and core.ab used before core.tracker.storage


# --- write-behind -----------------------------------------------------------------------------------------------


class _WriteBuffer:
    """Rows recorded in this process and not yet written, for one DB file; shared by every tracker on that file.

    Why: a committed WAL transaction costs ~20 µs per B-tree page it touches on this kind of machine (a usage row
    touches four: table, two indexes, rollup), ~90 µs in all, against a 50 µs budget on the router's hot path.
    Appending to a list costs ~1 µs; a background thread writes the batch in one transaction `flush_interval`
    seconds later. Every query flushes first, so this process always reads its own writes. Other processes see
    rows within `flush_interval`; a hard kill can lose at most that much.
    """

    def __init__(self, path: Path) -> None:
        self.connections = SQLiteConnections(path)
        self._rows: list[tuple[Any, ...]] = []
        self._rows_lock = threading.Lock()
        self._unwritten = 0  # rows added and not yet committed, including a batch being written right now
        self.after_flush: Callable[[], None] | None = None

    def add(self, row: tuple[Any, ...], delay: float) -> None:
        with self._rows_lock:
            self._rows.append(row)
            self._unwritten += 1
            pending = len(self._rows)
        if pending == 1:
            _FLUSHER.schedule(self, delay)
        elif pending >= _MAX_PENDING:
            self.flush()  # back-pressure: a writer outrunning the flusher pays for the write itself

    def flush(self) -> None:
        if not self._unwritten:  # nothing pending and no batch in flight: no lock needed
            return
        with self.connections.write_lock:
            with self._rows_lock:
                rows, self._rows = self._rows, []
            if not rows:
                return
            try:
                self._write_locked(rows)
            except BaseException:
                with self._rows_lock:  # keep them for the next attempt, in order
                    self._rows[:0] = rows
                raise
            with self._rows_lock:
                self._unwritten -= len(rows)
        if self.after_flush is not None:
            self.after_flush()

    def write_now(self, rows: list[tuple[Any, ...]]) -> None:
        """Synchronous write (trackers created with flush_interval=None); earlier pending rows go first."""
        self.flush()
        with self.connections.write_lock:
            self._write_locked(rows)
        if self.after_flush is not None:
            self.after_flush()

    def _write_locked(self, rows: list[tuple[Any, ...]]) -> None:
        conn = self.connections.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_INSERT_SQL, rows)
            for rollup in _ROLLUPS:
                conn.executemany(rollup.upsert_sql, rollup.folded_params(rows))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


class _Flusher:
    """One daemon thread flushing due buffers; it exits after a few idle seconds and restarts on demand."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[_WriteBuffer, float] = {}  # strong refs: pending rows are never lost to garbage collection
        self._thread: threading.Thread | None = None

    def schedule(self, buffer: _WriteBuffer, delay: float) -> None:
        with self._cond:
            if buffer not in self._due:
                self._due[buffer] = time.monotonic() + delay
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="usage-tracker-flush", daemon=True)
                self._thread.start()
            self._cond.notify()

    def flush_all(self) -> None:
        with self._cond:
            buffers = list(self._due)
            self._due.clear()
        for buffer in buffers:
            _flush_quietly(buffer)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._due and not self._cond.wait_for(lambda: self._due, timeout=_FLUSHER_IDLE_EXIT_S):
                    self._thread = None
                    return
                now = time.monotonic()
                ready = [b for b, at in self._due.items() if at <= now]
                if not ready:
                    self._cond.wait(timeout=min(self._due.values()) - now)
                    continue
                for buffer in ready:
                    del self._due[buffer]
            for buffer in ready:
                if not _flush_quietly(buffer):
                    self.schedule(buffer, 1.0)  # e.g. the file is locked by another process: retry soon


def _flush_quietly(buffer: _WriteBuffer) -> bool:
    try:
        buffer.flush()
    except (sqlite3.Error, OSError):
        _log.warning("could not write usage rows to %s; will retry", buffer.connections.path, exc_info=True)
        return False
    return True


_MAX_PENDING = 1000
_FLUSHER_IDLE_EXIT_S = 5.0
_FLUSHER = _Flusher()
_BUFFERS: weakref.WeakValueDictionary[str, _WriteBuffer] = weakref.WeakValueDictionary()
_BUFFERS_GUARD = threading.Lock()


def _buffer_for(path: Path) -> _WriteBuffer:
    with _BUFFERS_GUARD:
        buffer = _BUFFERS.get(str(path))
        if buffer is None:
            buffer = _WriteBuffer(path)
            _BUFFERS[str(path)] = buffer
        return buffer


atexit.register(_FLUSHER.flush_all)


# --- schema -----------------------------------------------------------------------------------------------------

_USAGE_COLUMNS: dict[str, type] = {
    "id": int,
    "ts": float,
    "user_id": str,
    "task_type": str,
    "provider": str,
    "model": str,
    "input_tokens": int,
    "output_tokens": int,
    "cost_usd": float,
    "baseline_cost_usd": float,
    "saved_cost_usd": float,
    "latency_ms": float,
    "success": int,
    "error_kind": str,
    "cached": int,
    "fallback_chain": str,
    "tokens_estimated": int,
    "price_estimated": int,
    "challenger": int,
}
_INSERT_COLUMNS = tuple(c for c in _USAGE_COLUMNS if c != "id")
_INSERT_SQL = f"INSERT INTO usage ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
_BOOL_COLUMNS = ("success", "cached", "tokens_estimated", "price_estimated", "challenger")

_ROLLUP_SUMS = (
    "requests",
    "successful",
    "cached_requests",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "baseline_cost_usd",
    "saved_cost_usd",
    "latency_ms_sum",
)
#: Raw-column index in `_INSERT_COLUMNS` order of each rollup key column.
_RAW_INDEX = {"user_id": 1, "task_type": 2, "provider": 3, "model": 4}


class _Rollup:
    """One rollup table: sums per (time bucket of `seconds`, key columns), maintained with every insert."""

    def __init__(self, table: str, time_column: str, seconds: int, keys: tuple[str, ...]) -> None:
        self.table, self.time_column, self.seconds, self.keys = table, time_column, seconds, keys
        key = (time_column, *keys)
        columns = ", ".join((*key, *_ROLLUP_SUMS))
        tail = f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(
            f"{c} = {c} + excluded.{c}" for c in _ROLLUP_SUMS
        )
        self.upsert_sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * (len(key) + 9))}){tail}"
        # WHERE is always present: SQLite's parser needs it before an upsert's ON CONFLICT in INSERT … SELECT
        self.from_raw_sql = (
            f"INSERT INTO {table} ({columns}) SELECT CAST(ts / {seconds} AS INTEGER) * {seconds}, {', '.join(keys)}, "
            "COUNT(*), SUM(success), SUM(cached), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), "
            "SUM(baseline_cost_usd), SUM(saved_cost_usd), SUM(latency_ms) FROM usage WHERE {where} "
            f"GROUP BY 1, {', '.join(keys)}{tail}"
        )
        self._key_index = tuple(_RAW_INDEX[k] for k in keys)

    def create_sql(self) -> str:
        keys = ", ".join(f"{k} TEXT NOT NULL" for k in self.keys)
        sums = ", ".join(f"{c} {'REAL' if c.endswith(('usd', 'sum')) else 'INTEGER'} NOT NULL" for c in _ROLLUP_SUMS)
        pk = ", ".join((self.time_column, *self.keys))
        return (
            f"CREATE TABLE {self.table} ({self.time_column} INTEGER NOT NULL, {keys}, {sums}, PRIMARY KEY ({pk})) "
            "WITHOUT ROWID"
        )

    def params(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """A usage row (in `_INSERT_COLUMNS` order) as the parameters of `upsert_sql`."""
        bucket = int(row[0] // self.seconds) * self.seconds
        # requests=1, successful, cached, then the token, cost and latency sums
        return (bucket, *(row[i] for i in self._key_index), 1, row[11], row[13], *row[5:11])

    def folded_params(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """`params` of a batch with rows of the same bucket and keys summed first: one upsert per key, not per row
        (a burst of 1,000 calls touches ~30 keys of a daily rollup)."""
        if len(rows) == 1:
            return [self.params(rows[0])]
        width = len(self.keys) + 1
        folded: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            values = self.params(row)
            key = values[:width]
            sums = folded.get(key)
            if sums is None:
                folded[key] = list(values[width:])
            else:
                for i, value in enumerate(values[width:]):
                    sums[i] += value
        return [(*key, *sums) for key, sums in folded.items()]

    def rebuild_range(self, conn: sqlite3.Connection, start: float, end: float) -> None:
        """Recompute the buckets of [start, end) (both bucket-aligned) from raw rows."""
        conn.execute(f"DELETE FROM {self.table} WHERE {self.time_column} >= ? AND {self.time_column} < ?", (start, end))
        conn.execute(self.from_raw_sql.format(where="ts >= ? AND ts < ?"), (float(start), float(end)))


#: Per user (for per-user stats, user filters and budgets); without the user (most dashboard queries: far fewer
#: rows); and per minute without the user (the partial first hour of a window, and 5-minute charts).
_BY_USER = _Rollup("usage_hourly", "hour", _HOUR, ("user_id", "task_type", "provider", "model"))
_TOTAL = _Rollup("usage_hourly_total", "hour", _HOUR, ("task_type", "provider", "model"))
_MINUTE = _Rollup("usage_minutely", "minute", 60, ("task_type", "provider", "model"))
#: Per day: without the user (all-time totals, charts), per user alone (user tables, budgets), and with every
#: dimension (a user view filtered by provider or task, or the reverse).
_DAY_TOTAL = _Rollup("usage_daily_total", "day", _DAY, ("task_type", "provider", "model"))
_DAY_USER = _Rollup("usage_daily_user", "day", _DAY, ("user_id",))
_DAY_FULL = _Rollup("usage_daily", "day", _DAY, ("user_id", "task_type", "provider", "model"))
_ROLLUPS = (_BY_USER, _TOTAL, _MINUTE, _DAY_TOTAL, _DAY_USER, _DAY_FULL)
#: Per grain, coarsest grain first, smallest rollup first: a query uses the first rollup of each grain that has
#: every column it groups or filters by (the minute grain has no per-user rollup: those read raw rows instead).
_GRAINS: tuple[tuple[_Rollup, ...], ...] = ((_DAY_TOTAL, _DAY_USER, _DAY_FULL), (_TOTAL, _BY_USER), (_MINUTE,))


def _rollup_from_sql(target: _Rollup, source: _Rollup) -> str:
    """INSERT … SELECT filling `target` from a finer rollup `source` that has all of target's key columns."""
    keys = ", ".join(target.keys)
    sums = ", ".join(_ROLLUP_SUMS)
    return (
        f"INSERT INTO {target.table} ({target.time_column}, {keys}, {sums}) "
        f"SELECT {source.time_column} / {target.seconds} * {target.seconds}, {keys}, "
        f"{', '.join(f'SUM({c})' for c in _ROLLUP_SUMS)} FROM {source.table} GROUP BY 1, {keys}"
    )


def m001_create_usage(db: sqlite_utils.Database) -> None:
    """The raw table: one row per attempt, metadata only."""
    db["usage"].create(_USAGE_COLUMNS, pk="id", not_null={c for c in _USAGE_COLUMNS if c != "error_kind"})


def m002_usage_indexes(db: sqlite_utils.Database) -> None:
    """ts for windows and recent calls; (provider, ts, latency_ms) for percentiles; failures only for error counts."""
    usage = db.table("usage")
    usage.create_index(["ts"], index_name="idx_usage_ts")
    usage.create_index(["provider", "ts", "latency_ms"], index_name="idx_usage_provider_ts_latency")  # see m005
    db.execute("CREATE INDEX idx_usage_failures ON usage (ts, provider, error_kind) WHERE success = 0")


def m003_usage_readable_view(db: sqlite_utils.Database) -> None:
    """A view with an ISO 8601 UTC time column, for people browsing the file in Datasette or sqlite-utils."""
    columns = ", ".join(c for c in _USAGE_COLUMNS if c not in ("id", "ts"))
    db.create_view(
        "usage_readable",
        f"SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', ts, 'unixepoch') AS time, {columns} FROM usage",
    )


def m004_hourly_rollup(db: sqlite_utils.Database) -> None:
    """Sums and counts per (hour, user, task, provider, model), back-filled from any existing raw rows."""
    db.execute(_BY_USER.create_sql())
    db.execute(_BY_USER.from_raw_sql.format(where="1"))


def m005_total_and_minute_rollups(db: sqlite_utils.Database) -> None:
    """Rollups without the user (hourly and per minute), and a latency index that skips cache hits."""
    for rollup in (_TOTAL, _MINUTE):
        db.execute(rollup.create_sql())
        db.execute(rollup.from_raw_sql.format(where="1"))
    db.execute("DROP INDEX IF EXISTS idx_usage_provider_ts_latency")
    db.table("usage").create_index(["provider", "cached", "ts", "latency_ms"], index_name="idx_usage_latency")


def m006_rollup_dimension_indexes(db: sqlite_utils.Database) -> None:
    """Indexes that let the filter dropdowns list distinct values with a skip-scan."""
    db.table("usage_hourly").create_index(["user_id"], index_name="idx_usage_hourly_user")
    for column in ("provider", "task_type", "model"):
        db.table("usage_hourly_total").create_index([column], index_name=f"idx_usage_hourly_total_{column}")


def m007_daily_rollups(db: sqlite_utils.Database) -> None:
    """Daily rollups, their dropdown indexes (replacing the hourly ones), and a covering index over every 16th
    non-cached call for latency percentiles of long windows. Back-filled from the hourly rollup, which equals the raw
    rows: much faster than a scan of them."""
    db.execute(_DAY_FULL.create_sql())
    db.execute(_rollup_from_sql(_DAY_FULL, _BY_USER))
    for rollup in (_DAY_TOTAL, _DAY_USER):
        db.execute(rollup.create_sql())
        db.execute(_rollup_from_sql(rollup, _DAY_FULL))
    for name in ("user", "total_provider", "total_task_type", "total_model"):  # m006's: now unused, still written
        db.execute(f"DROP INDEX IF EXISTS idx_usage_hourly_{name}")
    db.execute("CREATE INDEX idx_usage_daily_user_user ON usage_daily_user (user_id)")
    for column in ("provider", "task_type", "model"):
        db.execute(f"CREATE INDEX idx_usage_daily_total_{column} ON usage_daily_total ({column})")
    # 16 is _LATENCY_STRIDE: a query must repeat this WHERE clause word for word to use the index
    db.execute(
        "CREATE INDEX idx_usage_latency_sample ON usage (provider, ts, latency_ms, task_type, user_id, model) "
        "WHERE cached = 0 AND id % 16 = 0"
    )


_MIGRATIONS: tuple[Migration, ...] = (
    m001_create_usage,
    m002_usage_indexes,
    m003_usage_readable_view,
    m004_hourly_rollup,
    m005_total_and_minute_rollups,
    m006_rollup_dimension_indexes,
    m007_daily_rollups,
)

# --- helpers ----------------------------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _iso_ms(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _r6(value: float | None) -> float:
    return round(value or 0.0, 6)


def _as_values(value: Any) -> list[str] | None:
    """A filter value as a list of strings; None or an empty sequence means no filter."""
    if value is None:
        return None
    if isinstance(value, str):  # TaskType is a str enum; its value is what is stored
        return [getattr(value, "value", value)]
    values = [getattr(v, "value", v) for v in value]
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"filter values must be strings, got {value!r}")
    return values or None


def _filter_sql(filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
    unknown = set(filters) - {"provider", "task_type", "user_id", "model"}
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(sorted(unknown))}")
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("provider", "task_type", "user_id", "model"):
        values = _as_values(filters.get(column))
        if values is None:
            continue
        if len(values) == 1:
            clauses.append(f"{column} = ?")
        else:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
        params.extend(values)
    return "".join(f" AND {c}" for c in clauses), params


def default_bucket_seconds(hours: float | None, span_seconds: float = 0.0) -> int:
    """A bucket size that gives a readable chart: 1 h → 5 min, 24 h → 1 h, 7 d → 6 h, 30 d → 1 d, longer → 1 week."""
    window = hours * _HOUR if hours is not None else span_seconds
    if window <= 2 * _HOUR:
        return 300
    if window <= 2 * _DAY:
        return _HOUR
    if window <= 8 * _DAY:
        return 6 * _HOUR
    if window <= 92 * _DAY:
        return _DAY
    return _WEEK


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


# --- the tracker ------------------------------------------------------------------------------------------------


_AGG_FIELDS = (
    "requests",
    "successful",
    "cached_requests",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "baseline_cost_usd",
    "saved_cost_usd",
    "latency_ms_sum",
)
_RAW_SUMS = (
    "COUNT(*)",
    "SUM(success)",
    "SUM(cached)",
    "SUM(input_tokens)",
    "SUM(output_tokens)",
    "SUM(cost_usd)",
    "SUM(baseline_cost_usd)",
    "SUM(saved_cost_usd)",
    "SUM(latency_ms)",
)


class UsageTracker:
    """Records every AI call attempt and answers the stats the dashboard, the API and the budgets need.

    Filters accepted by the query methods: `provider`, `task_type`, `user_id` (and `model`), each a string, a
    sequence of strings (TaskType accepted), or None. An empty sequence means "no filter", like an empty
    multiselect. `hours=None` means all time; windows are [now - hours, ∞).
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        retention_days: float | None = None,
        clock: Callable[[], float] = time.time,
        flush_interval: float | None = 0.05,
    ) -> None:
        if retention_days is not None and not retention_days > 0:
            raise ValueError(f"retention_days must be > 0 or None, got {retention_days!r}")
        if flush_interval is not None and not (math.isfinite(flush_interval) and flush_interval >= 0):
            raise ValueError(f"flush_interval must be a finite number >= 0 or None, got {flush_interval!r}")
        self._connections = SQLiteConnections(db_path)
        self._clock = clock
        self._flush_interval = flush_interval
        self._retention_days = retention_days
        self._next_retention_check = -math.inf
        run_migrations(self._connections, "usage", _MIGRATIONS)
        self._buffer = _buffer_for(self._connections.path)
        if retention_days is not None:
            self._buffer.after_flush = self._maybe_apply_retention
            self._apply_retention()

    @property
    def db_path(self) -> Path:
        return self._connections.path

    def flush(self) -> None:
        """Write the rows recorded so far in this process to the file. Every query method calls it first."""
        self._buffer.flush()

    def close(self) -> None:
        """Flush, then close this tracker's connections (all threads)."""
        self._buffer.flush()
        self._connections.close_all()

    # --- writing ----------------------------------------------------------------------------------------------

    def record_usage(
        self,
        *,
        task_type: str,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        success: bool,
        user_id: str = "anonymous",
        latency_ms: float = 0.0,
        error_kind: str | None = None,
        cached: bool = False,
        fallback_chain: Sequence[str] = (),
        baseline_cost_usd: float | None = None,
        saved_cost_usd: float = 0.0,
        tokens_estimated: bool = False,
        price_estimated: bool = False,
        challenger: bool = False,
        ts: float | None = None,
    ) -> None:
        """Store one attempt (and fold it into its rollup hour, in the same transaction).

        `baseline_cost_usd` is what the same tokens would have cost on the task's default provider; None means
        "same as cost_usd" (no saving claimed). `saved_cost_usd` is the cost a cache hit avoided.
        """
        row = self._row(
            task_type=task_type,
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd,
            success=success,
            user_id=user_id,
            latency_ms=latency_ms,
            error_kind=error_kind,
            cached=cached,
            fallback_chain=fallback_chain,
            baseline_cost_usd=baseline_cost_usd,
            saved_cost_usd=saved_cost_usd,
            tokens_estimated=tokens_estimated,
            price_estimated=price_estimated,
            challenger=challenger,
            ts=ts,
        )
        if self._flush_interval is None:
            self._buffer.write_now([row])
        else:
            self._buffer.add(row, self._flush_interval)

    def record(self, rec: UsageRecord) -> None:
        """Store one usage record (the typed form of `record_usage`)."""
        self.record_usage(
            task_type=rec.task_type, provider=rec.provider, model=rec.model, input_tokens=rec.input_tokens,
            output_tokens=rec.output_tokens, cost_usd=rec.cost_usd, success=rec.success, user_id=rec.user_id,
            latency_ms=rec.latency_ms, error_kind=rec.error_kind, cached=rec.cached, fallback_chain=rec.fallback_chain,
            baseline_cost_usd=rec.baseline_cost_usd, saved_cost_usd=rec.saved_cost_usd,
            tokens_estimated=rec.tokens_estimated, price_estimated=rec.price_estimated, challenger=rec.challenger,
            ts=rec.ts,
        )  # fmt: skip

    def record_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Bulk insert (benchmarks, demo data, imports): same keys as `record_usage`; one transaction. Returns count."""
        values = [self._row(**row) for row in rows]
        if not values:
            return 0
        self.flush()
        conn = self._connections.get()
        with self._connections.write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                last_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM usage").fetchone()[0]
                conn.executemany(_INSERT_SQL, values)
                for rollup in _ROLLUPS:
                    conn.execute(rollup.from_raw_sql.format(where="id > ?"), (last_id,))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return len(values)

    def _row(
        self,
        *,
        task_type: str,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        success: bool,
        user_id: str = "anonymous",
        latency_ms: float = 0.0,
        error_kind: str | None = None,
        cached: bool = False,
        fallback_chain: Sequence[str] = (),
        baseline_cost_usd: float | None = None,
        saved_cost_usd: float = 0.0,
        tokens_estimated: bool = False,
        price_estimated: bool = False,
        challenger: bool = False,
        ts: float | None = None,
    ) -> tuple[Any, ...]:
        """Validate one record and return it in `_INSERT_COLUMNS` order."""
        task = getattr(task_type, "value", task_type)
        kind = getattr(error_kind, "value", error_kind)
        for name, value in (("task_type", task), ("provider", provider), ("model", model), ("user_id", user_id)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if kind is not None and not isinstance(kind, str):
            raise ValueError(f"error_kind must be a string or None, got {error_kind!r}")
        tokens_in, tokens_out = int(input_tokens), int(output_tokens)
        if tokens_in < 0 or tokens_out < 0:
            raise ValueError(f"token counts must be >= 0, got {input_tokens!r}/{output_tokens!r}")
        cost = float(cost_usd)
        baseline = cost if baseline_cost_usd is None else float(baseline_cost_usd)
        saved = float(saved_cost_usd)
        latency = float(latency_ms)
        for name, value in (("cost_usd", cost), ("baseline_cost_usd", baseline), ("saved_cost_usd", saved)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (math.isfinite(latency) and latency >= 0):
            raise ValueError(f"latency_ms must be a finite number >= 0, got {latency_ms!r}")
        when = self._clock() if ts is None else float(ts)
        if not math.isfinite(when):
            raise ValueError(f"ts must be finite, got {ts!r}")
        chain = [fallback_chain] if isinstance(fallback_chain, str) else [str(p) for p in fallback_chain]
        return (
            when,
            user_id,
            task,
            provider,
            model,
            tokens_in,
            tokens_out,
            cost,
            baseline,
            saved,
            latency,
            1 if success else 0,
            kind,
            1 if cached else 0,
            json.dumps(chain, separators=(",", ":")),
            1 if tokens_estimated else 0,
            1 if price_estimated else 0,
            1 if challenger else 0,
        )

    # --- deleting ---------------------------------------------------------------------------------------------

    def purge_older_than(self, days: float) -> int:
        """Delete rows older than `days` (and their rollups; the boundary hour is rebuilt). Returns rows deleted."""
        days = float(days)
        if not (math.isfinite(days) and days >= 0):
            raise ValueError(f"days must be a finite number >= 0, got {days!r}")
        cutoff = self._clock() - days * _DAY
        with self._write() as conn:
            deleted = conn.execute("DELETE FROM usage WHERE ts < ?", (cutoff,)).rowcount
            for rollup in _ROLLUPS:
                boundary = int(cutoff // rollup.seconds) * rollup.seconds
                conn.execute(f"DELETE FROM {rollup.table} WHERE {rollup.time_column} < ?", (boundary,))
                rollup.rebuild_range(conn, boundary, boundary + rollup.seconds)
        return deleted

    def clear(self) -> int:
        """Delete every usage row and rollup. Returns the number of usage rows deleted."""
        with self._write() as conn:
            deleted = conn.execute("DELETE FROM usage").rowcount
            for rollup in _ROLLUPS:
                conn.execute(f"DELETE FROM {rollup.table}")
        return deleted

    def rebuild_rollup(self) -> None:
        """Recompute every rollup from raw rows (repair after editing `usage` by hand)."""
        with self._write() as conn:
            for rollup in _ROLLUPS:
                conn.execute(f"DELETE FROM {rollup.table}")
                conn.execute(rollup.from_raw_sql.format(where="1"))

    def _maybe_apply_retention(self) -> None:
        if self._clock() >= self._next_retention_check:
            self._apply_retention()

    def _apply_retention(self) -> None:
        assert self._retention_days is not None
        self._next_retention_check = self._clock() + _HOUR
        self.purge_older_than(self._retention_days)

    # --- reading ----------------------------------------------------------------------------------------------

    def get_usage_stats(self, hours: float | None = 24, **filters: Any) -> dict:
        """The seed's stats JSON, keys in the seed's order. Costs rounded to 6 decimals."""
        since = self._since(hours)
        fsql, fparams = _filter_sql(filters)
        with self._read() as conn:
            rows = self._aggregate(conn, [("provider", "provider"), ("task_type", "task_type")], since, filters)
            table = _tiers(_columns((), filters))[0].table
            all_time = conn.execute(f"SELECT SUM(cost_usd) FROM {table} WHERE 1{fsql}", fparams).fetchone()[0]
        by_provider: dict[str, float] = {}
        by_task: dict[str, float] = {}
        totals = dict.fromkeys(_AGG_FIELDS, 0.0)
        for provider, task, *sums in rows:
            for name, value in zip(_AGG_FIELDS, sums, strict=True):
                totals[name] += value or 0
            by_provider[provider] = by_provider.get(provider, 0.0) + (sums[5] or 0.0)
            by_task[task] = by_task.get(task, 0.0) + (sums[5] or 0.0)
        requests, successful = int(totals["requests"]), int(totals["successful"])
        tokens_in, tokens_out = int(totals["input_tokens"]), int(totals["output_tokens"])
        return {
            "period_hours": hours,
            "total_requests": requests,
            "successful_requests": successful,
            "failed_requests": requests - successful,
            "total_input_tokens": tokens_in,
            "total_output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "cost_usd": _r6(totals["cost_usd"]),
            "cost_by_provider": _sorted_costs(by_provider),
            "cost_by_task": _sorted_costs(by_task),
            "total_cost_all_time": _r6(all_time),
        }

    def get_provider_stats(self, provider: str, hours: float | None = 24) -> dict:
        """Stats of one provider; an unknown provider gives the same keys with zeros and empty dicts."""
        since = self._since(hours)
        filters = {"provider": provider}
        with self._read() as conn:
            rows = self._aggregate(conn, [("task_type", "task_type"), ("model", "model")], since, filters)
            errors = self._errors(conn, since, filters)
            all_time = conn.execute(
                "SELECT SUM(cost_usd) FROM usage_daily_total WHERE provider = ?", (provider,)
            ).fetchone()[0]
        by_task: dict[str, float] = {}
        by_model: dict[str, float] = {}
        totals = dict.fromkeys(_AGG_FIELDS, 0.0)
        for task, model, *sums in rows:
            for name, value in zip(_AGG_FIELDS, sums, strict=True):
                totals[name] += value or 0
            by_task[task] = by_task.get(task, 0.0) + (sums[5] or 0.0)
            by_model[model] = by_model.get(model, 0.0) + (sums[5] or 0.0)
        requests, successful = int(totals["requests"]), int(totals["successful"])
        tokens_in, tokens_out = int(totals["input_tokens"]), int(totals["output_tokens"])
        errors_by_kind: dict[str, int] = {}
        for _provider, kind, count in errors:
            errors_by_kind[kind] = errors_by_kind.get(kind, 0) + count
        return {
            "provider": provider,
            "period_hours": hours,
            "total_requests": requests,
            "successful_requests": successful,
            "failed_requests": requests - successful,
            "total_input_tokens": tokens_in,
            "total_output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "cost_usd": _r6(totals["cost_usd"]),
            "avg_latency_ms": round(totals["latency_ms_sum"] / requests, 3) if requests else 0.0,
            "cost_by_task": _sorted_costs(by_task),
            "cost_by_model": _sorted_costs(by_model),
            "errors_by_kind": errors_by_kind,
            "total_cost_all_time": _r6(all_time),
        }

    def get_user_stats(self, hours: float | None = 24, **filters: Any) -> list[dict]:
        """Per-user totals, most expensive first."""
        since = self._since(hours)
        with self._read() as conn:
            rows = self._aggregate(conn, [("user_id", "user_id")], since, filters)
        out = [
            {
                "user_id": user,
                "requests": int(requests),
                "failed": int(requests - successful),
                "input_tokens": int(tokens_in or 0),
                "output_tokens": int(tokens_out or 0),
                "cost_usd": _r6(cost),
            }
            for user, requests, successful, _cached, tokens_in, tokens_out, cost, *_ in rows
        ]
        out.sort(key=lambda r: (-r["cost_usd"], -r["requests"], r["user_id"]))
        return out

    def breakdown(self, dimension: str, hours: float | None = 24, **filters: Any) -> list[dict]:
        """Totals grouped by one of `DIMENSIONS`, most expensive first."""
        if dimension not in DIMENSIONS:
            raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, got {dimension!r}")
        since = self._since(hours)
        with self._read() as conn:
            rows = self._aggregate(conn, [(dimension, dimension)], since, filters)
        out = [
            {
                "key": key,
                "requests": int(requests),
                "successful": int(successful),
                "failed": int(requests - successful),
                "input_tokens": int(tokens_in or 0),
                "output_tokens": int(tokens_out or 0),
                "cost_usd": _r6(cost),
                "baseline_cost_usd": _r6(baseline),
                "saved_by_cache_usd": _r6(saved),
            }
            for key, requests, successful, _cached, tokens_in, tokens_out, cost, baseline, saved, _lat in rows
        ]
        out.sort(key=lambda r: (-r["cost_usd"], -r["requests"], r["key"]))
        return out

    def timeseries(self, hours: float | None = 24, bucket_seconds: int | None = None, **filters: Any) -> list[dict]:
        """Per (bucket, provider) totals, oldest first. Buckets are aligned to UTC (weeks start on Monday)."""
        since = self._since(hours)
        with self._read() as conn:
            if bucket_seconds is None:
                span = 0.0
                if hours is None:
                    lo, hi = conn.execute("SELECT MIN(hour), MAX(hour) FROM usage_hourly_total").fetchone()
                    span = float(hi - lo + _HOUR) if lo is not None else 0.0
                bucket_seconds = default_bucket_seconds(hours, span)
            size = int(bucket_seconds)
            if size <= 0:
                raise ValueError(f"bucket_seconds must be a positive integer, got {bucket_seconds!r}")
            origin = _MONDAY_ORIGIN if size % _WEEK == 0 else 0
            key = (
                f"({{t}} - {origin}) / {size} * {size} + {origin}",
                f"CAST((ts - {origin}) / {size} AS INTEGER) * {size} + {origin}",
            )
            rows = self._aggregate(conn, [key, ("provider", "provider")], since, filters, bucket_seconds=size)
        rows.sort(key=lambda r: (r[0], r[1]))
        return [
            {
                "bucket": _iso(bucket),
                "provider": provider,
                "requests": int(requests),
                "failed": int(requests - successful),
                "input_tokens": int(tokens_in or 0),
                "output_tokens": int(tokens_out or 0),
                "cost_usd": _r6(cost),
            }
            for bucket, provider, requests, successful, _cached, tokens_in, tokens_out, cost, *_ in rows
        ]

    def errors_by_provider(self, hours: float | None = 24, **filters: Any) -> list[dict]:
        """Failed attempts per (provider, error kind), most frequent first; a missing kind shows as 'unknown'."""
        since = self._since(hours)
        with self._read() as conn:
            rows = self._errors(conn, since, filters)
        return [{"provider": p, "error_kind": k, "count": n} for p, k, n in rows]

    def latency_by_provider(self, hours: float | None = 24, **filters: Any) -> list[dict]:
        """p50/p95 latency per provider over non-cached calls (a cache hit says nothing about the provider).

        Exact up to `LATENCY_SAMPLE_CAP` calls per provider; above it, from every k-th row by id (a systematic
        sample of `LATENCY_SAMPLE_CAP` to 2 × `LATENCY_SAMPLE_CAP` values), which keeps the query fast at a million
        rows. When k >= `_LATENCY_STRIDE` it is rounded down to a multiple of it and read from the sample index.
        With a task, user or model filter (columns the full latency index lacks, so a scan of it visits every call
        of the provider in the window), the sample index is also used once the provider has more than
        `_LATENCY_STRIDE` × `LATENCY_SAMPLE_CAP` calls in the window: then k is at least `_LATENCY_STRIDE` and the
        sample may hold fewer than `LATENCY_SAMPLE_CAP` values (1 in 16 of the matching calls).
        """
        since = self._since(hours)
        other_filters = {k: v for k, v in filters.items() if k != "provider"}
        fsql, fparams = _filter_sql(other_filters)
        time_sql, time_params = ("", []) if since is None else (" AND ts >= ?", [since])
        out: list[dict] = []
        with self._read() as conn:
            scanned: dict[str, int] = {}  # calls per provider a scan of idx_usage_latency visits, when it filters
            if any(_as_values(v) is not None for v in other_filters.values()):
                for provider, requests, _ok, cached, *_ in self._aggregate(
                    conn, [("provider", "provider")], since, {"provider": filters.get("provider")}
                ):
                    scanned[provider] = int(requests - cached)
            for provider, requests, _ok, cached, *_ in self._aggregate(
                conn, [("provider", "provider")], since, filters
            ):
                calls = int(requests - cached)
                if calls <= 0:
                    continue
                step = max(1, math.ceil(calls / LATENCY_SAMPLE_CAP))
                index, sample_sql = "idx_usage_latency", f" AND id % {step} = 0" if step > 1 else ""
                if step >= _LATENCY_STRIDE or scanned.get(provider, 0) > _LATENCY_STRIDE * LATENCY_SAMPLE_CAP:
                    step = max(_LATENCY_STRIDE, step - step % _LATENCY_STRIDE)
                    index, sample_sql = "idx_usage_latency_sample", f" AND id % {_LATENCY_STRIDE} = 0"
                    sample_sql += f" AND id % {step} = 0" if step > _LATENCY_STRIDE else ""
                values = sorted(
                    row[0]
                    for row in conn.execute(
                        f"SELECT latency_ms FROM usage INDEXED BY {index} "
                        f"WHERE provider = ? AND cached = 0{time_sql}{fsql}{sample_sql}",
                        [provider, *time_params, *fparams],
                    )
                )
                out.append(
                    {
                        "provider": provider,
                        "calls": calls,
                        "p50_ms": round(_percentile(values, 0.50), 3),
                        "p95_ms": round(_percentile(values, 0.95), 3),
                    }
                )
        out.sort(key=lambda r: r["provider"])
        return out

    def savings(self, hours: float | None = 24, **filters: Any) -> dict:
        """What routing saved against each task's default provider, and what the cache saved."""
        since = self._since(hours)
        with self._read() as conn:
            rows = self._aggregate(conn, [("'all'", "'all'")], since, filters)
        actual = baseline = cache = 0.0
        for _key, _req, _ok, _cached, _in, _out, cost, base, saved, _lat in rows:
            actual, baseline, cache = cost or 0.0, base or 0.0, saved or 0.0
        return {
            "actual_cost_usd": _r6(actual),
            "baseline_cost_usd": _r6(baseline),
            "saved_usd": _r6(baseline - actual),
            "saved_by_cache_usd": _r6(cache),
        }

    def recent_calls(self, limit: int | None = 200, hours: float | None = None, **filters: Any) -> list[dict]:
        """The newest attempts first: every column but id, plus `time` (ISO 8601 UTC); fallback_chain as a list."""
        if limit is not None and int(limit) < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit!r}")
        since = self._since(hours)
        fsql, fparams = _filter_sql(filters)
        time_sql, time_params = ("1", []) if since is None else ("ts >= ?", [since])
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        columns = ", ".join(_INSERT_COLUMNS)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM usage WHERE {time_sql}{fsql} ORDER BY ts DESC, id DESC{limit_sql}",
                [*time_params, *fparams],
            ).fetchall()
        out = []
        for row in rows:
            record: dict[str, Any] = {"time": _iso_ms(row[0])}
            record.update(zip(_INSERT_COLUMNS, row, strict=True))
            for name in _BOOL_COLUMNS:
                record[name] = bool(record[name])
            record["fallback_chain"] = json.loads(record["fallback_chain"] or "[]")
            out.append(record)
        return out

    def spend_usd(self, since_ts: float, user_id: str | None = None) -> float:
        """Cost of every row since `since_ts` (for budgets), optionally for one user. Not rounded."""
        filters = {} if user_id is None else {"user_id": user_id}
        with self._read() as conn:
            rows = self._aggregate(conn, [("'all'", "'all'")], float(since_ts), filters)
        return float(sum(row[6] or 0.0 for row in rows))

    def distinct_values(self, column: str) -> list[str]:
        """Every value ever seen in one of `DIMENSIONS` (for filter dropdowns), sorted."""
        if column not in DIMENSIONS:
            raise ValueError(f"column must be one of {', '.join(DIMENSIONS)}, got {column!r}")
        with self._read() as conn:
            table = _DAY_USER.table if column == "user_id" else _DAY_TOTAL.table
            # a skip-scan over the column's index: one B-tree seek per distinct value, not a scan of the table
            return [
                row[0]
                for row in conn.execute(
                    f"WITH RECURSIVE d(v) AS (SELECT MIN({column}) FROM {table} UNION ALL "
                    f"SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > d.v) FROM d WHERE d.v IS NOT NULL) "
                    "SELECT v FROM d WHERE v IS NOT NULL"
                )
            ]

    # --- internals --------------------------------------------------------------------------------------------

    def _since(self, hours: float | None) -> float | None:
        if hours is None:
            return None
        value = float(hours)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"hours must be a finite number >= 0 or None, got {hours!r}")
        return self._clock() - value * _HOUR

    def _aggregate(
        self,
        conn: sqlite3.Connection,
        keys: Sequence[tuple[str, str]],
        since: float | None,
        filters: Mapping[str, Any],
        *,
        bucket_seconds: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """Sums of `_AGG_FIELDS` grouped by `keys` over ts >= since.

        `keys` are pairs (rollup expression, raw expression); `{t}` in a rollup expression is the rollup's time
        column. The window is cut into whole days (daily rollup), whole hours (hourly rollup), then whole minutes
        (minute rollup, when the query has no user in it), then the raw rows of the partial first minute or hour.
        A rollup is skipped when `bucket_seconds` is not a multiple of its grain.
        """
        fsql, fparams = _filter_sql(filters)
        tiers = [
            t for t in _tiers(_columns(keys, filters)) if bucket_seconds is None or bucket_seconds % t.seconds == 0
        ]
        names = [f"k{i}" for i in range(len(keys))]
        group = ", ".join(names)
        rollup_sums = ", ".join(f"SUM({c}) AS s{i}" for i, c in enumerate(_ROLLUP_SUMS))
        raw_sums = ", ".join(f"{c} AS s{i}" for i, c in enumerate(_RAW_SUMS))
        raw_keys = ", ".join(f"{raw} AS {name}" for (_rollup, raw), name in zip(keys, names, strict=True))
        parts: list[str] = []
        params: list[Any] = []
        upper: float | None = None  # where the coarser tier began: finer tiers stop there
        for tier in tiers:
            if since is not None and upper is not None and upper <= since:
                break
            # unary + (a no-op on the value) keeps the planner from walking a whole rollup through a dropdown index
            # just to get its GROUP BY order, instead of seeking the window's range of the primary key
            rollup_keys = ", ".join(
                f"+({rollup.format(t=tier.time_column)}) AS {name}"
                for (rollup, _raw), name in zip(keys, names, strict=True)
            )
            start = None if since is None else math.ceil(since / tier.seconds) * tier.seconds
            conds, cond_params = [], []
            if start is not None:
                conds.append(f"{tier.time_column} >= ?")
                cond_params.append(start)
            if upper is not None:
                conds.append(f"{tier.time_column} < ?")
                cond_params.append(upper)
            where = " AND ".join(conds) or "1"
            parts.append(f"SELECT {rollup_keys}, {rollup_sums} FROM {tier.table} WHERE {where}{fsql} GROUP BY {group}")
            params += [*cond_params, *fparams]
            if since is None:
                break
            upper = start
        if not tiers or (since is not None and (upper is None or upper > since)):
            conds, cond_params = [], []
            if since is not None:
                conds.append("ts >= ?")
                cond_params.append(since)
            if upper is not None:
                conds.append("ts < ?")
                cond_params.append(float(upper))
            where = " AND ".join(conds) or "1"
            # the ts index, always: with a provider filter the planner may otherwise walk a provider's whole history
            source = "usage" if since is None else "usage INDEXED BY idx_usage_ts"
            parts.append(f"SELECT {raw_keys}, {raw_sums} FROM {source} WHERE {where}{fsql} GROUP BY {group}")
            params += [*cond_params, *fparams]
        if len(parts) == 1:
            return conn.execute(parts[0], params).fetchall()
        outer = ", ".join(f"SUM(s{i})" for i in range(len(_AGG_FIELDS)))
        union = " UNION ALL ".join(parts)
        return conn.execute(f"SELECT {group}, {outer} FROM ({union}) GROUP BY {group}", params).fetchall()

    def _errors(
        self, conn: sqlite3.Connection, since: float | None, filters: Mapping[str, Any]
    ) -> list[tuple[str, str, int]]:
        fsql, fparams = _filter_sql(filters)
        time_sql, time_params = ("", []) if since is None else (" AND ts >= ?", [since])
        return conn.execute(
            "SELECT provider, COALESCE(error_kind, 'unknown') AS kind, COUNT(*) AS n "
            f"FROM usage INDEXED BY idx_usage_failures WHERE success = 0{time_sql}{fsql} "
            "GROUP BY provider, kind ORDER BY n DESC, provider, kind",
            [*time_params, *fparams],
        ).fetchall()

    def _read(self) -> _Transaction:
        """One read snapshot (after a flush), so the several queries of one method agree with each other."""
        self._buffer.flush()
        return _Transaction(self._connections.get(), "BEGIN", None)

    def _write(self) -> _Transaction:
        self._buffer.flush()
        return _Transaction(self._connections.get(), "BEGIN IMMEDIATE", self._connections.write_lock)


class _Transaction:
    """BEGIN … COMMIT (ROLLBACK on error) on one connection, holding the writer lock for write transactions."""

    def __init__(self, conn: sqlite3.Connection, begin: str, lock: threading.Lock | None) -> None:
        self._conn = conn
        self._begin = begin
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        if self._lock is not None:
            self._lock.acquire()
        try:
            self._conn.execute(self._begin)
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        return self._conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            if self._lock is not None:
                self._lock.release()


def _columns(keys: Sequence[tuple[str, str]], filters: Mapping[str, Any]) -> frozenset[str]:
    """The dimensions a query groups by (named in a rollup key expression) or filters on."""
    grouped = {c for c in DIMENSIONS if any(c in rollup_expr for rollup_expr, _raw in keys)}
    return frozenset(grouped | {c for c in DIMENSIONS if _as_values(filters.get(c)) is not None})


def _tiers(columns: frozenset[str]) -> list[_Rollup]:
    """The rollups that can answer a query touching `columns`: one per grain, coarsest first, the smallest that fits."""
    tiers = []
    for grain in _GRAINS:
        fitting = next((r for r in grain if columns <= set(r.keys)), None)
        if fitting is not None:
            tiers.append(fitting)
    return tiers


def _sorted_costs(costs: Mapping[str, float]) -> dict[str, float]:
    """Most expensive first (then by name), rounded to 6 decimals."""
    return {name: _r6(cost) for name, cost in sorted(costs.items(), key=lambda item: (-item[1], item[0]))}


# --- process-wide instance --------------------------------------------------------------------------------------

_REPO_ROOT = Path(__file__).resolve().parent.parent
_singleton: UsageTracker | None = None
_singleton_key: str | None = None
_singleton_lock = threading.Lock()


def _configured_db_path() -> Path:
    configured = os.environ.get("CV_COPILOT_DB", "").strip()
    return Path(configured).expanduser() if configured else _REPO_ROOT / "data" / "usage.db"


def get_usage_tracker() -> UsageTracker:
    """The process-wide tracker on `CV_COPILOT_DB` (default data/usage.db); re-created when that variable changes."""
    global _singleton, _singleton_key
    path = _configured_db_path()
    key = str(path.resolve())
    with _singleton_lock:
        if _singleton is None or _singleton_key != key:
            _singleton = UsageTracker(path)
            _singleton_key = key
        return _singleton


def _reset_for_tests() -> None:
    """Forget the singleton and close its connections."""
    global _singleton, _singleton_key
    with _singleton_lock:
        if _singleton is not None:
            _singleton.close()
        _singleton = None
        _singleton_key = None
