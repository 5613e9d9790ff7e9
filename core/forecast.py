"""Where spend is heading: the total a budget period will end at, and the day the budget's limit is reached.

Two models, both pure functions of numbers the tracker already has:
- `linear_forecast`: the period's spend so far, extended at its average rate. Right for steady traffic.
- `weekday_forecast`: each remaining day costs the average of past days with the same weekday (a week or more of
  history needed, else it falls back to linear). Right for traffic that sleeps at weekends, where a Monday-morning
  linear forecast would overshoot and a Sunday one undershoot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["Forecast", "daily_from_buckets", "linear_forecast", "weekday_forecast"]

DAY = 86_400.0


@dataclass(frozen=True)
class Forecast:
    """A budget period's spend so far and where it ends at this rate."""

    spent_usd: float
    projected_usd: float
    limit_usd: float | None
    period_end: datetime
    exceeds_at: datetime | None  # when cumulative spend is expected to pass the limit (None: not this period)
    method: str  # "linear" or "weekday"
    #: (time, cumulative USD) from now to the period's end: the line a chart draws for this forecast
    path: tuple[tuple[datetime, float], ...] = ()

    @property
    def will_exceed(self) -> bool:
        return self.exceeds_at is not None

    def sentence(self, budget: str = "budget") -> str:
        """'At this rate you reach the monthly budget on the 23rd' or the projected total against the limit."""
        if self.limit_usd is not None and self.spent_usd >= self.limit_usd > 0:
            return f"The {budget} is already reached (${self.spent_usd:,.2f} of ${self.limit_usd:,.2f})."
        if self.exceeds_at is not None:
            return f"At this rate you reach the {budget} on the {_ordinal(self.exceeds_at.day)} ({self.label})."
        limit = f" of ${self.limit_usd:,.2f}" if self.limit_usd is not None else ""
        return f"At this rate the period ends at ${self.projected_usd:,.2f}{limit} ({self.label})."

    @property
    def label(self) -> str:
        """How the forecast was made, for a legend or a sentence."""
        return "day-of-week aware" if self.method == "weekday" else "linear"


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def linear_forecast(
    spent_usd: float, period_start: float, period_end: float, now: float, limit_usd: float | None = None
) -> Forecast:
    """Spend so far extended to `period_end` at the average rate since `period_start` (all times epoch seconds)."""
    if not period_start < period_end:
        raise ValueError("period_start must be before period_end")
    spent = max(0.0, float(spent_usd))
    now = min(max(now, period_start), period_end)
    elapsed = now - period_start
    rate = spent / elapsed if elapsed > 0 else 0.0  # USD per second
    projected = spent + rate * (period_end - now)
    exceeds: datetime | None = None
    if limit_usd is not None:
        if spent > limit_usd:
            exceeds = _dt(now)
        elif rate > 0:
            at = now + (limit_usd - spent) / rate
            if at <= period_end and projected > limit_usd:
                exceeds = _dt(at)
    path = ((_dt(now), spent), (_dt(period_end), projected))
    return Forecast(spent, projected, limit_usd, _dt(period_end), exceeds, "linear", path)


def daily_from_buckets(rows: list[tuple[float, float]]) -> dict[date, float]:
    """(bucket start epoch seconds, USD) rows, any bucket size up to a day, summed per UTC date."""
    daily: dict[date, float] = {}
    for ts, usd in rows:
        d = _dt(ts).date()
        daily[d] = daily.get(d, 0.0) + float(usd)
    return daily


def weekday_forecast(
    daily: Mapping[date, float],
    period_start: float,
    period_end: float,
    now: float,
    limit_usd: float | None = None,
    *,
    min_history_days: int = 7,
) -> Forecast:
    """Spend per UTC day (`daily`, history before the period included) projected with each weekday's mean.

    Days with no entry between the first day of history and yesterday count as $0. The rest of today is that
    weekday's mean times the share of the day left. Fewer than `min_history_days` complete days: linear instead.
    """
    today = _dt(now).date()
    start_day = _dt(period_start).date()
    spent = sum(v for d, v in daily.items() if start_day <= d <= today)
    past = sorted(d for d in daily if d < today)
    if not past or (today - past[0]).days < min_history_days:
        return linear_forecast(spent, period_start, period_end, now, limit_usd)
    sums = [0.0] * 7
    counts = [0] * 7
    day = past[0]
    while day < today:
        sums[day.weekday()] += daily.get(day, 0.0)
        counts[day.weekday()] += 1
        day += timedelta(days=1)
    means = [s / c if c else math.nan for s, c in zip(sums, counts, strict=True)]
    overall = sum(sums) / max(1, sum(counts))
    means = [overall if math.isnan(m) else m for m in means]

    end = _dt(period_end)
    cumulative = spent
    exceeds: datetime | None = None
    if limit_usd is not None and spent > limit_usd:
        exceeds = _dt(now)
    # the rest of today, then whole days up to the period's end
    midnight = datetime.combine(today, datetime.min.time(), UTC) + timedelta(days=1)
    pieces: list[tuple[datetime, datetime, float]] = []
    cursor = _dt(max(now, period_start))
    while cursor < end:
        stop = min(midnight, end)
        share = (stop - cursor).total_seconds() / DAY
        pieces.append((cursor, stop, means[cursor.weekday()] * share))
        cursor, midnight = stop, midnight + timedelta(days=1)
    path = [(_dt(max(now, period_start)), spent)]
    for begin, stop, usd in pieces:
        if limit_usd is not None and exceeds is None and usd > 0 and cumulative + usd > limit_usd:
            fraction = (limit_usd - cumulative) / usd
            exceeds = begin + (stop - begin) * fraction
        cumulative += usd
        path.append((stop, cumulative))
    return Forecast(spent, cumulative, limit_usd, end, exceeds, "weekday", tuple(path))
