"""Spend forecasts: linear and weekday-aware, against a budget's limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.forecast import Forecast, daily_from_buckets, linear_forecast, weekday_forecast


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


NOV = ts(2026, 11, 1)
DEC = ts(2026, 12, 1)


@pytest.mark.parametrize(
    ("spent", "now", "limit", "projected", "exceeds_day"),
    [
        (10.0, ts(2026, 11, 11), 100.0, 30.0, None),  # a third of the month → 3×
        (10.0, ts(2026, 11, 11), 22.5, 30.0, 23),  # $1 a day: reaches $22.50 at noon on the 23rd
        (0.0, ts(2026, 11, 11), 10.0, 0.0, None),  # nothing spent: nothing projected
        (5.0, ts(2026, 11, 1), 10.0, 5.0, None),  # no time elapsed: no rate
        (12.0, ts(2026, 11, 11), 10.0, 36.0, 11),  # already over: exceeds now
        (10.0, ts(2026, 11, 16), None, 20.0, None),  # no limit: projection only
        (10.0, ts(2026, 12, 5), 15.0, 10.0, None),  # after the period: clamped to its end
    ],
)
def test_linear_forecast(
    spent: float, now: float, limit: float | None, projected: float, exceeds_day: int | None
) -> None:
    f = linear_forecast(spent, NOV, DEC, now, limit)
    assert pytest.approx(projected) == f.projected_usd
    assert exceeds_day == (f.exceeds_at.day if f.exceeds_at else None)
    assert datetime(2026, 12, 1, tzinfo=UTC) == f.period_end


def test_linear_forecast_says_when() -> None:
    f = linear_forecast(10.0, NOV, DEC, ts(2026, 11, 11), 22.5)
    assert "At this rate you reach the monthly budget on the 23rd (linear)." == f.sentence("monthly budget")


@pytest.mark.parametrize("n,suffix", [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (12, "12th"), (22, "22nd")])
def test_ordinals(n: int, suffix: str) -> None:
    f = Forecast(1.0, 2.0, 1.5, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 10, n, 12, tzinfo=UTC), "linear")
    assert f"on the {suffix} " in f.sentence()


def weekday_traffic(start: date, end: date, weekday_usd: float, weekend_usd: float) -> dict[date, float]:
    out: dict[date, float] = {}
    d = start
    while d < end:
        out[d] = weekend_usd if d.weekday() >= 5 else weekday_usd
        d += timedelta(days=1)
    return out


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Nov 2026: 21 weekdays, 9 weekend days; $10 a weekday, $0 at weekends → $210 for the month, whatever the day
        (ts(2026, 11, 9), 210.0),  # a Monday
        (ts(2026, 11, 16), 210.0),
        (ts(2026, 11, 23), 210.0),
    ],
)
def test_weekday_forecast_sees_weekends(now: float, expected: float) -> None:
    today = datetime.fromtimestamp(now, UTC).date()
    daily = weekday_traffic(date(2026, 10, 1), today, 10.0, 0.0)
    f = weekday_forecast(daily, NOV, DEC, now, 1000.0)
    assert "weekday" == f.method
    assert pytest.approx(expected) == f.projected_usd
    assert f.exceeds_at is None


def test_weekday_forecast_beats_linear_after_a_quiet_weekend() -> None:
    now = ts(2026, 11, 9)  # Monday 00:00, right after a $0 weekend
    daily = weekday_traffic(date(2026, 10, 1), date(2026, 11, 9), 10.0, 0.0)
    spent = sum(v for d, v in daily.items() if d >= date(2026, 11, 1))
    assert 50.0 == spent
    assert pytest.approx(187.5) == linear_forecast(spent, NOV, DEC, now).projected_usd  # 50 over 8 days × 30
    assert pytest.approx(210.0) == weekday_forecast(daily, NOV, DEC, now).projected_usd


def test_weekday_forecast_finds_the_day_the_limit_is_reached() -> None:
    now = ts(2026, 11, 9)
    daily = weekday_traffic(date(2026, 10, 1), date(2026, 11, 9), 10.0, 0.0)
    f = weekday_forecast(daily, NOV, DEC, now, 95.0)  # $50 so far, $10 a weekday → $95 at noon on Fri 13th
    assert f.exceeds_at is not None and (11, 13) == (f.exceeds_at.month, f.exceeds_at.day)


def test_weekday_forecast_needs_a_week_of_history() -> None:
    daily = {date(2026, 11, 1): 5.0, date(2026, 11, 2): 5.0}
    assert "linear" == weekday_forecast(daily, NOV, DEC, ts(2026, 11, 3)).method


def test_daily_from_buckets_sums_per_utc_day() -> None:
    rows = [(ts(2026, 11, 1, 1), 1.0), (ts(2026, 11, 1, 23), 2.0), (ts(2026, 11, 2), 4.0)]
    assert {date(2026, 11, 1): 3.0, date(2026, 11, 2): 4.0} == daily_from_buckets(rows)


def test_linear_forecast_rejects_an_empty_period() -> None:
    with pytest.raises(ValueError):
        linear_forecast(1.0, DEC, NOV, NOV)


DAY = 86_400.0


def test_forecast_paths_end_at_the_projection() -> None:
    linear = linear_forecast(10.0, NOV, DEC, NOV + 10 * DAY)
    assert [(NOV + 10 * DAY, 10.0), (DEC, pytest.approx(30.0))] == [(t.timestamp(), v) for t, v in linear.path]
    daily = {date(2026, 10, 1) + timedelta(days=i): 1.0 for i in range(40)}
    weekday = weekday_forecast(daily, NOV, DEC, ts(2026, 11, 10))
    assert ("weekday", "day-of-week aware") == (weekday.method, weekday.label)
    assert weekday.path[-1] == (datetime.fromtimestamp(DEC, UTC), pytest.approx(weekday.projected_usd))
    values = [v for _t, v in weekday.path]
    assert values == sorted(values)  # cumulative: never goes down
