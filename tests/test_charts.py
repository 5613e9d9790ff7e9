"""Chart builders and data-shaping helpers on known frames."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from core import charts

BREAKDOWN_PROVIDER = [
    {"key": "gemini", "requests": 5, "successful": 4, "failed": 1, "cost_usd": 0.25, "baseline_cost_usd": 0.5},
    {"key": "openai", "requests": 3, "successful": 1, "failed": 2, "cost_usd": 0.5, "baseline_cost_usd": 0.5},
    {"key": "local", "requests": 2, "successful": 2, "failed": 0, "cost_usd": 0.0, "baseline_cost_usd": 0.1},
]
TIMESERIES = [
    {"bucket": "2025-01-01T00:00:00+00:00", "provider": "openai", "requests": 2, "input_tokens": 100,
     "output_tokens": 10, "cost_usd": 0.2},
    {"bucket": "2025-01-01T00:00:00+00:00", "provider": "gemini", "requests": 1, "input_tokens": 50,
     "output_tokens": 5, "cost_usd": 0.05},
    {"bucket": "2025-01-01T01:00:00+00:00", "provider": "openai", "requests": 1, "input_tokens": 30,
     "output_tokens": 3, "cost_usd": 0.1},
]  # fmt: skip


def frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    return charts.to_frame(rows, columns)


def empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return charts.to_frame([], columns)


@pytest.mark.parametrize(
    ("builder", "columns"),
    [
        (charts.cost_by_provider, charts.BREAKDOWN_COLUMNS),
        (charts.cost_by_task, charts.BREAKDOWN_COLUMNS),
        (charts.cost_over_time, charts.TIMESERIES_COLUMNS),
        (charts.tokens_over_time, charts.TIMESERIES_COLUMNS),
        (charts.latency_by_provider, charts.LATENCY_COLUMNS),
        (charts.cost_per_user, charts.USER_COLUMNS),
        (charts.savings_by_task, charts.BREAKDOWN_COLUMNS),
    ],
)
def test_every_builder_gives_a_no_data_figure_for_an_empty_frame(builder, columns) -> None:
    fig = builder(empty(columns))
    assert len(fig.data) == 0
    assert charts.is_empty(fig)
    assert [a.text for a in fig.layout.annotations] == [charts.NO_DATA]


def test_success_failure_empty() -> None:
    fig = charts.success_failure(empty(charts.BREAKDOWN_COLUMNS), empty(charts.ERROR_COLUMNS))
    assert charts.is_empty(fig)


def test_rows_with_zero_requests_count_as_empty() -> None:
    rows = [{"key": "openai", "requests": 0, "cost_usd": 0.0}]
    assert charts.is_empty(charts.cost_by_provider(frame(rows, charts.BREAKDOWN_COLUMNS)))


def test_cost_by_provider_sorted_with_provider_colours() -> None:
    fig = charts.cost_by_provider(frame(BREAKDOWN_PROVIDER, charts.BREAKDOWN_COLUMNS))
    assert len(fig.data) == 1
    bar = fig.data[0]
    assert bar.type == "bar"
    assert bar.x == ("openai", "gemini", "local")
    assert bar.y == (0.5, 0.25, 0.0)
    assert (charts.PROVIDER_COLORS["openai"], charts.PROVIDER_COLORS["gemini"]) == tuple(bar.marker.color[:2])
    assert not charts.is_empty(fig)


def test_a_free_provider_with_calls_still_shows() -> None:
    rows = [{"key": "local", "requests": 4, "cost_usd": 0.0}]
    fig = charts.cost_by_provider(frame(rows, charts.BREAKDOWN_COLUMNS))
    assert fig.data[0].x == ("local",)


def test_cost_by_task_values() -> None:
    rows = [
        {"key": "cv_parsing", "requests": 1, "cost_usd": 0.3},
        {"key": "cover_letter", "requests": 2, "cost_usd": 0.45},
    ]
    fig = charts.cost_by_task(frame(rows, charts.BREAKDOWN_COLUMNS))
    assert fig.data[0].x == ("cover_letter", "cv_parsing")
    assert fig.data[0].y == (0.45, 0.3)


def test_cost_over_time_stacks_one_trace_per_provider() -> None:
    fig = charts.cost_over_time(frame(TIMESERIES, charts.TIMESERIES_COLUMNS))
    assert fig.layout.barmode == "stack"
    by_name = {t.name: t for t in fig.data}
    assert [t.name for t in fig.data] == ["openai", "gemini"]  # biggest spender first
    assert by_name["openai"].y == (0.2, 0.1)
    assert by_name["gemini"].y == (0.05, 0.0)  # a missing bucket is 0, not a gap
    assert len(by_name["openai"].x) == 2


def test_tokens_over_time_sums_providers_per_bucket() -> None:
    fig = charts.tokens_over_time(frame(TIMESERIES, charts.TIMESERIES_COLUMNS))
    traces = {t.name: t for t in fig.data}
    assert {"input tokens", "output tokens"} == set(traces)
    assert traces["input tokens"].y == (150, 30)
    assert traces["output tokens"].y == (15, 3)
    assert traces["input tokens"].type == "scatter"


def test_success_failure_splits_failures_by_kind() -> None:
    errors = [
        {"provider": "openai", "error_kind": "timeout", "count": 1},
        {"provider": "openai", "error_kind": "rate_limited", "count": 1},
        {"provider": "gemini", "error_kind": "timeout", "count": 1},
    ]
    fig = charts.success_failure(
        frame(BREAKDOWN_PROVIDER, charts.BREAKDOWN_COLUMNS), frame(errors, charts.ERROR_COLUMNS)
    )
    traces = {t.name: t for t in fig.data}
    assert fig.layout.barmode == "stack"
    assert traces["ok"].x == ("gemini", "openai", "local")
    assert traces["ok"].y == (4, 1, 2)
    assert traces["timeout"].y == (1, 1, 0)
    assert traces["rate_limited"].y == (0, 1, 0)
    assert "unknown" not in traces


def test_success_failure_shows_failures_without_kind_as_unknown() -> None:
    fig = charts.success_failure(frame(BREAKDOWN_PROVIDER, charts.BREAKDOWN_COLUMNS), empty(charts.ERROR_COLUMNS))
    traces = {t.name: t for t in fig.data}
    assert traces["unknown"].y == (1, 2, 0)


def test_success_failure_adds_missing_failures_to_a_reported_unknown_kind() -> None:
    errors = [{"provider": "openai", "error_kind": "unknown", "count": 1}]
    fig = charts.success_failure(
        frame(BREAKDOWN_PROVIDER, charts.BREAKDOWN_COLUMNS), frame(errors, charts.ERROR_COLUMNS)
    )
    traces = [t for t in fig.data if t.name == "unknown"]
    assert len(traces) == 1
    assert traces[0].y == (1, 2, 0)


def test_latency_grouped_p50_p95() -> None:
    rows = [{"provider": "groq", "calls": 3, "p50_ms": 100.0, "p95_ms": 250.0}]
    fig = charts.latency_by_provider(frame(rows, charts.LATENCY_COLUMNS))
    assert fig.layout.barmode == "group"
    assert [(t.name, t.y) for t in fig.data] == [("p50", (100.0,)), ("p95", (250.0,))]


def test_cost_per_user_top_n_biggest_on_top() -> None:
    rows = [{"user_id": f"u{i}", "requests": 1, "cost_usd": float(i)} for i in range(1, 6)]
    fig = charts.cost_per_user(frame(rows, charts.USER_COLUMNS), top=3)
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert bar.y == ("u3", "u4", "u5")  # plotly draws the last category on top
    assert bar.x == (3.0, 4.0, 5.0)
    assert "top 3 of 5" in fig.layout.title.text


def test_savings_by_task_three_series() -> None:
    rows = [{"key": "cv_parsing", "requests": 2, "cost_usd": 0.1, "baseline_cost_usd": 0.4, "saved_by_cache_usd": 0.05}]
    fig = charts.savings_by_task(frame(rows, charts.BREAKDOWN_COLUMNS))
    assert [(t.name, t.y) for t in fig.data] == [
        ("actual", (0.1,)),
        ("baseline (default)", (0.4,)),
        ("saved by cache", (0.05,)),
    ]


def test_savings_totals_sum_a_breakdown() -> None:
    rows = [
        {"key": "a", "cost_usd": 0.1, "baseline_cost_usd": 0.4, "saved_by_cache_usd": 0.05, "output_tokens": 300,
         "reasoning_tokens": 150, "cached_input_tokens": 1000, "saved_by_prompt_cache_usd": 0.002},
        {"key": "b", "cost_usd": 0.2, "baseline_cost_usd": 0.2, "saved_by_cache_usd": 0.0, "output_tokens": 100},
    ]  # fmt: skip
    totals = charts.savings_totals(rows)
    assert (
        pytest.approx(
            {
                "actual_cost_usd": 0.3,
                "baseline_cost_usd": 0.6,
                "saved_usd": 0.3,
                "saved_by_cache_usd": 0.05,
                "saved_by_prompt_cache_usd": 0.002,
                "cached_input_tokens": 1000,
                "reasoning_share": 0.375,
            }
        )
        == totals
    )


@pytest.mark.parametrize(
    ("stats", "expected_avg"),
    [
        ({"total_requests": 4, "cost_usd": 1.0}, 0.25),
        ({"total_requests": 0, "cost_usd": 0.0}, 0.0),
        ({}, 0.0),
    ],
)
def test_headline_metrics_average_cost(stats: dict, expected_avg: float) -> None:
    assert expected_avg == charts.headline_metrics(stats)["avg_cost_per_call"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0.00"),
        (12.5, "$12.50"),
        (1234.5, "$1,234.50"),
        (0.25, "$0.2500"),
        (0.000123, "$0.000123"),
        (None, "$0.00"),
    ],
)
def test_format_usd(value, text: str) -> None:
    assert text == charts.format_usd(value)


def test_to_frame_keeps_columns_for_no_rows() -> None:
    assert list(charts.LATENCY_COLUMNS) == list(charts.to_frame([], charts.LATENCY_COLUMNS).columns)


CALL = {
    "time": "2025-01-01T00:00:00.000+00:00",
    "ts": 1735689600.0,
    "user_id": "alice",
    "task_type": "cv_parsing",
    "provider": "gemini",
    "model": "gemini-2.0-flash",
    "input_tokens": 10,
    "output_tokens": 5,
    "cost_usd": 0.001,
    "baseline_cost_usd": 0.01,
    "saved_cost_usd": 0.0,
    "latency_ms": 120.5,
    "success": True,
    "error_kind": None,
    "cached": False,
    "fallback_chain": ["openai", "gemini"],
    "tokens_estimated": False,
    "price_estimated": True,
    "challenger": False,
}


def test_calls_csv_round_trips_metadata_only() -> None:
    parsed = list(csv.DictReader(io.StringIO(charts.calls_csv([CALL]).decode("utf-8"))))
    assert len(parsed) == 1
    row = parsed[0]
    assert list(charts.CALL_COLUMNS) == list(row)
    assert (
        row["user_id"],
        row["fallback_chain"],
        row["success"],
        row["cached"],
        row["error_kind"],
    ) == ("alice", "openai > gemini", "1", "0", "")
    assert "ts" not in row  # the readable time column is enough


def test_calls_csv_header_only_for_no_rows() -> None:
    assert ",".join(charts.CALL_COLUMNS) + "\r\n" == charts.calls_csv([]).decode("utf-8")


@pytest.mark.parametrize(
    ("chain", "text"),
    [(["a", "b"], "a > b"), ([], ""), (None, ""), ('["x","y"]', "x > y"), ("plain", "plain"), ("[broken", "[broken")],
)
def test_chain_text(chain, text: str) -> None:
    assert text == charts.calls_frame([{**CALL, "fallback_chain": chain}])["fallback_chain"].iloc[0]


def test_windows_match_the_seed_hours() -> None:
    assert list(charts.WINDOWS.values()) == [1, 24, 168, 720, None]


# --- budgets and A/B ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fraction", "level"),
    [(0.0, "ok"), (0.79, "ok"), (0.8, "warning"), (0.99, "warning"), (1.0, "over"), (3.5, "over")],
)
def test_budget_level(fraction: float, level: str) -> None:
    assert level == charts.budget_level(fraction)


def test_budget_level_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        charts.budget_level(float("nan"))


@pytest.mark.parametrize(
    ("spent", "reserved", "colour", "axis_top"),
    [(0.1, 0.0, "ok", 1.0), (0.7, 0.15, "warning", 1.0), (0.9, 0.3, "over", 1.2)],
)
def test_budget_gauge(spent: float, reserved: float, colour: str, axis_top: float) -> None:
    fig = charts.budget_gauge("user daily", 1.0, spent, reserved, "2025-01-02 00:00 UTC")
    bar = fig.data[0]
    shapes = {shape.name: shape for shape in fig.layout.shapes}
    assert ("bar", "h", pytest.approx(spent + reserved)) == (bar.type, bar.orientation, bar.x[0])
    assert charts.BUDGET_COLORS[colour] == bar.marker.color
    assert (0, pytest.approx(axis_top)) == tuple(fig.layout.xaxis.range)
    assert (1.0, 1.0) == (shapes["limit"].x0, shapes["limit"].x1)
    assert [(0, 0.8), (0.8, 1.0)] == [(shapes[band].x0, shapes[band].x1) for band in ("ok", "warning")]
    title = fig.layout.title.text
    assert f"User daily: ${spent + reserved:,.4f}" in title and "resets 2025-01-02 00:00 UTC" in title


def test_budget_gauge_takes_a_budget_line() -> None:
    import dataclasses

    from core.budget import BudgetLine

    line = BudgetLine("global monthly", 10.0, 4.0, 0.5, "2025-02-01 00:00 UTC")
    assert pytest.approx(4.5) == charts.budget_gauge(**dataclasses.asdict(line)).data[0].x[0]


@pytest.mark.parametrize(
    ("limit", "spent", "reserved"),
    [(0.0, 0.1, 0.0), (-1.0, 0.1, 0.0), (float("inf"), 0.1, 0.0), (1.0, -0.5, 0.0), (1.0, float("nan"), 0.0)],
)
def test_budget_gauge_refuses_bad_numbers(limit: float, spent: float, reserved: float) -> None:
    with pytest.raises(ValueError, match=r"budget limit|finite"):
        charts.budget_gauge("global daily", limit, spent, reserved)


WIN_RATES = [
    {"task_type": "cover_letter", "provider": "groq", "comparisons": 3, "wins": 2, "ties": 1, "win_rate": 2 / 3,
     "cost_usd": 0.003, "cost_per_win": 0.0015, "avg_latency_ms": 300.0},
    {"task_type": "cover_letter", "provider": "openai", "comparisons": 3, "wins": 0, "ties": 1, "win_rate": 0.0,
     "cost_usd": 0.03, "cost_per_win": None, "avg_latency_ms": 900.0},
    {"task_type": "fast_summary", "provider": "local", "comparisons": 1, "wins": 1, "ties": 0, "win_rate": 1.0,
     "cost_usd": 0.0, "cost_per_win": 0.0, "avg_latency_ms": None},
]  # fmt: skip


@pytest.mark.parametrize(
    ("providers", "tasks", "expected"),
    [
        (None, None, [("cover_letter", "groq"), ("cover_letter", "openai"), ("fast_summary", "local")]),
        (["openai", "local"], None, [("cover_letter", "openai"), ("fast_summary", "local")]),
        ([], ["fast_summary"], [("fast_summary", "local")]),
        (["groq"], ["fast_summary"], []),
    ],
)
def test_ab_table_filters(providers: list | None, tasks: list | None, expected: list) -> None:
    frame = charts.ab_table(WIN_RATES, providers=providers, tasks=tasks)
    assert list(charts.AB_COLUMNS) == list(frame.columns)
    assert expected == list(zip(frame["task_type"], frame["provider"], strict=True))


def test_ab_table_without_votes_has_the_columns() -> None:
    frame = charts.ab_table([])
    assert (0, list(charts.AB_COLUMNS)) == (len(frame), list(frame.columns))


def test_win_rates_chart_one_trace_per_provider_labelled_with_cost_per_win() -> None:
    fig = charts.win_rates_chart(charts.ab_table(WIN_RATES))
    traces = {t.name: t for t in fig.data}
    assert ["groq", "local", "openai"] == list(traces)
    assert (("cover_letter",), (pytest.approx(66.667, abs=1e-3),)) == (traces["groq"].x, traces["groq"].y)
    assert [("$0.001500",), ("no win",), ("$0.00",)] == [traces[p].text for p in ("groq", "openai", "local")]
    assert charts.PROVIDER_COLORS["groq"] == traces["groq"].marker.color
    assert "group" == fig.layout.barmode


def test_win_rates_chart_empty() -> None:
    assert charts.is_empty(charts.win_rates_chart(charts.ab_table([])))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("alice", "alice"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("", ""),
    ],
)
def test_csv_cells_that_start_a_formula_are_escaped(cell: str, expected: str) -> None:
    assert expected == charts.csv_safe(cell)
    row = {**CALL, "user_id": cell, "model": cell}
    parsed = next(csv.DictReader(io.StringIO(charts.calls_csv([row]).decode("utf-8"), newline="")))
    assert (expected, expected) == (parsed["user_id"], parsed["model"])


@pytest.mark.parametrize("number", [-1.5, 0, 3, -0.0004])
def test_csv_numbers_stay_numbers(number: float) -> None:
    assert number == charts.csv_safe(number)


def test_write_csv_escapes_every_cell() -> None:
    assert b"'=a,'-b\r\n1,'@c\r\n" == charts.write_csv(["=a", "-b"], [[1, "@c"]])


# --- dashboard v2: ranges, granularity, click-to-filter, readable axes -------------------------------------------

from datetime import UTC, date, datetime  # noqa: E402

from core.tracker.dashboard import (  # noqa: E402
    bucket_bounds,
    default_granularity,
    granularity_choices,
    resolve_range,
)

HOUR, DAY = 3600, 86_400


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


NOW = utc(2026, 11, 27, 16, 30)


@pytest.mark.parametrize(
    ("preset", "since", "until"),
    [
        ("Last 1 h", NOW - HOUR, None),
        ("Last 24 h", NOW - DAY, None),
        ("Last 7 d", NOW - 7 * DAY, None),
        ("Last 30 d", NOW - 30 * DAY, None),
        ("This month", utc(2026, 11, 1), None),
        ("All time", None, None),
        ("no such preset", NOW - DAY, None),
    ],
)
def test_resolve_range_presets(preset: str, since: float | None, until: float | None) -> None:
    rng = resolve_range(preset, NOW)
    assert (since, until) == (rng.since, rng.until)


@pytest.mark.parametrize(
    ("custom", "since", "until"),
    [
        ((date(2026, 10, 1), date(2026, 10, 31)), utc(2026, 10, 1), utc(2026, 11, 1)),
        ((date(2026, 10, 31), date(2026, 10, 1)), utc(2026, 10, 1), utc(2026, 11, 1)),  # picked backwards
        ((date(2026, 11, 20), date(2026, 11, 27)), utc(2026, 11, 20), None),  # ends today: open, up to now
        ((date(2026, 11, 3), date(2026, 11, 3)), utc(2026, 11, 3), utc(2026, 11, 4)),
    ],
)
def test_resolve_custom_range_covers_whole_utc_days(custom, since: float, until: float | None) -> None:
    rng = resolve_range("Custom range", NOW, custom)
    assert (since, until) == (rng.since, rng.until)


def test_previous_period_has_equal_length() -> None:
    rng = resolve_range("Custom range", NOW, (date(2026, 10, 1), date(2026, 10, 31)))
    before = rng.previous(NOW)
    assert before is not None and (utc(2026, 8, 31), utc(2026, 10, 1)) == (before.since, before.until)
    assert resolve_range("All time", NOW).previous(NOW) is None


@pytest.mark.parametrize(
    ("span", "granularity"),
    [(HOUR, "5 min"), (3 * HOUR, "5 min"), (DAY, "hour"), (7 * DAY, "day"), (30 * DAY, "day"),
     (365 * DAY, "week"), (3 * 365 * DAY, "month")],
)  # fmt: skip
def test_default_granularity_follows_the_range(span: float, granularity: str) -> None:
    assert granularity == default_granularity(span)


@pytest.mark.parametrize(
    ("span", "choices"),
    [(DAY, ["5 min", "hour", "day", "week", "month"]), (30 * DAY, ["hour", "day", "week", "month"]),
     (365 * DAY, ["day", "week", "month"])],
)  # fmt: skip
def test_granularity_choices_never_give_thousands_of_bars(span: float, choices: list[str]) -> None:
    assert choices == granularity_choices(span)


@pytest.mark.parametrize(
    ("ts", "granularity", "bounds"),
    [
        (utc(2026, 11, 27, 16, 31), "5 min", (utc(2026, 11, 27, 16, 30), utc(2026, 11, 27, 16, 35))),
        (utc(2026, 11, 27, 16, 31), "hour", (utc(2026, 11, 27, 16), utc(2026, 11, 27, 17))),
        (utc(2026, 11, 27, 16, 31), "day", (utc(2026, 11, 27), utc(2026, 11, 28))),
        (utc(2026, 11, 27, 16, 31), "week", (utc(2026, 11, 23), utc(2026, 11, 30))),  # Monday to Monday
        (utc(2026, 11, 27, 16, 31), "month", (utc(2026, 11, 1), utc(2026, 12, 1))),
        (utc(2026, 12, 31, 23, 59), "month", (utc(2026, 12, 1), utc(2027, 1, 1))),
        (utc(2028, 2, 10), "month", (utc(2028, 2, 1), utc(2028, 3, 1))),
    ],
)
def test_bucket_bounds(ts: float, granularity: str, bounds: tuple[float, float]) -> None:
    assert bounds == bucket_bounds(ts, granularity)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (9_999, "9,999"), (12_345, "12.3k"), (999_999, "1.0M"), (48_007_123, "48.0M"),
     (3_200_000_000, "3.2B"), (1.2e12, "1.2T")],
)  # fmt: skip
def test_compact_number(value: float, text: str) -> None:
    assert text == charts.compact_number(value)


@pytest.mark.parametrize(("value", "text"), [(0.4, "$0.4000"), (12_345.678, "$12,345.68"), (48_007_123.5, "$48.0M")])
def test_compact_usd(value: float, text: str) -> None:
    assert text == charts.compact_usd(value)


FREE = [
    {"bucket": "2026-11-27T16:00:00+00:00", "provider": "local", "requests": 4, "input_tokens": 0,
     "output_tokens": 0, "cost_usd": 0.0},
]  # fmt: skip


@pytest.mark.parametrize(
    ("builder", "rows", "columns", "axis"),
    [
        (charts.cost_over_time, FREE, charts.TIMESERIES_COLUMNS, "yaxis"),
        (charts.tokens_over_time, FREE, charts.TIMESERIES_COLUMNS, "yaxis"),
        (charts.cost_by_provider, [{"key": "local", "requests": 4, "cost_usd": 0.0}], charts.BREAKDOWN_COLUMNS,
         "yaxis"),
        (charts.cost_by_task, [{"key": "cv_parsing", "requests": 4, "cost_usd": 0.0}], charts.BREAKDOWN_COLUMNS,
         "yaxis"),
        (charts.cost_per_user, [{"user_id": "u", "requests": 4, "cost_usd": 0.0}], charts.USER_COLUMNS, "xaxis"),
        (charts.savings_by_task, [{"key": "cv_parsing", "requests": 4, "cost_usd": 0.0, "baseline_cost_usd": 0.0,
                                   "saved_by_cache_usd": 0.0}], charts.BREAKDOWN_COLUMNS, "yaxis"),
    ],
)  # fmt: skip
def test_only_free_calls_give_an_axis_from_zero(builder, rows, columns, axis: str) -> None:
    fig = builder(frame(rows, columns))
    assert [0, 1] == list(fig.layout[axis].range)


def test_a_paid_axis_starts_at_zero_and_autoscales() -> None:
    fig = charts.cost_over_time(frame(TIMESERIES, charts.TIMESERIES_COLUMNS), "hour")
    assert ("nonnegative", None) == (fig.layout.yaxis.rangemode, fig.layout.yaxis.range)


@pytest.mark.parametrize(
    ("granularity", "tickformat"),
    [("5 min", "%H:%M<br>%b %d"), ("hour", "%H:%M<br>%b %d"), ("day", "%b %d"), ("week", "%b %d"),
     ("month", "%b %Y")],
)  # fmt: skip
def test_one_bucket_gets_readable_ticks(granularity: str, tickformat: str) -> None:
    one = frame(FREE, charts.TIMESERIES_COLUMNS)
    for fig in (charts.cost_over_time(one, granularity), charts.tokens_over_time(one, granularity)):
        assert tickformat == fig.layout.xaxis.tickformat
        assert "%S" not in fig.layout.xaxis.tickformat and fig.layout.xaxis.title.text.startswith("Time (UTC)")
        lo, hi = (pd.Timestamp(x).timestamp() for x in fig.layout.xaxis.range)
        assert (lo, hi) == bucket_bounds(utc(2026, 11, 27, 16), granularity)


def test_the_bucket_size_is_guessed_when_not_given() -> None:
    assert (
        "%H:%M<br>%b %d" == charts.cost_over_time(frame(TIMESERIES, charts.TIMESERIES_COLUMNS)).layout.xaxis.tickformat
    )


#: The usage page's charts with a cost or token axis, each with columns and rows to draw it from.
_COST_CHARTS = [
    (charts.cost_by_provider, charts.BREAKDOWN_COLUMNS, BREAKDOWN_PROVIDER),
    (charts.cost_by_task, charts.BREAKDOWN_COLUMNS, BREAKDOWN_PROVIDER),
    (charts.cost_over_time, charts.TIMESERIES_COLUMNS, TIMESERIES),
    (charts.tokens_over_time, charts.TIMESERIES_COLUMNS, TIMESERIES),
    (charts.savings_by_task, charts.BREAKDOWN_COLUMNS, BREAKDOWN_PROVIDER),
]


@pytest.mark.parametrize(
    ("builder", "columns", "rows"),
    [
        *_COST_CHARTS,
        (charts.latency_by_provider, charts.LATENCY_COLUMNS, [{"provider": "openai", "calls": 3, "p50_ms": 5,
                                                                "p95_ms": 9}]),
        (charts.cost_per_user, charts.USER_COLUMNS, [{"user_id": "u", "requests": 1, "cost_usd": 0.1}]),
    ],
)  # fmt: skip
def test_every_chart_has_axis_titles(builder, columns, rows) -> None:
    fig = builder(frame(rows, columns))
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_success_failure_has_axis_titles() -> None:
    fig = charts.success_failure(frame(BREAKDOWN_PROVIDER, charts.BREAKDOWN_COLUMNS), empty(charts.ERROR_COLUMNS))
    assert ("Provider", "Calls") == (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text)


@pytest.mark.parametrize(
    ("points", "granularity", "drill"),
    [
        ([{"customdata": ["provider", "openai"]}], "day",
         charts.Drill((("provider", "openai"),), label="provider openai")),
        ([{"customdata": ["task_type", "cv_parsing"]}], "day", charts.Drill((("task_type", "cv_parsing"),),
                                                                            label="task cv_parsing")),
        ([{"customdata": ["user_id", "bob"]}], "day", charts.Drill((("user_id", "bob"),), label="user bob")),
        ([{"customdata": ["time", "2026-11-27T16:00:00+00:00", "gemini"]}], "hour",
         charts.Drill((("provider", "gemini"),), utc(2026, 11, 27, 16), utc(2026, 11, 27, 17),
                      "provider gemini, Nov 27, 16:00–17:00 UTC")),
        ([{"customdata": ["time", "2026-11-01T00:00:00+00:00", ""]}], "month",
         charts.Drill((), utc(2026, 11, 1), utc(2026, 12, 1), "November 2026")),
        ([{"curve_number": 2, "x": 1.0}, {"customdata": ["provider", "local"]}], "day",
         charts.Drill((("provider", "local"),), label="provider local")),  # a forecast line point is skipped
        ([{"customdata": ["time", "not a date", ""]}], "day", None),
        ([], "day", None),
    ],
)  # fmt: skip
def test_drill_from_selection(points: list, granularity: str, drill: charts.Drill | None) -> None:
    assert drill == charts.drill_from_selection(points, granularity)


def test_cost_over_time_bars_carry_their_bucket_and_provider() -> None:
    fig = charts.cost_over_time(frame(TIMESERIES, charts.TIMESERIES_COLUMNS), "hour")
    openai = next(t for t in fig.data if t.name == "openai")
    assert [["time", "2025-01-01T00:00:00+00:00", "openai"], ["time", "2025-01-01T01:00:00+00:00", "openai"]] == [
        list(c) for c in openai.customdata
    ]
    assert [3600 * 1000 * 0.9] * 2 == list(openai.width)  # a bar is as wide as its bucket


# --- margins that fit, so the browser draws each chart once ---------------------------------------------------


def _margin(fig) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    m = fig.layout.margin
    return (m.l, m.r, m.t, m.b)


@pytest.mark.parametrize(
    ("names", "right"),
    [
        (["p50", "p95"], 60 + 8 * 3),
        (["actual", "baseline (default)", "saved by cache"], 60 + 8 * len("baseline (default)")),
        (["ok", "provider_unavailable"], 60 + 8 * len("provider_unavailable")),
    ],
)
def test_a_legend_on_the_right_gets_room_for_its_longest_name(names: list[str], right: int) -> None:
    import plotly.graph_objects as go

    fig = charts._fit_margins(go.Figure([go.Bar(x=["a"], y=[1], name=n) for n in names]))
    assert (85, right, 50, 80) == _margin(fig)


def test_one_trace_or_a_hidden_legend_leaves_the_right_margin_narrow() -> None:
    rows = [{"key": "openai", "requests": 1, "cost_usd": 0.5}]
    assert 20 == charts.cost_by_provider(frame(rows, charts.BREAKDOWN_COLUMNS)).layout.margin.r


@pytest.mark.parametrize(("user", "left"), [("u1", 85), ("a.very.long.user.name@example.com", 45 + 8 * 33)])
def test_cost_per_user_left_margin_fits_the_longest_name(user: str, left: int) -> None:
    rows = [{"user_id": user, "requests": 1, "cost_usd": 1.0}, {"user_id": "bob", "requests": 1, "cost_usd": 2.0}]
    assert left == charts.cost_per_user(frame(rows, charts.USER_COLUMNS)).layout.margin.l


def test_cost_over_time_keeps_room_below_for_its_legend_and_right_for_the_forecast_axis() -> None:
    plain = charts.cost_over_time(frame(TIMESERIES, charts.TIMESERIES_COLUMNS), "hour")
    assert (85, 60, 50, 115) == _margin(plain)
    assert "h" == plain.layout.legend.orientation
    fig = charts.cost_over_time(frame(TIMESERIES, charts.TIMESERIES_COLUMNS), "hour")
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right"})
    assert 95 == charts._fit_margins(fig, bottom=135).layout.margin.r


@pytest.mark.parametrize(("builder", "columns", "rows"), _COST_CHARTS)
def test_every_chart_leaves_room_for_its_axis_titles(builder, columns, rows) -> None:
    left, _right, top, bottom = _margin(builder(frame(rows, columns)))
    assert left >= 85 and top >= 50 and bottom >= 80


# --- the headline tiles ----------------------------------------------------------------------------------------------

HEAD = charts.headline_metrics(
    {"total_requests": 12, "successful_requests": 10, "failed_requests": 2, "total_input_tokens": 48_007_123,
     "total_output_tokens": 1_234, "total_tokens": 48_008_357, "cost_usd": 3.0, "total_cost_all_time": 9.0}
)  # fmt: skip


@pytest.mark.parametrize(
    ("label", "before", "value", "delta", "trend"),
    [
        ("Requests", {"total_requests": 6}, "12", "+100% vs previous period", "good"),
        ("Failed", {"failed_requests": 1}, "2", "+100% vs previous period", "bad"),  # more failures: bad news
        ("Failed", {"failed_requests": 4}, "2", "-50% vs previous period", "good"),
        ("Cost (last 24 h)", {"cost_usd": 6.0}, "$3.00", "-50% vs previous period", "good"),
        ("Average cost per call", {"cost_usd": 3.0, "total_requests": 12}, "$0.2500", "+0% vs previous period", "flat"),
        ("Successful", {"successful_requests": 0}, "10", "new", "flat"),
        ("Tokens in / out", {}, "48.0M / 1,234", "new", "flat"),
    ],
)
def test_headline_tiles_say_the_change_and_whether_it_is_good_news(
    label: str, before: dict, value: str, delta: str, trend: str
) -> None:
    previous = charts.headline_metrics(before)
    tile = next(t for t in charts.headline_tiles(HEAD, previous, "Last 24 h") if t.label == label)
    assert (value, delta, trend) == (tile.value, tile.delta, tile.trend)


def test_headline_tiles_without_a_previous_period_have_no_delta() -> None:
    tiles = charts.headline_tiles(HEAD, None, "All time")
    assert 8 == len(tiles)
    assert {None} == {t.delta for t in tiles}
    assert "Exactly 48,007,123 input and 1,234 output tokens." == tiles[3].exact


def test_tiles_html_is_one_escaped_grid_with_coloured_deltas() -> None:
    tiles = [
        charts.Tile("Cost (<b>x</b>)", "$1.00", "+5% vs previous period", rise_is_good=False, exact='"$1.000000"'),
        charts.Tile("Requests", "3", "-10% vs previous period"),
        charts.Tile("All-time cost", "$9.00"),
    ]
    html = charts.tiles_html(tiles)
    assert html.startswith('<div class="usage-headline"') and 3 == html.count('class="tile"')
    assert "<b>" not in html and "Cost (&lt;b&gt;x&lt;/b&gt;)" in html and 'title="&quot;$1.000000&quot;"' in html
    assert 'color:#ff4b4b">▲ +5% vs previous period' in html  # cost up: red, arrow up
    assert 'color:#ff4b4b">▼ -10% vs previous period' in html  # requests down: red, arrow down
    assert 2 == html.count("tile-delta")  # no delta line where there is nothing to compare
