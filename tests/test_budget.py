"""Budget contract, run against every backend: arithmetic, periods rolling over at UTC midnight and month end,
per-user limits, status, concurrency. Spend comes from a real usage tracker on the test's DB file. The shared
backend's own promises (expiry, settle grace, several guards on one file) are at the end; the multi-process proof is
in test_limits_multiprocess.py.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.base import BudgetExceeded
from core.budget import Budget, BudgetGuard, Reservation, period_end, period_start
from core.config import BudgetSettings, load_settings
from core.limits import SQLiteBudget
from core.usage_tracker import UsageTracker
from tests.test_limits_redis import prefix, shared_redis_url


def ts(text: str) -> float:
    """A UTC timestamp from 'YYYY-MM-DD HH:MM:SS'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


class Ledger:
    """Recorded spend: rows written through a real usage tracker (synchronously), read back by its spend_usd."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.tracker = UsageTracker(db, flush_interval=None)

    def add(self, when: float, user: str, usd: float) -> None:
        self.tracker.record_usage(
            task_type="cv_parsing", provider="openai", model="gpt-4o-mini", input_tokens=100, output_tokens=50,
            cost_usd=usd, success=True, user_id=user, ts=when,
        )  # fmt: skip

    def __call__(self, since: float, user: str | None) -> float:
        return self.tracker.spend_usd(since, user)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Backend:
    """Builds ledgers and guards of one backend; each ledger gets its own DB file."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self._files = itertools.count()
        self._trackers: list[UsageTracker] = []

    def ledger(self) -> Ledger:
        ledger = Ledger(self.folder / f"usage{next(self._files)}.db")
        self._trackers.append(ledger.tracker)
        return ledger

    def guard(self, ledger: Ledger, clock: Callable[[], float], **limits: Any) -> Any:
        if self.name == "memory":
            return BudgetGuard(BudgetSettings(**limits), ledger, clock=clock)
        if self.name == "redis":
            from core.limits.redis_backend import RedisBudget, RedisConnection

            connection = RedisConnection(shared_redis_url(), prefix=prefix())
            return RedisBudget(BudgetSettings(**limits), connection, ledger, clock=clock, settle_grace_seconds=0)
        # the ledger writes synchronously, so a settled hold need not linger for the tracker's write-behind
        return SQLiteBudget(BudgetSettings(**limits), ledger.db, clock=clock, settle_grace_seconds=0)

    def close(self) -> None:
        for tracker in self._trackers:
            tracker.close()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def b(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "redis":
        shared_redis_url()  # skips, with the reason, without a server
    backend = Backend(request.param, tmp_path)
    yield backend
    backend.close()


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


def test_satisfies_the_protocol(b: Backend) -> None:
    assert isinstance(b.guard(b.ledger(), Clock(0.0)), Budget)


def test_no_limits_never_blocks_and_reports_nothing(b: Backend) -> None:
    ledger = b.ledger()
    ledger.add(ts("2024-03-15 10:00:00"), "ann", 1_000_000.0)
    g = b.guard(ledger, Clock(ts("2024-03-15 12:00:00")))
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
def test_reserve_against_daily_limit(b: Backend, spent: float, estimate: float, fits: bool) -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = b.ledger()
    ledger.add(now - 60, "ann", spent)
    g = b.guard(ledger, Clock(now), user_daily_usd=1.0)
    if fits:
        assert estimate == g.reserve("ann", estimate).amount_usd
    else:
        with pytest.raises(BudgetExceeded):
            g.reserve("ann", estimate)


def test_budget_exceeded_names_spent_limit_and_reset_time(b: Backend) -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = b.ledger()
    ledger.add(now - 60, "ann", 0.75)
    g = b.guard(ledger, Clock(now), user_daily_usd=1.0)
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


def test_reservations_add_up_and_settling_frees_them(b: Backend) -> None:
    g = b.guard(b.ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0)
    first = g.reserve("ann", 0.4)
    g.reserve("ann", 0.4)
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("ann", 0.4)
    assert pytest.approx(0.8) == caught.value.spent_usd  # held reservations count as spent
    g.settle(first)
    assert 0.4 == g.reserve("ann", 0.4).amount_usd


def test_settle_is_idempotent_and_accepts_none(b: Backend) -> None:
    g = b.guard(b.ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0)
    held = g.reserve("ann", 0.6)
    g.settle(held)
    g.settle(held)
    g.settle(None)
    assert 0.0 == g.status("ann")[0].reserved_usd


def test_settle_after_recording_does_not_double_count(b: Backend) -> None:
    """The router records the real cost first, then settles: afterwards only the recorded cost counts."""
    now = ts("2024-03-15 12:00:00")
    ledger = b.ledger()
    g = b.guard(ledger, Clock(now), user_daily_usd=1.0)
    held = g.reserve("ann", 0.5)
    ledger.add(now, "ann", 0.2)  # the call cost less than its worst case
    assert pytest.approx(0.7) == g.status("ann")[0].spent_usd + g.status("ann")[0].reserved_usd
    g.settle(held)
    line = g.status("ann")[0]
    assert (pytest.approx(0.2), 0.0) == (line.spent_usd, line.reserved_usd)


def test_user_limits_are_per_user_and_global_limits_are_shared(b: Backend) -> None:
    g = b.guard(b.ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0, global_daily_usd=1.5)
    g.reserve("ann", 0.9)
    g.reserve("bob", 0.5)  # bob's own budget is untouched by ann's hold
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("cid", 0.2)  # but the global budget sees both
    assert ("global daily", pytest.approx(1.4)) == (caught.value.scope, caught.value.spent_usd)


def test_spend_of_other_users_does_not_count_against_a_user_budget(b: Backend) -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = b.ledger()
    ledger.add(now - 10, "bob", 5.0)
    g = b.guard(ledger, Clock(now), user_daily_usd=1.0)
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
def test_per_user_override(b: Backend, user: str, estimate: float, fits: bool) -> None:
    g = b.guard(b.ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0, per_user={"vip": {"daily_usd": 5.0}})
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


def test_daily_budget_resets_at_utc_midnight_but_monthly_keeps_counting(b: Backend) -> None:
    clock = Clock(ts("2024-03-15 23:59:59"))
    ledger = b.ledger()
    ledger.add(ts("2024-03-15 20:00:00"), "ann", 0.9)
    g = b.guard(ledger, clock, user_daily_usd=1.0, user_monthly_usd=1.5)
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("ann", 0.2)
    assert "user daily" == caught.value.scope
    clock.now = ts("2024-03-16 00:00:00")
    g.reserve("ann", 0.2)  # yesterday's 0.9 no longer counts against the day
    with pytest.raises(BudgetExceeded) as caught:
        g.reserve("ann", 0.5)  # 0.9 + 0.2 held + 0.5 > 1.5 this month
    assert ("user monthly", "2024-04-01 00:00 UTC") == (caught.value.scope, caught.value.resets_at)


def test_monthly_budget_resets_at_month_end(b: Backend) -> None:
    clock = Clock(ts("2024-02-29 23:59:59"))
    ledger = b.ledger()
    ledger.add(ts("2024-02-03 09:00:00"), "ann", 9.5)
    g = b.guard(ledger, clock, global_monthly_usd=10.0)
    with pytest.raises(BudgetExceeded):
        g.reserve("ann", 1.0)
    clock.now = ts("2024-03-01 00:00:01")
    g.reserve("ann", 1.0)
    assert "2024-04-01 00:00 UTC" == g.status("ann")[0].resets_at


# --- status lines -------------------------------------------------------------------------------------------------


def test_status_lists_every_set_budget_with_its_reset_time(b: Backend) -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = b.ledger()
    ledger.add(now - 100, "ann", 0.25)
    ledger.add(now - 100, "bob", 1.0)
    g = b.guard(ledger, Clock(now), user_daily_usd=1.0, global_monthly_usd=20.0)
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
def test_status_fraction_and_80_percent_warning(
    b: Backend, spent: float, held: float, fraction: float, warning: bool
) -> None:
    now = ts("2024-03-15 12:00:00")
    ledger = b.ledger()
    ledger.add(now - 1, "ann", spent)
    g = b.guard(ledger, Clock(now), user_daily_usd=1.0)
    if held:
        g.reserve("ann", held)
    line = g.status("ann")[0]
    assert (pytest.approx(fraction), warning) == (line.fraction, line.warning)


# --- concurrency --------------------------------------------------------------------------------------------------


def test_twenty_threads_reserving_at_once_never_overshoot(b: Backend) -> None:
    """20 threads released together: only as many holds as fit are granted, whatever the interleaving."""
    g = b.guard(b.ledger(), Clock(ts("2024-03-15 12:00:00")), user_daily_usd=1.0, global_daily_usd=1.0)
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


# --- the shared backend -------------------------------------------------------------------------------------------

NOON = ts("2024-03-15 12:00:00")


def test_guards_on_one_file_see_each_others_holds(tmp_path: Path) -> None:
    """Two guards on one file, as two processes hold them: their holds add up against one budget."""
    clock = Clock(NOON)
    first, second = (SQLiteBudget(BudgetSettings(user_daily_usd=1.0), tmp_path / "u.db", clock=clock) for _ in "ab")
    held = first.reserve("ann", 0.6)
    with pytest.raises(BudgetExceeded) as caught:
        second.reserve("ann", 0.6)
    assert pytest.approx(0.6) == caught.value.spent_usd
    assert pytest.approx(0.6) == second.status("ann")[0].reserved_usd
    first.settle(held)
    clock.now += 2  # the settle grace (no usage row was written: the call cost nothing)
    assert 0.6 == second.reserve("ann", 0.6).amount_usd


def test_a_hold_lapses_at_its_expiry(tmp_path: Path) -> None:
    import sqlite3

    clock = Clock(NOON)
    guard_ = SQLiteBudget(
        BudgetSettings(user_daily_usd=1.0), tmp_path / "u.db", clock=clock, reservation_ttl_seconds=30
    )
    held = guard_.reserve("ann", 0.9)
    assert NOON + 30 == held.expires_at
    clock.now = NOON + 29.9
    with pytest.raises(BudgetExceeded):
        guard_.reserve("ann", 0.2)
    clock.now = NOON + 30
    assert 0.0 == guard_.status("ann")[0].reserved_usd
    guard_.reserve("ann", 0.2)
    with sqlite3.connect(tmp_path / "u.db") as conn:  # the lapsed row is gone, not just ignored
        assert [(0.2,)] == conn.execute("SELECT amount_usd FROM budget_reservations").fetchall()


def test_a_settled_hold_counts_its_real_cost_for_the_grace_then_lapses(tmp_path: Path) -> None:
    """Covers the tracker's write-behind: until the row is surely written, the settled cost still counts."""
    clock = Clock(NOON)
    guard_ = SQLiteBudget(BudgetSettings(user_daily_usd=1.0), tmp_path / "u.db", clock=clock, settle_grace_seconds=2)
    held = guard_.reserve("ann", 0.5)
    guard_.settle(held, actual_usd=0.125)
    assert pytest.approx(0.125) == guard_.status("ann")[0].reserved_usd
    clock.now = NOON + 2
    assert 0.0 == guard_.status("ann")[0].reserved_usd


def test_a_settled_hold_without_its_cost_keeps_the_estimate_for_the_grace(tmp_path: Path) -> None:
    clock = Clock(NOON)
    guard_ = SQLiteBudget(BudgetSettings(user_daily_usd=1.0), tmp_path / "u.db", clock=clock, settle_grace_seconds=2)
    guard_.settle(guard_.reserve("ann", 0.5))
    guard_.settle(guard_.reserve("ann", 0.25))
    assert pytest.approx(0.75) == guard_.status("ann")[0].reserved_usd
    clock.now = NOON + 2.5
    assert 0.0 == guard_.status("ann")[0].reserved_usd


def test_no_budget_for_the_user_never_opens_the_file(tmp_path: Path) -> None:
    guard_ = SQLiteBudget(BudgetSettings(per_user={"vip": {"daily_usd": 1.0}}), tmp_path / "u.db", clock=Clock(NOON))
    held = guard_.reserve("ann", 5.0)
    guard_.settle(held)
    assert (0, [], False) == (held.id, guard_.status("ann"), (tmp_path / "u.db").exists())


def test_spend_written_by_another_tracker_counts_and_clearing_it_is_noticed(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "u.db")
    guard_ = SQLiteBudget(BudgetSettings(user_daily_usd=1.0), tmp_path / "u.db", clock=Clock(NOON))
    ledger.add(NOON - 10, "ann", 0.5)
    assert pytest.approx(0.5) == guard_.status("ann")[0].spent_usd
    ledger.add(NOON - 5, "ann", 0.25)
    ledger.add(NOON - 5, "bob", 9.0)
    ledger.add(ts("2024-03-14 23:00:00"), "ann", 9.0)  # yesterday: another day's budget
    with pytest.raises(BudgetExceeded) as caught:
        guard_.reserve("ann", 0.5)
    assert pytest.approx(0.75) == caught.value.spent_usd
    ledger.tracker.clear()
    assert 0.0 == guard_.status("ann")[0].spent_usd
    guard_.reserve("ann", 0.5)


def test_a_locked_file_is_a_clear_error_and_settle_never_raises(tmp_path: Path) -> None:
    import sqlite3

    from core.base import StorageBusy
    from core.limits import LimitsDB

    db = LimitsDB(tmp_path / "u.db", busy_timeout=0.05)
    guard_ = SQLiteBudget(BudgetSettings(user_daily_usd=1.0), db, clock=Clock(NOON))
    held = guard_.reserve("ann", 0.1)
    holder = sqlite3.connect(tmp_path / "u.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageBusy, match="busy"):
            guard_.reserve("ann", 0.1)
        guard_.settle(held)  # logged; the hold lapses at its expiry
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert 0.1 == guard_.reserve("ann", 0.1).amount_usd


# --- settled through the usage writer (the router's wiring: `flush_usage` given) -----------------------------------


def _rows_and_holds(db: Path) -> tuple[list[tuple[str, float]], list[float]]:
    """What another process reading the file sees: usage rows (user, cost) and live holds."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT user_id, cost_usd FROM usage ORDER BY id").fetchall()
        holds = [amount for (amount,) in conn.execute("SELECT amount_usd FROM budget_reservations")]
    return rows, holds


def _writer_settled(tmp_path: Path, **limits: Any) -> tuple[UsageTracker, SQLiteBudget]:
    tracker = UsageTracker(tmp_path / "u.db", flush_interval=3600)  # rows wait in memory until flushed
    guard_ = SQLiteBudget(BudgetSettings(**limits), tmp_path / "u.db", clock=time.time, flush_usage=tracker.flush)
    return tracker, guard_


def _record(tracker: UsageTracker, user: str, usd: float) -> None:
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o-mini", input_tokens=100, output_tokens=50,
        cost_usd=usd, success=True, user_id=user,
    )  # fmt: skip


def test_a_settled_hold_leaves_the_file_in_the_transaction_that_writes_its_row(tmp_path: Path) -> None:
    tracker, guard_ = _writer_settled(tmp_path, user_daily_usd=1.0)
    held = guard_.reserve("ann", 0.5)
    _record(tracker, "ann", 0.125)
    guard_.settle(held)
    assert ([], [0.5]) == _rows_and_holds(tmp_path / "u.db")  # other processes: the hold, not yet the row
    tracker.flush()
    assert ([("ann", 0.125)], []) == _rows_and_holds(tmp_path / "u.db")  # then the row, and the hold is gone
    tracker.close()


@pytest.mark.parametrize(("estimate", "fits"), [(0.875, True), (0.876, False)])
def test_this_process_counts_its_queued_rows_not_their_settled_holds(
    tmp_path: Path, estimate: float, fits: bool
) -> None:
    """Before the writer runs, a settled call counts at its real cost (its row), not at its hold: exact."""
    tracker, guard_ = _writer_settled(tmp_path, user_daily_usd=1.0, global_daily_usd=5.0)
    held = guard_.reserve("ann", 0.9)
    _record(tracker, "ann", 0.125)
    _record(tracker, "bob", 3.0)  # another user's spend counts against the global budget only
    guard_.settle(held)
    assert [0.9] == _rows_and_holds(tmp_path / "u.db")[1]  # still in the file
    if fits:
        assert estimate == guard_.reserve("ann", estimate).amount_usd
    else:
        with pytest.raises(BudgetExceeded) as caught:
            guard_.reserve("ann", estimate)
        assert (pytest.approx(0.125), "user daily") == (caught.value.spent_usd, caught.value.scope)
    tracker.close()


def test_status_sees_queued_rows_as_spend(tmp_path: Path) -> None:
    tracker, guard_ = _writer_settled(tmp_path, user_daily_usd=1.0)
    held = guard_.reserve("ann", 0.5)
    _record(tracker, "ann", 0.25)
    guard_.settle(held)
    line = guard_.status("ann")[0]
    assert (pytest.approx(0.25), 0.0) == (line.spent_usd, line.reserved_usd)
    tracker.close()
