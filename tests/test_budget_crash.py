"""A budget hold is settled on every path, SIGKILL included.

A paid call's row and its hold release wait up to 50 ms in memory (write-behind), and in the process's journal
meanwhile. A SIGKILL in that window must not leave the hold counted until it expires (300 s): the journal's replay
stores the rows and deletes the holds they settled in one transaction, and holds of a process that is gone are
released at once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.config import BudgetSettings
from core.limits import SQLiteBudget
from core.tracker.record import UsageRecord
from core.tracker.schema import row_of
from core.tracker.writer import _encode
from core.usage_tracker import UsageTracker
from tests.fakes import LoopbackServer

REPO = Path(__file__).resolve().parent.parent

CHILD = """
    import asyncio, os, signal, sys
    from core.router import get_model_router

    async def main() -> None:
        router = get_model_router()
        for n in range(int(sys.argv[1])):
            answer = await router.generate(
                task_type="fast_summary", prompt=f"Summarise call {n}.", user_id="ann", max_tokens=64,
                provider="openai",
            )
            assert answer.provider == "openai" and answer.cost_usd > 0, answer.attempts
            print("ack", repr(answer.cost_usd), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # the last call has just returned: its row and release are journaled

    asyncio.run(main())
"""


def _run_child(tmp_path: Path, url: str, calls: int) -> list[float]:
    db = tmp_path / "usage.db"
    config = tmp_path / "cv_copilot.toml"
    config.write_text('[budgets]\npolicy = "block"\nuser_daily_usd = 5.0\n')
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CV_COPILOT_", "OPENAI_"))}
    environ.update(
        CV_COPILOT_DB=str(db), CV_COPILOT_CONFIG=str(config), CV_COPILOT_NO_DOTENV="1",
        OPENAI_API_KEY="sk-test-0000", OPENAI_BASE_URL=url + "/v1",
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(calls)],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert -signal.SIGKILL == done.returncode, done.stderr[-3000:]
    return [float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("ack ")]


def _row(request_id: str) -> tuple[object, ...]:
    record = UsageRecord(
        task_type="cv_parsing", provider="openai", model="gpt-4o-mini", user_id="ann", input_tokens=10,
        output_tokens=5, cost_usd=0.125, request_id=request_id,
    )  # fmt: skip
    return row_of(record, time.time())


def _holds(db: Path) -> list[tuple[int, float]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT pid, amount_usd FROM budget_reservations ORDER BY amount_usd").fetchall()


@pytest.mark.parametrize("calls", [1, 3])
def test_sigkill_right_after_a_budgeted_call_leaves_no_hold_and_every_cost_counted(tmp_path: Path, calls: int) -> None:
    with LoopbackServer() as server:
        costs = _run_child(tmp_path, server.url, calls)
    assert calls == len(costs)
    db = tmp_path / "usage.db"
    tracker = UsageTracker(db)  # the restart: replays the killed process's journal
    budget = SQLiteBudget(BudgetSettings(user_daily_usd=5.0), db, flush_usage=tracker.flush)
    (line,) = budget.status("ann")
    stored = tracker.get_usage_stats(hours=24)
    tracker.close()
    assert (calls, pytest.approx(sum(costs)), 0.0, []) == (
        stored["total_requests"],
        line.spent_usd,
        line.reserved_usd,
        _holds(db),
    )


def test_replay_deletes_the_holds_its_rows_settled_and_no_other(tmp_path: Path) -> None:
    """A journal left by a process whose pid is in use again (here: this one's): only its journaled releases go, in
    the transaction that stores its row; the other hold of that pid stays (its owner may be the new process)."""
    db = tmp_path / "usage.db"
    budget = SQLiteBudget(BudgetSettings(user_daily_usd=5.0), db)
    settled, open_ = budget.reserve("ann", 0.5), budget.reserve("ann", 0.25)
    row = _row("killed-1")
    journal = db.with_name(f"{db.name}.rows-{os.getpid()}-0badf00d-0.journal")
    journal.write_bytes(_encode(row) + f"h1\t{settled.id}\n".encode())
    journal.chmod(0o600)
    tracker = UsageTracker(db)
    assert 1 == tracker.get_usage_stats(hours=24)["total_requests"]
    tracker.close()
    assert [(os.getpid(), open_.amount_usd)] == _holds(db)
    assert not journal.exists()


def test_a_torn_hold_line_is_skipped_and_the_rows_still_stored(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    budget = SQLiteBudget(BudgetSettings(user_daily_usd=5.0), db)
    held = budget.reserve("ann", 0.5)
    row = _row("killed-2")
    journal = db.with_name(f"{db.name}.rows-{os.getpid()}-0badf00d-0.journal")
    journal.write_bytes(_encode(row) + f"h1\t{str(held.id)[:5]}".encode())  # cut mid-line
    tracker = UsageTracker(db)
    assert 1 == tracker.get_usage_stats(hours=24)["total_requests"]
    tracker.close()
    assert [(os.getpid(), 0.5)] == _holds(db)  # not released by a line that did not name it whole
