"""Dashboard data: breakdowns, time series, latency percentiles, errors, savings, recent calls, filter values.

Filters accepted: `provider`, `task_type`, `user_id` (and `model`), each a string, a sequence of strings (TaskType
accepted), or None. An empty sequence means "no filter", like an empty multiselect. `hours=None` means all time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from core.tracker.queries import DIMENSIONS, UsageQueries, as_values, filter_sql, r6
from core.tracker.schema import BOOL_COLUMNS, DAY, DAY_TOTAL, DAY_USER, HOUR, INSERT_COLUMNS, LATENCY_STRIDE, TOTAL

__all__ = ["LATENCY_SAMPLE_CAP", "DashboardQueries", "default_bucket_seconds", "percentile"]

#: Above this many calls per provider in a window, latency percentiles come from a systematic sample.
LATENCY_SAMPLE_CAP = 10_000
_WEEK = 7 * DAY
#: 1970-01-05 was a Monday: weekly buckets start on Mondays, 00:00 UTC.
_MONDAY_ORIGIN = 4 * DAY


def default_bucket_seconds(hours: float | None, span_seconds: float = 0.0) -> int:
    """A bucket size that gives a readable chart: 1 h → 5 min, 24 h → 1 h, 7 d → 6 h, 30 d → 1 d, longer → 1 week."""
    window = hours * HOUR if hours is not None else span_seconds
    if window <= 2 * HOUR:
        return 300
    if window <= 2 * DAY:
        return HOUR
    if window <= 8 * DAY:
        return 6 * HOUR
    if window <= 92 * DAY:
        return DAY
    return _WEEK


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _iso_ms(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


class DashboardQueries:
    """The usage page's and the API's reads, on top of the planner in `UsageQueries`."""

    def __init__(self, queries: UsageQueries) -> None:
        self._q = queries

    def user_stats(self, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """Per-user totals, most expensive first."""
        with self._q.read() as conn:
            groups = self._q.aggregate(conn, [("user_id", "user_id")], self._q.since(hours), filters)
        out = [
            {
                "user_id": user,
                "requests": int(s.requests),
                "failed": int(s.requests - s.successful),
                "input_tokens": int(s.input_tokens),
                "output_tokens": int(s.output_tokens),
                "cost_usd": r6(s.cost_usd),
            }
            for (user,), s in groups
        ]
        out.sort(key=lambda r: (-r["cost_usd"], -r["requests"], r["user_id"]))
        return out

    def breakdown(self, dimension: str, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """Totals grouped by one of `DIMENSIONS`, most expensive first."""
        if dimension not in DIMENSIONS:
            raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, got {dimension!r}")
        with self._q.read() as conn:
            groups = self._q.aggregate(conn, [(dimension, dimension)], self._q.since(hours), filters)
        out = [
            {
                "key": key,
                "requests": int(s.requests),
                "successful": int(s.successful),
                "failed": int(s.requests - s.successful),
                "input_tokens": int(s.input_tokens),
                "output_tokens": int(s.output_tokens),
                "cost_usd": r6(s.cost_usd),
                "baseline_cost_usd": r6(s.baseline_cost_usd),
                "saved_by_cache_usd": r6(s.saved_cost_usd),
                "cached_input_tokens": int(s.cached_input_tokens),
                "reasoning_tokens": int(s.reasoning_tokens),
                "saved_by_prompt_cache_usd": r6(s.cache_saved_usd),
            }
            for (key,), s in groups
        ]
        out.sort(key=lambda r: (-r["cost_usd"], -r["requests"], r["key"]))
        return out

    def timeseries(
        self, hours: float | None = 24, bucket_seconds: int | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Per (bucket, provider) totals, oldest first. Buckets are aligned to UTC (weeks start on Monday)."""
        since = self._q.since(hours)
        with self._q.read() as conn:
            if bucket_seconds is None:
                span = 0.0
                if hours is None:
                    lo, hi = conn.execute(f"SELECT MIN(hour), MAX(hour) FROM {TOTAL.table}").fetchone()
                    span = float(hi - lo + HOUR) if lo is not None else 0.0
                bucket_seconds = default_bucket_seconds(hours, span)
            size = int(bucket_seconds)
            if size <= 0:
                raise ValueError(f"bucket_seconds must be a positive integer, got {bucket_seconds!r}")
            origin = _MONDAY_ORIGIN if size % _WEEK == 0 else 0
            key = (
                f"({{t}} - {origin}) / {size} * {size} + {origin}",
                f"CAST((ts - {origin}) / {size} AS INTEGER) * {size} + {origin}",
            )
            groups = self._q.aggregate(conn, [key, ("provider", "provider")], since, filters, bucket_seconds=size)
        groups.sort(key=lambda g: (g[0][0], g[0][1]))
        return [
            {
                "bucket": _iso(bucket),
                "provider": provider,
                "requests": int(s.requests),
                "failed": int(s.requests - s.successful),
                "input_tokens": int(s.input_tokens),
                "output_tokens": int(s.output_tokens),
                "cost_usd": r6(s.cost_usd),
            }
            for (bucket, provider), s in groups
        ]

    def errors_by_provider(self, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """Failed attempts per (provider, error kind), most frequent first; a missing kind shows as 'unknown'."""
        with self._q.read() as conn:
            rows = self._q.errors(conn, self._q.since(hours), filters)
        return [{"provider": p, "error_kind": k, "count": n} for p, k, n in rows]

    def latency_by_provider(self, hours: float | None = 24, **filters: Any) -> list[dict[str, Any]]:
        """p50/p95 latency per provider over non-cached calls (a cache hit says nothing about the provider).

        Exact up to `LATENCY_SAMPLE_CAP` calls per provider; above it, from every k-th row by id (a systematic
        sample of `LATENCY_SAMPLE_CAP` to 2 × `LATENCY_SAMPLE_CAP` values), which keeps the query fast at a million
        rows. When k >= `LATENCY_STRIDE` it is rounded down to a multiple of it and read from the sample index.
        With a task, user or model filter (columns the full latency index lacks, so a scan of it visits every call
        of the provider in the window), the sample index is also used once the provider has more than
        `LATENCY_STRIDE` × `LATENCY_SAMPLE_CAP` calls in the window: then k is at least `LATENCY_STRIDE` and the
        sample may hold fewer than `LATENCY_SAMPLE_CAP` values (1 in 16 of the matching calls).
        """
        since = self._q.since(hours)
        other_filters = {k: v for k, v in filters.items() if k != "provider"}
        fsql, fparams = filter_sql(other_filters)
        time_sql, time_params = ("", []) if since is None else (" AND ts >= ?", [since])
        out: list[dict[str, Any]] = []
        with self._q.read() as conn:
            scanned: dict[str, int] = {}  # calls per provider a scan of idx_usage_latency visits, when it filters
            if any(as_values(v) is not None for v in other_filters.values()):
                for (provider,), s in self._q.aggregate(
                    conn, [("provider", "provider")], since, {"provider": filters.get("provider")}
                ):
                    scanned[provider] = int(s.requests - s.cached_requests)
            for (provider,), s in self._q.aggregate(conn, [("provider", "provider")], since, filters):
                calls = int(s.requests - s.cached_requests)
                if calls <= 0:
                    continue
                step = max(1, math.ceil(calls / LATENCY_SAMPLE_CAP))
                index, sample_sql = "idx_usage_latency", f" AND id % {step} = 0" if step > 1 else ""
                if step >= LATENCY_STRIDE or scanned.get(provider, 0) > LATENCY_STRIDE * LATENCY_SAMPLE_CAP:
                    step = max(LATENCY_STRIDE, step - step % LATENCY_STRIDE)
                    index, sample_sql = "idx_usage_latency_sample", f" AND id % {LATENCY_STRIDE} = 0"
                    sample_sql += f" AND id % {step} = 0" if step > LATENCY_STRIDE else ""
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
                        "p50_ms": round(percentile(values, 0.50), 3),
                        "p95_ms": round(percentile(values, 0.95), 3),
                    }
                )
        out.sort(key=lambda r: r["provider"])
        return out

    def savings(self, hours: float | None = 24, **filters: Any) -> dict[str, float]:
        """What routing saved against each task's default provider, what the response cache saved, and what the
        providers' prompt caching saved (cached input billed at the cached rate)."""
        with self._q.read() as conn:
            groups = self._q.aggregate(conn, [("'all'", "'all'")], self._q.since(hours), filters)
        actual = baseline = cache = prompt_cache = 0.0
        for _key, s in groups:
            actual, baseline, cache, prompt_cache = s.cost_usd, s.baseline_cost_usd, s.saved_cost_usd, s.cache_saved_usd
        return {
            "actual_cost_usd": r6(actual),
            "baseline_cost_usd": r6(baseline),
            "saved_usd": r6(baseline - actual),
            "saved_by_cache_usd": r6(cache),
            "saved_by_prompt_cache_usd": r6(prompt_cache),
        }

    def recent_calls(self, limit: int | None = 200, hours: float | None = None, **filters: Any) -> list[dict[str, Any]]:
        """The newest attempts first: every column but id, plus `time` (ISO 8601 UTC); fallback_chain as a list."""
        if limit is not None and int(limit) < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit!r}")
        since = self._q.since(hours)
        fsql, fparams = filter_sql(filters)
        time_sql, time_params = ("1", []) if since is None else ("ts >= ?", [since])
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        columns = ", ".join(INSERT_COLUMNS)
        with self._q.read() as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM usage WHERE {time_sql}{fsql} ORDER BY ts DESC, id DESC{limit_sql}",
                [*time_params, *fparams],
            ).fetchall()
        out = []
        for row in rows:
            record: dict[str, Any] = {"time": _iso_ms(row[0])}
            record.update(zip(INSERT_COLUMNS, row, strict=True))
            for name in BOOL_COLUMNS:
                record[name] = bool(record[name])
            record["fallback_chain"] = json.loads(record["fallback_chain"] or "[]")
            out.append(record)
        return out

    def iter_calls(self, hours: float | None = None, batch: int = 5000, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every attempt in the window and filters, newest first, as `recent_calls` rows, read `batch` at a time
        inside one snapshot: an export of a million rows never holds a million dicts."""
        since = self._q.since(hours)
        fsql, fparams = filter_sql(filters)
        time_sql, time_params = ("1", []) if since is None else ("ts >= ?", [since])
        columns = ", ".join(INSERT_COLUMNS)
        with self._q.read() as conn:
            cursor = conn.execute(
                f"SELECT {columns} FROM usage WHERE {time_sql}{fsql} ORDER BY ts DESC, id DESC",
                [*time_params, *fparams],
            )
            while rows := cursor.fetchmany(batch):
                for row in rows:
                    record: dict[str, Any] = {"time": _iso_ms(row[0])}
                    record.update(zip(INSERT_COLUMNS, row, strict=True))
                    for name in BOOL_COLUMNS:
                        record[name] = bool(record[name])
                    record["fallback_chain"] = json.loads(record["fallback_chain"] or "[]")
                    yield record

    def distinct_values(self, column: str) -> list[str]:
        """Every value ever seen in one of `DIMENSIONS` (for filter dropdowns), sorted."""
        if column not in DIMENSIONS:
            raise ValueError(f"column must be one of {', '.join(DIMENSIONS)}, got {column!r}")
        table = DAY_USER.table if column == "user_id" else DAY_TOTAL.table
        with self._q.read() as conn:
            # a skip-scan over the column's index: one B-tree seek per distinct value, not a scan of the table
            return [
                row[0]
                for row in conn.execute(
                    f"WITH RECURSIVE d(v) AS (SELECT MIN({column}) FROM {table} UNION ALL "
                    f"SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > d.v) FROM d WHERE d.v IS NOT NULL) "
                    "SELECT v FROM d WHERE v IS NOT NULL"
                )
            ]
