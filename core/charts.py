"""Plotly figure builders and small data-shaping helpers for the usage dashboard.

Everything here is pure: rows come from the usage tracker's SQL aggregates (already grouped, so frames are small),
figures go to the page. Keeping it out of the page makes each chart unit-testable on a known DataFrame.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape
from typing import Any, cast

import pandas as pd
import plotly.graph_objects as go

from core.tracker.dashboard import (
    GRANULARITIES,
    MAX_BUCKETS,
    RANGE_PRESETS,
    TimeRange,
    bucket_bounds,
    default_granularity,
    granularity_choices,
    resolve_range,
)

__all__ = [  # the names the page and the bench use (the rest is importable too)
    "GRANULARITIES",
    "MAX_BUCKETS",
    "RANGE_PRESETS",
    "Dashboard",
    "Drill",
    "TimeRange",
    "compact_number",
    "cost_over_time",
    "default_granularity",
    "drill_from_selection",
    "drilled_calls",
    "granularity_choices",
    "load_calls",
    "load_dashboard",
    "resolve_range",
]

#: Dashboard windows, label → the seed's `hours` (None = all time).
WINDOWS: dict[str, float | None] = {
    "Last 1 h": 1,
    "Last 24 h": 24,
    "Last 7 d": 24 * 7,
    "Last 30 d": 24 * 30,
    "All time": None,
}

#: One colour per provider, so a provider looks the same on every chart.
PROVIDER_COLORS: dict[str, str] = {
    "openai": "#10a37f",
    "gemini": "#4285f4",
    "groq": "#f55036",
    "grok": "#6b6b6b",
    "custom": "#9b59b6",
    "local": "#f1c40f",
}

NO_DATA = "No data"

#: Columns of the recent-calls table, in display order (metadata only; prompts are never stored).
CALL_COLUMNS: tuple[str, ...] = (
    "time",
    "user_id",
    "task_type",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "baseline_cost_usd",
    "saved_cost_usd",
    "latency_ms",
    "success",
    "error_kind",
    "cached",
    "fallback_chain",
    "tokens_estimated",
    "price_estimated",
    "challenger",
)

BREAKDOWN_COLUMNS = (
    "key",
    "requests",
    "successful",
    "failed",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "baseline_cost_usd",
    "saved_by_cache_usd",
    "cached_input_tokens",
    "reasoning_tokens",
    "saved_by_prompt_cache_usd",
)
TIMESERIES_COLUMNS = ("bucket", "provider", "requests", "failed", "input_tokens", "output_tokens", "cost_usd")
ERROR_COLUMNS = ("provider", "error_kind", "count")
LATENCY_COLUMNS = ("provider", "calls", "p50_ms", "p95_ms")
USER_COLUMNS = ("user_id", "requests", "failed", "input_tokens", "output_tokens", "cost_usd")


# --- data shaping ---------------------------------------------------------------------------------------------


def to_frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame with exactly `columns`, also when there are no rows (so builders never see missing columns)."""
    frame = pd.DataFrame(list(rows))
    for column in columns:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype="float64")
    return frame[list(columns)]


def headline_metrics(stats: Mapping[str, Any]) -> dict[str, float]:
    """The seed's usage JSON plus the average cost per call (0 when there were no calls)."""
    total = int(stats.get("total_requests", 0) or 0)
    cost = float(stats.get("cost_usd", 0.0) or 0.0)
    return {
        "total_requests": total,
        "successful_requests": int(stats.get("successful_requests", 0) or 0),
        "failed_requests": int(stats.get("failed_requests", 0) or 0),
        "total_input_tokens": int(stats.get("total_input_tokens", 0) or 0),
        "total_output_tokens": int(stats.get("total_output_tokens", 0) or 0),
        "total_tokens": int(stats.get("total_tokens", 0) or 0),
        "cost_usd": cost,
        "total_cost_all_time": float(stats.get("total_cost_all_time", 0.0) or 0.0),
        "avg_cost_per_call": cost / total if total else 0.0,
    }


#: Headline sums that add up over time, so the previous period's are (twice the window) − (this window).
_ADDITIVE = (
    "total_requests",
    "successful_requests",
    "failed_requests",
    "total_input_tokens",
    "total_output_tokens",
    "total_tokens",
    "cost_usd",
)


def previous_period(current: Mapping[str, Any], doubled: Mapping[str, Any]) -> dict[str, float]:
    """Headline metrics of the period of equal length just before this one, from the stats of this window and of a
    window twice as long (one more aggregate on the rollups, instead of a second query per metric)."""
    prev: dict[str, Any] = {k: float(doubled.get(k, 0) or 0) - float(current.get(k, 0) or 0) for k in _ADDITIVE}
    prev["total_cost_all_time"] = current.get("total_cost_all_time", 0.0)
    return headline_metrics(prev)


def change_text(now: float, before: float) -> str | None:
    """'+25%' against the previous period; 'new' when it had none; None when both are zero (nothing to say)."""
    now, before = float(now or 0), float(before or 0)
    if now == 0 and before == 0:
        return None
    if before == 0:
        return "new"
    return f"{(now - before) / before:+.0%} vs previous period"


@dataclass(frozen=True)
class Tile:
    """One headline figure: the value shown (compact at any scale), its change against the previous period, whether
    a rise is good news, and the exact value (the tile's tooltip)."""

    label: str
    value: str
    delta: str | None = None
    rise_is_good: bool = True
    exact: str = ""

    @property
    def trend(self) -> str:
        """'good', 'bad' or 'flat': the colour of the delta."""
        if not self.delta or self.delta == "new" or self.delta.startswith(("+0%", "-0%")):
            return "flat"
        return "good" if self.delta.startswith("+") == self.rise_is_good else "bad"


def headline_tiles(head: Mapping[str, float], previous: Mapping[str, float] | None, window_label: str) -> list[Tile]:
    """The eight headline figures of a view, against `previous` (the period of equal length before; None: none)."""

    def delta(key: str) -> str | None:
        return None if previous is None else change_text(head[key], previous[key])

    def count(label: str, key: str, rise_is_good: bool = True) -> Tile:
        value = int(head[key])
        return Tile(label, compact_number(value), delta(key), rise_is_good, f"Exactly {value:,}.")

    tokens_in, tokens_out = int(head["total_input_tokens"]), int(head["total_output_tokens"])
    return [
        count("Requests", "total_requests"),
        count("Successful", "successful_requests"),
        count("Failed", "failed_requests", rise_is_good=False),
        Tile(
            "Tokens in / out",
            f"{compact_number(tokens_in)} / {compact_number(tokens_out)}",
            delta("total_tokens"),
            exact=f"Exactly {tokens_in:,} input and {tokens_out:,} output tokens.",
        ),
        Tile(
            f"Cost ({window_label.lower()})",
            compact_usd(head["cost_usd"]),
            delta("cost_usd"),
            rise_is_good=False,
            exact=f"${float(head['cost_usd']):,.6f}",
        ),
        Tile(
            "Average cost per call",
            format_usd(head["avg_cost_per_call"]),
            delta("avg_cost_per_call"),
            rise_is_good=False,
            exact=f"${head['avg_cost_per_call']:,.8f}",
        ),
        count("Total tokens", "total_tokens"),
        Tile("All-time cost", compact_usd(head["total_cost_all_time"]), exact=f"${head['total_cost_all_time']:,.6f}"),
    ]


_TREND_STYLE = {"good": "color:#21c354", "bad": "color:#ff4b4b", "flat": "opacity:0.6"}


def tiles_html(tiles: Sequence[Tile], per_row: int = 4) -> str:
    """The tiles as one HTML grid: the browser lays out and draws one element instead of a column and a metric per
    figure. Every text is escaped."""

    cells = []
    for tile in tiles:
        arrow = "" if tile.trend == "flat" else ("▲ " if tile.delta and tile.delta.startswith("+") else "▼ ")
        delta = (
            f'<div class="tile-delta" style="font-size:0.85rem;{_TREND_STYLE[tile.trend]}">'
            f"{arrow}{escape(tile.delta)}</div>"
            if tile.delta
            else ""
        )
        cells.append(
            f'<div class="tile" title="{escape(tile.exact)}">'
            f'<div class="tile-label" style="font-size:0.875rem;opacity:0.8">{escape(tile.label)}</div>'
            f'<div class="tile-value" style="font-size:1.75rem;line-height:1.3;white-space:nowrap">'
            f"{escape(tile.value)}</div>{delta}</div>"
        )
    return (
        f'<div class="usage-headline" style="display:grid;grid-template-columns:repeat({per_row},minmax(0,1fr));'
        f'gap:0.75rem 1rem;margin-bottom:1rem">{"".join(cells)}</div>'
    )


def format_usd(value: float) -> str:
    """Dollars with enough decimals that cheap calls do not all read $0.00."""
    value = float(value or 0.0)
    if value == 0:
        return "$0.00"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.4f}"
    return f"${value:.6f}"


def compact_number(value: float) -> str:
    """A count that fits a metric tile at any scale: 999 → '999', 48,007,123 → '48.0M', 1.2e12 → '1.2T'.
    The page puts the exact figure in the tile's help."""
    value = float(value or 0)
    if abs(value) < 10_000:
        return f"{value:,.0f}"
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if round(abs(value) / size, 1) >= 1:
            return f"{value / size:.1f}{suffix}"
    return f"{value:,.0f}"  # pragma: no cover - every value >= 10,000 has a suffix


def compact_usd(value: float) -> str:
    """`format_usd`, but $1,234,567.89 reads $1.23M (the exact figure goes in the help)."""
    value = float(value or 0.0)
    if abs(value) >= 100_000:
        return "$" + compact_number(value)
    return format_usd(value)


def calls_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Recent-call rows as a display/CSV frame: fixed columns, the fallback chain as `a > b` text."""
    frame = to_frame(rows, CALL_COLUMNS)
    if len(frame):
        frame["fallback_chain"] = frame["fallback_chain"].map(_chain_text)
    return frame


def calls_csv(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """CSV (UTF-8) of call rows, for the dashboard's export button."""
    return write_csv(
        CALL_COLUMNS,
        (
            [_chain_text(row.get(c)) if c == "fallback_chain" else _csv_cell(row.get(c)) for c in CALL_COLUMNS]
            for row in rows
        ),
    )


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    return csv_safe(value)


#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"), tab and CR included.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading apostrophe (OWASP).
    Numbers stay numbers (a negative number is a number, not a formula)."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The one CSV writer for every export: UTF-8, RFC 4180 line ends (so a CR inside a cell is quoted, which the
    csv module does not do with "\\n" line ends), every text cell through `csv_safe`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def _chain_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.startswith("[") else value
        except ValueError:
            return str(value)
        if isinstance(value, str):
            return value
    return " > ".join(str(v) for v in value)


def savings_totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Sum a per-task breakdown into the tracker's savings() shape (used when the page already has the breakdown)."""
    frame = to_frame(rows, BREAKDOWN_COLUMNS)
    actual = float(frame["cost_usd"].fillna(0).sum())
    baseline = float(frame["baseline_cost_usd"].fillna(0).sum())
    return {
        "actual_cost_usd": actual,
        "baseline_cost_usd": baseline,
        "saved_usd": baseline - actual,
        "saved_by_cache_usd": float(frame["saved_by_cache_usd"].fillna(0).sum()),
        "saved_by_prompt_cache_usd": float(frame["saved_by_prompt_cache_usd"].fillna(0).sum()),
        "cached_input_tokens": float(frame["cached_input_tokens"].fillna(0).sum()),
        "reasoning_share": _share(frame["reasoning_tokens"], frame["output_tokens"]),
    }


def _share(part: pd.Series, whole: pd.Series) -> float:
    """part / whole over a column pair; 0 when there is nothing to divide."""
    total = float(whole.fillna(0).sum())
    return float(part.fillna(0).sum()) / total if total else 0.0


# --- figures --------------------------------------------------------------------------------------------------


def empty_figure(title: str, message: str = NO_DATA) -> go.Figure:
    """A blank chart with a centred note, so an empty window never draws broken axes."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=320)
    return fig


def is_empty(fig: go.Figure) -> bool:
    """True for a figure made by empty_figure()."""
    return not fig.data and any(a.text == NO_DATA for a in fig.layout.annotations)


def _color(provider: str) -> str | None:
    return PROVIDER_COLORS.get(str(provider))


def _layout(fig: go.Figure, title: str, **extra: Any) -> go.Figure:
    extra.setdefault("height", 360)
    fig.update_layout(title=title, margin={"l": 40, "r": 20, "t": 50, "b": 40}, **extra)
    return fig


#: Rough width of one character of a tick or legend label in px (Streamlit's 12 px chart font, with room to spare).
_CHAR_PX = 8


def _fit_margins(fig: go.Figure, bottom: int = 80) -> go.Figure:
    """Margins wide enough for the axis labels, titles and legend, set before the browser draws.

    Axes keep `automargin` (Streamlit's theme turns it on), which only ever widens a margin: when a label does not
    fit, Plotly measures, widens and draws the whole chart a second time. A margin that already fits is drawn once,
    which halves the drawing time of most of these charts. So this errs on the side of room."""
    layout = fig.layout
    shown = [t for t in fig.data if t.showlegend is not False and t.name]
    legend = layout.showlegend is not False and len(shown) > 1
    left = 85
    if fig.data and getattr(fig.data[0], "orientation", None) == "h":
        labels = [str(v) for t in fig.data for v in (t.y or ())]
        left = max(left, 45 + _CHAR_PX * max((len(v) for v in labels), default=0))
    right = 20
    if legend and layout.legend.orientation != "h":
        right = 60 + _CHAR_PX * max(len(str(t.name)) for t in shown)
    if "yaxis2" in layout and layout["yaxis2"].overlaying:
        right = max(right, 95)
    if bottom > 100:  # long category names, turned sideways, reach past the last bar
        right = max(right, 60)
    fig.update_layout(margin={"l": left, "r": right, "t": 50, "b": bottom})
    return fig


def _zero_based(fig: go.Figure, values: Iterable[float], axis: str = "yaxis") -> None:
    """A cost or count axis starts at 0; with only zeros (free calls) it runs 0 to 1, never -1 to +1."""
    top = max((float(v) for v in values), default=0.0)
    fig.update_layout({axis: {"rangemode": "nonnegative", **({"range": [0, 1]} if top <= 0 else {})}})


#: Tick labels per granularity: never sub-second noise like "11:59:59.9996", whatever the number of buckets.
TICK_FORMATS: dict[str, str] = {
    "5 min": "%H:%M<br>%b %d",
    "hour": "%H:%M<br>%b %d",
    "day": "%b %d",
    "week": "%b %d",
    "month": "%b %Y",
}


def _bucket_label(granularity: str) -> str:
    return {"5 min": "5 minutes"}.get(granularity, granularity)


def _time_axis(
    fig: go.Figure, granularity: str, buckets: Sequence[pd.Timestamp], x_range: tuple[float, float] | None
) -> None:
    """Date axis with the granularity's tick format and hover format, spanning the range (or the buckets)."""
    lo_hi = [bucket_bounds(b.timestamp(), granularity) for b in buckets]
    lo = min([b for b, _ in lo_hi], default=None)
    hi = max([e for _, e in lo_hi], default=None)
    if x_range is not None:
        lo, hi = x_range
    axis: dict[str, Any] = {
        "type": "date",
        "tickformat": TICK_FORMATS[granularity],
        "hoverformat": TICK_FORMATS[granularity].replace("<br>", " "),
        "title": f"Time (UTC), per {_bucket_label(granularity)}",
    }
    if lo is not None and hi is not None and hi > lo:
        axis["range"] = [
            pd.Timestamp(lo, unit="s", tz="UTC").isoformat(),
            pd.Timestamp(hi, unit="s", tz="UTC").isoformat(),
        ]
    fig.update_layout(xaxis=axis)


def _granularity_of(frame: pd.DataFrame) -> str:
    """The granularity of a timeseries frame without one given: the smallest gap between its buckets."""
    stamps = sorted({pd.Timestamp(b).timestamp() for b in frame["bucket"]})
    gap = min((b - a for a, b in itertools.pairwise(stamps)), default=3600.0)
    return next((g for g, size in GRANULARITIES.items() if size and gap <= size), "month")


def _nonempty(frame: pd.DataFrame, value_column: str) -> pd.DataFrame:
    """Rows with a value; an all-zero or missing frame counts as empty."""
    if frame is None or frame.empty or value_column not in frame:
        return frame.iloc[0:0] if frame is not None else pd.DataFrame()
    values = pd.to_numeric(frame[value_column], errors="coerce").fillna(0)
    return frame[values != 0] if (values != 0).any() else frame.iloc[0:0]


def cost_by_provider(frame: pd.DataFrame) -> go.Figure:
    """Bar per provider from breakdown('provider') rows: columns key, cost_usd."""
    title = "Cost by provider (USD)"
    data = _nonempty(frame, "requests" if "requests" in frame else "cost_usd")
    if data.empty:
        return empty_figure(title)
    data = data.sort_values("cost_usd", ascending=False)
    costs = data["cost_usd"].astype(float).tolist()
    fig = go.Figure(
        go.Bar(
            x=data["key"].astype(str).tolist(),
            y=costs,
            marker_color=[_color(k) for k in data["key"]],
            name="cost",
            customdata=[["provider", str(k)] for k in data["key"]],
            hovertemplate="%{x}: $%{y:.6f}<extra>click to see its calls</extra>",
        )
    )
    _layout(fig, title, xaxis_title="Provider", yaxis_title="Cost (USD)", showlegend=False)
    _zero_based(fig, costs)
    return _fit_margins(fig)


def cost_by_task(frame: pd.DataFrame) -> go.Figure:
    """Bar per task from breakdown('task_type') rows: columns key, cost_usd."""
    title = "Cost by task (USD)"
    data = _nonempty(frame, "requests" if "requests" in frame else "cost_usd")
    if data.empty:
        return empty_figure(title)
    data = data.sort_values("cost_usd", ascending=False)
    costs = data["cost_usd"].astype(float).tolist()
    fig = go.Figure(
        go.Bar(
            x=data["key"].astype(str).tolist(),
            y=costs,
            name="cost",
            customdata=[["task_type", str(k)] for k in data["key"]],
            hovertemplate="%{x}: $%{y:.6f}<extra>click to see its calls</extra>",
        )
    )
    _layout(fig, title, xaxis_title="Task", yaxis_title="Cost (USD)", showlegend=False)
    _zero_based(fig, costs)
    return _fit_margins(fig, bottom=110)  # task names turn sideways on a half-width chart


def _buckets(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.copy()
    data["bucket"] = pd.to_datetime(data["bucket"], utc=True)
    return data


@dataclass(frozen=True)
class SpendForecast:
    """What the cost-over-time chart overlays: this budget period's spend so far, both forecasts, the limit."""

    budget: str  # "global monthly", "user daily", ...: names the budget line
    period_start: float
    spent: tuple[tuple[float, float], ...]  # (epoch seconds, cumulative USD) from the period's start to now
    linear: Any  # core.forecast.Forecast
    weekday: Any  # core.forecast.Forecast

    @property
    def limit_usd(self) -> float | None:
        return cast("float | None", self.linear.limit_usd)

    @property
    def period_end(self) -> float:
        return float(self.linear.period_end.timestamp())


def cost_over_time(
    frame: pd.DataFrame,
    granularity: str | None = None,
    x_range: tuple[float, float] | None = None,
    forecast: SpendForecast | None = None,
) -> go.Figure:
    """Stacked bars of cost per time bucket, one trace per provider, from timeseries() rows.

    With a `forecast`, the budget period's cumulative spend, its linear and day-of-week forecasts to the period's
    end and the budget's limit are drawn on a second axis (cumulative USD), and the time axis reaches the period's
    end. Each bar carries (bucket start, provider) for click-to-filter."""
    title = "Cost over time by provider (USD)"
    data = _nonempty(frame, "requests" if "requests" in frame else "cost_usd")
    if data.empty and forecast is None:
        return empty_figure(title)
    data = _buckets(data)
    granularity = granularity or (_granularity_of(data) if len(data) else "day")
    pivot = data.pivot_table(index="bucket", columns="provider", values="cost_usd", aggfunc="sum", fill_value=0.0)
    pivot = pivot[pivot.sum().sort_values(ascending=False).index]
    buckets = list(pivot.index)
    starts = [b.isoformat() for b in buckets]
    widths = [(e - b) * 1000 * 0.9 for b, e in (bucket_bounds(t.timestamp(), granularity) for t in buckets)]
    fig = go.Figure(
        [
            go.Bar(
                x=[bucket_bounds(t.timestamp(), granularity)[0] * 1000 for t in buckets],
                y=pivot[provider].astype(float).tolist(),
                width=widths,
                offset=0,
                name=str(provider),
                marker_color=_color(provider),
                customdata=[["time", start, str(provider)] for start in starts],
                hovertemplate=f"{provider}: $%{{y:.6f}}<extra>click to see its calls</extra>",
            )
            for provider in pivot.columns
        ]
    )
    if forecast is not None:
        lo = min([forecast.period_start, *([x_range[0]] if x_range else [])])
        x_range = (lo if x_range is None else x_range[0], max(forecast.period_end, x_range[1] if x_range else 0.0))
        _forecast_traces(fig, forecast)
    _layout(fig, title, barmode="stack", yaxis_title="Cost per bucket (USD)")
    _zero_based(fig, pivot.sum(axis=1).tolist() if len(pivot) else [])
    fig.update_xaxes(type="date")
    # bars are placed on epoch-millisecond x so their width is the bucket's; the axis shows dates
    _time_axis(fig, granularity, buckets, x_range)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return _fit_margins(fig, bottom=135 if forecast is not None else 115)  # two-line ticks, the legend below


def _forecast_traces(fig: go.Figure, forecast: SpendForecast) -> None:
    def ms(ts: float) -> float:
        return ts * 1000

    spent = list(forecast.spent)
    scope = forecast.budget
    fig.add_scatter(
        x=[ms(t) for t, _ in spent],
        y=[v for _, v in spent],
        name=f"spent this period ({scope})",
        mode="lines",
        line={"color": "#2c7be5", "width": 2},
        yaxis="y2",
        hovertemplate="spent so far: $%{y:.4f}<extra></extra>",
    )
    for fc, dash, colour in ((forecast.linear, "dash", "#e67e22"), (forecast.weekday, "dot", "#8e44ad")):
        fig.add_scatter(
            x=[ms(t.timestamp()) for t, _ in fc.path],
            y=[v for _, v in fc.path],
            name=f"forecast ({fc.label})",
            mode="lines",
            line={"dash": dash, "color": colour, "width": 2},
            yaxis="y2",
            hovertemplate=f"forecast ({fc.label}): $%{{y:.4f}}<extra></extra>",
        )
    top = max([v for _, v in spent] + [v for fc in (forecast.linear, forecast.weekday) for _, v in fc.path] + [0.0])
    if forecast.limit_usd is not None:
        fig.add_scatter(
            x=[ms(forecast.period_start), ms(forecast.period_end)],
            y=[forecast.limit_usd, forecast.limit_usd],
            name=f"{scope} budget (${forecast.limit_usd:,.2f})",
            mode="lines",
            line={"color": "#c0392b", "width": 2},
            yaxis="y2",
            hovertemplate=f"{scope} budget: $%{{y:,.2f}}<extra></extra>",
        )
        top = max(top, forecast.limit_usd)
    fig.update_layout(
        yaxis2={
            "title": f"Cumulative spend this period (USD, {scope})",
            "overlaying": "y",
            "side": "right",
            "rangemode": "nonnegative",
            "range": [0, top * 1.1 if top > 0 else 1.0],
            "showgrid": False,
            "tickprefix": "$",
        }
    )


def tokens_over_time(
    frame: pd.DataFrame, granularity: str | None = None, x_range: tuple[float, float] | None = None
) -> go.Figure:
    """Input and output tokens per time bucket (all providers summed), from timeseries() rows."""
    title = "Tokens over time"
    data = _nonempty(frame, "requests" if "requests" in frame else "input_tokens")
    if data.empty:
        return empty_figure(title)
    data = _buckets(data)
    granularity = granularity or _granularity_of(data)
    sums = data.groupby("bucket", sort=True)[["input_tokens", "output_tokens"]].sum()
    starts = [b.isoformat() for b in sums.index]
    fig = go.Figure(
        [
            go.Scatter(
                x=sums.index.tolist(),
                y=sums[column].astype(int).tolist(),
                name=name,
                mode="lines+markers",
                customdata=[["time", start, ""] for start in starts],
            )
            for column, name in (("input_tokens", "input tokens"), ("output_tokens", "output tokens"))
        ]
    )
    _layout(fig, title, yaxis_title="Tokens per bucket")
    _zero_based(fig, sums.to_numpy().ravel().tolist())
    _time_axis(fig, granularity, list(sums.index), x_range)
    return _fit_margins(fig, bottom=90)  # two-line ticks


def success_failure(breakdown: pd.DataFrame, errors: pd.DataFrame) -> go.Figure:
    """Per provider: successful calls, then failed calls split by error kind (stacked).

    `breakdown` is breakdown('provider') (key, successful, failed); `errors` is errors_by_provider()
    (provider, error_kind, count). Failures without a recorded kind show as "unknown".
    """
    title = "Success and failure by provider"
    data = _nonempty(breakdown, "requests" if "requests" in breakdown else "successful")
    if data.empty:
        return empty_figure(title)
    providers = data["key"].astype(str).tolist()
    ok = data.set_index(data["key"].astype(str))["successful"].astype(int)
    failed = data.set_index(data["key"].astype(str))["failed"].astype(int)
    traces: list[go.Bar] = [go.Bar(x=providers, y=ok.reindex(providers).tolist(), name="ok", marker_color="#2ecc71")]
    kinds = pd.DataFrame(columns=providers, dtype="int64")
    if errors is not None and not errors.empty:
        errs = errors.assign(error_kind=errors["error_kind"].fillna("unknown").astype(str))
        kinds = errs.pivot_table(index="error_kind", columns="provider", values="count", aggfunc="sum", fill_value=0)
        kinds = kinds.reindex(columns=providers, fill_value=0)
    unknown = (failed.reindex(providers) - kinds.sum(axis=0).reindex(providers, fill_value=0)).clip(lower=0)
    if unknown.sum() > 0:
        base = kinds.loc["unknown"] if "unknown" in kinds.index else 0
        kinds.loc["unknown"] = unknown + base
    for kind in kinds.index:
        traces.append(go.Bar(x=providers, y=kinds.loc[kind].astype(int).tolist(), name=str(kind)))
    fig = _layout(go.Figure(traces), title, barmode="stack", xaxis_title="Provider", yaxis_title="Calls")
    _zero_based(fig, ok.tolist())
    for trace in fig.data:
        trace.customdata = [["provider", p] for p in providers]
    return _fit_margins(fig)


def latency_by_provider(frame: pd.DataFrame) -> go.Figure:
    """Grouped bars of p50 and p95 latency (ms) per provider, from latency_by_provider() rows."""
    title = "Latency by provider (ms)"
    data = _nonempty(frame, "calls" if "calls" in frame else "p50_ms")
    if data.empty:
        return empty_figure(title)
    providers = data["provider"].astype(str).tolist()
    fig = go.Figure(
        [
            go.Bar(x=providers, y=data["p50_ms"].astype(float).tolist(), name="p50"),
            go.Bar(x=providers, y=data["p95_ms"].astype(float).tolist(), name="p95"),
        ]
    )
    fig = _layout(fig, title, barmode="group", xaxis_title="Provider", yaxis_title="Latency (ms)")
    _zero_based(fig, data["p95_ms"].astype(float).tolist())
    for trace in fig.data:
        trace.customdata = [["provider", p] for p in providers]
    return _fit_margins(fig)


def cost_per_user(frame: pd.DataFrame, top: int = 25) -> go.Figure:
    """Horizontal bars of cost per user (the `top` spenders), from get_user_stats() rows."""
    title = "Cost per user (USD)"
    data = _nonempty(frame, "requests" if "requests" in frame else "cost_usd")
    if data.empty:
        return empty_figure(title)
    data = data.sort_values("cost_usd", ascending=False).head(top).iloc[::-1]
    costs = data["cost_usd"].astype(float).tolist()
    fig = go.Figure(
        go.Bar(
            x=costs,
            y=data["user_id"].astype(str).tolist(),
            orientation="h",
            name="cost",
            customdata=[["user_id", str(u)] for u in data["user_id"]],
            hovertemplate="%{y}: $%{x:.6f}<extra>click to see their calls</extra>",
        )
    )
    if len(frame) > top:
        title = f"{title}, top {top} of {len(frame)}"
    _layout(fig, title, xaxis_title="Cost (USD)", yaxis_title="User", showlegend=False)
    fig.update_layout(height=max(300, 22 * len(data) + 120))
    _zero_based(fig, costs, "xaxis")
    return _fit_margins(fig)


def savings_by_task(frame: pd.DataFrame) -> go.Figure:
    """Per task: what calls cost, what they would have cost on the task's default provider, and what the cache saved.

    From breakdown('task_type') rows: key, cost_usd, baseline_cost_usd, saved_by_cache_usd.
    """
    title = "Actual cost vs the task default provider (USD)"
    data = _nonempty(frame, "requests" if "requests" in frame else "baseline_cost_usd")
    if data.empty:
        return empty_figure(title)
    tasks = data["key"].astype(str).tolist()
    fig = go.Figure(
        [
            go.Bar(x=tasks, y=data["cost_usd"].fillna(0).astype(float).tolist(), name="actual"),
            go.Bar(x=tasks, y=data["baseline_cost_usd"].fillna(0).astype(float).tolist(), name="baseline (default)"),
            go.Bar(x=tasks, y=data["saved_by_cache_usd"].fillna(0).astype(float).tolist(), name="saved by cache"),
        ]
    )
    _layout(fig, title, barmode="group", xaxis_title="Task", yaxis_title="Cost (USD)")
    _zero_based(fig, [v for trace in fig.data for v in trace.y])
    for trace in fig.data:
        trace.customdata = [["task_type", t] for t in tasks]
    return _fit_margins(fig, bottom=110)


# --- budgets and A/B comparisons ----------------------------------------------------------------------------------

#: A budget at or above this share of its limit is flagged (the same threshold as core.budget.BudgetLine.warning).
BUDGET_WARNING = 0.8
BUDGET_COLORS = {"ok": "#2e7d32", "warning": "#f39c12", "over": "#c0392b"}

AB_COLUMNS = (
    "task_type",
    "provider",
    "comparisons",
    "wins",
    "ties",
    "win_rate",
    "cost_usd",
    "cost_per_win",
    "avg_latency_ms",
)


def budget_level(fraction: float) -> str:
    """'ok', 'warning' (at least BUDGET_WARNING of the limit is spent or held) or 'over' (the limit is reached)."""
    value = float(fraction)
    if math.isnan(value):
        raise ValueError("a budget fraction cannot be NaN")
    if value >= 1.0:
        return "over"
    return "warning" if value >= BUDGET_WARNING else "ok"


def budget_gauge(
    scope: str, limit_usd: float, spent_usd: float, reserved_usd: float = 0.0, resets_at: str = ""
) -> go.Figure:
    """A gauge of one budget line (the fields of core.budget.BudgetLine): spent plus held against the limit, as a
    horizontal bar over a green and an amber band, with a red line at the limit.

    The bar turns amber at BUDGET_WARNING and red at the limit; the axis stretches past the limit when the spend
    overshoots it (a call's worst case may), so the bar never leaves the gauge. A bar, not a dial: plotly.js's basic
    bundle draws it (ui/plotly_lite), so opening the budgets does not load the full one.
    """
    limit = float(limit_usd)
    used = float(spent_usd) + float(reserved_usd)
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"a budget limit must be a finite number > 0, got {limit_usd!r}")
    if not (math.isfinite(used) and used >= 0):
        raise ValueError(f"spent and reserved must be finite and >= 0, got {spent_usd!r} + {reserved_usd!r}")
    level = budget_level(used / limit)
    subtitle = f"of ${limit:,.2f}" + (f" · resets {resets_at}" if resets_at else "")
    fig = go.Figure(
        go.Bar(
            x=[used],
            y=[""],
            orientation="h",
            width=0.45,
            marker_color=BUDGET_COLORS[level],
            hovertemplate=f"spent and held: $%{{x:,.4f}} of ${limit:,.2f}<extra></extra>",
        )
    )
    band = {"type": "rect", "yref": "paper", "y0": 0, "y1": 1, "layer": "below", "line": {"width": 0}}
    fig.update_layout(
        title={
            "text": f"{escape(scope.capitalize())}: ${used:,.4f}<br><span style='font-size:0.75em'>"
            f"{escape(subtitle)}</span>"
        },
        shapes=[
            {**band, "name": "ok", "x0": 0, "x1": BUDGET_WARNING * limit, "fillcolor": "rgba(46, 125, 50, 0.12)"},
            {
                **band,
                "name": "warning",
                "x0": BUDGET_WARNING * limit,
                "x1": limit,
                "fillcolor": "rgba(243, 156, 18, 0.18)",
            },
            {
                "type": "line",
                "name": "limit",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "x0": limit,
                "x1": limit,
                "line": {"color": BUDGET_COLORS["over"], "width": 3},
            },
        ],
        xaxis={"range": [0, max(limit, used)], "tickprefix": "$", "fixedrange": True},
        yaxis={"visible": False, "fixedrange": True},
        showlegend=False,
        height=170,
        margin={"l": 20, "r": 30, "t": 70, "b": 30},
    )
    return fig


def ab_table(
    rows: Iterable[Mapping[str, Any]],
    *,
    providers: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """VoteStore.win_rates() rows as a frame with AB_COLUMNS, narrowed to the dashboard's provider and task filters
    (each row is one provider on one task, so dropping rows leaves the others' figures intact)."""
    frame = to_frame(rows, AB_COLUMNS)
    if providers:
        frame = frame[frame["provider"].isin(list(providers))]
    if tasks:
        frame = frame[frame["task_type"].isin(list(tasks))]
    return frame.reset_index(drop=True)


def win_rates_chart(frame: pd.DataFrame) -> go.Figure:
    """Grouped bars: win rate per task, one bar per provider, labelled with its cost per win (ab_table() frame)."""
    title = "A/B win rate by task (label: cost per win)"
    if frame is None or frame.empty:
        return empty_figure(title)
    fig = go.Figure()
    for provider, data in frame.groupby("provider", sort=True):
        cost_per_win = pd.to_numeric(data["cost_per_win"], errors="coerce")
        labels = ["no win" if pd.isna(c) else format_usd(c) for c in cost_per_win]
        fig.add_trace(
            go.Bar(
                x=data["task_type"].astype(str).tolist(),
                y=(data["win_rate"].astype(float) * 100).tolist(),
                name=str(provider),
                marker_color=_color(str(provider)),
                text=labels,
                textposition="outside",
                customdata=list(zip(data["wins"].astype(int), data["comparisons"].astype(int), labels, strict=True)),
                hovertemplate=(
                    f"{provider}<br>%{{x}}: %{{y:.0f}}% of %{{customdata[1]}} comparisons "
                    "(%{customdata[0]} wins)<br>cost per win %{customdata[2]}<extra></extra>"
                ),
            )
        )
    _layout(fig, title, barmode="group", xaxis_title="Task", yaxis={"title": "Win rate (%)", "range": [0, 115]})
    return _fit_margins(fig, bottom=110)


# --- one dashboard load -------------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """Everything the usage page draws for one window and filter set, already as frames."""

    hours: float | None
    stats: dict[str, Any]
    by_provider: pd.DataFrame
    by_task: pd.DataFrame
    timeseries: pd.DataFrame
    errors: pd.DataFrame
    latency: pd.DataFrame
    users: pd.DataFrame
    recent: pd.DataFrame
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: Figures built from this load, by name: a rerun of the same view (the page keeps the Dashboard object
    #: itself in its cache) draws them without building them again
    figures: dict[Any, go.Figure] = field(default_factory=dict, repr=False, compare=False)

    def figure(self, name: Any, build: Callable[[], go.Figure]) -> go.Figure:
        """The figure `name`, built once per Dashboard."""
        fig = self.figures.get(name)
        if fig is None:
            fig = self.figures[name] = build()
        return fig

    @property
    def headline(self) -> dict[str, float]:
        return headline_metrics(self.stats)

    @property
    def savings(self) -> dict[str, float]:
        return savings_totals(cast("list[dict[str, Any]]", self.by_task.to_dict("records")))

    @property
    def empty(self) -> bool:
        return int(self.stats.get("total_requests", 0) or 0) == 0


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """A small shared pool: SQLite releases the GIL while it scans, so independent aggregates overlap."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="usage-query")
        return _pool


def _span_kwargs(window: TimeRange | float | None) -> dict[str, Any]:
    """A window (a TimeRange, or the seed's `hours`) as the tracker's keyword arguments."""
    if isinstance(window, TimeRange):
        return {"hours": None, "since": window.since, "until": window.until}
    return {"hours": window}


def load_dashboard(
    tracker: Any,
    window: TimeRange | float | None,
    filters: Mapping[str, Any] | None = None,
    *,
    granularity: str | None = None,
    recent_limit: int = 200,
) -> Dashboard:
    """Run the dashboard's SQL aggregates (tracker methods, all grouped in SQL) and shape them into frames.
    `window` is a `TimeRange` or, as before, the seed's `hours` (None: all time)."""
    f = {k: v for k, v in (filters or {}).items() if v}
    span = _span_kwargs(window)
    q = tracker.dashboard
    jobs: dict[str, Callable[[], Any]] = {
        "stats": lambda: q.headline(**span, **f),
        "by_provider": lambda: q.breakdown("provider", **span, **f),
        "by_task": lambda: q.breakdown("task_type", **span, **f),
        "timeseries": lambda: q.timeseries(granularity=granularity, **span, **f),
        "errors": lambda: q.errors_by_provider(**span, **f),
        "latency": lambda: q.latency_by_provider(**span, **f),
        "users": lambda: q.user_stats(**span, **f),
        "recent": lambda: q.recent_calls(recent_limit, **span, **f),
    }
    timings: dict[str, float] = {}

    def timed(name: str) -> Any:
        started = time.perf_counter()
        try:
            return jobs[name]()
        finally:
            timings[name] = (time.perf_counter() - started) * 1000

    futures = {name: _executor().submit(timed, name) for name in jobs}
    results = {name: future.result() for name, future in futures.items()}
    return Dashboard(
        hours=window.span_seconds(time.time()) / 3600 if isinstance(window, TimeRange) else window,
        stats=results["stats"],
        by_provider=to_frame(results["by_provider"], BREAKDOWN_COLUMNS),
        by_task=to_frame(results["by_task"], BREAKDOWN_COLUMNS),
        timeseries=to_frame(results["timeseries"], TIMESERIES_COLUMNS),
        errors=to_frame(results["errors"], ERROR_COLUMNS),
        latency=to_frame(results["latency"], LATENCY_COLUMNS),
        users=to_frame(results["users"], USER_COLUMNS),
        recent=calls_frame(results["recent"]),
        timings_ms=timings,
    )


# --- click to filter ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drill:
    """A click on a chart, as a narrowing of the calls table: a dimension's value and/or one time bucket."""

    filters: tuple[tuple[str, str], ...] = ()
    since: float | None = None
    until: float | None = None
    label: str = ""


_DRILL_NAMES = {"provider": "provider", "task_type": "task", "user_id": "user"}


def drill_from_selection(points: Sequence[Mapping[str, Any]], granularity: str) -> Drill | None:
    """The first selected point of a chart (Streamlit's `selection.points`) as a Drill, from the point's
    customdata: ["provider" | "task_type" | "user_id", value] or ["time", bucket start ISO, provider or ""].
    None when nothing usable is selected (a click on a forecast line, say)."""
    for point in points:
        data = point.get("customdata")
        if not isinstance(data, list | tuple) or len(data) < 2:
            continue
        kind, value = str(data[0]), str(data[1])
        if kind in _DRILL_NAMES and value:
            return Drill(((kind, value),), label=f"{_DRILL_NAMES[kind]} {value}")
        if kind == "time":
            try:
                start = pd.Timestamp(value).timestamp()
            except ValueError:
                continue
            lo, hi = bucket_bounds(start, granularity)
            when = _bucket_text(lo, hi, granularity)
            provider = str(data[2]) if len(data) > 2 and data[2] else ""
            if provider:
                return Drill((("provider", provider),), lo, hi, f"provider {provider}, {when}")
            return Drill((), lo, hi, when)
    return None


def _bucket_text(lo: float, hi: float, granularity: str) -> str:
    start = pd.Timestamp(lo, unit="s", tz="UTC")
    if granularity in ("5 min", "hour"):
        return f"{start:%b %d, %H:%M}–{pd.Timestamp(hi, unit='s', tz='UTC'):%H:%M} UTC"
    if granularity == "month":
        return f"{start:%B %Y}"
    if granularity == "week":
        return f"week of {start:%b %d, %Y}"
    return f"{start:%b %d, %Y}"


def drilled_calls(
    tracker: Any,
    window: TimeRange | float | None,
    filters: Mapping[str, Any] | None = None,
    drill: Drill | None = None,
    *,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The newest calls of a window and filters, narrowed by a drill (its bucket within the window, its value
    within the filters: a value the filters exclude gives no rows), as `recent_calls` rows."""
    f: dict[str, Any] = {k: list(v) for k, v in (filters or {}).items() if v}
    span = _span_kwargs(window)
    if drill is not None:
        for dim, value in drill.filters:
            if f.get(dim) and value not in f[dim]:
                return []
            f[dim] = [value]
        if drill.since is not None:
            start = window_since(window)
            span = {"hours": None, "since": drill.since if start is None else max(drill.since, start)}
            until = window.until if isinstance(window, TimeRange) else None
            span["until"] = drill.until if until is None or drill.until is None else min(drill.until, until)
    return cast("list[dict[str, Any]]", tracker.dashboard.recent_calls(limit, **span, **f))


def load_calls(
    tracker: Any,
    window: TimeRange | float | None,
    filters: Mapping[str, Any] | None = None,
    drill: Drill | None = None,
    *,
    limit: int = 200,
) -> pd.DataFrame:
    """`drilled_calls` as the calls table frame."""
    return calls_frame(drilled_calls(tracker, window, filters, drill, limit=limit))


def window_since(window: TimeRange | float | None) -> float | None:
    """The start of a window in epoch seconds (None: all time)."""
    if isinstance(window, TimeRange):
        return window.since
    return None if window is None else time.time() - float(window) * 3600


#: Most rows one CSV export holds; a bigger dump belongs in sqlite-utils or Datasette, not a browser download.
#: No cap: the export holds every call in the view (an older version stopped at 100,000 rows without saying so).
EXPORT_LIMIT: int | None = None


def export_csv(
    tracker: Any,
    window: TimeRange | float | None,
    filters: Mapping[str, Any] | None = None,
    *,
    limit: int | None = EXPORT_LIMIT,
) -> bytes:
    """Every call row in the window and filters, newest first, as CSV (run only when the user clicks download).

    Rows are read from SQLite in batches and written straight into the CSV, so memory holds the CSV text, not a
    million row dicts. `limit` caps it only when a caller asks."""
    f = {k: v for k, v in (filters or {}).items() if v}
    span = _span_kwargs(window)
    if limit is not None:
        return calls_csv(tracker.dashboard.recent_calls(limit, **span, **f))
    return calls_csv(tracker.dashboard.iter_calls(**span, **f))


def filter_options(
    tracker: Any, window: TimeRange | float | None, selected: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """Filter choices for a window: the providers, tasks and users with calls in it (unfiltered), plus whatever
    is already selected so a choice never disappears under the user. Three grouped queries, run together."""
    dimensions = {"provider": "provider", "task_type": "task_type", "user_id": "user_id"}
    span = _span_kwargs(window)

    def keys_of(dimension: str) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", tracker.dashboard.breakdown(dimension, **span))

    futures = {name: _executor().submit(keys_of, dim) for name, dim in dimensions.items()}
    options: dict[str, list[str]] = {}
    for name, future in futures.items():
        values = {str(row["key"]) for row in future.result()}
        values.update((selected or {}).get(name) or ())
        options[name] = sorted(values)
    return options


# --- forecasts and labels (dashboard v2) ----------------------------------------------------------------------

#: Human names for the call columns, for tables on the page (the CSV keeps the stable machine names).
CALL_LABELS: dict[str, str] = {
    "time": "Time (UTC)",
    "user_id": "User",
    "task_type": "Task",
    "provider": "Provider",
    "model": "Model",
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "cost_usd": "Cost",
    "baseline_cost_usd": "Default-provider cost",
    "saved_cost_usd": "Saved",
    "latency_ms": "Latency (ms)",
    "success": "Succeeded",
    "error_kind": "Error",
    "cached": "Cache hit",
    "fallback_chain": "Fallback chain",
    "tokens_estimated": "Tokens estimated",
    "price_estimated": "Price estimated",
    "challenger": "A/B challenger",
}


def daily_spend(timeseries_rows: Iterable[Mapping[str, Any]]) -> dict[Any, float]:
    """USD per UTC date from `tracker.timeseries(..., bucket_seconds=86400)` rows (all providers summed)."""
    from core.forecast import daily_from_buckets

    pairs = [(pd.Timestamp(row["bucket"]).timestamp(), float(row["cost_usd"] or 0.0)) for row in timeseries_rows]
    return daily_from_buckets(pairs)


# --- forecast on the cost chart -------------------------------------------------------------------------------


def spend_forecast(
    tracker: Any, period: str, now: float, limit_usd: float | None, user: str | None, budget: str
) -> SpendForecast:
    """A budget period's ("daily" or "monthly", UTC) spend so far, cumulative per hour or day, and its linear and
    day-of-week forecasts against `limit_usd`, for everyone or one user: what `cost_over_time` overlays."""
    from core.budget import period_end, period_start
    from core.forecast import linear_forecast, weekday_forecast

    start, end = period_start(period, now), period_end(period, now).timestamp()
    who = {} if user is None else {"user_id": [user]}
    q = tracker.dashboard
    step = "hour" if period == "daily" else "day"
    per_bucket: dict[float, float] = {}
    for row in q.timeseries(None, granularity=step, since=start, **who):
        ts = pd.Timestamp(row["bucket"]).timestamp()
        per_bucket[ts] = per_bucket.get(ts, 0.0) + float(row["cost_usd"] or 0.0)
    running = 0.0
    spent: list[tuple[float, float]] = [(start, 0.0)]
    for ts in sorted(per_bucket):
        running += per_bucket[ts]
        spent.append((min(bucket_bounds(ts, step)[1], now), running))
    history = daily_spend(q.timeseries(None, granularity="day", since=now - 63 * 86_400, **who))
    return SpendForecast(
        budget=budget,
        period_start=start,
        spent=tuple(spent),
        linear=linear_forecast(running, start, end, now, limit_usd),
        weekday=weekday_forecast(history, start, end, now, limit_usd),
    )
