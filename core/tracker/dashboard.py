"""Dashboard data: breakdowns, time series, latency percentiles, errors, savings, recent calls, filter values.

Filters accepted: `provider`, `task_type`, `user_id` (and `model`), each a string, a sequence of strings (TaskType
accepted), or None. An empty sequence means "no filter", like an empty multiselect. `hours=None` means all time.

Every read also takes `since` / `until` (epoch seconds, keyword-only): an absolute range [since, until) that
overrides `hours`. A range that ends in the past is answered as (sums since `since`) − (sums since `until`), so the
rollup planner keeps its one open-ended shape and every backend gets ranges for free.

Time bucketing lives in one place, `bucket_sql` / `bucket_bounds`: fixed-size buckets aligned to UTC (weeks start
on Monday) are integer arithmetic on epoch seconds, portable to any SQL; calendar months are day buckets regrouped
here in Python (at most a few thousand rows), so no date function of one database is needed.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.tracker.queries import DIMENSIONS, Group, UsageQueries, as_values, batches, filter_sql, r6
from core.tracker.schema import (
    BOOL_COLUMNS,
    DAY,
    DAY_TOTAL,
    DAY_USER,
    HOUR,
    INSERT_COLUMNS,
    LATENCY_STRIDE,
    TOTAL,
    Totals,
)

__all__ = [
    "GRANULARITIES",
    "LATENCY_SAMPLE_CAP",
    "RANGE_PRESETS",
    "DashboardQueries",
    "TimeRange",
    "bucket_bounds",
    "bucket_sql",
    "default_bucket_seconds",
    "default_granularity",
    "granularity_choices",
    "percentile",
    "resolve_range",
]

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


# --- time ranges and granularity ---------------------------------------------------------------------------------

#: Range presets in the order the page offers them. "Custom range" takes two dates.
RANGE_PRESETS: tuple[str, ...] = (
    "Last 1 h",
    "Last 24 h",
    "Last 7 d",
    "Last 30 d",
    "This month",
    "All time",
    "Custom range",
)
_PRESET_HOURS: dict[str, float] = {"Last 1 h": 1, "Last 24 h": 24, "Last 7 d": 24 * 7, "Last 30 d": 24 * 30}
CUSTOM = "Custom range"

#: Granularity label → bucket seconds; "month" (calendar months) has no fixed size and is marked 0.
GRANULARITIES: dict[str, int] = {"5 min": 300, "hour": HOUR, "day": DAY, "week": _WEEK, "month": 0}
#: A chart never gets more buckets than this: finer granularities are not offered for long ranges.
MAX_BUCKETS = 2_000


@dataclass(frozen=True)
class TimeRange:
    """[since, until) in epoch seconds; None = open (all time before, or up to now and on)."""

    since: float | None
    until: float | None
    label: str

    def span_seconds(self, now: float, first_ts: float | None = None) -> float:
        """How long the range is; an open start counts from `first_ts` (the oldest call), else a day."""
        end = now if self.until is None else self.until
        start = self.since if self.since is not None else first_ts
        return max(0.0, end - start) if start is not None else float(DAY)

    def previous(self, now: float) -> TimeRange | None:
        """The range of equal length just before this one (None for all time)."""
        if self.since is None:
            return None
        length = (now if self.until is None else self.until) - self.since
        return TimeRange(self.since - length, self.since, f"before {self.label}")


def _utc_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def resolve_range(preset: str, now: float, custom: tuple[date, date] | None = None) -> TimeRange:
    """A preset (see `RANGE_PRESETS`) as absolute epoch seconds. "This month" starts on the 1st, 00:00 UTC; a
    custom range covers whole UTC days, its end date included. An unknown preset is the last 24 h."""
    if preset == "All time":
        return TimeRange(None, None, preset)
    if preset == "This month":
        today = datetime.fromtimestamp(now, UTC).date()
        return TimeRange(_utc_midnight(today.replace(day=1)), None, preset)
    if preset == CUSTOM and custom is not None:
        first, last = sorted(custom)
        until = _utc_midnight(last + timedelta(days=1))
        return TimeRange(_utc_midnight(first), None if until > now else until, f"{first:%b %d, %Y} – {last:%b %d, %Y}")
    hours = _PRESET_HOURS.get(preset, 24)
    return TimeRange(now - hours * HOUR, None, preset if preset in _PRESET_HOURS else "Last 24 h")


def default_granularity(span_seconds: float) -> str:
    """The granularity a range opens with: ≤ 3 h → 5 min, ≤ 3 d → hour, ≤ 92 d → day, ≤ 2 years → week, else month."""
    if span_seconds <= 3 * HOUR:
        return "5 min"
    if span_seconds <= 3 * DAY:
        return "hour"
    if span_seconds <= 92 * DAY:
        return "day"
    if span_seconds <= 2 * 365 * DAY:
        return "week"
    return "month"


def granularity_choices(span_seconds: float) -> list[str]:
    """The granularities that give at most `MAX_BUCKETS` buckets over the span (month always fits)."""
    return [g for g, size in GRANULARITIES.items() if size == 0 or span_seconds / size <= MAX_BUCKETS]


def bucket_sql(size: int) -> tuple[str, str]:
    """(rollup expression, raw expression) of a fixed-size bucket's start: integer arithmetic on epoch seconds,
    UTC-aligned; week buckets start on Monday 00:00 UTC."""
    origin = _MONDAY_ORIGIN if size % _WEEK == 0 else 0
    return (
        f"({{t}} - {origin}) / {size} * {size} + {origin}",
        f"CAST((ts - {origin}) / {size} AS INTEGER) * {size} + {origin}",
    )


def bucket_bounds(start: float, granularity: str) -> tuple[float, float]:
    """[start, end) of the bucket of `granularity` that begins at (or holds) `start`: what a click on a time bucket
    filters the calls table to."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    size = GRANULARITIES[granularity]
    if size == 0:
        first = datetime.fromtimestamp(start, UTC).date().replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return _utc_midnight(first), _utc_midnight(nxt)
    origin = _MONDAY_ORIGIN if size % _WEEK == 0 else 0
    lo = (int(start) - origin) // size * size + origin
    return float(lo), float(lo + size)


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

    # --- ranges -----------------------------------------------------------------------------------------------

    def _span(self, hours: float | None, since: float | None, until: float | None) -> tuple[float | None, float | None]:
        """(since, until) of a read: `since` overrides `hours`; an `until` at or after now is open (None)."""
        lo = self._q.since(hours) if since is None else float(since)
        hi = None if until is None or float(until) >= self._q.clock() else float(until)
        return lo, hi

    def _aggregate(
        self,
        conn: sqlite3.Connection,
        keys: Sequence[tuple[str, str]],
        lo: float | None,
        hi: float | None,
        filters: Mapping[str, Any],
        bucket_seconds: int | None = None,
    ) -> list[Group]:
        """The planner's sums over [lo, hi): over [lo, now) minus over [hi, now) when the range ends in the past.
        Groups left with no request are dropped."""
        groups = self._q.aggregate(conn, keys, lo, filters, bucket_seconds=bucket_seconds)
        if hi is None:
            return groups
        if lo is not None and hi <= lo:
            return []
        later = dict(self._q.aggregate(conn, keys, hi, filters, bucket_seconds=bucket_seconds))
        out: list[Group] = []
        for key, sums in groups:
            minus = later.get(key)
            if minus is not None:
                sums = Totals._make(a - b for a, b in zip(sums, minus, strict=True))
            if sums.requests >= 0.5:
                out.append((key, sums))
        return out

    @staticmethod
    def _ts_sql(lo: float | None, hi: float | None) -> tuple[str, list[float]]:
        """` AND ts >= ? AND ts < ?` for the bounds that are set."""
        sql, params = "", []
        if lo is not None:
            sql, params = " AND ts >= ?", [lo]
        if hi is not None:
            sql, params = sql + " AND ts < ?", [*params, hi]
        return sql, params

    # --- reads ------------------------------------------------------------------------------------------------

    def headline(
        self, hours: float | None = 24, *, since: float | None = None, until: float | None = None, **filters: Any
    ) -> dict[str, Any]:
        """The seed's headline totals over a range (its keys), plus the all-time cost under the same filters."""
        lo, hi = self._span(hours, since, until)
        with self._q.read() as conn:
            groups = self._aggregate(conn, [("'all'", "'all'")], lo, hi, filters)
            everything = self._q.aggregate(conn, [("'all'", "'all'")], None, filters)
        s = groups[0][1] if groups else Totals.of([0] * len(Totals._fields))
        all_time = everything[0][1].cost_usd if everything else 0.0
        tokens_in, tokens_out = int(s.input_tokens), int(s.output_tokens)
        return {
            "period_hours": hours if since is None else None,
            "total_requests": int(s.requests),
            "successful_requests": int(s.successful),
            "failed_requests": int(s.requests - s.successful),
            "total_input_tokens": tokens_in,
            "total_output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "cost_usd": r6(s.cost_usd),
            "total_cost_all_time": r6(all_time),
        }

    def user_stats(
        self, hours: float | None = 24, *, since: float | None = None, until: float | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Per-user totals, most expensive first."""
        lo, hi = self._span(hours, since, until)
        with self._q.read() as conn:
            groups = self._aggregate(conn, [("user_id", "user_id")], lo, hi, filters)
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

    def breakdown(
        self,
        dimension: str,
        hours: float | None = 24,
        *,
        since: float | None = None,
        until: float | None = None,
        **filters: Any,
    ) -> list[dict[str, Any]]:
        """Totals grouped by one of `DIMENSIONS`, most expensive first."""
        if dimension not in DIMENSIONS:
            raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, got {dimension!r}")
        lo, hi = self._span(hours, since, until)
        with self._q.read() as conn:
            groups = self._aggregate(conn, [(dimension, dimension)], lo, hi, filters)
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
        self,
        hours: float | None = 24,
        bucket_seconds: int | None = None,
        *,
        granularity: str | None = None,
        since: float | None = None,
        until: float | None = None,
        **filters: Any,
    ) -> list[dict[str, Any]]:
        """Per (bucket, provider) totals, oldest first. Buckets are aligned to UTC (weeks start on Monday);
        `granularity` (a `GRANULARITIES` label) overrides `bucket_seconds`, and "month" gives calendar months."""
        lo, hi = self._span(hours, since, until)
        month = granularity == "month"
        if granularity is not None:
            if granularity not in GRANULARITIES:
                raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
            bucket_seconds = DAY if month else GRANULARITIES[granularity]
        with self._q.read() as conn:
            if bucket_seconds is None:
                span = 0.0
                if lo is None:
                    first, last = conn.execute(f"SELECT MIN(hour), MAX(hour) FROM {TOTAL.table}").fetchone()
                    span = float(last - first + HOUR) if first is not None else 0.0
                else:
                    span = (self._q.clock() if hi is None else hi) - lo
                bucket_seconds = default_bucket_seconds(None, span)
            size = int(bucket_seconds)
            if size <= 0:
                raise ValueError(f"bucket_seconds must be a positive integer, got {bucket_seconds!r}")
            groups = self._aggregate(conn, [bucket_sql(size), ("provider", "provider")], lo, hi, filters, size)
        if month:
            merged: dict[tuple[Any, ...], Totals] = {}
            for (bucket, provider), s in groups:
                key = (bucket_bounds(float(bucket), "month")[0], provider)
                old = merged.get(key)
                merged[key] = s if old is None else Totals._make(a + b for a, b in zip(old, s, strict=True))
            groups = list(merged.items())
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

    def errors_by_provider(
        self, hours: float | None = 24, *, since: float | None = None, until: float | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Failed attempts per (provider, error kind), most frequent first; a missing kind shows as 'unknown'."""
        lo, hi = self._span(hours, since, until)
        with self._q.read() as conn:
            rows = self._q.errors(conn, lo, filters)
            if hi is not None:
                later = {(p, k): n for p, k, n in self._q.errors(conn, hi, filters)}
                rows = [(p, k, n - later.get((p, k), 0)) for p, k, n in rows]
                rows = sorted((r for r in rows if r[2] > 0), key=lambda r: (-r[2], r[0], r[1]))
        return [{"provider": p, "error_kind": k, "count": n} for p, k, n in rows]

    def latency_by_provider(
        self, hours: float | None = 24, *, since: float | None = None, until: float | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """p50/p95 latency per provider over non-cached calls (a cache hit says nothing about the provider).

        Exact up to `LATENCY_SAMPLE_CAP` calls per provider; above it, from every k-th row by id (a systematic
        sample of `LATENCY_SAMPLE_CAP` to 2 × `LATENCY_SAMPLE_CAP` values), which keeps the query fast at a million
        rows. When k >= `LATENCY_STRIDE` it is rounded down to a multiple of it and read from the sample index.
        With a task, user or model filter (columns the full latency index lacks, so a scan of it visits every call
        of the provider in the window), the sample index is also used once the provider has more than
        `LATENCY_STRIDE` × `LATENCY_SAMPLE_CAP` calls in the window: then k is at least `LATENCY_STRIDE` and the
        sample may hold fewer than `LATENCY_SAMPLE_CAP` values (1 in 16 of the matching calls).
        """
        lo, hi = self._span(hours, since, until)
        other_filters = {k: v for k, v in filters.items() if k != "provider"}
        fsql, fparams = filter_sql(other_filters)
        time_sql, time_params = self._ts_sql(lo, hi)
        out: list[dict[str, Any]] = []
        with self._q.read() as conn:
            scanned: dict[str, int] = {}  # calls per provider a scan of idx_usage_latency visits, when it filters
            if any(as_values(v) is not None for v in other_filters.values()):
                for (provider,), s in self._aggregate(
                    conn, [("provider", "provider")], lo, hi, {"provider": filters.get("provider")}
                ):
                    scanned[provider] = int(s.requests - s.cached_requests)
            for (provider,), s in self._aggregate(conn, [("provider", "provider")], lo, hi, filters):
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

    def savings(
        self, hours: float | None = 24, *, since: float | None = None, until: float | None = None, **filters: Any
    ) -> dict[str, float]:
        """What routing saved against each task's default provider, what the response cache saved, and what the
        providers' prompt caching saved (cached input billed at the cached rate)."""
        lo, hi = self._span(hours, since, until)
        with self._q.read() as conn:
            groups = self._aggregate(conn, [("'all'", "'all'")], lo, hi, filters)
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

    def _calls_sql(self, lo: float | None, hi: float | None, filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
        fsql, fparams = filter_sql(filters)
        time_sql, time_params = self._ts_sql(lo, hi)
        columns = ", ".join(INSERT_COLUMNS)
        # newest first along the ts index: with a provider filter the planner would otherwise read every call of
        # the provider through the latency index, then sort them (2.8 s for a busy provider over a year)
        source = f"usage{_index_hint('idx_usage_ts')}" if fsql else "usage"
        return (
            f"SELECT {columns} FROM {source} WHERE 1 = 1{time_sql}{fsql} ORDER BY ts DESC, id DESC",
            [*time_params, *fparams],
        )

    def _newest_days_start(
        self, lo: float | None, hi: float | None, filters: Mapping[str, Any], limit: int
    ) -> float | None:
        """With filters, the start of the newest UTC days that hold `limit` matching calls (from the daily rollups),
        so a walk of the ts index for a rare user or provider stops there instead of reaching the first call."""
        with self._q.read() as conn:
            days = self._aggregate(conn, [bucket_sql(DAY)], lo, hi, filters, DAY)
        found, start = 0, None
        for (day,), sums in sorted(days, key=lambda g: -float(g[0][0])):
            found, start = found + int(sums.requests), float(day)
            if found >= limit:
                break
        if start is None:  # no matching call in the range: an empty read of one day
            return hi if hi is not None else self._q.clock()
        return start if lo is None else max(start, lo)

    def recent_calls(
        self,
        limit: int | None = 200,
        hours: float | None = None,
        *,
        since: float | None = None,
        until: float | None = None,
        **filters: Any,
    ) -> list[dict[str, Any]]:
        """The newest attempts first: every column but id, plus `time` (ISO 8601 UTC); fallback_chain as a list."""
        if limit is not None and int(limit) < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit!r}")
        lo, hi = self._span(hours, since, until)
        if limit is not None and any(as_values(v) is not None for v in filters.values()):
            lo = self._newest_days_start(lo, hi, filters, int(limit))
        sql, params = self._calls_sql(lo, hi, filters)
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        with self._q.read() as conn:
            rows = conn.execute(sql + limit_sql, params).fetchall()
        return [_call_record(row) for row in rows]

    def iter_calls(
        self,
        hours: float | None = None,
        batch: int = 5000,
        *,
        since: float | None = None,
        until: float | None = None,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every attempt in the window and filters, newest first, as `recent_calls` rows, read `batch` at a time
        inside one snapshot: an export of a million rows never holds a million dicts."""
        sql, params = self._calls_sql(*self._span(hours, since, until), filters)
        with self._q.read() as conn:
            for rows in batches(conn, sql, params, batch):
                for row in rows:
                    yield _call_record(row)

    def first_ts(self) -> float | None:
        """Start of the hour of the oldest call (for the span of an all-time range), from the hourly rollup."""
        with self._q.read() as conn:
            value = conn.execute(f"SELECT MIN(hour) FROM {TOTAL.table}").fetchone()[0]
        return None if value is None else float(value)

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


def _index_hint(index: str) -> str:
    """SQLite's `INDEXED BY` (the one place to change for a database without index hints)."""
    return f" INDEXED BY {index}"


def _call_record(row: Sequence[Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"time": _iso_ms(row[0])}
    record.update(zip(INSERT_COLUMNS, row, strict=True))
    for name in BOOL_COLUMNS:
        record[name] = bool(record[name])
    record["fallback_chain"] = json.loads(record["fallback_chain"] or "[]")
    return record
