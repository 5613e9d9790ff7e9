"""Usage dashboard: where the money goes, by provider, task, user and time.

Thin page: the tracker aggregates in SQL, core.charts shapes frames and builds figures; this file only lays them out.
Each section is its own function so new ones (a budget gauge, A/B win rates) slot in without touching the rest.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import streamlit as st

from core import ab, charts
from core.usage_tracker import get_usage_tracker
from ui import state

_PLOTLY_CONFIG = {"displaylogo": False}
_DEFAULT_WINDOW = "Last 24 h"


def _data_version(tracker: Any) -> tuple[float | None, int]:
    """Cache key part: the newest call (changes on every new call or a delete) and the current minute
    (so windows counted back from now move on). One indexed lookup, well under a millisecond."""
    newest = tracker.recent_calls(limit=1)
    return (newest[0]["ts"] if newest else None, int(time.time() // 60))


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def _filter_options(
    db_path: str, hours: float | None, selected: tuple[tuple[str, tuple[str, ...]], ...], version: tuple[Any, ...]
) -> dict[str, list[str]]:
    return charts.filter_options(get_usage_tracker(), hours, {k: list(v) for k, v in selected})


@st.cache_data(ttl=300, max_entries=64, show_spinner="Aggregating usage…")
def _dashboard(
    db_path: str, hours: float | None, filters: tuple[tuple[str, tuple[str, ...]], ...], version: tuple[Any, ...]
) -> charts.Dashboard:
    """The SQL aggregates for one view, reused across reruns until a new call lands or the minute changes."""
    return charts.load_dashboard(get_usage_tracker(), hours, {k: list(v) for k, v in filters})


def _chart(fig: Any, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config=_PLOTLY_CONFIG)


def render_filters(options: dict[str, list[str]]) -> tuple[str, float | None, dict[str, list[str]]]:
    """Window and provider/task/user filters; the options are the values seen in the window."""
    window_col, provider_col, task_col, user_col = st.columns([1, 1, 1, 1])
    windows = list(charts.WINDOWS)
    label = window_col.selectbox("Window", windows, index=windows.index(_DEFAULT_WINDOW), key="usage_window")
    providers = provider_col.multiselect("Provider", options["provider"], key="usage_provider", placeholder="All")
    tasks = task_col.multiselect("Task", options["task_type"], key="usage_task_type", placeholder="All")
    users = user_col.multiselect("User", options["user_id"], key="usage_user_id", placeholder="All")
    return label, charts.WINDOWS[label], {"provider": providers, "task_type": tasks, "user_id": users}


def render_empty_state() -> None:
    st.info(
        "**No AI calls recorded yet.** Every call the app makes (parse a CV, tailor it, write a cover letter, "
        "score a match) is recorded here with its provider, tokens, cost and latency; never the text itself.\n\n"
        "Try the **CV** page, or fill a demo database from a terminal: `python -m core demo-db --rows 10000`.",
        icon="📭",
    )


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def _previous(
    db_path: str, hours: float | None, filters: tuple[tuple[str, tuple[str, ...]], ...], version: tuple[Any, ...]
) -> dict[str, float] | None:
    """The headline of the period of equal length before this window (None for all time)."""
    if hours is None:
        return None
    tracker = get_usage_tracker()
    f = {k: list(v) for k, v in filters}
    return charts.previous_period(tracker.get_usage_stats(hours, **f), tracker.get_usage_stats(2 * hours, **f))


def render_headline(dash: charts.Dashboard, window_label: str, previous: dict[str, float] | None = None) -> None:
    head = dash.headline

    def delta(key: str) -> str | None:
        return None if previous is None else charts.change_text(head[key], previous[key])

    row1 = st.columns(4)
    row1[0].metric("Requests", f"{head['total_requests']:,}", delta("total_requests"))
    row1[1].metric("Successful", f"{head['successful_requests']:,}", delta("successful_requests"))
    row1[2].metric("Failed", f"{head['failed_requests']:,}", delta("failed_requests"), delta_color="inverse")
    row1[3].metric(
        "Tokens in / out", f"{head['total_input_tokens']:,} / {head['total_output_tokens']:,}", delta("total_tokens")
    )
    row2 = st.columns(4)
    row2[0].metric(
        f"Cost ({window_label.lower()})", charts.format_usd(head["cost_usd"]), delta("cost_usd"), delta_color="inverse"
    )
    row2[1].metric(
        "Average cost per call",
        charts.format_usd(head["avg_cost_per_call"]),
        delta("avg_cost_per_call"),
        delta_color="inverse",
    )
    row2[2].metric("Total tokens", f"{head['total_tokens']:,}", delta("total_tokens"))
    row2[3].metric("All-time cost", charts.format_usd(head["total_cost_all_time"]))


def render_cost_charts(dash: charts.Dashboard) -> None:
    st.subheader("Cost")
    left, right = st.columns(2)
    with left:
        _chart(charts.cost_by_provider(dash.by_provider), "chart_cost_provider")
    with right:
        _chart(charts.cost_by_task(dash.by_task), "chart_cost_task")
    _chart(charts.cost_over_time(dash.timeseries), "chart_cost_time")
    _chart(charts.tokens_over_time(dash.timeseries), "chart_tokens_time")


def render_reliability(dash: charts.Dashboard) -> None:
    st.subheader("Reliability and speed")
    left, right = st.columns(2)
    with left:
        _chart(charts.success_failure(dash.by_provider, dash.errors), "chart_success")
    with right:
        _chart(charts.latency_by_provider(dash.latency), "chart_latency")
        st.caption("Latency over calls that reached a provider (cache hits excluded).")


def render_users(dash: charts.Dashboard) -> None:
    st.subheader("Users")
    _chart(charts.cost_per_user(dash.users), "chart_users")


def render_savings(dash: charts.Dashboard) -> None:
    st.subheader("Savings")
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
    _chart(charts.savings_by_task(dash.by_task), "chart_savings")


def render_budgets(users: list[str]) -> None:
    """A gauge per budget line: the one selected user's lines and the global ones, or the global ones alone."""
    st.subheader("Budgets")
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


@st.cache_data(ttl=300, max_entries=32, show_spinner=False)
def _daily_spend(db_path: str, user: str | None, version: tuple[Any, ...]) -> dict[Any, float]:
    """Spend per UTC day over the last ~9 weeks (the weekday forecast's history), from the daily rollups."""
    filters = {} if user is None else {"user_id": [user]}
    return charts.daily_spend(get_usage_tracker().timeseries(24 * 63, 86_400, **filters))


def render_forecasts(router: Any, lines: list[Any], user: str | None) -> None:
    """Per budget line: where this period's spend ends at this rate (weekday-aware), drawn against the limit."""
    from core.budget import period_end, period_start
    from core.forecast import weekday_forecast

    tracker = get_usage_tracker()
    version = _data_version(tracker)
    now = time.time()
    for i, line in enumerate(lines):
        period = "daily" if "daily" in line.scope else "monthly"
        who = None if line.scope.startswith("global") else (user or state.DEFAULT_USER)
        start, end = period_start(period, now), period_end(period, now).timestamp()
        daily = _daily_spend(str(tracker.db_path), who, version)
        forecast = weekday_forecast(daily, start, end, now, line.limit_usd)
        st.markdown(f"**{line.scope.capitalize()}**: {forecast.sentence(f'{line.scope} budget')}")
        if period == "monthly":
            _chart(
                charts.forecast_chart(daily, forecast, start, f"{line.scope.capitalize()}: spend and forecast"),
                f"chart_forecast_{i}",
            )


def render_alerts() -> None:
    """Budget alerts recorded by the alerts thread (core.alerts): open ones first, each acknowledgeable."""
    from core.alerts import alert_store

    st.subheader("Budget alerts")
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


def render_ab(db_path: str, hours: float | None, filters: dict[str, list[str]], window_label: str) -> None:
    """Win rate per provider per task and cost per win, from the votes on the Compare providers page."""
    st.subheader("Provider comparison (A/B)")
    users = filters["user_id"]
    try:
        rows = ab.get_vote_store(db_path).win_rates(hours=hours, user_id=users[0] if len(users) == 1 else None)
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
        f"From the {who} in the window. Win rate is wins over comparisons (a tie is a comparison without a win); "
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


def render_recent_calls(dash: charts.Dashboard, tracker: Any, hours: float | None, filters: dict[str, Any]) -> None:
    st.subheader("Recent calls")
    st.caption(f"The newest {len(dash.recent):,} calls in this view: metadata only, never prompt or answer text.")
    st.dataframe(
        dash.recent,
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
    render_request_detail(tracker, hours, filters)
    window = "all" if hours is None else f"{hours:g}h"
    st.download_button(
        "Download CSV of the filtered calls",
        data=lambda: charts.export_csv(tracker, hours, filters),
        file_name=f"cv-copilot-usage-{window}.csv",
        mime="text/csv",
        on_click="ignore",
        icon="⬇️",
        help="Every call in the window and filters, newest first: no row is left out.",
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


def render_request_detail(tracker: Any, hours: float | None, filters: dict[str, Any]) -> None:
    """One request in full: its attempts (the fallback chain), tokens by kind, price source, cache, route reason."""
    f = {k: v for k, v in filters.items() if v}
    rows = tracker.recent_calls(limit=50, hours=hours, **f)
    if not rows:
        return
    labels = [f"{r['time']} · {r['task_type']} · {r['provider']} · ${float(r['cost_usd'] or 0):.6f}" for r in rows]
    with st.expander("Request detail", expanded=False):
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


def main() -> None:
    st.title("📊 Usage")
    tracker = get_usage_tracker()
    version = _data_version(tracker)
    if version[0] is None:  # a friendly note first; the sections below then show their "no data yet" states
        render_empty_state()
    db_path = str(tracker.db_path)
    label = st.session_state.get("usage_window", _DEFAULT_WINDOW)
    selected = tuple((k, tuple(st.session_state.get(f"usage_{k}", ()))) for k in ("provider", "task_type", "user_id"))
    options = _filter_options(db_path, charts.WINDOWS.get(label, 24), selected, version)
    label, hours, filters = render_filters(options)
    key = tuple((name, tuple(values)) for name, values in sorted(filters.items()) if values)
    dash = _dashboard(db_path, hours, key, version)
    if dash.empty and version[0] is not None:
        st.info(f"No calls match this view ({label.lower()}). Widen the window or clear the filters.", icon="🔎")
    render_headline(dash, label, _previous(db_path, hours, key, version))
    render_budgets(filters["user_id"])
    render_alerts()
    render_cost_charts(dash)
    render_reliability(dash)
    render_users(dash)
    render_savings(dash)
    render_ab(db_path, hours, filters, label)
    render_recent_calls(dash, tracker, hours, filters)


main()
