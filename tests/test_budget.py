"""Budgets: arithmetic, periods rolling over at UTC midnight and month end, per-user limits, status, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.base import BudgetExceeded
from core.budget import BudgetGuard, Reservation, period_end, period_start
from core.config import BudgetSettings, load_settings


def ts(text: str) -> float:
    """A UTC timestamp from 'YYYY-MM-DD HH:MM:SS'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


class Ledger:
    """An in-memory spend function: rows of (ts, user, usd), summed like the tracker's spend_usd."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, float]] = []

    def add(self, when: float, user: str, usd: float) -> None:
        self.rows.append((when, user, usd))

    def __call__(self, since: float, user: str | None) -> float:
        return sum(usd for when, who, usd in self.rows if when >= since and (user is None or who == user))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def guard(ledger: Ledger, clock: Callable[[], float], **limits: object) -> BudgetGuard:
    return BudgetGuard(BudgetSettings(**limits), ledger, clock=clock)  # type: ignore[arg-type]


# --- periods ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "now", "start"),
    [
        ("daily", "2024-03-15 13:45:10", "2024-03-15 00:00:00"),
        ("daily", "2024-03-15 00:00:00", "2024-03-15 00:00:00"),
        ("daily", "2024-03-15 23:59:59", "2024-03-15 00:00:00"),
        ("monthly", "2024-03-15 13:45:10", "2024-03-01 00:00:00"),
        ("monthly", "2024-03-01 00:00:00", "2024-03-01 00:00:00"),
        ("monthly", "2024-02-29 23:59:59", "2024-02-01 00:00:00"),
        ("monthly", "2024-12-31 23:59:59", "2024-12-01 00:00:00"),
    ],
)
def test_period_start(period: str, now: str, start: str) -> None:
    assert ts(start) == period_start(period, ts(now))


@pytest.mark.parametrize(
    ("period", "now", "end"),
    [
        ("daily", "2024-03-15 13:45:10", "2024-03-16 00:00:00"),
        ("daily", "2024-02-28 23:59:59", "2024-02-29 00:00:00"),  # leap day
        ("daily", "2024-12-31 12:00:00", "2025-01-01 00:00:00"),
        ("monthly", "2024-01-31 23:59:59", "2024-02-01 00:00:00"),
        ("monthly", "2024-02-10 00:00:00", "2024-03-01 00:00:00"),
        ("monthly", "2024-12-31 23:59:59", "2025-01-01 00:00:00"),
        ("monthly", "2023-04-30 08:00:00", "2023-05-01 00:00:00"),
    ],
)
def test_period_end(period: str, now: str, end: str) -> None:
    assert ts(end) == period_end(period, ts(now)).timestamp()


# --- arithmetic ---------------------------------------------------------------------------------------------------


def test_no_limits_never_blocks_and_reports_nothing() -> None:
    ledger = Ledger()
    ledger.add(ts("2024-03-15 10:00:00"), "ann", 1_000_000.0)
    g = guard(ledger, Clock(ts("2024-03-15 12:00:00")))
    assert isinstance(g.reserve("ann", 50.0), Reservation)
    assert [] == g.status("ann")


@pytest.mark.parametrize(
    ("spent", "estimate", "fits"),
    [
        (0.0, 1.0, True),  # exactly the limit fits
        (0.5, 0.5, True),
        (0.5, 0.5000001, False),
        (0.99, 0.02, False),
        (1.0, 0.0, True),  # a free call never blocks
        (1.2, 0.0, False),  # …unless the budget is already overspent
    ],
)
def test_reserve_against_daily_limit(spent: float, estimate: float, fits: bool) -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = Ledger()
    ledger.add(now - 60, "ann", spent)
    g = guard(ledger, Clock(now), user_daily_usd=1.0)
    if fits:
        assert estimate == g.reserve("ann", estimate).amount_usd
    else:
        with pytest.raises(BudgetExceeded):
            g.reserve("ann", estimate)


def test_budget_exceeded_names_spent_limit_and_reset_time() -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = Ledger()
    ledger.add(now - 60, "ann", 0.75)
    g = guard(ledger, Clock(now), user_daily_usd=1.0)
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("ann", 0.5)
    exc = caught.value
    assert ("user daily", 0.75, 1.0, "2024-03-16 00:00 UTC", 0.5) == (
        exc.scope,
        exc.spent_usd,
        exc.limit_usd,
        exc.resets_at,
        exc.estimate_usd,
    )
    assert "$0.7500 spent of $1.00" in str(exc)
    assert "resets at 2024-03-16 00:00 UTC" in str(exc)


def test_reservations_add_up_and_settling_frees_them() -> None:
    g = guard(Ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0)
    first = g.reserve("ann", 0.4)
    g.reserve("ann", 0.4)
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("ann", 0.4)
    assert pytest.approx(0.8) == caught.value.spent_usd  # held reservations count as spent
    g.settle(first)
    assert 0.4 == g.reserve("ann", 0.4).amount_usd


def test_settle_is_idempotent_and_accepts_none() -> None:
    g = guard(Ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0)
    held = g.reserve("ann", 0.6)
    g.settle(held)
    g.settle(held)
    g.settle(None)
    assert 0.0 == g.status("ann")[0].reserved_usd


def test_settle_after_recording_does_not_double_count() -> None:
    """The router records the real cost first, then settles: afterwards only the recorded cost counts."""
    now = ts("2024-03-15 12:00:00")
    ledger = Ledger()
    g = guard(ledger, Clock(now), user_daily_usd=1.0)
    held = g.reserve("ann", 0.5)
    ledger.add(now, "ann", 0.2)  # the call cost less than its worst case
    assert pytest.approx(0.7) == g.status("ann")[0].spent_usd + g.status("ann")[0].reserved_usd
    g.settle(held)
    line = g.status("ann")[0]
    assert (pytest.approx(0.2), 0.0) == (line.spent_usd, line.reserved_usd)


def test_user_limits_are_per_user_and_global_limits_are_shared() -> None:
    g = guard(Ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0, global_daily_usd=1.5)
    g.reserve("ann", 0.9)
    g.reserve("bob", 0.5)  # bob's own budget is untouched by ann's hold
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("cid", 0.2)  # but the global budget sees both
    assert ("global daily", pytest.approx(1.4)) == (caught.value.scope, caught.value.spent_usd)


def test_spend_of_other_users_does_not_count_against_a_user_budget() -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = Ledger()
    ledger.add(now - 10, "bob", 5.0)
    g = guard(ledger, Clock(now), user_daily_usd=1.0)
    assert 1.0 == g.reserve("ann", 1.0).amount_usd


@pytest.mark.parametrize(
    ("user", "estimate", "fits"),
    [
        ("vip", 4.0, True),  # own daily limit of 5
        ("vip", 5.5, False),
        ("ann", 1.5, False),  # the default daily limit of 1
        ("ann", 1.0, True),
    ],
)
def test_per_user_override(user: str, estimate: float, fits: bool) -> None:
    g = guard(Ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0, per_user={"vip": {"daily_usd": 5.0}})
    if fits:
        g.reserve(user, estimate)
    else:
        with pytest.raises(BudgetExceeded):
            g.reserve(user, estimate)


def test_per_user_override_keeps_the_default_for_the_other_period() -> None:
    settings = BudgetSettings(user_daily_usd=1.0, user_monthly_usd=10.0, per_user={"vip": {"daily_usd": 5.0}})
    assert {"user_daily_usd": 5.0, "user_monthly_usd": 10.0, "global_daily_usd": None, "global_monthly_usd": None} == (
        settings.limits_for("vip")
    )


# --- periods rolling over -----------------------------------------------------------------------------------------


def test_daily_budget_resets_at_utc_midnight_but_monthly_keeps_counting() -> None:
    clock = Clock(ts("2024-03-15 23:59:59"))
    ledger = Ledger()
    ledger.add(ts("2024-03-15 20:00:00"), "ann", 0.9)
    g = guard(ledger, clock, user_daily_usd=1.0, user_monthly_usd=1.5)
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("ann", 0.2)
    assert "user daily" == caught.value.scope
    clock.now = ts("2024-03-16 00:00:00")
    g.reserve("ann", 0.2)  # yesterday's 0.9 no longer counts against the day
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("ann", 0.5)  # 0.9 + 0.2 held + 0.5 > 1.5 this month
    assert ("user monthly", "2024-04-01 00:00 UTC") == (caught.value.scope, caught.value.resets_at)


def test_monthly_budget_resets_at_month_end() -> None:
    clock = Clock(ts("2024-02-29 23:59:59"))
    ledger = Ledger()
    ledger.add(ts("2024-02-03 09:00:00"), "ann", 9.5)
    g = guard(ledger, clock, global_monthly_usd=10.0)
    with pytest.raises(BudgetExceeded):
        g.reserve("ann", 1.0)
    clock.now = ts("2024-03-01 00:00:01")
    g.reserve("ann", 1.0)
    assert "2024-04-01 00:00 UTC" == g.status("ann")[0].resets_at


# --- status lines -------------------------------------------------------------------------------------------------


def test_status_lists_every_set_budget_with_its_reset_time() -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = Ledger()
    ledger.add(now - 100, "ann", 0.25)
    ledger.add(now - 100, "bob", 1.0)
    g = guard(ledger, Clock(now), user_daily_usd=1.0, global_monthly_usd=20.0)
    lines = {line.scope: line for line in g.status("ann")}
    assert ["global monthly", "user daily"] == sorted(lines)
    assert (0.25, 1.0, "2024-03-16 00:00 UTC") == (
        lines["user daily"].spent_usd,
        lines["user daily"].limit_usd,
        lines["user daily"].resets_at,
    )
    assert (1.25, "2024-04-01 00:00 UTC") == (lines["global monthly"].spent_usd, lines["global monthly"].resets_at)


@pytest.mark.parametrize(
    ("spent", "held", "fraction", "warning"),
    [
        (0.0, 0.0, 0.0, False),
        (0.79, 0.0, 0.79, False),
        (0.8, 0.0, 0.8, True),
        (0.5, 0.3, 0.8, True),  # a held reservation counts towards the warning
        (1.2, 0.0, 1.2, True),
    ],
)
def test_status_fraction_and_80_percent_warning(spent: float, held: float, fraction: float, warning: bool) -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = Ledger()
    ledger.add(now - 1, "ann", spent)
    g = guard(ledger, Clock(now), user_daily_usd=1.0)
    if held:
        g.reserve("ann", held)
    line = g.status("ann")[0]
    assert (pytest.approx(fraction), warning) == (line.fraction, line.warning)


# --- concurrency --------------------------------------------------------------------------------------------------


def test_twenty_threads_reserving_at_once_never_overshoot() -> None:
    """20 threads released together: only as many holds as fit are granted, whatever the interleaving."""
    g = guard(Ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0, global_daily_usd=1.0)
    start = threading.Barrier(20)
    granted: list[Reservation] = []
    refused: list[BudgetExceeded] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        start.wait()
        try:
            held = g.reserve(f"user{i % 2}", 0.3)
        except BudgetExceeded as exc:
            with lock:
                refused.append(exc)
        else:
            with lock:
                granted.append(held)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (3, 17) == (len(granted), len(refused))
    assert pytest.approx(0.9) == sum(r.amount_usd for r in granted)


# --- configuration ------------------------------------------------------------------------------------------------


def test_budgets_load_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "cv_copilot.toml"
    config.write_text(
        "[budgets]\npolicy = 'block'\nglobal_daily_usd = 5\nuser_monthly_usd = 2.5\nuser_daily_usd = 0\n"
        "[budgets.users.vip]\ndaily_usd = 3\nmonthly_usd = 30\n"
        "[budgets.users.nobody]\ndaily_usd = 0\n",
        encoding="utf-8",
    )
    budgets = load_settings(env={"CV_COPILOT_NO_DOTENV": "1"}, config_path=config).budgets
    assert (
        BudgetSettings(
            policy="block",
            global_daily_usd=5.0,
            user_monthly_usd=2.5,
            per_user={"vip": {"daily_usd": 3.0, "monthly_usd": 30.0}, "nobody": {}},
        )
        == budgets
    )
    assert budgets.any_set


@pytest.mark.parametrize("policy", ["", "stop", "BLOCK"])
def test_unknown_policy_is_an_error_naming_the_key(tmp_path: Path, policy: str) -> None:
    config = tmp_path / "cv_copilot.toml"
    config.write_text(f"[budgets]\npolicy = '{policy}'\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cv_copilot\.toml.*\[budgets\] policy"):
        load_settings(env={"CV_COPILOT_NO_DOTENV": "1"}, config_path=config)
