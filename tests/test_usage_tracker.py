"""Usage tracker: stats arithmetic against hand-computed sums, rollup consistency, concurrency, privacy, retention."""

from __future__ import annotations

import json
import math
import random
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import core.usage_tracker as ut
from core.base import StorageBusy, TaskType
from core.tracker import dashboard, queries, schema
from core.tracker.storage import open_storage, run_migrations
from core.usage_tracker import UsageTracker, default_bucket_seconds, get_usage_tracker
from tests.seed import SEED_STATS_KEYS

NOW = 1_700_000_000.0  # 22:13:20 UTC: not on an hour boundary, so windows have a partial first hour
HOUR = 3600.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(tmp_path: Path, clock: Clock) -> Iterator[UsageTracker]:
    t = UsageTracker(tmp_path / "t.db", clock=clock)
    yield t
    t.close()


def rec(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "task_type": "cv_parsing",
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 100,
        "output_tokens": 50,
        "cost_usd": 0.01,
        "success": True,
    }
    row.update(overrides)
    return row


# A fixed data set: (age in hours, overrides). Costs are chosen so that sums are easy to check by hand.
DATASET: list[tuple[float, dict[str, Any]]] = [
    (0.1, {"provider": "openai", "task_type": "cv_parsing", "user_id": "ann", "cost_usd": 0.5, "latency_ms": 100}),
    (0.2, {"provider": "groq", "task_type": "fast_summary", "user_id": "bob", "model": "llama", "cost_usd": 0.001}),
    (
        0.5,
        {"provider": "groq", "task_type": "fast_summary", "user_id": "ann", "model": "llama", "cost_usd": 0.0},
    ),
    (
        0.9,
        {"provider": "gemini", "task_type": "job_matching", "user_id": "bob", "success": False, "cost_usd": 0.0}
        | {"error_kind": "timeout", "model": "gemini-2.0-flash", "input_tokens": 70, "output_tokens": 0},
    ),
    (1.5, {"provider": "openai", "task_type": "cover_letter", "user_id": "cy", "cost_usd": 0.25, "output_tokens": 400}),
    (
        5.0,
        {"provider": "openai", "task_type": "cv_parsing", "user_id": "ann", "cost_usd": 0.0, "cached": True}
        | {"saved_cost_usd": 0.5, "baseline_cost_usd": 0.0},
    ),
    (23.5, {"provider": "gemini", "task_type": "job_analysis", "model": "gemini-2.0-flash", "cost_usd": 0.02}),
    (24.5, {"provider": "openai", "task_type": "cv_parsing", "user_id": "ann", "cost_usd": 1.0}),
    (
        47.0,
        {"provider": "local", "task_type": "cv_parsing", "user_id": "cy", "model": "local", "cost_usd": 0.0}
        | {"baseline_cost_usd": 0.3},
    ),
    (100.0, {"provider": "groq", "task_type": "fast_summary", "user_id": "bob", "model": "llama", "cost_usd": 2.0}),
]


def load(tracker: UsageTracker) -> list[dict[str, Any]]:
    rows = []
    for age, overrides in DATASET:
        row = rec(ts=NOW - age * HOUR, **overrides)
        tracker.record_usage(**row)
        rows.append(row)
    return rows


def expected_rows(rows: list[dict[str, Any]], hours: float | None, **filters: Any) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if hours is not None and row["ts"] < NOW - hours * HOUR:
            continue
        if any(value is not None and row.get(k, "anonymous") not in value for k, value in filters.items()):
            continue
        out.append(row)
    return out


# --- the seed's stats ---------------------------------------------------------------------------------------------


def test_empty_db_gives_zeros_with_exact_keys(tracker: UsageTracker) -> None:
    stats = tracker.get_usage_stats(24)
    assert list(stats) == SEED_STATS_KEYS
    assert stats == {
        "period_hours": 24,
        "total_requests": 0,
        "successful_requests": 0,
        "failed_requests": 0,
        "total_input_tokens": 0,
        "total_output_tokens": 0,
        "total_tokens": 0,
        "cost_usd": 0.0,
        "cost_by_provider": {},
        "cost_by_task": {},
        "total_cost_all_time": 0.0,
    }


def test_empty_db_other_queries_are_empty(tracker: UsageTracker) -> None:
    assert tracker.get_user_stats() == []
    assert tracker.breakdown("provider") == []
    assert tracker.timeseries(None) == []
    assert tracker.errors_by_provider() == []
    assert tracker.latency_by_provider() == []
    assert tracker.recent_calls() == []
    assert tracker.distinct_values("user_id") == []
    assert tracker.spend_usd(0) == 0.0
    assert (tracker.savings()) == {
        "actual_cost_usd": 0.0,
        "baseline_cost_usd": 0.0,
        "saved_usd": 0.0,
        "saved_by_cache_usd": 0.0,
        "saved_by_prompt_cache_usd": 0.0,
    }


@pytest.mark.parametrize("hours", [0.3, 1, 2, 24, 25, 48, 1000, None])
@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"provider": "openai"},
        {"provider": ["groq", "gemini"]},
        {"user_id": "ann"},
        {"task_type": TaskType.FAST_SUMMARY},
        {"task_type": ["cv_parsing", TaskType.COVER_LETTER], "user_id": ["ann", "cy"]},
    ],
)
def test_usage_stats_match_hand_computed_sums(tracker: UsageTracker, hours: float | None, filters: dict) -> None:
    rows = load(tracker)
    norm = {k: [str(v)] if isinstance(v, str) else [str(x) for x in v] for k, v in filters.items()}
    window = expected_rows(rows, hours, **norm)
    everything = expected_rows(rows, None, **norm)
    by_provider: dict[str, float] = {}
    by_task: dict[str, float] = {}
    for row in window:
        by_provider[row["provider"]] = by_provider.get(row["provider"], 0.0) + row["cost_usd"]
        by_task[row["task_type"]] = by_task.get(row["task_type"], 0.0) + row["cost_usd"]
    failed = sum(1 for r in window if not r["success"])
    tokens_in = sum(r["input_tokens"] for r in window)
    tokens_out = sum(r["output_tokens"] for r in window)

    stats = tracker.get_usage_stats(hours, **filters)

    assert list(stats) == SEED_STATS_KEYS
    assert hours == stats["period_hours"]
    assert len(window) == stats["total_requests"]
    assert len(window) - failed == stats["successful_requests"]
    assert failed == stats["failed_requests"]
    assert tokens_in == stats["total_input_tokens"]
    assert tokens_out == stats["total_output_tokens"]
    assert tokens_in + tokens_out == stats["total_tokens"]
    assert round(sum(r["cost_usd"] for r in window), 6) == stats["cost_usd"]
    assert {k: round(v, 6) for k, v in by_provider.items()} == stats["cost_by_provider"]
    assert {k: round(v, 6) for k, v in by_task.items()} == stats["cost_by_task"]
    assert round(sum(r["cost_usd"] for r in everything), 6) == stats["total_cost_all_time"]


def test_cost_dicts_are_most_expensive_first(tracker: UsageTracker) -> None:
    load(tracker)
    stats = tracker.get_usage_stats(None)
    assert list(stats["cost_by_provider"]) == ["groq", "openai", "gemini", "local"]
    assert stats["cost_by_provider"] == {"groq": 2.001, "openai": 1.75, "gemini": 0.02, "local": 0.0}


def test_costs_are_rounded_to_six_decimals(tracker: UsageTracker) -> None:
    for _ in range(3):
        tracker.record_usage(**rec(cost_usd=0.1234567891, ts=NOW))
    assert tracker.get_usage_stats(1)["cost_usd"] == 0.370370


def test_provider_stats(tracker: UsageTracker) -> None:
    load(tracker)
    stats = tracker.get_provider_stats("openai", 24)
    assert {
        "provider": "openai",
        "period_hours": 24,
        "total_requests": 3,
        "successful_requests": 3,
        "failed_requests": 0,
        "total_input_tokens": 300,
        "total_output_tokens": 500,
        "total_tokens": 800,
        "cost_usd": 0.75,
        "avg_latency_ms": round(100 / 3, 3),
        "cost_by_task": {"cv_parsing": 0.5, "cover_letter": 0.25},
        "cost_by_model": {"gpt-4o": 0.75},
        "errors_by_kind": {},
        "total_cost_all_time": 1.75,
    } == stats


def test_provider_stats_counts_errors_by_kind(tracker: UsageTracker) -> None:
    load(tracker)
    tracker.record_usage(**rec(provider="gemini", success=False, error_kind="server", ts=NOW - 10))
    tracker.record_usage(**rec(provider="gemini", success=False, ts=NOW - 10))
    assert tracker.get_provider_stats("gemini", 24)["errors_by_kind"] == {"timeout": 1, "server": 1, "unknown": 1}


def test_unknown_provider_gives_same_keys_with_zeros(tracker: UsageTracker) -> None:
    load(tracker)
    known = tracker.get_provider_stats("openai")
    unknown = tracker.get_provider_stats("nobody")
    assert list(known) == list(unknown)
    assert unknown["total_requests"] == 0
    assert (unknown["cost_by_task"], unknown["cost_by_model"], unknown["errors_by_kind"]) == ({}, {}, {})
    assert unknown["total_cost_all_time"] == 0.0


# --- dashboard queries --------------------------------------------------------------------------------------------


def test_user_stats_sorted_by_cost(tracker: UsageTracker) -> None:
    load(tracker)
    assert tracker.get_user_stats(24) == [
        {"user_id": "ann", "requests": 3, "failed": 0, "input_tokens": 300, "output_tokens": 150, "cost_usd": 0.5},
        {"user_id": "cy", "requests": 1, "failed": 0, "input_tokens": 100, "output_tokens": 400, "cost_usd": 0.25},
        {"user_id": "anonymous", "requests": 1, "failed": 0, "input_tokens": 100, "output_tokens": 50}
        | {"cost_usd": 0.02},
        {"user_id": "bob", "requests": 2, "failed": 1, "input_tokens": 170, "output_tokens": 50, "cost_usd": 0.001},
    ]


@pytest.mark.parametrize("dimension", ["provider", "task_type", "user_id", "model"])
@pytest.mark.parametrize("hours", [1, 24, None])
def test_breakdown_matches_raw_sums(tracker: UsageTracker, dimension: str, hours: float | None) -> None:
    rows = expected_rows(load(tracker), hours)
    result = {r["key"]: r for r in tracker.breakdown(dimension, hours)}
    keys = {row.get(dimension, "anonymous") for row in rows}
    assert keys == set(result)
    for key in keys:
        mine = [r for r in rows if r.get(dimension, "anonymous") == key]
        assert len(mine) == result[key]["requests"]
        assert sum(1 for r in mine if not r["success"]) == result[key]["failed"]
        assert round(sum(r["cost_usd"] for r in mine), 6) == result[key]["cost_usd"]
        baseline = sum(r.get("baseline_cost_usd", r["cost_usd"]) for r in mine)
        assert round(baseline, 6) == result[key]["baseline_cost_usd"]
        assert round(sum(r.get("saved_cost_usd", 0.0) for r in mine), 6) == result[key]["saved_by_cache_usd"]
    costs = [r["cost_usd"] for r in tracker.breakdown(dimension, hours)]
    assert sorted(costs, reverse=True) == costs


def test_breakdown_rejects_unknown_dimension(tracker: UsageTracker) -> None:
    with pytest.raises(ValueError, match="dimension"):
        tracker.breakdown("prompt")


@pytest.mark.parametrize(
    ("hours", "bucket_seconds"), [(24, 3600), (24, 7200), (48, 86400), (2, 300), (None, 86400), (None, 604800)]
)
def test_timeseries_buckets_sum_to_the_window(tracker: UsageTracker, hours: float | None, bucket_seconds: int) -> None:
    rows = expected_rows(load(tracker), hours)
    series = tracker.timeseries(hours, bucket_seconds)
    assert len(rows) == sum(p["requests"] for p in series)
    assert round(sum(r["cost_usd"] for r in rows), 6) == round(sum(p["cost_usd"] for p in series), 6)
    expected_keys = set()
    origin = 4 * 86400 if bucket_seconds == 604800 else 0
    for row in rows:
        start = (row["ts"] - origin) // bucket_seconds * bucket_seconds + origin
        expected_keys.add((dashboard._iso(start), row["provider"]))
    assert expected_keys == {(p["bucket"], p["provider"]) for p in series}
    assert sorted(series, key=lambda p: (p["bucket"], p["provider"])) == series


def test_timeseries_point_shape(tracker: UsageTracker) -> None:
    tracker.record_usage(**rec(ts=NOW - 60, success=False, error_kind="server"))
    assert tracker.timeseries(24) == [
        {
            "bucket": "2023-11-14T22:00:00+00:00",
            "provider": "openai",
            "requests": 1,
            "failed": 1,
            "input_tokens": 100,
            "output_tokens": 50,
            "cost_usd": 0.01,
        }
    ]


def test_weekly_buckets_start_on_monday(tracker: UsageTracker) -> None:
    tracker.record_usage(**rec(ts=NOW))  # Tuesday 2023-11-14
    assert tracker.timeseries(None, 604800)[0]["bucket"] == "2023-11-13T00:00:00+00:00"


@pytest.mark.parametrize(
    ("hours", "span", "expected"),
    [
        (1, 0, 300),
        (24, 0, 3600),
        (24 * 7, 0, 6 * 3600),
        (24 * 30, 0, 86400),
        (24 * 365, 0, 604800),
        (None, 3600, 300),
        (None, 20 * 86400, 86400),
        (None, 400 * 86400, 604800),
    ],
)
def test_default_bucket_fits_the_window(hours: float | None, span: float, expected: int) -> None:
    assert expected == default_bucket_seconds(hours, span)


def test_timeseries_default_bucket_is_hourly_for_a_day(tracker: UsageTracker) -> None:
    load(tracker)
    buckets = {p["bucket"] for p in tracker.timeseries(24)}
    assert all(b.endswith(":00:00+00:00") for b in buckets)


@pytest.mark.parametrize("bad", [0, -60])
def test_timeseries_rejects_bad_bucket(tracker: UsageTracker, bad: int) -> None:
    with pytest.raises(ValueError, match="bucket_seconds"):
        tracker.timeseries(24, bad)


def test_errors_by_provider(tracker: UsageTracker) -> None:
    load(tracker)
    for kind in ("server", "server", "rate_limited"):
        tracker.record_usage(**rec(provider="groq", success=False, error_kind=kind, ts=NOW - 5))
    assert tracker.errors_by_provider(24) == [
        {"provider": "groq", "error_kind": "server", "count": 2},
        {"provider": "gemini", "error_kind": "timeout", "count": 1},
        {"provider": "groq", "error_kind": "rate_limited", "count": 1},
    ]
    assert tracker.errors_by_provider(24, provider="gemini") == [
        {"provider": "gemini", "error_kind": "timeout", "count": 1}
    ]


def test_latency_percentiles_exact_for_small_windows(tracker: UsageTracker) -> None:
    values = [float(v) for v in range(1, 102)]
    random.Random(1).shuffle(values)
    for v in values:
        tracker.record_usage(**rec(latency_ms=v, ts=NOW - 10))
    tracker.record_usage(**rec(latency_ms=0.0, cached=True, ts=NOW - 10))  # a cache hit is not provider latency
    quantiles = statistics.quantiles(values, n=20, method="inclusive")
    assert [{"provider": "openai", "calls": 101, "p50_ms": 51.0, "p95_ms": round(quantiles[18], 3)}] == (
        tracker.latency_by_provider(1)
    )


def test_latency_percentiles_from_sample_above_cap(tracker: UsageTracker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "LATENCY_SAMPLE_CAP", 100)
    rng = random.Random(7)
    values = [rng.uniform(100, 300) for _ in range(2000)]
    tracker.record_many(rec(latency_ms=v, ts=NOW - 10) for v in values)
    [row] = tracker.latency_by_provider(1)
    assert row["calls"] == 2000
    assert abs(statistics.median(values) - row["p50_ms"]) < 20
    assert abs(statistics.quantiles(values, n=20)[18] - row["p95_ms"]) < 20


def test_savings(tracker: UsageTracker) -> None:
    load(tracker)
    # in 48 h: actual 0.5+0.001+0.25+0.02+1.0 = 1.771; baseline = actual (defaults) + 0.3 (local row), minus 0 cached
    assert tracker.savings(48) == {
        "actual_cost_usd": 1.771,
        "baseline_cost_usd": 2.071,
        "saved_usd": 0.3,
        "saved_by_cache_usd": 0.5,
        "saved_by_prompt_cache_usd": 0.0,
    }


def test_recent_calls_newest_first_with_every_column(tracker: UsageTracker) -> None:
    load(tracker)
    tracker.record_usage(
        **rec(ts=NOW - 1, fallback_chain=["openai", "groq"], challenger=True, latency_ms=12.5, request_id="r1")
    )
    calls = tracker.recent_calls(limit=3)
    assert len(calls) == 3
    assert [c["ts"] for c in calls] == [NOW - 1, NOW - 0.1 * HOUR, NOW - 0.2 * HOUR]
    first = calls[0]
    assert first == {
        "time": "2023-11-14T22:13:19.000+00:00",
        "ts": NOW - 1,
        "user_id": "anonymous",
        "task_type": "cv_parsing",
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 100,
        "output_tokens": 50,
        "cost_usd": 0.01,
        "baseline_cost_usd": 0.01,
        "saved_cost_usd": 0.0,
        "latency_ms": 12.5,
        "success": True,
        "error_kind": None,
        "cached": False,
        "fallback_chain": ["openai", "groq"],
        "tokens_estimated": False,
        "price_estimated": False,
        "challenger": True,
        "outcome": "ok",
        "finish_reason": None,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cache_saved_usd": 0.0,
        "route_reason": "",
        "application_id": None,
        "request_id": "r1",
    }


@pytest.mark.parametrize(("limit", "hours", "filters", "count"), [(None, None, {}, 10), (200, 1, {}, 4)])
def test_recent_calls_limits_and_filters(
    tracker: UsageTracker, limit: int | None, hours: float | None, filters: dict, count: int
) -> None:
    load(tracker)
    assert count == len(tracker.recent_calls(limit, hours, **filters))
    assert {"bob"} == {c["user_id"] for c in tracker.recent_calls(None, None, user_id="bob")}


def test_spend_usd_since_a_time(tracker: UsageTracker) -> None:
    load(tracker)
    assert math.isclose(0.5 + 0.001 + 0.25 + 0.02, tracker.spend_usd(NOW - 24 * HOUR))
    assert math.isclose(0.5 + 1.0, tracker.spend_usd(NOW - 30 * HOUR, user_id="ann"))
    assert tracker.spend_usd(NOW + 1) == 0.0


def test_distinct_values(tracker: UsageTracker) -> None:
    load(tracker)
    assert tracker.distinct_values("provider") == ["gemini", "groq", "local", "openai"]
    assert tracker.distinct_values("user_id") == ["ann", "anonymous", "bob", "cy"]
    with pytest.raises(ValueError, match="column"):
        tracker.distinct_values("cost_usd; DROP TABLE usage")


# --- rollup, retention, clearing ----------------------------------------------------------------------------------


def raw_vs_rollup(tracker: UsageTracker) -> tuple[list, list]:
    """Every rollup table next to the same sums computed from raw rows (rounded against float noise)."""
    tracker.flush()
    conn = sqlite3.connect(tracker.db_path)
    raw, rollups = [], []
    sums = "SUM(input_tokens), SUM(output_tokens), ROUND(SUM(cost_usd), 9), ROUND(SUM(baseline_cost_usd), 9)"
    for rollup in schema.ROLLUPS:
        keys = ", ".join(rollup.keys)
        n = len(rollup.keys) + 1
        order = ", ".join(str(i) for i in range(1, n + 1))
        raw += conn.execute(
            f"SELECT CAST(ts / {rollup.seconds} AS INTEGER) * {rollup.seconds}, {keys}, COUNT(*), SUM(success), "
            f"SUM(cached), {sums}, ROUND(SUM(saved_cost_usd), 9), ROUND(SUM(latency_ms), 6), SUM(cached_input_tokens), "
            f"SUM(reasoning_tokens), ROUND(SUM(cache_saved_usd), 9) FROM usage "
            f"GROUP BY {order} ORDER BY {order}"
        ).fetchall()
        rollups += conn.execute(
            f"SELECT {rollup.time_column}, {keys}, requests, successful, cached_requests, input_tokens, output_tokens, "
            "ROUND(cost_usd, 9), ROUND(baseline_cost_usd, 9), ROUND(saved_cost_usd, 9), ROUND(latency_ms_sum, 6), "
            "cached_input_tokens, reasoning_tokens, ROUND(cache_saved_usd, 9) "
            f"FROM {rollup.table} ORDER BY {order}"
        ).fetchall()
    conn.close()
    return raw, rollups


def random_rows(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        rec(
            ts=NOW - rng.uniform(0, 72 * HOUR),
            provider=rng.choice(["openai", "groq", "gemini"]),
            task_type=rng.choice(["cv_parsing", "fast_summary"]),
            user_id=rng.choice(["a", "b"]),
            input_tokens=rng.randint(0, 900),
            output_tokens=rng.randint(0, 300),
            cost_usd=round(rng.uniform(0, 0.02), 6),
            latency_ms=rng.uniform(1, 900),
            success=rng.random() > 0.1,
            cached=rng.random() > 0.9,
        )
        for _ in range(n)
    ]


def test_rollup_matches_raw_rows_single_and_bulk(tracker: UsageTracker) -> None:
    rows = random_rows(400)
    for row in rows[:200]:
        tracker.record_usage(**row)
    assert tracker.record_many(rows[200:]) == 200
    raw, rollup = raw_vs_rollup(tracker)
    assert raw == rollup
    assert sum(r[-12] for r in rollup) == len(schema.ROLLUPS) * 400  # each rollup counts every row


@pytest.mark.parametrize("rollup", schema.ROLLUPS, ids=lambda r: r.table)
def test_batch_is_folded_to_one_upsert_per_rollup_key(tracker: UsageTracker, rollup: Any) -> None:
    rows = [schema.row_of(schema.record_of(r), NOW) for r in random_rows(300)]
    folded = rollup.folded_params(rows)
    width = len(rollup.keys) + 1
    assert len({p[:width] for p in folded}) == len(folded)
    expected: dict[tuple, list] = {}
    for params in map(rollup.params, rows):
        sums = expected.setdefault(params[:width], [0] * (len(params) - width))
        for i, value in enumerate(params[width:]):
            sums[i] += value
    assert {k: [round(v, 9) for v in sums] for k, sums in expected.items()} == {
        p[:width]: [round(v, 9) for v in p[width:]] for p in folded
    }
    assert [rollup.params(rows[0])] == rollup.folded_params(rows[:1])


@pytest.mark.parametrize("size", [1, 2, 40, 300])
def test_the_writers_batch_fold_equals_each_rollups_own_fold(size: int) -> None:
    """The writer groups a batch once for all rollups; every rollup still gets exactly its own fold's upserts, in the
    same order and with the same sums to the last bit (rows spread over minutes, hours, days, users and models)."""
    from core.tracker.writer import _rollup_params

    rng = random.Random(size)
    rows = [
        schema.row_of(schema.record_of(r), NOW - rng.choice([0, 59, 61, 3599, 3601, 86_399, 86_401, 200_000]))
        for r in random_rows(size)
    ]
    assert [rollup.folded_params(rows) for rollup in schema.ROLLUPS] == _rollup_params(rows)


def test_rebuild_rollup_repairs_hand_edits(tracker: UsageTracker) -> None:
    tracker.record_many(random_rows(50))
    with sqlite3.connect(tracker.db_path) as conn:
        conn.execute("DELETE FROM usage WHERE id % 2 = 0")
    assert raw_vs_rollup(tracker)[0] != raw_vs_rollup(tracker)[1]
    tracker.rebuild_rollup()
    assert raw_vs_rollup(tracker)[0] == raw_vs_rollup(tracker)[1]


def test_purge_keeps_rollup_consistent(tracker: UsageTracker) -> None:
    rows = random_rows(300)
    tracker.record_many(rows)
    expected = sum(1 for r in rows if r["ts"] < NOW - 1.5 * 86400)
    assert expected == tracker.purge_older_than(1.5)
    raw, rollup = raw_vs_rollup(tracker)
    assert raw == rollup
    assert 300 - expected == tracker.get_usage_stats(None)["total_requests"]


def test_nothing_is_deleted_by_default(tmp_path: Path, clock: Clock) -> None:
    tracker = UsageTracker(tmp_path / "keep.db", clock=clock)
    tracker.record_usage(**rec(ts=NOW - 3650 * 86400))
    clock.now += 400 * 86400
    tracker.record_usage(**rec())
    assert tracker.get_usage_stats(None)["total_requests"] == 2
    tracker.close()


def test_retention_purges_at_start_and_as_time_passes(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "ret.db"
    plain = UsageTracker(path, clock=clock)
    plain.record_usage(**rec(ts=NOW - 40 * 86400))
    plain.record_usage(**rec(ts=NOW - 10 * 86400))
    plain.record_usage(**rec(ts=NOW - 1))
    plain.close()

    tracker = UsageTracker(path, retention_days=30, clock=clock)
    assert tracker.get_usage_stats(None)["total_requests"] == 2
    clock.now += 25 * 86400  # the 10-day-old row is now 35 days old
    tracker.record_usage(**rec())
    assert tracker.get_usage_stats(None)["total_requests"] == 2
    assert [NOW - 1, clock.now] == sorted(c["ts"] for c in tracker.recent_calls(None))
    tracker.close()


@pytest.mark.parametrize("bad", [0, -1, math.nan])
def test_retention_must_be_positive(tmp_path: Path, bad: float) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        UsageTracker(tmp_path / "x.db", retention_days=bad)


def test_clear_deletes_everything_and_counts(tracker: UsageTracker) -> None:
    load(tracker)
    assert len(DATASET) == tracker.clear()
    assert tracker.get_usage_stats(None)["total_requests"] == 0
    assert tracker.distinct_values("provider") == []
    assert tracker.clear() == 0


# --- long windows: daily rollups against raw rows -------------------------------------------------------------

DAY = 86400.0
LONG_FILTERS: list[dict[str, Any]] = [
    {},
    {"provider": "openai"},
    {"user_id": "b"},
    {"user_id": ["a", "c"], "provider": ["groq", "gemini"]},
    {"task_type": "fast_summary", "model": "m2"},
]
LONG_HOURS: list[float | None] = [0.5, 1, 23, 24, 25, 47.5, 24 * 7, 24 * 30, 24 * 90, 24 * 400, None]


def long_rows(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """`n` rows over 120 days, a third of them in the last two days, on every dimension."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        age = rng.uniform(0, 2 * DAY) if rng.random() < 0.33 else rng.uniform(0, 120 * DAY)
        cached = rng.random() < 0.1
        rows.append(
            rec(
                ts=NOW - age,
                provider=rng.choice(["openai", "groq", "gemini"]),
                task_type=rng.choice(["cv_parsing", "fast_summary", "cover_letter"]),
                model=rng.choice(["m1", "m2"]),
                user_id=rng.choice(["a", "b", "c", "d"]),
                input_tokens=rng.randint(0, 900),
                output_tokens=rng.randint(0, 300),
                cost_usd=0.0 if cached else round(rng.uniform(0, 0.02), 6),
                baseline_cost_usd=round(rng.uniform(0, 0.03), 6),
                saved_cost_usd=round(rng.uniform(0, 0.02), 6) if cached else 0.0,
                latency_ms=round(rng.uniform(1, 900), 3),
                success=rng.random() > 0.1,
                cached=cached,
            )
        )
    return rows


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UsageTracker, sqlite3.Connection]]:
    """One tracker over 3,000 rows spanning 120 days (written both row by row and in bulk), plus a raw reader."""
    rows = long_rows(3000)
    tracker = UsageTracker(tmp_path_factory.mktemp("long") / "long.db", clock=Clock())
    for row in rows[:300]:
        tracker.record_usage(**row)
    tracker.record_many(rows[300:])
    tracker.flush()
    raw = sqlite3.connect(tracker.db_path)
    yield tracker, raw
    raw.close()
    tracker.close()


def raw_totals(
    raw: sqlite3.Connection, key_sql: str, hours: float | None, filters: dict[str, Any]
) -> dict[Any, tuple[int, int, int, int, float, float, float]]:
    """Per key: requests, failed, tokens in, tokens out, cost, baseline, saved, straight from the usage table."""
    where, params = ["1"], []
    if hours is not None:
        where.append("ts >= ?")
        params.append(NOW - hours * HOUR)
    for column, value in filters.items():
        values = [value] if isinstance(value, str) else list(value)
        where.append(f"{column} IN ({', '.join('?' * len(values))})")
        params += values
    rows = raw.execute(
        f"SELECT {key_sql}, COUNT(*), COUNT(*) - SUM(success), SUM(input_tokens), SUM(output_tokens), "
        f"SUM(cost_usd), SUM(baseline_cost_usd), SUM(saved_cost_usd) FROM usage WHERE {' AND '.join(where)} GROUP BY 1",
        params,
    ).fetchall()
    return {
        key: (n, failed, tin, tout, round(c, 6), round(b, 6), round(s, 6))
        for key, n, failed, tin, tout, c, b, s in rows
    }


@pytest.mark.parametrize("hours", LONG_HOURS)
@pytest.mark.parametrize("filters", LONG_FILTERS)
def test_long_window_stats_and_breakdowns_equal_raw_rows(long_db: tuple, hours: float | None, filters: dict) -> None:
    tracker, raw = long_db
    everything = raw_totals(raw, "'all'", hours, filters).get("all", (0, 0, 0, 0, 0.0, 0.0, 0.0))
    stats = tracker.get_usage_stats(hours, **filters)
    assert everything[:4] == (
        stats["total_requests"],
        stats["failed_requests"],
        stats["total_input_tokens"],
        stats["total_output_tokens"],
    )
    assert everything[4] == stats["cost_usd"]
    by_provider = {k: v[4] for k, v in raw_totals(raw, "provider", hours, filters).items()}
    assert by_provider == stats["cost_by_provider"]
    all_time = raw_totals(raw, "'all'", None, filters).get("all", (0, 0, 0, 0, 0.0))[4]
    assert all_time == stats["total_cost_all_time"]
    for dimension in ut.DIMENSIONS:
        expected = raw_totals(raw, dimension, hours, filters)
        actual = {
            r["key"]: (
                r["requests"],
                r["failed"],
                r["input_tokens"],
                r["output_tokens"],
                r["cost_usd"],
                r["baseline_cost_usd"],
                r["saved_by_cache_usd"],
            )
            for r in tracker.breakdown(dimension, hours, **filters)
        }
        assert expected == actual
    users = raw_totals(raw, "user_id", hours, filters)
    assert {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in users.items()} == {
        u["user_id"]: (u["requests"], u["failed"], u["input_tokens"], u["output_tokens"], u["cost_usd"])
        for u in tracker.get_user_stats(hours, **filters)
    }
    savings = tracker.savings(hours, **filters)
    assert (everything[4], everything[5], everything[6]) == (
        savings["actual_cost_usd"],
        savings["baseline_cost_usd"],
        savings["saved_by_cache_usd"],
    )


@pytest.mark.parametrize("hours", [24 * 7, 24 * 30, 24 * 90, None])
@pytest.mark.parametrize("bucket_seconds", [3600, 6 * 3600, 86400, 604800])
@pytest.mark.parametrize("filters", [{}, {"user_id": "a"}, {"user_id": "c", "task_type": "cv_parsing"}])
def test_long_window_timeseries_equal_raw_rows(
    long_db: tuple, hours: float | None, bucket_seconds: int, filters: dict
) -> None:
    tracker, raw = long_db
    origin = 4 * 86400 if bucket_seconds == 604800 else 0
    key = f"(CAST((ts - {origin}) / {bucket_seconds} AS INTEGER) * {bucket_seconds} + {origin}) || '|' || provider"
    expected = {}
    for k, v in raw_totals(raw, key, hours, filters).items():
        bucket, provider = k.split("|")
        expected[(dashboard._iso(int(bucket)), provider)] = (v[0], v[1], v[2], v[3], v[4])
    actual = {
        (p["bucket"], p["provider"]): (p["requests"], p["failed"], p["input_tokens"], p["output_tokens"], p["cost_usd"])
        for p in tracker.timeseries(hours, bucket_seconds, **filters)
    }
    assert expected == actual


@pytest.mark.parametrize("days_back", [0, 0.5, 1, 3, 45, 200])
@pytest.mark.parametrize("user_id", [None, "a", "nobody"])
def test_long_spend_equals_raw_rows(long_db: tuple, days_back: float, user_id: str | None) -> None:
    tracker, raw = long_db
    since = (NOW // DAY - days_back) * DAY  # budgets ask from a midnight: exactly a daily bucket's edge
    filters = {} if user_id is None else {"user_id": user_id}
    expected = raw_totals(raw, "'all'", (NOW - since) / HOUR, filters).get("all", (0, 0, 0, 0, 0.0))[4]
    assert math.isclose(expected, tracker.spend_usd(since, user_id), abs_tol=1e-9)


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (set(), ["usage_daily_total", "usage_hourly_total", "usage_minutely"]),
        ({"provider", "task_type", "model"}, ["usage_daily_total", "usage_hourly_total", "usage_minutely"]),
        ({"user_id"}, ["usage_daily_user", "usage_hourly"]),
        ({"user_id", "provider"}, ["usage_daily", "usage_hourly"]),
        ({"user_id", "task_type", "provider", "model"}, ["usage_daily", "usage_hourly"]),
    ],
)
def test_queries_read_the_smallest_rollup_that_has_their_columns(columns: set, expected: list) -> None:
    assert expected == [t.table for t in queries.tiers(frozenset(columns))]


@pytest.mark.parametrize(
    ("keys", "filters", "expected"),
    [
        ([("provider", "provider")], {}, {"provider"}),
        ([("'all'", "'all'")], {"user_id": "a", "model": None, "task_type": []}, {"user_id"}),
        (
            [("({t} - 0) / 3600 * 3600 + 0", "ts"), ("provider", "provider")],
            {"task_type": "x"},
            {"provider", "task_type"},
        ),
    ],
)
def test_query_columns_count_groups_and_real_filters(keys: list, filters: dict, expected: set) -> None:
    assert frozenset(expected) == queries.query_columns(keys, filters)


def test_rollup_query_seeks_the_window_not_a_dropdown_index(long_db: tuple) -> None:
    tracker, raw = long_db
    conn = tracker._storage.connection()
    captured: list[str] = []
    conn.set_trace_callback(captured.append)
    try:
        tracker.get_user_stats(24 * 30)
    finally:
        conn.set_trace_callback(None)
    [sql] = [q for q in captured if "usage_daily_user" in q]
    plans = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql)]
    assert any("usage_daily_user USING PRIMARY KEY (day>?)" in p for p in plans), plans
    assert not any("idx_usage_daily_user_user" in p for p in plans), plans


# --- latency samples ---------------------------------------------------------------------------------------------


def test_latency_sample_index_holds_every_16th_non_cached_row(tracker: UsageTracker) -> None:
    tracker.record_many(rec(latency_ms=float(i), cached=i % 5 == 0, ts=NOW - 10) for i in range(1, 201))
    tracker.flush()
    conn = sqlite3.connect(tracker.db_path)
    sampled = conn.execute(
        "SELECT id FROM usage INDEXED BY idx_usage_latency_sample WHERE cached = 0 AND id % 16 = 0 ORDER BY id"
    ).fetchall()
    conn.close()
    assert [(i,) for i in range(16, 201, 16) if i % 5 != 0] == sampled


@pytest.mark.parametrize(
    ("cap", "filters"), [(100, {}), (60, {}), (20, {"task_type": "fast_summary"}), (30, {"user_id": "u1"})]
)
def test_latency_long_window_reads_the_sample_index(
    tracker: UsageTracker, monkeypatch: pytest.MonkeyPatch, cap: int, filters: dict
) -> None:
    monkeypatch.setattr(dashboard, "LATENCY_SAMPLE_CAP", cap)
    rng = random.Random(cap)
    rows = [
        rec(
            latency_ms=round(rng.uniform(1, 1000), 2),
            cached=rng.random() < 0.1,
            task_type=rng.choice(["fast_summary", "cv_parsing"]),
            user_id=rng.choice(["u0", "u1"]),
            ts=NOW - 100 * DAY + i * 60,
        )
        for i in range(1, 3001)
    ]
    tracker.record_many(rows)
    ids = dict(enumerate(rows, start=1))  # a fresh file numbers rows from 1
    kept = {i: r for i, r in ids.items() if not r["cached"] and all(r.get(k) == v for k, v in filters.items())}
    step = math.ceil(len(kept) / cap)
    assert step >= 16  # the test is about the sample-index path
    step -= step % 16
    values = sorted(r["latency_ms"] for i, r in kept.items() if i % step == 0)
    assert values
    [row] = tracker.latency_by_provider(None, **filters)
    assert {"provider": "openai", "calls": len(kept)} | {
        "p50_ms": round(dashboard.percentile(values, 0.5), 3),
        "p95_ms": round(dashboard.percentile(values, 0.95), 3),
    } == row


@pytest.mark.parametrize(("cap", "stride_sampled"), [(25, True), (200, False)])
def test_latency_filtered_long_window_uses_sample_when_the_full_scan_is_big(
    tracker: UsageTracker, monkeypatch: pytest.MonkeyPatch, cap: int, stride_sampled: bool
) -> None:
    monkeypatch.setattr(dashboard, "LATENCY_SAMPLE_CAP", cap)
    rng = random.Random(4)
    rows = [
        rec(latency_ms=round(rng.uniform(1, 1000), 2), task_type="cv_parsing" if rng.random() < 0.1 else "fast_summary")
        | {"ts": NOW - 50 * DAY + i * 60}
        for i in range(1, 3001)
    ]
    tracker.record_many(rows)
    kept = {i: r for i, r in enumerate(rows, start=1) if r["task_type"] == "cv_parsing"}
    step = math.ceil(len(kept) / cap)
    assert step < 16  # the filtered calls alone would not reach the sample index
    step = 16 if stride_sampled else step  # 3,000 calls > 16 x 25 scanned; not > 16 x 200
    values = sorted(r["latency_ms"] for i, r in kept.items() if i % step == 0)
    [row] = tracker.latency_by_provider(None, task_type="cv_parsing")
    assert (len(kept), round(dashboard.percentile(values, 0.5), 3), round(dashboard.percentile(values, 0.95), 3)) == (
        row["calls"],
        row["p50_ms"],
        row["p95_ms"],
    )


def test_latency_just_below_stride_scans_the_full_index(tracker: UsageTracker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "LATENCY_SAMPLE_CAP", 100)
    tracker.record_many(rec(latency_ms=float(i), ts=NOW - 10) for i in range(1, 1501))  # step 15: plain index
    values = [float(i) for i in range(15, 1501, 15)]
    [row] = tracker.latency_by_provider(1)
    assert (1500, round(dashboard.percentile(values, 0.5), 3)) == (row["calls"], row["p50_ms"])


# --- migrating an existing file ----------------------------------------------------------------------------------


def old_file(path: Path, rows: list[dict[str, Any]], migrations: int) -> None:
    """A file as an older release left it: the first `migrations` migrations, `rows` stored with m001's columns."""
    storage = open_storage(path)
    run_migrations(storage, "usage", schema.MIGRATIONS[:1])
    columns = list(schema._M001_COLUMNS)[1:]
    with storage.write() as conn:
        for row in rows:
            full = schema.row_of(schema.record_of(row), NOW)[: len(columns)]
            conn.execute(f"INSERT INTO usage ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", full)
    run_migrations(storage, "usage", schema.MIGRATIONS[:migrations])  # back-fills the rollups it creates
    storage.close()


@pytest.mark.parametrize("migrations", [6, 7])
def test_an_existing_file_is_migrated_and_its_rollups_stay_exact(tmp_path: Path, migrations: int) -> None:
    path = tmp_path / "old.db"
    rows = long_rows(500, seed=5)
    old_file(path, rows, migrations)
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert ("usage_daily" in tables) == (migrations >= 7)

    after = UsageTracker(path, clock=Clock())
    after.record_usage(**rec(ts=NOW - 1, cached_input_tokens=30, reasoning_tokens=20, cache_saved_usd=0.002))
    raw, rollups = raw_vs_rollup(after)
    assert raw == rollups
    assert sum(r[-12] for r in rollups) == len(schema.ROLLUPS) * 501
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        applied = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
        failed = conn.execute("SELECT COUNT(*) FROM usage WHERE success = 0 AND outcome = 'error'").fetchone()[0]
        ids = conn.execute("SELECT COUNT(*) FROM usage WHERE request_id = ''").fetchone()[0]
    assert {"idx_usage_latency_sample", "idx_usage_daily_user_user", "idx_usage_request_id"} <= indexes
    assert not {i for i in indexes if i.startswith("idx_usage_hourly_")}
    assert [m.__name__ for m in schema.MIGRATIONS] == applied
    assert (sum(1 for r in rows if not r["success"]), 500) == (failed, ids)  # old rows: outcome from success
    assert sorted({r["user_id"] for r in rows} | {"anonymous"}) == after.distinct_values("user_id")
    assert 501 == after.get_usage_stats(None)["total_requests"]
    assert (30, 20) == (
        after.token_stats(None)["total_cached_input_tokens"],
        after.token_stats(None)["total_reasoning_tokens"],
    )
    after.close()


def test_purge_and_clear_keep_daily_rollups_and_dropdowns_consistent(tracker: UsageTracker) -> None:
    rows = long_rows(600, seed=8)
    rows.append(rec(ts=NOW - 100 * DAY, user_id="gone", provider="oldco", model="old"))
    tracker.record_many(rows)
    assert "gone" in tracker.distinct_values("user_id")
    expected = sum(1 for r in rows if r["ts"] < NOW - 50.5 * DAY)
    assert expected == tracker.purge_older_than(50.5)  # not on a day's edge: the boundary day is rebuilt
    raw, rollups = raw_vs_rollup(tracker)
    assert raw == rollups
    assert "gone" not in tracker.distinct_values("user_id")
    assert "oldco" not in tracker.distinct_values("provider")
    tracker.clear()
    assert ([], []) == raw_vs_rollup(tracker)


# --- concurrency and write-behind ---------------------------------------------------------------------------------


def test_sixteen_threads_lose_no_row(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "threads.db")
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(150):
                tracker.record_usage(**rec(user_id=f"u{n}", input_tokens=i, cost_usd=0.001))
                if i % 50 == 0:
                    tracker.get_usage_stats(1)  # readers interleaved with writers
        except Exception as exc:  # noqa: BLE001 - collected and asserted empty below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = tracker.get_usage_stats(None)
    assert stats["total_requests"] == 2400
    assert 16 * sum(range(150)) == stats["total_input_tokens"]
    assert stats["cost_usd"] == 2.4
    assert raw_vs_rollup(tracker)[0] == raw_vs_rollup(tracker)[1]
    tracker.close()


def test_two_trackers_on_one_file_read_each_others_writes(tmp_path: Path) -> None:
    writer = UsageTracker(tmp_path / "shared.db", flush_interval=60)
    reader = UsageTracker(tmp_path / "shared.db")
    writer.record_usage(**rec())
    assert reader.get_usage_stats()["total_requests"] == 1


def test_flush_makes_rows_visible_to_other_connections(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "f.db", flush_interval=60)
    tracker.record_usage(**rec())
    tracker.flush()
    with sqlite3.connect(tracker.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM usage").fetchone() == (1,)


def test_synchronous_mode_writes_at_once(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "sync.db", flush_interval=None)
    tracker.record_usage(**rec())
    with sqlite3.connect(tracker.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM usage").fetchone() == (1,)


def test_background_flush_writes_without_a_read(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "bg.db", flush_interval=0.0)
    tracker.record_usage(**rec())
    deadline = time.monotonic() + 5
    count = 0
    while count == 0 and time.monotonic() < deadline:
        with sqlite3.connect(tracker.db_path) as conn:
            count = conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0]
    assert count == 1


def test_failed_flush_keeps_rows_for_next_time(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "lock.db", flush_interval=60)
    tracker.record_usage(**rec())
    blocker = sqlite3.connect(tracker.db_path, timeout=0, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    conn = tracker._writer.storage.connection()
    conn.execute("PRAGMA busy_timeout = 50")
    with pytest.raises(StorageBusy):
        tracker.flush()
    blocker.execute("ROLLBACK")
    blocker.close()
    assert tracker.get_usage_stats()["total_requests"] == 1


# --- privacy and schema -------------------------------------------------------------------------------------------


def test_schema_has_no_prompt_response_or_key_column(tracker: UsageTracker) -> None:
    conn = sqlite3.connect(tracker.db_path)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(usage)")}
    conn.close()
    assert set(schema.USAGE_COLUMNS) == columns
    assert not {c for c in columns if any(w in c for w in ("prompt", "response", "content", "key", "text"))}


def test_no_secret_from_environment_lands_in_the_db(tracker: UsageTracker, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-proj-TESTSECRET0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("GEMINI_API_KEY", "AIzaTESTSECRET9876543210")
    tracker.record_usage(**rec(fallback_chain=["openai", "gemini"], error_kind="auth", success=False))
    tracker.flush()
    conn = sqlite3.connect(tracker.db_path)
    dump = "\n".join(conn.iterdump())
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = b"".join(p.read_bytes() for p in tracker.db_path.parent.glob("t.db*"))
    assert "openai" in dump  # the dump does hold the recorded call
    for value in (secret, "AIzaTESTSECRET9876543210"):
        assert value not in dump
        assert value.encode() not in raw


def test_readable_view_and_migrations(tracker: UsageTracker) -> None:
    tracker.record_usage(**rec(ts=NOW))
    tracker.flush()
    conn = sqlite3.connect(tracker.db_path)
    assert conn.execute("SELECT time, provider FROM usage_readable").fetchone() == (
        "2023-11-14T22:13:20.000Z",
        "openai",
    )
    names = [r[0] for r in conn.execute("SELECT name FROM migrations WHERE migration_set = 'usage' ORDER BY name")]
    assert [m.__name__ for m in schema.MIGRATIONS] == names
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    again = UsageTracker(tracker.db_path)  # reopening applies nothing twice
    assert again.get_usage_stats(None)["total_requests"] == 1


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"input_tokens": -1},
        {"output_tokens": -5},
        {"cost_usd": math.nan},
        {"cost_usd": -0.1},
        {"saved_cost_usd": math.inf},
        {"latency_ms": -1},
        {"provider": ""},
        {"task_type": ""},
        {"user_id": ""},
        {"ts": math.nan},
    ],
)
def test_record_rejects_bad_values(tracker: UsageTracker, overrides: dict) -> None:
    with pytest.raises(ValueError):
        tracker.record_usage(**rec(**overrides))
    assert tracker.get_usage_stats(None)["total_requests"] == 0


@pytest.mark.parametrize("hours", [-1, math.nan, math.inf])
def test_bad_hours(tracker: UsageTracker, hours: float) -> None:
    with pytest.raises(ValueError, match="hours"):
        tracker.get_usage_stats(hours)


def test_unknown_filter_is_an_error(tracker: UsageTracker) -> None:
    with pytest.raises(TypeError, match="unknown filter"):
        tracker.get_usage_stats(24, prompt="x")


def test_task_type_enum_and_error_kind_enum_are_stored_as_values(tracker: UsageTracker) -> None:
    from core.base import ErrorKind

    tracker.record_usage(**rec(task_type=TaskType.COVER_LETTER, success=False, error_kind=ErrorKind.TIMEOUT))
    call = tracker.recent_calls(1)[0]
    assert (call["task_type"], call["error_kind"]) == ("cover_letter", "timeout")


def test_fallback_chain_string_is_one_provider(tracker: UsageTracker) -> None:
    tracker.record_usage(**rec(fallback_chain="openai"))
    assert tracker.recent_calls(1)[0]["fallback_chain"] == ["openai"]
    assert json.loads('["openai"]') == tracker.recent_calls(1)[0]["fallback_chain"]


# --- the singleton ------------------------------------------------------------------------------------------------


def test_singleton_follows_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import services

    first = get_usage_tracker()
    assert first is get_usage_tracker()
    assert Path(ut.os.environ["CV_COPILOT_DB"]).resolve() == first.db_path
    monkeypatch.setenv("CV_COPILOT_DB", str(tmp_path / "other.db"))
    services.reset()  # settings are read once per process root
    second = get_usage_tracker()
    assert second is not first
    assert (tmp_path / "other.db").resolve() == second.db_path


def test_singleton_default_path_is_repo_data(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import PROJECT_ROOT, load_settings

    monkeypatch.delenv("CV_COPILOT_DB")
    assert load_settings().db_path == PROJECT_ROOT / "data" / "usage.db"


@pytest.mark.parametrize("size", [1, 3, 4, 5, 16, 17, 21, 40])
def test_a_batch_of_any_size_is_stored_once_with_its_rollups(tmp_path: Path, size: int) -> None:
    """The writer inserts whole chunks of a batch in multi-row statements: every size stores each row once, and a
    batch holding rows already stored (a replay racing a flush) stores only the new ones, each counted once."""
    from core.tracker.writer import Writer

    tracker = UsageTracker(tmp_path / "u.db")
    writer = Writer(tmp_path / "u.db", journal=False)
    rows = [schema.row_of(schema.record_of(r), NOW) for r in random_rows(size + 7, seed=size)]
    for row in rows[:size]:
        writer.add(row, 60.0)
    writer.flush()
    for row in rows:  # the first `size` again, and 7 new
        writer.add(row, 60.0)
    writer.flush()
    raw, rollup = raw_vs_rollup(tracker)
    assert raw == rollup
    with sqlite3.connect(tracker.db_path) as conn:
        assert size + 7 == conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0]
        assert size + 7 == conn.execute("SELECT COUNT(DISTINCT request_id) FROM usage").fetchone()[0]
        assert size + 7 == conn.execute("SELECT SUM(requests) FROM usage_daily_total").fetchone()[0]
