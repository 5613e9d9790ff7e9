"""The usage page's data: its SQL aggregates, cached per view and shared by every session of the process.

Kept apart from app_pages/usage.py (a script Streamlit runs, not a module) so that a server start can fill the same
caches before the first session (`lifespan`, the hook of `streamlit run serve.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import streamlit as st

from core import charts
from core.usage_tracker import get_usage_tracker

_log = logging.getLogger(__name__)

DEFAULT_WINDOW = "Last 24 h"
#: The filters of the page, in its order (their widgets' keys are `usage_<name>`).
DIMENSIONS = ("provider", "task_type", "user_id")

#: The page's sections below the headline and the cost-over-time chart, as (session-state key, expander label,
#: open at a new session). A closed section runs none of its code and draws nothing: a new session pays only for what
#: is open. Keys and labels are fixed (they are the expanders' identity: changing one would close the section).
SECTIONS = (
    ("usage_open_breakdown", "Cost by provider and task, tokens over time", False),
    ("usage_open_reliability", "Reliability and speed", False),
    ("usage_open_users", "Users", False),
    ("usage_open_savings", "Savings", False),
    ("usage_open_budgets", "Budgets and alerts", False),
    ("usage_open_ab", "Provider comparison (A/B)", False),
    ("usage_open_calls", "Recent calls", False),
)
#: The section a click on a chart opens, to list the calls of the bar or point clicked.
CALLS_SECTION = "usage_open_calls"

#: The page's view, as cache keys: (preset, custom dates or None, granularity, filters).
Filters = tuple[tuple[str, tuple[str, ...]], ...]
Custom = tuple[date, date] | None


#: The longest a view counted back from now keeps its figures while no new call lands (the caches' TTL too).
SLICE_SECONDS = 300


def data_version(tracker: Any, preset: str | None = None, custom: Custom = None) -> tuple[float | None, int | None]:
    """Cache key part: the newest call (it changes with every new call) and, for a range counted back from now, the
    current slice of time, so that calls leaving the range's old end drop out: a minute for the last hour, five
    minutes for longer ranges (0.3% of a day). A range fixed in time (all time, past days) changes only with new
    calls: no time part, so a new session reuses its figures. One indexed lookup, well under a millisecond."""
    newest = tracker.recent_calls(limit=1)
    now = time.time()
    rng = None if preset is None else time_range(preset, custom)
    part: int | None = None
    if rng is None or (rng.since is not None and rng.until is None):
        step = 60 if rng is not None and rng.span_seconds(now) <= 3600 else SLICE_SECONDS
        part = int(now // step)
    return (newest[0]["ts"] if newest else None, part)


def time_range(preset: str, custom: Custom) -> charts.TimeRange:
    return charts.resolve_range(preset, time.time(), custom)


@st.cache_data(ttl=300, max_entries=8, show_spinner=False)
def first_ts(db_path: str, version: tuple[Any, ...]) -> float | None:
    return get_usage_tracker().dashboard.first_ts()


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def filter_options(
    db_path: str, preset: str, custom: Custom, selected: Filters, version: tuple[Any, ...]
) -> dict[str, list[str]]:
    return charts.filter_options(get_usage_tracker(), time_range(preset, custom), {k: list(v) for k, v in selected})


@st.cache_resource(ttl=300, max_entries=32, show_spinner="Aggregating usage…")
def dashboard(
    db_path: str, preset: str, custom: Custom, granularity: str, filters: Filters, version: tuple[Any, ...]
) -> charts.Dashboard:
    """The SQL aggregates for one view, reused across reruns and sessions while its `version` holds.
    A resource, not data: every rerun gets the same object (no copy), with the figures it has built."""
    return charts.load_dashboard(
        get_usage_tracker(),
        time_range(preset, custom),
        {k: list(v) for k, v in filters},
        granularity=granularity,
        recent_limit=0,  # the calls table has its own query, narrowed by a click on a chart
    )


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def calls(
    db_path: str, preset: str, custom: Custom, filters: Filters, drill: charts.Drill | None, version: tuple[Any, ...]
) -> list[dict[str, Any]]:
    """The newest 200 calls of the view, narrowed by the chart click (if any)."""
    return charts.drilled_calls(
        get_usage_tracker(), time_range(preset, custom), {k: list(v) for k, v in filters}, drill
    )


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def previous(
    db_path: str, preset: str, custom: Custom, filters: Filters, version: tuple[Any, ...]
) -> dict[str, float] | None:
    """The headline of the period of equal length just before the range (None for all time)."""
    before = time_range(preset, custom).previous(time.time())
    if before is None:
        return None
    stats = get_usage_tracker().dashboard.headline(
        None, since=before.since, until=before.until, **{k: list(v) for k, v in filters}
    )
    return charts.headline_metrics(stats)


@st.cache_data(ttl=300, max_entries=32, show_spinner=False)
def daily_spend(db_path: str, user: str | None, version: tuple[Any, ...]) -> dict[Any, float]:
    """Spend per UTC day over the last ~9 weeks (the weekday forecast's history), from the daily rollups."""
    filters = {} if user is None else {"user_id": [user]}
    return charts.daily_spend(get_usage_tracker().timeseries(24 * 63, 86_400, **filters))


@st.cache_data(ttl=300, max_entries=32, show_spinner=False)
def spend_forecast(
    db_path: str, period: str, limit: float | None, user: str | None, budget: str, version: tuple[Any, ...]
) -> charts.SpendForecast:
    return charts.spend_forecast(get_usage_tracker(), period, time.time(), limit, user, budget)


class Figures(Mapping[str, Any]):
    """The page's eight charts of one view by name, each built when first asked for and then kept by its Dashboard
    (see `Dashboard.figure`): a closed section's charts cost nothing."""

    def __init__(self, builders: dict[str, tuple[Any, Callable[[], Any]]], dash: charts.Dashboard) -> None:
        self._builders, self._dash = builders, dash

    def __getitem__(self, name: str) -> Any:
        key, build = self._builders[name]
        return self._dash.figure(key, build)

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


def figures(
    dash: charts.Dashboard, granularity: str, x_range: tuple[float, float] | None, forecast: Any | None
) -> Figures:
    fkey = None if forecast is None else (forecast.budget, forecast.limit_usd, forecast.spent[-1])
    return Figures(
        {
            "cost_provider": ("cost_provider", lambda: charts.cost_by_provider(dash.by_provider)),
            "cost_task": ("cost_task", lambda: charts.cost_by_task(dash.by_task)),
            "cost_time": (
                ("cost_time", fkey),
                lambda: charts.cost_over_time(dash.timeseries, granularity, x_range, forecast),
            ),
            "tokens_time": ("tokens_time", lambda: charts.tokens_over_time(dash.timeseries, granularity, x_range)),
            "success": ("success", lambda: charts.success_failure(dash.by_provider, dash.errors)),
            "latency": ("latency", lambda: charts.latency_by_provider(dash.latency)),
            "users": ("users", lambda: charts.cost_per_user(dash.users)),
            "savings": ("savings", lambda: charts.savings_by_task(dash.by_task)),
        },
        dash,
    )


def warm() -> charts.Dashboard:
    """Import what the page's first run needs and fill the caches of its default view (the last 24 h, no filter),
    exactly as the page asks for them, so that the first session after a server start finds them ready. Valid
    until the view's version moves on (a new call, or the next five-minute slice)."""
    import streamlit.emojis  # noqa: F401 - the first icon a page shows is looked up there (0.05 s to import)

    import core.ab
    import core.alerts
    import core.budget
    import core.forecast
    import ui.plotly_lite
    import ui.sidebar

    tracker = get_usage_tracker()
    db_path = str(tracker.db_path)
    span = time_range(DEFAULT_WINDOW, None).span_seconds(time.time(), first_ts(db_path, data_version(tracker)))
    version = data_version(tracker, DEFAULT_WINDOW, None)
    filter_options(db_path, DEFAULT_WINDOW, None, tuple((k, ()) for k in DIMENSIONS), version)
    granularity = charts.default_granularity(span)
    dash = dashboard(db_path, DEFAULT_WINDOW, None, granularity, (), version)
    previous(db_path, DEFAULT_WINDOW, None, (), version)
    calls(db_path, DEFAULT_WINDOW, None, (), None, version)
    first_ts(db_path, version)
    rng = time_range(DEFAULT_WINDOW, None)
    # no forecast on a day's chart unless a daily budget is set (then the page builds that figure itself)
    figs = figures(dash, granularity, (rng.since or 0.0, time.time()), None)
    for name in figs:  # every chart, for whichever sections a session opens
        figs[name]
    ui.plotly_lite.figure_json(figs["cost_time"])  # the first figure sent pays for the JSON encoder's imports
    core.alerts.alert_store(tracker.db_path).alerts()
    return dash


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """`st.App`'s lifespan hook (serve.py): the shared services and the default view, warmed before the server
    answers. A warm-up that fails (a database not reachable yet, say) is logged: the server starts anyway, cold."""
    try:
        from ui import state

        # the router, providers and tracker every page's sidebar uses, and the prices its provider list shows
        state.services().router.provider_status()
        warm()
    except Exception as exc:  # noqa: BLE001 - a cold start is slower, not broken
        _log.warning("warm-up skipped, the first session will be slower: %s", exc)
    yield
