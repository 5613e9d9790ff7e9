"""Usage dashboard: where the money goes, by provider, task, user and time.

Thin page: the tracker aggregates in SQL, core.charts shapes frames and builds figures; this file only lays them out.
What the analyst reads first is always drawn: the range and filters, the headline against the previous period and the
cost over time with its forecast and budget line. Everything else sits in sections (`ui.usage_data.SECTIONS`) that
run and draw only while open, so a new session pays for what is shown; a click on a chart opens **Recent calls**.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import streamlit as st

from core import ab, charts
from core.usage_tracker import get_usage_tracker
from ui import plotly_lite, state
from ui import usage_data as data
from ui.usage_data import Custom

_PLOTLY_CONFIG = {"displaylogo": False}
_CUSTOM = "Custom range"


def _chart(fig: Any, key: str, clickable: bool = False) -> None:
    """A chart; a clickable one filters the calls table to the bar or point clicked (see `_on_select`). Every chart
    of this page is bars and lines, drawn by plotly.js's basic bundle (`ui.plotly_lite`), a quarter of the full one
    that `st.plotly_chart` loads; a figure with another kind of trace would still be drawn, by `st.plotly_chart`."""
    if not plotly_lite.drawable(fig):
        st.plotly_chart(fig, width="stretch", key=key, config=_PLOTLY_CONFIG)
        return
    plotly_lite.chart(fig, key, config=_PLOTLY_CONFIG, on_click=(lambda: _on_select(key)) if clickable else None)


def _on_select(key: str) -> None:
    """A click on a chart: its point becomes the calls table's filter (a click on nothing usable keeps the old one)."""
    event = st.session_state.get(key)
    points = list(event["selection"]["points"]) if event else []
    drill = charts.drill_from_selection(points, st.session_state.get("usage_granularity") or "day")
    if drill is not None:
        st.session_state["usage_drill"] = drill
        st.session_state[data.CALLS_SECTION] = True  # the calls it filters are what the click asked to see


def _clear_drill() -> None:
    st.session_state["usage_drill"] = None


def render_range(db_path: str, version: tuple[Any, ...]) -> tuple[str, Custom, str]:
    """Date range (presets or two dates) and granularity; the granularity resets to the range's default whenever the
    range changes, and only granularities giving at most charts.MAX_BUCKETS buckets are offered."""
    range_col, custom_col, grain_col = st.columns([1.2, 1.6, 1])
    presets = list(charts.RANGE_PRESETS)
    preset = range_col.selectbox(
        "Date range", presets, index=presets.index(data.DEFAULT_WINDOW), key="usage_window", help="All times are UTC."
    )
    custom: Custom = None
    if preset == _CUSTOM:
        today = datetime.now(UTC).date()
        picked = custom_col.date_input(
            "From – to (UTC, both days included)",
            value=(today - timedelta(days=6), today),
            max_value=today,
            key="usage_custom_range",
            format="YYYY-MM-DD",
        )
        days = [d for d in (picked if isinstance(picked, tuple | list) else [picked]) if isinstance(d, date)]
        if days:  # while the second date is not picked yet, the range is the first day alone
            custom = (min(days), max(days))
    now = time.time()
    span = data.time_range(preset, custom).span_seconds(now, data.first_ts(db_path, version))
    choices = charts.granularity_choices(span)
    range_key = (preset, custom)
    if (
        st.session_state.get("_usage_granularity_for") != range_key
        or st.session_state.get("usage_granularity") not in choices
    ):
        st.session_state["usage_granularity"] = charts.default_granularity(span)
        st.session_state["_usage_granularity_for"] = range_key
    granularity = grain_col.selectbox(
        "Granularity", choices, key="usage_granularity", help="The size of one bar or point on the time charts."
    )
    return preset, custom, str(granularity)


def render_filters(options: dict[str, list[str]]) -> dict[str, list[str]]:
    """Provider/task/user filters; the options are the values seen in the range."""
    provider_col, task_col, user_col = st.columns([1, 1, 1])
    providers = provider_col.multiselect("Provider", options["provider"], key="usage_provider", placeholder="All")
    tasks = task_col.multiselect("Task", options["task_type"], key="usage_task_type", placeholder="All")
    users = user_col.multiselect("User", options["user_id"], key="usage_user_id", placeholder="All")
    return {"provider": providers, "task_type": tasks, "user_id": users}


def render_empty_state() -> None:
    st.info(
        "**No AI calls recorded yet.** Every call the app makes (parse a CV, tailor it, write a cover letter, "
        "score a match) is recorded here with its provider, tokens, cost and latency; never the text itself.\n\n"
        "Try the **CV** page, or fill a demo database from a terminal: `python -m core demo-db --rows 10000`.",
        icon="📭",
    )


def render_headline(dash: charts.Dashboard, window_label: str, previous: dict[str, float] | None = None) -> None:
    """The eight headline figures, each against the previous period of equal length, as one element (hover a
    figure for its exact value)."""
    st.markdown(charts.tiles_html(charts.headline_tiles(dash.headline, previous, window_label)), unsafe_allow_html=True)


def sections() -> dict[str, Any]:
    """The page's sections as expanders, by key: each one's `.open` says whether its content is run and drawn."""
    return {
        key: st.expander(label, expanded=expanded, key=key, on_change="rerun") for key, label, expanded in data.SECTIONS
    }


def render_cost_time(figs: Mapping[str, Any], forecast: Any | None) -> None:
    _chart(figs["cost_time"], "chart_cost_time", clickable=True)
    if forecast is not None:
        budget = f"{forecast.budget} budget"
        said = dict.fromkeys(f.sentence(budget) for f in (forecast.weekday, forecast.linear))
        st.markdown(f"**Forecast** ({forecast.budget} period, every provider and task): " + " ".join(said))
    st.caption("Click a bar or a point on any chart to list its calls under **Recent calls**.")


def render_breakdown(figs: Mapping[str, Any]) -> None:
    left, right = st.columns(2)
    with left:
        _chart(figs["cost_provider"], "chart_cost_provider", clickable=True)
    with right:
        _chart(figs["cost_task"], "chart_cost_task", clickable=True)
    _chart(figs["tokens_time"], "chart_tokens_time", clickable=True)


def render_reliability(figs: Mapping[str, Any]) -> None:
    left, right = st.columns(2)
    with left:
        _chart(figs["success"], "chart_success", clickable=True)
    with right:
        _chart(figs["latency"], "chart_latency", clickable=True)
        st.caption("Latency over calls that reached a provider (cache hits excluded).")


def render_users(figs: Mapping[str, Any]) -> None:
    _chart(figs["users"], "chart_users", clickable=True)


def render_savings(dash: charts.Dashboard, figs: Mapping[str, Any]) -> None:
    saved = dash.savings
    cols = st.columns(4)
    cols[0].metric("Actual cost", charts.format_usd(saved["actual_cost_usd"]))
    cols[1].metric("On each task's default provider", charts.format_usd(saved["baseline_cost_usd"]))
    cols[2].metric("Saved by routing", charts.format_usd(saved["saved_usd"]))
    cols[3].metric("Saved by the cache", charts.format_usd(saved["saved_by_cache_usd"]))
    kinds = st.columns(4)
    kinds[0].metric("Saved by prompt caching", charts.format_usd(saved["saved_by_prompt_cache_usd"]))
    kinds[1].metric("Cached input tokens", f"{int(saved['cached_input_tokens']):,}")
    kinds[2].metric("Reasoning share of output", f"{saved['reasoning_share']:.0%}")
    st.caption(
        "The baseline prices the same tokens on the provider each task goes to by default. The difference comes "
        "from optimise-cost, fallbacks to cheaper providers and the free offline engine; cache hits cost nothing. "
        "Prompt caching is the providers' own: cached input billed at their cached rate."
    )
    _chart(figs["savings"], "chart_savings", clickable=True)


def render_budgets(users: list[str]) -> None:
    """A gauge per budget line: the one selected user's lines and the global ones, or the global ones alone."""
    router = state.router()
    if not router.settings.budgets.any_set:
        st.info(
            "**No budget is set.** Cap what AI calls may cost, for everyone or per user, per day or per month, "
            "on the **Settings** page (⚙️ in the sidebar).",
            icon="💰",
        )
        return
    user = users[0] if len(users) == 1 else None
    try:
        lines = router.budget.status(user or state.DEFAULT_USER)
    except Exception as exc:  # noqa: BLE001 - the rest of the dashboard still draws
        st.caption(f"Budget status unavailable: {exc}")
        return
    if user is None:
        lines = [line for line in lines if line.scope.startswith("global")]
    scope_note = f"**{user}** and everyone" if user else "everyone; pick one user in the filter to see their own"
    st.caption(
        f"Spend in the current day and month (UTC), not the window above, for {scope_note}. Calls in flight count "
        f"too. When a budget is reached the router {_policy_text(router.settings.budgets.policy)}."
    )
    if not lines:
        st.info("No budget applies to everyone. Select a single user to see their budget.", icon="👤")
        return
    for column, (i, line) in zip(st.columns(len(lines)), enumerate(lines), strict=True):
        with column:
            _chart(charts.budget_gauge(**dataclasses.asdict(line)), f"chart_budget_{i}")
    render_forecasts(router, lines, user)
    for line in lines:
        level = charts.budget_level(line.fraction)
        used = line.spent_usd + line.reserved_usd
        text = f"{line.scope.capitalize()} budget at {line.fraction:.0%}: ${used:.4f} of ${line.limit_usd:.2f}"
        if level == "over":
            st.error(f"{text}. It is spent; it resets {line.resets_at}.", icon="🛑")
        elif level == "warning":
            st.warning(f"{text}. It resets {line.resets_at}.", icon="⚠️")


def render_budgets_and_alerts(users: list[str]) -> None:
    render_budgets(users)
    render_alerts()


def render_forecasts(router: Any, lines: list[Any], user: str | None) -> None:
    """Per budget line: where this period's spend ends at this rate (day-of-week aware). The monthly one is also
    drawn on the cost-over-time chart, against its limit."""
    from core.budget import period_end, period_start
    from core.forecast import weekday_forecast

    tracker = get_usage_tracker()
    version = data.data_version(tracker)
    now = time.time()
    for line in lines:
        period = "daily" if "daily" in line.scope else "monthly"
        who = None if line.scope.startswith("global") else (user or state.DEFAULT_USER)
        start, end = period_start(period, now), period_end(period, now).timestamp()
        daily = data.daily_spend(str(tracker.db_path), who, version)
        forecast = weekday_forecast(daily, start, end, now, line.limit_usd)
        st.markdown(f"**{line.scope.capitalize()}**: {forecast.sentence(f'{line.scope} budget')}")


def cost_forecast(rng: charts.TimeRange, span_seconds: float, users: list[str]) -> charts.SpendForecast | None:
    """The budget period the cost chart forecasts: for a range ending now, the monthly one (the daily one for a
    range of two days or less, when a daily budget is set), against the selected user's or the global limit."""
    if rng.until is not None:
        return None
    router = state.router()
    user = users[0] if len(users) == 1 else None
    try:
        lines = router.budget.status(user or state.DEFAULT_USER) if router.settings.budgets.any_set else []
    except Exception:  # noqa: BLE001 - the chart still draws, without a budget line
        lines = []
    lines = [line for line in lines if (user is not None) == line.scope.startswith("user")] or [
        line for line in lines if line.scope.startswith("global")
    ]
    daily = [line for line in lines if "daily" in line.scope]
    monthly = [line for line in lines if "monthly" in line.scope]
    line: Any = None
    if span_seconds <= 2 * 86_400:
        if not daily:
            return None
        line, period = daily[0], "daily"
    else:
        line, period = (monthly[0] if monthly else None), "monthly"
    scope = line.scope if line is not None else ("user monthly" if user else "global monthly")
    who = user if scope.startswith("user") else None
    tracker = get_usage_tracker()
    limit = line.limit_usd if line is not None else None
    return data.spend_forecast(str(tracker.db_path), period, limit, who, scope, data.data_version(tracker))


def render_alerts() -> None:
    """Budget alerts recorded by the alerts thread (core.alerts): open ones first, each acknowledgeable."""
    from core.alerts import alert_store

    st.markdown("**Budget alerts**")
    try:
        store = alert_store(get_usage_tracker().db_path)
        alerts = store.alerts()
    except Exception as exc:  # noqa: BLE001 - the rest of the dashboard still draws
        st.caption(f"Alerts unavailable: {exc}")
        return
    if not alerts:
        st.caption(
            "No budget alert yet. Alerts fire at the `[alerts] thresholds` of each budget (50%, 80%, 100% "
            "by default) and when spend is forecast to pass it; set `webhook_url` to have them posted too."
        )
        return
    open_alerts = [a for a in alerts if a.acknowledged_at is None]
    if open_alerts and st.button(f"Acknowledge all ({len(open_alerts)})", key="alerts_ack_all"):
        store.acknowledge()
        st.rerun()
    for alert in open_alerts:
        text, button = st.columns([5, 1])
        text.warning(alert.message(), icon="🔔")
        if button.button("Acknowledge", key=f"alert_ack_{alert.id}"):
            store.acknowledge(alert.id)
            st.rerun()
    done = [a for a in alerts if a.acknowledged_at is not None]
    if done:
        with st.expander(f"Acknowledged ({len(done)})"):
            for alert in done:
                st.caption(f"{alert.message()} · webhook: {alert.webhook_status}")


def _policy_text(policy: str) -> str:
    if policy == "block":
        return "refuses further paid calls until it resets"
    return "moves on to cheaper providers, down to the free offline engine"


def render_ab(db_path: str, rng: charts.TimeRange, filters: dict[str, list[str]]) -> None:
    """Win rate per provider per task and cost per win, from the votes on the Compare providers page cast in the
    range (a range that ended in the past leaves out the votes after it)."""
    users = filters["user_id"]
    window_label = rng.label
    try:
        rows = ab.get_vote_store(db_path).win_rates(
            since=rng.since, until=rng.until, user_id=users[0] if len(users) == 1 else None
        )
    except Exception as exc:  # noqa: BLE001 - the rest of the dashboard still draws
        st.caption(f"Votes unavailable: {exc}")
        return
    frame = charts.ab_table(rows, providers=filters["provider"], tasks=filters["task_type"])
    if frame.empty:
        st.info(
            f"**No votes in this view ({window_label.lower()}).** On **Compare providers**, run one task on "
            "several providers side by side and vote for the best answer: win rates and cost per win build up here.",
            icon="⚖️",
        )
        return
    who = f"votes of **{users[0]}**" if len(users) == 1 else "votes of every user"
    st.caption(
        f"From the {who} in this range. Win rate is wins over comparisons (a tie is a comparison without a win); "
        "cost per win is what a provider cost across its comparisons, divided by its wins."
    )
    _chart(charts.win_rates_chart(frame), "chart_ab")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="ab_table",
        column_config={
            "win_rate": st.column_config.NumberColumn("win rate", format="percent"),
            "cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.6f"),
            "cost_per_win": st.column_config.NumberColumn("cost per win", format="$%.6f"),
            "avg_latency_ms": st.column_config.NumberColumn("avg latency (ms)", format="%.0f"),
        },
    )


def render_recent_calls(
    rows: list[dict[str, Any]], drill: charts.Drill | None, tracker: Any, rng: charts.TimeRange, filters: dict[str, Any]
) -> None:
    if drill is not None:
        note, clear = st.columns([5, 1])
        note.info(f"Showing the calls of **{drill.label}** (from your click on a chart).", icon="🔎")
        clear.button("Clear filter", key="usage_drill_clear", on_click=_clear_drill, icon="✖️")
    st.caption(f"The newest {len(rows):,} calls in this view: metadata only, never prompt or answer text.")
    st.dataframe(
        charts.calls_frame(rows),
        hide_index=True,
        width="stretch",
        height=320,
        column_config={
            **{name: label for name, label in charts.CALL_LABELS.items()},
            "cost_usd": st.column_config.NumberColumn(charts.CALL_LABELS["cost_usd"], format="$%.6f"),
            "baseline_cost_usd": st.column_config.NumberColumn(charts.CALL_LABELS["baseline_cost_usd"], format="$%.6f"),
            "saved_cost_usd": st.column_config.NumberColumn(charts.CALL_LABELS["saved_cost_usd"], format="$%.6f"),
            "latency_ms": st.column_config.NumberColumn(charts.CALL_LABELS["latency_ms"], format="%.0f"),
        },
    )
    render_request_detail(rows[:50])
    st.download_button(
        "Download CSV of the filtered calls",
        data=lambda: charts.export_csv(tracker, rng, filters),
        file_name=f"cv-copilot-usage-{rng.label.lower().replace(' ', '-')}.csv",
        mime="text/csv",
        on_click="ignore",
        icon="⬇️",
        help="Every call in the range and filters (not narrowed by a chart click), newest first: no row left out.",
    )


#: What the request detail view shows, in order: (label, row key).
_DETAIL_FIELDS = (
    ("Time (UTC)", "time"),
    ("User", "user_id"),
    ("Task", "task_type"),
    ("Provider", "provider"),
    ("Model", "model"),
    ("Outcome", "outcome"),
    ("Finish reason", "finish_reason"),
    ("Error", "error_kind"),
    ("Route reason", "route_reason"),
    ("Fallback chain", "fallback_chain"),
    ("Cache hit", "cached"),
    ("Input tokens", "input_tokens"),
    ("Cached input tokens", "cached_input_tokens"),
    ("Cache-write tokens", "cache_write_tokens"),
    ("Output tokens", "output_tokens"),
    ("Reasoning tokens", "reasoning_tokens"),
    ("Tokens estimated", "tokens_estimated"),
    ("Cost", "cost_usd"),
    ("Saved by prompt caching", "cache_saved_usd"),
    ("Price estimated", "price_estimated"),
    ("Latency (ms)", "latency_ms"),
    ("Request id", "request_id"),
)


def render_request_detail(rows: list[dict[str, Any]]) -> None:
    """One request in full: its attempts (the fallback chain), tokens by kind, price source, cache, route reason."""
    if not rows:
        return
    labels = [f"{r['time']} · {r['task_type']} · {r['provider']} · ${float(r['cost_usd'] or 0):.6f}" for r in rows]
    detail = st.expander("Request detail", key="usage_open_detail", on_change="rerun")
    if not detail.open:
        return
    with detail:
        pick = st.selectbox("Call", range(len(rows)), format_func=lambda i: labels[i], key="usage_detail_call")
        row = rows[int(pick or 0)]
        price_source = "estimated (no price known for the model)" if row.get("price_estimated") else "price table"
        table = [{"Field": label, "Value": _detail_text(row.get(key))} for label, key in _DETAIL_FIELDS if key in row]
        table.append({"Field": "Price source", "Value": price_source})
        st.dataframe(table, hide_index=True, width="stretch", key="usage_detail_table")


def _detail_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " → ".join(str(v) for v in value) or "—"
    if isinstance(value, float):
        return f"{value:,.6f}".rstrip("0").rstrip(".")
    return str(value)


def render_open_alerts_note() -> None:
    """Open budget alerts stay in sight while their section is closed: one line, with a button that opens it."""
    from core.alerts import alert_store

    if st.session_state.get(_BUDGETS_SECTION):  # the open section lists them: one read of the store, not two
        return
    try:
        waiting = sum(1 for a in alert_store(get_usage_tracker().db_path).alerts() if a.acknowledged_at is None)
    except Exception:  # noqa: BLE001 - the section itself says why alerts are unavailable
        return
    if not waiting:
        return
    note, show = st.columns([5, 1])
    note.warning(f"**{waiting} budget alert{'s' if waiting > 1 else ''} open**: see **Budgets and alerts**.", icon="🔔")
    show.button("Show alerts", key="usage_show_alerts", on_click=_open_section, args=(_BUDGETS_SECTION,))


_BUDGETS_SECTION = "usage_open_budgets"


def _open_section(key: str) -> None:
    st.session_state[key] = True


def main() -> None:
    st.title("📊 Usage")
    tracker = get_usage_tracker()
    version = data.data_version(tracker)
    if version[0] is None:  # a friendly note first; the sections below then show their "no data yet" states
        render_empty_state()
    db_path = str(tracker.db_path)
    preset, custom, granularity = render_range(db_path, version)
    version = data.data_version(tracker, preset, custom)
    selected = tuple((k, tuple(st.session_state.get(f"usage_{k}", ()))) for k in data.DIMENSIONS)
    filters = render_filters(data.filter_options(db_path, preset, custom, selected, version))
    key = tuple((name, tuple(values)) for name, values in sorted(filters.items()) if values)
    now = time.time()
    rng = data.time_range(preset, custom)
    dash = data.dashboard(db_path, preset, custom, granularity, key, version)
    if dash.empty and version[0] is not None:
        st.info(f"No calls match this view ({rng.label.lower()}). Widen the range or clear the filters.", icon="🔎")
    render_headline(dash, rng.label, data.previous(db_path, preset, custom, key, version))
    span = rng.span_seconds(now, data.first_ts(db_path, version))
    x_range = None if rng.since is None else (rng.since, now if rng.until is None else rng.until)
    forecast = cost_forecast(rng, span, filters["user_id"])
    figs = data.figures(dash, granularity, x_range, forecast)  # each one built when a section first asks for it
    render_cost_time(figs, forecast)
    render_open_alerts_note()

    def recent_calls() -> None:
        drill = st.session_state.get("usage_drill")
        rows = data.calls(db_path, preset, custom, key, drill, version)
        render_recent_calls(rows, drill, tracker, rng, filters)

    draw = {
        "usage_open_breakdown": lambda: render_breakdown(figs),
        "usage_open_reliability": lambda: render_reliability(figs),
        "usage_open_users": lambda: render_users(figs),
        "usage_open_savings": lambda: render_savings(dash, figs),
        _BUDGETS_SECTION: lambda: render_budgets_and_alerts(filters["user_id"]),
        "usage_open_ab": lambda: render_ab(db_path, rng, filters),
        data.CALLS_SECTION: recent_calls,
    }
    for name, section in sections().items():
        if section.open:
            with section:
                draw[name]()


main()
