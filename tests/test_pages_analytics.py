"""AppTest for the usage dashboard and the settings page, on a seeded DB and an empty one."""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import charts
from core.usage_tracker import UsageTracker
from tests.page_steps import page_text
from tests.usage_page import fresh_streamlit_cache, headline, page_charts, usage_app  # noqa: F401 - autouse

REPO = Path(__file__).resolve().parent.parent
USAGE = str(REPO / "app_pages" / "usage.py")
SETTINGS = str(REPO / "app_pages" / "settings.py")
SECRET = "sk-live-abcdefghijklmnopqrstuv-WXYZ"


def seed(db: Path) -> None:
    tracker = UsageTracker(db)
    now = time.time()
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=200,
        cost_usd=0.3, baseline_cost_usd=0.3, success=True, user_id="alice", latency_ms=900, ts=now - 3 * 3600,
    )  # fmt: skip
    tracker.record_usage(
        task_type="cover_letter", provider="gemini", model="gemini-2.0-flash", input_tokens=500, output_tokens=100,
        cost_usd=0.1, baseline_cost_usd=0.4, success=True, user_id="bob", latency_ms=400, ts=now - 2 * 3600,
        fallback_chain=["openai", "gemini"],
    )  # fmt: skip
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=100, output_tokens=0,
        cost_usd=0.0, success=False, error_kind="timeout", user_id="alice", latency_ms=30000, ts=now - 3 * 3600,
    )  # fmt: skip
    tracker.close()


def metrics(at: AppTest) -> dict[str, str]:
    return {label: tile["value"] for label, tile in headline(at).items()}


def run(path: str) -> AppTest:
    """The page run once; the usage page with every section open."""
    at = usage_app() if path == USAGE else AppTest.from_file(path, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


# --- usage page -------------------------------------------------------------------------------------------------


def test_usage_empty_db_shows_a_friendly_empty_state() -> None:
    at = run(USAGE)
    from core.charts import NO_DATA

    charts = page_charts(at)
    assert len(charts) == 8  # the sections are there, each saying it has no data yet: no broken axes
    assert all(NO_DATA in chart.spec for chart in charts)
    assert "No AI calls recorded yet" in at.info[0].value
    assert "python -m core demo-db" in at.info[0].value


def test_usage_seeded_db_draws_headline_charts_and_table(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    assert len(page_charts(at)) == 8
    shown = metrics(at)
    assert (shown["Requests"], shown["Successful"], shown["Failed"]) == ("3", "2", "1")
    assert shown["Tokens in / out"] == "1,600 / 300"
    assert shown["Cost (last 24 h)"] == "$0.4000"
    assert shown["Average cost per call"] == "$0.1333"
    assert shown["All-time cost"] == "$0.4000"
    savings = {m.label: m.value for m in at.metric}  # the Savings section's figures
    assert (savings["On each task's default provider"], savings["Saved by routing"]) == ("$0.7000", "$0.3000")
    table = at.dataframe[0].value
    assert list(table.columns) == list(charts.CALL_COLUMNS)
    assert len(table) == 3
    assert "openai > gemini" in set(table["fallback_chain"])
    assert [e.label for e in at.expander] == [
        "Cost by provider and task, tokens over time",
        "Reliability and speed",
        "Users",
        "Savings",
        "Budgets and alerts",
        "Provider comparison (A/B)",
        "Recent calls",
        "Request detail",
    ]
    assert len(at.get("download_button")) == 1


def test_usage_window_without_calls_keeps_no_data_charts(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    at.selectbox(key="usage_window").set_value("Last 1 h").run()
    assert not at.exception
    assert metrics(at)["Requests"] == "0"
    assert "No calls match this view" in at.info[0].value
    assert len(page_charts(at)) == 8  # each one a "No data" figure, not a broken chart


def test_usage_filters_narrow_every_number(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    assert at.multiselect(key="usage_provider").options == ["gemini", "openai"]
    at.multiselect(key="usage_provider").set_value(["openai"]).run()
    assert not at.exception
    shown = metrics(at)
    assert (shown["Requests"], shown["Failed"], shown["Cost (last 24 h)"]) == ("2", "1", "$0.3000")
    assert set(at.dataframe[0].value["provider"]) == {"openai"}
    at.multiselect(key="usage_user_id").set_value(["bob"]).run()
    assert metrics(at)["Requests"] == "0"


def test_usage_sees_a_new_call_without_waiting(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    UsageTracker(db_path).record_usage(
        task_type="fast_summary", provider="local", model="offline", input_tokens=1, output_tokens=1, cost_usd=0.0,
        success=True,
    )  # fmt: skip
    at.run()
    assert metrics(at)["Requests"] == "4"


@pytest.mark.parametrize(
    ("window", "later_s", "reloads"),
    [
        ("Last 24 h", 120, 0),  # two minutes later, same five-minute slice: the new session reuses the aggregates
        ("Last 24 h", 300, 1),  # the next slice: calls leaving the range's old end drop out
        ("Last 1 h", 60, 1),  # an hour moves on every minute
        ("All time", 300, 0),  # fixed in time: only a new call changes it (or the caches' TTL)
    ],
)
def test_a_new_session_reuses_the_view_while_it_cannot_have_changed(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, window: str, later_s: int, reloads: int
) -> None:
    seed(db_path)
    loads: list[str] = []
    real_load = charts.load_dashboard
    monkeypatch.setattr(charts, "load_dashboard", lambda *a, **k: loads.append("x") or real_load(*a, **k))
    start = (time.time() // 300) * 300 + 5  # early in a five-minute slice
    monkeypatch.setattr(time, "time", lambda: start)
    first = run(USAGE)
    first.selectbox(key="usage_window").set_value(window).run()
    requests = metrics(first)["Requests"]
    monkeypatch.setattr(time, "time", lambda: start + later_s)
    loads.clear()
    at = usage_app()  # a new session
    at.session_state["usage_window"] = window
    at.run()
    assert not at.exception
    assert reloads == len(loads)
    assert requests == metrics(at)["Requests"]


def test_warm_fills_the_default_view_so_the_first_session_runs_no_query(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import usage_data

    seed(db_path)
    warmed = usage_data.warm()
    assert 3 == warmed.headline["total_requests"]
    assert 8 == len(warmed.figures)  # every chart of the view is built too
    loads: list[str] = []
    real_load, real_options = charts.load_dashboard, charts.filter_options
    monkeypatch.setattr(charts, "load_dashboard", lambda *a, **k: loads.append("dashboard") or real_load(*a, **k))
    monkeypatch.setattr(charts, "filter_options", lambda *a, **k: loads.append("options") or real_options(*a, **k))
    at = run(USAGE)
    assert [] == loads
    assert ("3", "2", "1") == tuple(metrics(at)[k] for k in ("Requests", "Successful", "Failed"))
    assert 8 == len(page_charts(at))
    at.selectbox(key="usage_window").set_value("Last 7 d").run()  # any other view is computed as before
    assert ["dashboard", "options"] == sorted(set(loads))


def test_export_csv_holds_the_filtered_rows(db_path: Path) -> None:
    seed(db_path)
    tracker = UsageTracker(db_path)
    lines = charts.export_csv(tracker, 24, {"provider": ["openai"]}).decode().splitlines()
    assert lines[0] == ",".join(charts.CALL_COLUMNS)
    assert len(lines) == 3
    assert all(",openai," in line for line in lines[1:])
    assert len(charts.export_csv(tracker, 24, {}, limit=1).decode().splitlines()) == 2


def test_load_dashboard_matches_the_tracker(db_path: Path) -> None:
    seed(db_path)
    dash = charts.load_dashboard(UsageTracker(db_path), 24, {"user_id": ["alice"], "provider": []})
    assert (dash.stats["total_requests"], dash.empty) == (2, False)
    assert list(dash.by_provider["key"]) == ["openai"]
    assert set(dash.timings_ms) == {
        "stats",
        "by_provider",
        "by_task",
        "timeseries",
        "errors",
        "latency",
        "users",
        "recent",
    }
    assert dash.savings == pytest.approx(
        {
            "actual_cost_usd": 0.3,
            "baseline_cost_usd": 0.3,
            "saved_usd": 0.0,
            "saved_by_cache_usd": 0.0,
            "saved_by_prompt_cache_usd": 0.0,
            "cached_input_tokens": 0,
            "reasoning_share": 0.0,
        }
    )


def test_filter_options_keep_selected_values(db_path: Path) -> None:
    seed(db_path)
    options = charts.filter_options(UsageTracker(db_path), 1, {"user_id": ["carol"]})
    assert options == {"provider": [], "task_type": [], "user_id": ["carol"]}


# --- settings page ----------------------------------------------------------------------------------------------


def config() -> dict:
    path = Path(os.environ["CV_COPILOT_CONFIG"])
    return tomllib.loads(path.read_text()) if path.exists() else {}


def test_settings_renders_every_section() -> None:
    at = run(SETTINGS)
    assert [s.value for s in at.subheader] == [
        "Providers",
        "Task routing",
        "Routing strategy",
        "Price overrides",
        "Budgets",
        "Response cache",
        "Challenger routing (A/B)",
        "Usage data",
    ]
    at.button(key="save_providers").click().run()
    assert not at.exception
    assert config().get("providers", {}) == {}  # nothing edited, nothing written


def test_settings_never_shows_a_full_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    at = run(SETTINGS)
    text = page_text(at)
    assert SECRET not in text
    assert SECRET[:-4] not in text
    assert "WXYZ" in text  # the masked hint is there


def test_routing_save_and_reset_to_seed_defaults() -> None:
    at = run(SETTINGS)
    at.button(key="save_routing").click().run()
    assert not at.exception
    assert config()["routing"]["cv_parsing"] == "openai"
    assert "Saved task routing" in at.success[0].value
    at.button(key="reset_routing").click().run()
    assert not at.exception
    assert config().get("routing", {}) == {}
    from core.config import DEFAULT_TASK_ROUTING, get_settings

    assert dict(get_settings().task_routing) == DEFAULT_TASK_ROUTING


def test_session_key_stays_in_the_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import core.config

    written: list[tuple[str, str]] = []
    monkeypatch.setattr(core.config, "save_secret", lambda name, value, path=None: written.append((name, value)))
    at = run(SETTINGS)
    at.selectbox(key="key_provider").set_value("groq")
    at.text_input(key="key_value").set_value("gsk-session-only-key-1234")
    at.button(key="key_use").click().run()
    assert not at.exception
    assert at.session_state["session_keys"] == {"groq": "gsk-session-only-key-1234"}
    assert written == []
    assert "gsk-session-only-key-1234" not in page_text(at)
    assert "set for this session" in at.success[0].value


def test_session_key_saved_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.config

    written: list[tuple[str, str]] = []

    def fake_save(name: str, value: str, path: Path | None = None) -> Path:
        written.append((name, value))
        return Path("/somewhere/.streamlit/secrets.toml")

    monkeypatch.setattr(core.config, "save_secret", fake_save)
    at = run(SETTINGS)
    at.selectbox(key="key_provider").set_value("grok")
    at.text_input(key="key_value").set_value("xai-persisted-key-9876")
    at.checkbox(key="key_persist").check()
    at.button(key="key_use").click().run()
    assert not at.exception
    assert written == [("GROK_API_KEY", "xai-persisted-key-9876")]
    assert "saved to /somewhere/.streamlit/secrets.toml" in at.success[0].value


def test_empty_key_is_refused() -> None:
    at = run(SETTINGS)
    at.button(key="key_use").click().run()
    assert "Type a key first." in at.error[0].value
    assert "session_keys" not in at.session_state


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("local", "success"), ("openai", "error")],
)
def test_test_connection_gives_a_readable_result(provider: str, expected: str) -> None:
    at = run(SETTINGS)
    at.selectbox(key="test_provider").set_value(provider)
    at.button(key="test_connection").click().run()
    assert not at.exception
    if expected == "success":
        assert at.success[0].value.startswith("local answered in")
    else:
        assert at.error[0].value.startswith("openai: ")
        assert "Traceback" not in at.error[0].value


def test_budgets_and_challenger_are_saved() -> None:
    at = run(SETTINGS)
    at.selectbox(key="budget_policy").set_value("block")
    at.number_input(key="global_daily_usd").set_value(5.0)
    at.button(key="save_budgets").click().run()
    assert not at.exception
    assert config()["budgets"] == {"policy": "block", "global_daily_usd": 5.0}
    at.selectbox(key="challenger").set_value("groq")
    at.slider(key="challenger_pct").set_value(10.0)
    at.button(key="save_challenger").click().run()
    assert config()["router"] == {"challenger_provider": "groq", "challenger_percent": 10.0}
    from core.config import get_settings

    assert (get_settings().challenger_provider, get_settings().budgets.policy) == ("groq", "block")


def test_delete_usage_needs_confirmation(db_path: Path) -> None:
    seed(db_path)
    at = run(SETTINGS)
    assert at.button(key="delete_usage").disabled
    at.checkbox(key="confirm_delete").check().run()
    assert not at.button(key="delete_usage").disabled
    at.button(key="delete_usage").click().run()
    assert not at.exception
    assert "Deleted 3 usage records." in at.success[0].value
    assert UsageTracker(db_path).get_usage_stats(hours=None)["total_requests"] == 0


def test_clear_cache() -> None:
    at = run(SETTINGS)
    at.button(key="clear_cache").click().run()
    assert not at.exception
    assert at.success[0].value == "Removed 0 cached answers."


# --- dashboard v2: alerts, forecast, request detail, export -------------------------------------------------------


def write_config(text: str) -> None:
    Path(os.environ["CV_COPILOT_CONFIG"]).write_text(text, encoding="utf-8")


def test_usage_shows_budget_alerts_and_acknowledges_them(db_path: Path) -> None:
    from core.alerts import Alert, AlertStore

    seed(db_path)
    store = AlertStore(db_path)
    now = time.time()
    for threshold in ("50%", "80%"):
        store.claim(Alert("global monthly", "global", "2026-11", threshold, 0.8, 1.0, 1.6, now))
    at = run(USAGE)
    open_alerts = [w.value for w in at.warning if "global monthly budget" in w.value]
    assert 2 == len(open_alerts)
    assert "reached 80%: $0.8000 of $1.00 (2026-11)" in open_alerts[0]
    first = store.alerts()[0]
    at.button(key=f"alert_ack_{first.id}").click().run()
    assert not at.exception
    assert 1 == len([w for w in at.warning if "global monthly budget" in w.value])
    at.button(key="alerts_ack_all").click().run()
    assert [] == [w for w in at.warning if "global monthly budget" in w.value]
    assert [] == store.alerts(unacknowledged_only=True)


def test_usage_forecasts_each_budget_in_a_sentence(db_path: Path) -> None:
    seed(db_path)  # $0.40 today
    write_config("[budgets]\nglobal_monthly_usd = 1.0\nglobal_daily_usd = 0.5\n")
    at = run(USAGE)
    sentences = [m.value for m in at.markdown if m.value.startswith("**Global")]
    assert 2 == len(sentences), [m.value for m in at.markdown]
    assert any(s.startswith("**Global monthly**: At this rate") for s in sentences)
    assert not [c for c in page_charts(at) if "spend and forecast" in c.spec]  # no separate chart


def test_usage_request_detail_shows_one_call_in_full(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    pick = at.selectbox(key="usage_detail_call")
    gemini = next(i for i, label in enumerate(pick.options) if "gemini" in label)
    pick.set_value(gemini).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Field" in d.value.columns)
    detail = dict(zip(table["Field"], table["Value"], strict=True))
    assert "openai → gemini" == detail["Fallback chain"]
    assert ("gemini", "cover_letter", "no") == (detail["Provider"], detail["Task"], detail["Cache hit"])
    assert {"Route reason", "Outcome", "Cached input tokens", "Reasoning tokens", "Price source"} <= set(detail)


def test_recent_calls_have_human_column_names(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    spec = page_text(at)
    for label in ("Time (UTC)", "Input tokens", "Fallback chain", "Cache hit"):
        assert label in spec


def test_export_has_no_silent_cap(db_path: Path) -> None:
    tracker = UsageTracker(db_path)
    now = time.time()
    rows = [
        {"task_type": "cv_parsing", "provider": "openai", "model": "gpt-4o", "cost_usd": 0.001, "ts": now - i}
        for i in range(12_345)
    ]
    tracker.record_many(rows)
    lines = charts.export_csv(tracker, 24, {}).decode().splitlines()
    assert 12_345 + 1 == len(lines)


def test_headline_metrics_compare_with_the_previous_period(db_path: Path) -> None:
    seed(db_path)  # three calls 2-3 h ago, $0.40
    UsageTracker(db_path).record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=10, output_tokens=10,
        cost_usd=0.8, success=True, ts=time.time() - 30 * 3600,
    )  # fmt: skip
    at = run(USAGE)
    deltas = {label: tile["delta"] for label, tile in headline(at).items()}
    assert "+200% vs previous period" == deltas["Requests"]  # 3 now, 1 in the 24 h before
    assert "-50% vs previous period" == deltas["Cost (last 24 h)"]  # $0.40 now, $0.80 before
    assert "new" == deltas["Failed"]
    at.selectbox(key="usage_window").set_value("All time").run()
    assert {""} == {tile["delta"] for tile in headline(at).values()}  # all time has no previous period


@pytest.mark.parametrize(
    ("now", "before", "text"),
    [(0, 0, None), (5, 0, "new"), (3, 1, "+200% vs previous period"), (1, 2, "-50% vs previous period"),
     (2, 2, "+0% vs previous period")],
)  # fmt: skip
def test_change_text(now: float, before: float, text: str | None) -> None:
    assert text == charts.change_text(now, before)


def test_previous_period_subtracts_this_window_from_the_doubled_one() -> None:
    prev = charts.previous_period(
        {"total_requests": 3, "cost_usd": 0.4, "total_cost_all_time": 1.2},
        {"total_requests": 4, "cost_usd": 1.2, "total_cost_all_time": 1.2},
    )
    assert (1, pytest.approx(0.8), pytest.approx(0.8)) == (
        prev["total_requests"], prev["cost_usd"], prev["avg_cost_per_call"]
    )  # fmt: skip


# --- dashboard v2: range, granularity, click-to-filter, forecast on the cost chart, cosmetics -------------------

from datetime import UTC, datetime, timedelta  # noqa: E402

from tests.usage_page import click  # noqa: E402

#: Ages (seconds before now) of one $1 call each: inside the last hour, day, week, month, and older.
AGES = (10 * 60, 5 * 3600, 3 * 86_400, 20 * 86_400, 45 * 86_400, 200 * 86_400)


def seed_ages(db: Path, now: float) -> None:
    tracker = UsageTracker(db)
    for i, age in enumerate(AGES):
        tracker.record_usage(
            task_type="cv_parsing", provider="openai" if i % 2 else "gemini", model="m", input_tokens=10,
            output_tokens=5, cost_usd=1.0, success=True, user_id="alice", latency_ms=100, ts=now - age,
        )  # fmt: skip
    tracker.close()


def spec(at: AppTest, title: str) -> dict:
    return next(c.figure for c in page_charts(at) if title in c.spec)


@pytest.mark.parametrize(
    ("preset", "calls"),
    [("Last 1 h", 1), ("Last 24 h", 2), ("Last 7 d", 3), ("Last 30 d", 4), ("All time", 6), ("This month", None)],
)
def test_range_presets_count_the_calls_in_the_range(db_path: Path, preset: str, calls: int | None) -> None:
    now = time.time()
    seed_ages(db_path, now)
    if calls is None:  # this month: the calls since the 1st, 00:00 UTC
        first = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        calls = sum(1 for age in AGES if now - age >= first.timestamp())
    at = run(USAGE)
    at.selectbox(key="usage_window").set_value(preset).run()
    assert not at.exception
    shown = metrics(at)
    assert (str(calls), f"${calls:.2f}") == (shown["Requests"], shown[f"Cost ({preset.lower()})"])
    assert calls == len(at.dataframe[0].value)


def test_custom_range_takes_whole_days_and_compares_with_the_days_before(db_path: Path) -> None:
    now = time.time()
    seed_ages(db_path, now)
    day = datetime.fromtimestamp(now - 20 * 86_400, UTC).date()  # the 20-day-old call's day, alone
    at = run(USAGE)
    at.selectbox(key="usage_window").set_value("Custom range").run()
    at.date_input(key="usage_custom_range").set_value((day, day)).run()
    assert not at.exception
    shown = metrics(at)
    label = f"Cost ({day:%b %d, %Y} – {day:%b %d, %Y})".replace(f"{day:%b}", f"{day:%b}".lower())
    assert ("1", "$1.00", "hour") == (shown["Requests"], shown[label], at.selectbox(key="usage_granularity").value)
    assert headline(at)["Requests"]["delta"] == "new"  # nothing the day before
    week = (day - timedelta(days=30), day + timedelta(days=1))
    at.date_input(key="usage_custom_range").set_value(week).run()
    assert ("2", "day") == (metrics(at)["Requests"], at.selectbox(key="usage_granularity").value)


def test_granularity_defaults_from_the_range_and_can_be_changed(db_path: Path) -> None:
    seed_ages(db_path, time.time())
    at = run(USAGE)
    grain = at.selectbox(key="usage_granularity")
    assert ("hour", "%H:%M<br>%b %d") == (grain.value, spec(at, "Cost over time")["layout"]["xaxis"]["tickformat"])
    grain.set_value("day").run()
    assert "%b %d" == spec(at, "Cost over time")["layout"]["xaxis"]["tickformat"]
    assert "day" == at.selectbox(key="usage_granularity").value  # kept across reruns of the same range
    at.selectbox(key="usage_window").set_value("All time").run()
    assert ("week", ["day", "week", "month"]) == (
        at.selectbox(key="usage_granularity").value,
        at.selectbox(key="usage_granularity").options,
    )  # 200 days: a new range gets its own default; hours would be thousands of bars, so not offered
    at.selectbox(key="usage_granularity").set_value("month").run()
    bars = [t for t in spec(at, "Cost over time")["data"] if t["type"] == "bar"]
    months = {c[1] for t in bars for c in t["customdata"]}
    assert all(m[8:10] == "01" for m in months) and 3 <= len(months) <= 5  # the calendar months with calls


def test_clicking_a_provider_bar_filters_the_calls_table(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    click(at, "Cost by provider", {"curve_number": 0, "point_number": 1, "x": "gemini",
                                   "customdata": ["provider", "gemini"]})  # fmt: skip
    assert ["gemini"] == list(at.dataframe[0].value["provider"])
    assert any("provider gemini" in i.value for i in at.info)
    assert "3" == metrics(at)["Requests"]  # the click narrows the table, not the page
    at._tree.get_widget_states = type(at._tree).get_widget_states.__get__(at._tree)  # the browser forgets the click
    at.button(key="usage_drill_clear").click().run()
    assert 3 == len(at.dataframe[0].value)
    assert not any("provider gemini" in i.value for i in at.info)


def test_clicking_a_time_bucket_lists_the_calls_of_that_bucket(db_path: Path) -> None:
    now = time.time()
    seed_ages(db_path, now)
    at = run(USAGE)
    at.selectbox(key="usage_window").set_value("All time").run()
    at.selectbox(key="usage_granularity").set_value("day").run()
    bucket = datetime.fromtimestamp(now - 3 * 86_400, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    click(at, "Cost over time", {"customdata": ["time", bucket.isoformat(), ""]})
    table = at.dataframe[0].value
    assert 1 == len(table)
    assert table["time"][0].startswith(bucket.date().isoformat())
    click(at, "Cost over time", {"customdata": ["time", bucket.isoformat(), "openai"]})
    assert 0 == len(at.dataframe[0].value)  # that day's call (the third of AGES) went to gemini, not openai


def test_a_click_outside_the_filters_shows_no_calls(db_path: Path) -> None:
    seed(db_path)
    at = run(USAGE)
    at.multiselect(key="usage_provider").set_value(["openai"]).run()
    at.session_state["usage_drill"] = charts.Drill((("provider", "gemini"),), label="provider gemini")
    at.run()
    assert 0 == len(at.dataframe[0].value)


def seed_history(db: Path, now: float, days: int = 21) -> None:
    """$0.10 a day on weekdays, nothing at weekends, for three weeks: a history the weekday forecast can use."""
    tracker = UsageTracker(db)
    for back in range(1, days + 1):
        ts = now - back * 86_400
        if datetime.fromtimestamp(ts, UTC).weekday() < 5:
            tracker.record_usage(
                task_type="cv_parsing", provider="openai", model="m", input_tokens=10, output_tokens=5,
                cost_usd=0.1, success=True, user_id="alice", ts=ts,
            )  # fmt: skip
    tracker.close()


def test_the_cost_chart_carries_the_forecast_and_the_budget_line(db_path: Path) -> None:
    seed_history(db_path, time.time())
    write_config("[budgets]\nglobal_monthly_usd = 9.0\n")
    at = run(USAGE)
    at.selectbox(key="usage_window").set_value("Last 30 d").run()
    chart = spec(at, "Cost over time")
    lines = {t["name"]: t for t in chart["data"] if t["type"] == "scatter"}
    assert {"forecast (linear)", "forecast (day-of-week aware)", "global monthly budget ($9.00)"} <= set(lines)
    assert [9.0, 9.0] == lines["global monthly budget ($9.00)"]["y"]
    assert all(t["yaxis"] == "y2" for t in lines.values())
    month_end = datetime.fromtimestamp(time.time(), UTC).replace(day=28) + timedelta(days=4)
    x_end = chart["layout"]["xaxis"]["range"][1]
    assert x_end[:7] == month_end.replace(day=1).isoformat()[:7]  # the axis reaches the period's end
    forecast = next(m.value for m in at.markdown if m.value.startswith("**Forecast**"))
    assert "At this rate" in forecast and "of $9.00 (day-of-week aware)" in forecast


def test_a_short_range_forecasts_the_daily_budget(db_path: Path) -> None:
    seed(db_path)
    write_config("[budgets]\nglobal_daily_usd = 0.5\n")
    at = run(USAGE)
    names = [t.get("name") for t in spec(at, "Cost over time")["data"]]
    assert "global daily budget ($0.50)" in names


def test_a_short_range_without_a_daily_budget_has_no_forecast(db_path: Path) -> None:
    seed(db_path)
    write_config("[budgets]\nglobal_monthly_usd = 5.0\n")
    at = run(USAGE)  # last 24 h, no daily budget: a month's forecast would squash the day's bars; none drawn
    assert not [t for t in spec(at, "Cost over time")["data"] if t["type"] == "scatter"]


def test_a_past_custom_range_has_no_forecast(db_path: Path) -> None:
    seed_history(db_path, time.time())
    write_config("[budgets]\nglobal_monthly_usd = 1.0\n")
    at = run(USAGE)
    at.selectbox(key="usage_window").set_value("Custom range").run()
    day = datetime.now(UTC).date() - timedelta(days=5)
    at.date_input(key="usage_custom_range").set_value((day - timedelta(days=10), day)).run()
    assert not [t for t in spec(at, "Cost over time")["data"] if t["type"] == "scatter"]


def test_only_free_calls_keep_cost_axes_at_zero(db_path: Path) -> None:
    tracker = UsageTracker(db_path)
    for _ in range(3):
        tracker.record_usage(
            task_type="fast_summary", provider="local", model="offline", input_tokens=5, output_tokens=5,
            cost_usd=0.0, success=True,
        )  # fmt: skip
    tracker.close()
    at = run(USAGE)
    for title in ("Cost by provider", "Cost by task", "Cost over time"):
        assert [0, 1] == spec(at, title)["layout"]["yaxis"]["range"], title


def test_a_single_bucket_gets_clean_ticks(db_path: Path) -> None:
    UsageTracker(db_path).record_usage(
        task_type="fast_summary", provider="openai", model="m", input_tokens=5, output_tokens=5, cost_usd=0.01,
        success=True,
    )  # fmt: skip
    at = run(USAGE)
    at.selectbox(key="usage_window").set_value("Last 1 h").run()
    for title in ("Cost over time", "Tokens over time"):
        axis = spec(at, title)["layout"]["xaxis"]
        assert ("5 min", "%H:%M<br>%b %d", "date") == (
            at.selectbox(key="usage_granularity").value, axis["tickformat"], axis["type"]
        )  # fmt: skip
        assert axis["title"]["text"] == "Time (UTC), per 5 minutes"


def test_big_metrics_are_compact_with_the_exact_value_in_help(db_path: Path) -> None:
    UsageTracker(db_path).record_usage(
        task_type="cv_parsing", provider="openai", model="m", input_tokens=48_007_123, output_tokens=1_234,
        cost_usd=123_456.78, success=True,
    )  # fmt: skip
    at = run(USAGE)
    tiles = headline(at)
    assert ("48.0M / 1,234", "48.0M", "$123.5k") == (
        tiles["Tokens in / out"]["value"], tiles["Total tokens"]["value"], tiles["Cost (last 24 h)"]["value"]
    )  # fmt: skip
    assert "48,007,123" in tiles["Tokens in / out"]["exact"]
    assert "$123,456.780000" == tiles["Cost (last 24 h)"]["exact"]


def test_dashboard_range_sums_equal_the_raw_rows(db_path: Path) -> None:
    now = time.time()
    seed_ages(db_path, now)
    tracker = UsageTracker(db_path)
    rng = charts.resolve_range("Custom range", now, (
        datetime.fromtimestamp(now - 50 * 86_400, UTC).date(), datetime.fromtimestamp(now - 86_400, UTC).date()
    ))  # fmt: skip
    dash = charts.load_dashboard(tracker, rng, {}, granularity="week")
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        raw = conn.execute(
            "SELECT COUNT(*), SUM(cost_usd) FROM usage WHERE ts >= ? AND ts < ?", (rng.since, rng.until)
        ).fetchone()
    assert (raw[0], raw[1]) == (dash.stats["total_requests"], dash.stats["cost_usd"])
    assert raw[0] == int(dash.timeseries["requests"].sum()) == int(dash.by_provider["requests"].sum())
    assert raw[0] == len(charts.drilled_calls(tracker, rng, {}))
    assert raw[0] + 1 == len(charts.export_csv(tracker, rng, {}).decode().splitlines())


@pytest.mark.parametrize(("user", "limit"), [("rare", 3), ("rare", 50), ("busy", 7), ("nobody", 5)])
def test_filtered_recent_calls_are_the_newest_matching_rows(db_path: Path, user: str, limit: int) -> None:
    """The calls table of a filtered view starts its walk at the newest days that hold enough rows: it must still
    return exactly the newest matching rows, across days, and all of them when there are fewer."""
    now = time.time()
    tracker = UsageTracker(db_path)
    rows = [
        {"task_type": "cv_parsing", "provider": "openai", "model": "m", "cost_usd": 0.001, "user_id": "busy",
         "ts": now - i * 600}
        for i in range(400)
    ] + [
        {"task_type": "cv_parsing", "provider": "gemini", "model": "m", "cost_usd": 0.001, "user_id": "rare",
         "ts": now - d * 86_400 - 7}
        for d in (0, 2, 5, 9, 30)
    ]  # fmt: skip
    tracker.record_many(rows)
    expected = sorted((r["ts"] for r in rows if r["user_id"] == user), reverse=True)[:limit]
    got = [r["ts"] for r in tracker.dashboard.recent_calls(limit, None, user_id=[user])]
    assert expected == pytest.approx(got)
