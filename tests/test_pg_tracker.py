"""The usage tracker's contract suite on PostgreSQL: the same tests as on SQLite, run against a real server.

The tests of `test_usage_tracker.py` that speak only through the tracker's interface run here again with a tracker
on PostgreSQL (`postgresql-` in their ids); the few that look inside the SQLite file have PostgreSQL twins below.
Skipped, with the reason, when the PostgreSQL binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.test_usage_tracker as contract
from core.config import ConfigError, load_settings
from core.tracker import schema
from core.tracker.pg_storage import translate
from core.usage_tracker import UsageTracker
from tests.pg import needs_pg, pg_url  # noqa: F401 - fixtures
from tests.processes import python
from tests.test_usage_tracker import (  # noqa: F401 - the contract tests, run again with the fixtures below
    DATASET,
    NOW,
    Clock,
    clock,
    load,
    random_rows,
    rec,
    test_bad_hours,
    test_batch_is_folded_to_one_upsert_per_rollup_key,
    test_breakdown_matches_raw_sums,
    test_breakdown_rejects_unknown_dimension,
    test_clear_deletes_everything_and_counts,
    test_cost_dicts_are_most_expensive_first,
    test_costs_are_rounded_to_six_decimals,
    test_distinct_values,
    test_empty_db_gives_zeros_with_exact_keys,
    test_empty_db_other_queries_are_empty,
    test_errors_by_provider,
    test_fallback_chain_string_is_one_provider,
    test_latency_filtered_long_window_uses_sample_when_the_full_scan_is_big,
    test_latency_just_below_stride_scans_the_full_index,
    test_latency_long_window_reads_the_sample_index,
    test_latency_percentiles_exact_for_small_windows,
    test_latency_percentiles_from_sample_above_cap,
    test_provider_stats,
    test_provider_stats_counts_errors_by_kind,
    test_purge_and_clear_keep_daily_rollups_and_dropdowns_consistent,
    test_purge_keeps_rollup_consistent,
    test_recent_calls_limits_and_filters,
    test_recent_calls_newest_first_with_every_column,
    test_record_rejects_bad_values,
    test_rollup_matches_raw_rows_single_and_bulk,
    test_savings,
    test_spend_usd_since_a_time,
    test_task_type_enum_and_error_kind_enum_are_stored_as_values,
    test_timeseries_buckets_sum_to_the_window,
    test_timeseries_default_bucket_is_hourly_for_a_day,
    test_timeseries_point_shape,
    test_timeseries_rejects_bad_bucket,
    test_unknown_filter_is_an_error,
    test_unknown_provider_gives_same_keys_with_zeros,
    test_usage_stats_match_hand_computed_sums,
    test_user_stats_sorted_by_cost,
    test_weekly_buckets_start_on_monday,
)

pytestmark = needs_pg


def raw_query(tracker: UsageTracker, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    tracker.flush()
    with tracker._storage.read() as conn:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]


def pg_raw_vs_rollup(tracker: UsageTracker) -> tuple[list, list]:
    """`raw_vs_rollup` of the contract suite, on PostgreSQL: each rollup beside the same sums over raw rows."""
    raw, rollups = [], []
    sums = (
        "SUM(input_tokens), SUM(output_tokens), ROUND(SUM(cost_usd)::numeric, 9)::float8, "
        "ROUND(SUM(baseline_cost_usd)::numeric, 9)::float8"
    )
    for rollup in schema.ROLLUPS:
        keys = ", ".join(rollup.keys)
        order = ", ".join(str(i) for i in range(1, len(rollup.keys) + 2))
        raw += raw_query(
            tracker,
            f"SELECT CAST(ts / {rollup.seconds} AS INTEGER) * {rollup.seconds}, {keys}, COUNT(*), SUM(success), "
            f"SUM(cached), {sums}, ROUND(SUM(saved_cost_usd)::numeric, 9)::float8, "
            "ROUND(SUM(latency_ms)::numeric, 6)::float8, SUM(cached_input_tokens), SUM(reasoning_tokens), "
            f"ROUND(SUM(cache_saved_usd)::numeric, 9)::float8 FROM usage GROUP BY {order} ORDER BY {order}",
        )
        rollups += raw_query(
            tracker,
            f"SELECT {rollup.time_column}, {keys}, requests, successful, cached_requests, input_tokens, output_tokens, "
            "ROUND(cost_usd::numeric, 9)::float8, ROUND(baseline_cost_usd::numeric, 9)::float8, "
            "ROUND(saved_cost_usd::numeric, 9)::float8, ROUND(latency_ms_sum::numeric, 6)::float8, "
            "cached_input_tokens, reasoning_tokens, ROUND(cache_saved_usd::numeric, 9)::float8 "
            f"FROM {rollup.table} ORDER BY {order}",
        )
    return raw, rollups


@pytest.fixture
def tracker(pg_url: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[UsageTracker]:  # noqa: F811
    monkeypatch.setattr(contract, "raw_vs_rollup", pg_raw_vs_rollup)
    t = UsageTracker(pg_url, clock=clock, local_path=tmp_path / "local.db")
    yield t
    t.close()


# --- twins of the contract tests that look inside the database ----------------------------------------------------


def test_rebuild_rollup_repairs_hand_edits(tracker: UsageTracker) -> None:
    tracker.record_many(random_rows(50))
    with tracker._storage.write() as conn:
        conn.execute("DELETE FROM usage WHERE id % 2 = 0")
    assert pg_raw_vs_rollup(tracker)[0] != pg_raw_vs_rollup(tracker)[1]
    tracker.rebuild_rollup()
    assert pg_raw_vs_rollup(tracker)[0] == pg_raw_vs_rollup(tracker)[1]


def test_latency_sample_index_holds_every_16th_non_cached_row(tracker: UsageTracker) -> None:
    tracker.record_many(random_rows(200))
    (definition,) = raw_query(tracker, "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_usage_latency_sample'")
    assert definition[0].endswith("INCLUDE (id) WHERE ((cached = 0) AND ((id % (16)::bigint) = 0))")


@pytest.mark.parametrize(
    ("sample", "index"), [("", "idx_usage_latency"), (" AND id % 16 = 0 AND id % 48 = 0", "idx_usage_latency_sample")]
)
def test_sampled_latency_reads_only_the_index(tracker: UsageTracker, sample: str, index: str) -> None:
    """The percentile query of `DashboardQueries.latency_by_provider` never visits the table (10M rows: 12.8 s
    without the id in the index, see bench/pg_dashboard.py)."""
    tracker.record_many(random_rows(300))
    with tracker._storage.write() as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        conn.execute("SET LOCAL enable_bitmapscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                f"EXPLAIN SELECT latency_ms FROM usage WHERE provider = ? AND cached = 0 AND ts >= ?{sample}",
                ("openai", NOW - 86400),
            ).fetchall()
        )
    assert f"Index Only Scan using {index} on usage" in plan


def test_schema_has_no_prompt_response_or_key_column(tracker: UsageTracker) -> None:
    columns = {
        r[0]
        for r in raw_query(
            tracker,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'usage' AND table_schema = current_schema()",
        )
    }
    assert columns == set(schema.USAGE_COLUMNS)
    assert not any(word in c for c in columns for word in ("prompt", "response", "content", "key", "secret"))


def test_readable_view_and_migrations(tracker: UsageTracker) -> None:
    tracker.record_usage(**rec(ts=NOW))
    assert raw_query(tracker, "SELECT time, provider FROM usage_readable") == [("2023-11-14T22:13:20.000Z", "openai")]
    names = [
        r[0] for r in raw_query(tracker, "SELECT name FROM migrations WHERE migration_set = 'usage' ORDER BY name")
    ]
    assert names == [m.__name__ for m in schema.MIGRATIONS]


def test_sixteen_threads_lose_no_row(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    tracker = UsageTracker(pg_url, local_path=tmp_path / "local.db")
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(100):
                tracker.record_usage(**rec(user_id=f"u{n}", input_tokens=i, cost_usd=0.001))
                if i % 50 == 0:
                    tracker.get_usage_stats(1)
        except Exception as exc:  # noqa: BLE001 - collected and asserted empty below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = tracker.get_usage_stats(None)
    assert (stats["total_requests"], stats["total_input_tokens"], stats["cost_usd"]) == (1600, 16 * 4950, 1.6)
    assert pg_raw_vs_rollup(tracker)[0] == pg_raw_vs_rollup(tracker)[1]


def test_two_trackers_read_each_others_writes(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    writer = UsageTracker(pg_url, flush_interval=60, local_path=tmp_path / "a" / "local.db")
    reader = UsageTracker(pg_url, local_path=tmp_path / "b" / "local.db")
    writer.record_usage(**rec())
    assert reader.get_usage_stats()["total_requests"] == 0  # still in the writer's buffer (and journal)
    writer.flush()
    assert reader.get_usage_stats()["total_requests"] == 1


def test_a_replayed_row_is_stored_once(tracker: UsageTracker) -> None:
    row = rec(request_id="req-1")
    tracker.record_usage(**row)
    tracker.flush()
    tracker.record_usage(**row)  # as a journal replay would
    tracker.record_many([row, rec(request_id="req-2")])
    assert tracker.get_usage_stats(None)["total_requests"] == 2
    assert pg_raw_vs_rollup(tracker)[0] == pg_raw_vs_rollup(tracker)[1]


@pytest.mark.parametrize("text", ["nul\x00inside", "surrogate \ud800 here", "emoji 🧪 and ünïcode"])
def test_text_postgresql_refuses_is_made_storable(tracker: UsageTracker, text: str) -> None:
    tracker.record_usage(**rec(model=text, user_id=text))
    (stored,) = [r["model"] for r in tracker.recent_calls()]
    assert "\x00" not in stored and "\ud800" not in stored
    assert stored.replace("\ufffd", "") == text.replace("\x00", "").replace("\ud800", "")


def without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "request_id"} for row in rows]


def test_seed_json_is_the_same_on_both_backends(tracker: UsageTracker, tmp_path: Path, clock: Clock) -> None:  # noqa: F811
    on_sqlite = UsageTracker(tmp_path / "same.db", clock=clock)
    load(tracker)
    load(on_sqlite)
    for hours in (1, 24, None):
        assert json.dumps(tracker.get_usage_stats(hours)) == json.dumps(on_sqlite.get_usage_stats(hours))
        for provider in ("openai", "gemini", "nobody"):
            assert tracker.get_provider_stats(provider, hours) == on_sqlite.get_provider_stats(provider, hours)
        assert tracker.timeseries(hours) == on_sqlite.timeseries(hours)
        assert tracker.get_user_stats(hours) == on_sqlite.get_user_stats(hours)
        assert tracker.latency_by_provider(hours) == on_sqlite.latency_by_provider(hours)
        assert without_ids(tracker.recent_calls(hours=hours)) == without_ids(on_sqlite.recent_calls(hours=hours))
    assert len(DATASET) == tracker.get_usage_stats(None)["total_requests"]
    on_sqlite.close()


# --- the settings: a URL is a URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "POSTGRESQL"])
def test_a_database_url_is_kept_as_a_url(tmp_path: Path, scheme: str) -> None:
    env = {"CV_COPILOT_DB": f"{scheme}://ann:pa55word@db.internal:5432/usage", "CV_COPILOT_NO_DOTENV": "1"}
    env["CV_COPILOT_LOCAL_DB"] = str(tmp_path / "here.db")
    settings = load_settings(env, config_path=tmp_path / "none.toml")
    assert settings.db_url == f"{scheme.lower()}://ann:pa55word@db.internal:5432/usage"
    assert settings.db_path == tmp_path / "here.db"
    assert settings.db_display == f"{scheme.lower()}://ann:***@db.internal:5432/usage"
    assert "pa55word" not in repr(settings)
    assert not (Path.cwd() / f"{scheme}:").exists()


@pytest.mark.parametrize(
    "url", ["postgresql://", "postgresql://ann:pa55word@/", "postgresql://ann:pa55word@host:port/db", "postgres://h"]
)
def test_a_bad_database_url_is_a_clear_error_without_the_password(tmp_path: Path, url: str) -> None:
    env = {"CV_COPILOT_DB": url, "CV_COPILOT_NO_DOTENV": "1"}
    with pytest.raises(ConfigError, match="CV_COPILOT_DB") as caught:
        load_settings(env, config_path=tmp_path / "none.toml")
    assert "pa55word" not in str(caught.value)


def test_a_file_path_keeps_sqlite_and_never_imports_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys; from core.services import build_services; from core.config import load_settings; "
        "s = build_services(load_settings()); s.tracker.record_usage(task_type='cv_parsing', provider='local', "
        "model='local'); print(s.tracker.get_usage_stats()['total_requests'], 'psycopg' in sys.modules)"
    )
    env = {"CV_COPILOT_DB": str(tmp_path / "u.db"), "CV_COPILOT_NO_DOTENV": "1", "PATH": "/usr/bin:/bin"}
    env["CV_COPILOT_CONFIG"] = str(tmp_path / "none.toml")
    out = python("-c", code, env=env)
    assert out.stdout.split() == ["1", "False"], out.stderr
    assert (tmp_path / "u.db").exists()


# --- the SQL both engines read ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        ("SELECT a FROM t WHERE x = ? AND y IN (?, ?)", "SELECT a FROM t WHERE x = %s AND y IN (%s, %s)"),
        ("SELECT id % 16 FROM t WHERE id % 4 = ?", "SELECT id %% 16 FROM t WHERE id %% 4 = %s"),
        (
            "SELECT COUNT(*) FROM usage INDEXED BY idx_usage_ts WHERE 1 AND a = ?",
            "SELECT COUNT(*) FROM usage WHERE TRUE AND a = %s",
        ),
        ("SELECT x FROM t WHERE 1 GROUP BY x", "SELECT x FROM t WHERE TRUE GROUP BY x"),
        ("SELECT x FROM t WHERE 1 = ?", "SELECT x FROM t WHERE 1 = %s"),
        ("SELECT x FROM t WHERE 10 > a", "SELECT x FROM t WHERE 10 > a"),
        ("SELECT +(provider) AS k0, +(a - 1) AS k1", "SELECT (provider) AS k0, (a - 1) AS k1"),
        ("SELECT a + (b) FROM t", "SELECT a + (b) FROM t"),
        (
            "SELECT CAST((ts - 0) / 300 AS INTEGER) * 300 FROM t",
            "SELECT CAST(TRUNC((ts - 0) / 300) AS BIGINT) * 300 FROM t",
        ),
        (
            "SELECT CAST(x AS TEXT), CAST(CAST(y AS INTEGER) AS REAL)",
            "SELECT CAST(x AS TEXT), CAST(CAST(TRUNC(y) AS BIGINT) AS REAL)",
        ),
        ("SELECT 'is ? 50% WHERE 1' FROM t WHERE a = ?", "SELECT 'is ? 50%% WHERE 1' FROM t WHERE a = %s"),
        (
            "SELECT (SELECT GROUP_CONCAT(kind, ',') FROM d WHERE d.a = a.id) FROM a",
            "SELECT (SELECT STRING_AGG(kind, ',') FROM d WHERE d.a = a.id) FROM a",
        ),
        ("SELECT 1 FROM t WHERE id = ? /* FOR UPDATE */", "SELECT 1 FROM t WHERE id = %s FOR UPDATE"),
        ("SELECT id FROM t ORDER BY id /*for  update*/", "SELECT id FROM t ORDER BY id FOR UPDATE"),
        ("SELECT 'GROUP_CONCAT(x) /* FOR UPDATE */'", "SELECT 'GROUP_CONCAT(x) /* FOR UPDATE */'"),
        (
            "SELECT name FROM sqlite_master WHERE type = 'table'",
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
        ),
    ],
)
def test_the_sqlite_spellings_of_the_tracker_queries_are_translated(sqlite: str, postgresql: str) -> None:
    assert postgresql == translate(sqlite)


def test_without_parameters_percent_signs_stay_single() -> None:
    assert "SELECT id % 16 FROM t WHERE TRUE" == translate("SELECT id % 16 FROM t WHERE 1", False)


# --- the REST API and `python -m core usage` on PostgreSQL --------------------------------------------------------


def test_rest_api_and_cli_answer_the_same_json_from_postgresql(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    import time

    import httpx

    from core import api
    from tests.test_api import TOKEN, ServerThread, seed

    now = time.time()
    on_pg = UsageTracker(pg_url, local_path=tmp_path / "local.db")
    on_sqlite = UsageTracker(tmp_path / "same.db")
    seed(on_pg, now)
    seed(on_sqlite, now)
    on_pg.flush()
    answers = []
    for tracker in (on_pg, on_sqlite):
        with ServerThread(api.create_app(tracker=tracker, token=TOKEN)) as server:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=server.url, headers=auth, timeout=10) as http:
                answers.append(
                    [
                        http.get(path).json()
                        for path in (
                            "/api/v1/ai/usage?hours=24",
                            "/api/v1/ai/usage?hours=100",
                            "/api/v1/ai/usage/provider/openai?hours=24",
                            "/api/v1/ai/usage/provider/legacy-x?hours=100",
                        )
                    ]
                )
    assert answers[0] == answers[1]
    assert answers[0][1]["total_requests"] == 4

    env = {"CV_COPILOT_DB": pg_url, "CV_COPILOT_LOCAL_DB": str(tmp_path / "cli.db"), "CV_COPILOT_NO_DOTENV": "1"}
    env |= {"CV_COPILOT_CONFIG": str(tmp_path / "none.toml"), "PATH": "/usr/bin:/bin"}
    out = python("-m", "core", "usage", "--json", "--hours", "100", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == answers[1][1]
    on_pg.close()
    on_sqlite.close()


def test_budgets_read_the_spend_every_replica_recorded_in_postgresql(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    from core.base import BudgetExceeded
    from core.services import build_services

    (tmp_path / "cv.toml").write_text('[budgets]\npolicy = "block"\nglobal_daily_usd = 0.05\n')
    env = {"CV_COPILOT_DB": pg_url, "CV_COPILOT_LOCAL_DB": str(tmp_path / "here.db"), "CV_COPILOT_NO_DOTENV": "1"}
    services = build_services(load_settings(env, config_path=tmp_path / "cv.toml"))
    other_replica = UsageTracker(pg_url, local_path=tmp_path / "elsewhere" / "local.db")
    other_replica.record_usage(**rec(cost_usd=0.049, user_id="bob"))
    other_replica.flush()
    services.budget.settle(services.budget.reserve("ann", 0.0005))
    with pytest.raises(BudgetExceeded):
        services.budget.reserve("ann", 0.002)
    services.close()
