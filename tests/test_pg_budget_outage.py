"""Budgets while PostgreSQL is down: the spend the budget reads stays known, so the budget stays conservative.

The tracker on PostgreSQL is where a budget reads the recorded spend (`tracker.spend_usd`). When the server stops
mid-run, the calls go on and their rows wait in the local journal; the budget must go on counting them: no call
passes that would take the spend past the budget by more than one call's worst case, no call fails with a storage
error, and once the server is back, rows equal requests and the spend recorded is the spend admitted.

Each test runs a PostgreSQL server of its own (so stopping it disturbs no other test).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.base import BudgetExceeded, StorageError, TaskType
from core.config import load_settings
from core.services import Services, build_services
from core.tokens import count_message_tokens
from core.tracker.pg_writer import pg_writer_for
from core.usage_tracker import UsageTracker
from tests.fakes import openai_handler
from tests.pg import PgServer, needs_pg, wait_until
from tests.processes import python

pytestmark = [needs_pg, pytest.mark.slow]

PRICE_IN, PRICE_OUT = 0.01, 0.03  # USD per 1K tokens (price overrides, so every figure is exact)
MAX_TOKENS = 100
PROMPT = "Summarise this job advert: Python developer, five years, Django and PostgreSQL."


@pytest.fixture
def server() -> Iterator[PgServer]:
    srv = PgServer().start()
    yield srv
    srv.destroy()


def worst_case() -> float:
    tokens = count_message_tokens(PROMPT, None, "gpt-4o").tokens
    return tokens / 1000 * PRICE_IN + MAX_TOKENS / 1000 * PRICE_OUT


def services_for(server: PgServer, tmp_path: Path, budget: str, local: str = "local.db") -> Services:
    config = tmp_path / "cv_copilot.toml"
    config.write_text(
        f'[prices."gpt-4o"]\ninput = {PRICE_IN}\noutput = {PRICE_OUT}\n[cache]\nenabled = false\n'
        f"[budgets]\npolicy = 'block'\n{budget}\n",
        encoding="utf-8",
    )
    env = {
        "CV_COPILOT_DB": server.url(),
        "CV_COPILOT_LOCAL_DB": str(tmp_path / local),
        "CV_COPILOT_NO_DOTENV": "1",
        "OPENAI_API_KEY": "sk-openai-test-key-0001",
    }
    fake = openai_handler("a summary")  # bills every call at exactly its worst case
    fake.script.input_tokens = count_message_tokens(PROMPT, None, "gpt-4o").tokens
    fake.script.output_tokens = MAX_TOKENS
    return build_services(load_settings(env, config_path=config), transport=httpx.MockTransport(fake))


def calls(services: Services, n: int) -> tuple[int, int]:
    """(answered, refused for the budget) of `n` calls pinned to openai; any other error fails the test."""

    async def run() -> tuple[int, int]:
        answered = refused = 0
        for _ in range(n):
            try:
                response = await services.router.generate(
                    task_type=TaskType.FAST_SUMMARY, prompt=PROMPT, user_id="ann", max_tokens=MAX_TOKENS,
                    provider="openai",
                )  # fmt: skip
            except BudgetExceeded:
                refused += 1
                continue
            assert response.provider == "openai"
            answered += 1
        return answered, refused

    return asyncio.run(run())


def recorded(server: PgServer) -> tuple[int, float]:
    """(rows, spend) in PostgreSQL, each request once."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT request_id), COALESCE(SUM(cost_usd), 0) FROM usage"
        ).fetchone()
    assert row is not None and row[0] == row[1]
    return int(row[0]), float(row[2])


def flushed(tracker: UsageTracker) -> bool:
    """The server answers this process again, and has every row it recorded."""
    try:
        tracker.flush()
        tracker.get_usage_stats()
    except StorageError:
        return False
    return True


@pytest.mark.parametrize("stop_after", [1, 4, 9])
def test_a_budget_holds_while_postgresql_is_down_and_the_spend_is_right_once_it_is_back(
    server: PgServer, tmp_path: Path, stop_after: int
) -> None:
    call = worst_case()
    fits = 10
    services = services_for(server, tmp_path, f"user_daily_usd = {call * (fits + 0.5)!r}")
    answered, refused = calls(services, stop_after)
    assert (answered, refused) == (stop_after, 0)

    server.stop()
    more, refused = calls(services, 2 * fits)  # no call fails with a storage error: each passes or is refused
    assert (answered + more, refused) == (fits, 2 * fits - (fits - stop_after))
    answered += more

    server.start()
    assert wait_until(lambda: flushed(services.tracker), timeout=30)
    assert calls(services, 3) == (0, 3), "still full once the server is back"
    rows, spend = recorded(server)
    assert (rows, round(spend, 9)) == (answered, round(answered * call, 9))
    assert round(services.tracker.spend_usd(0, "ann"), 9) == round(fits * call, 9)
    services.close()


def test_rows_written_before_the_outage_and_after_the_last_read_still_count(server: PgServer, tmp_path: Path) -> None:
    call = worst_case()
    services = services_for(server, tmp_path, f"user_daily_usd = {call * 6.5!r}")
    assert calls(services, 2) == (2, 0)
    tracker = services.tracker
    for _ in range(3):  # recorded and written to the server without the budget reading the spend again
        tracker.record_usage(task_type="fast_summary", provider="openai", model="gpt-4o", cost_usd=call, user_id="ann")
    tracker.flush()
    server.stop()
    assert calls(services, 3) == (1, 2), "2 + 3 + 1 calls fit in 6.5"
    server.start()
    assert wait_until(lambda: flushed(tracker), timeout=30)
    assert recorded(server)[0] == 6
    services.close()


_DEAD_WORKER = """
import sys
from core.usage_tracker import UsageTracker
t = UsageTracker(sys.argv[1], local_path=sys.argv[2], flush_interval=60)
for i in range(int(sys.argv[3])):
    t.record_usage(task_type="fast_summary", provider="openai", model="gpt-4o", cost_usd=float(sys.argv[4]),
                   user_id="ann")
import os, signal
os.kill(os.getpid(), signal.SIGKILL)  # no flush: only the journal has the rows
"""


def test_rows_in_the_journal_of_another_process_on_this_machine_count_while_postgresql_is_down(
    server: PgServer, tmp_path: Path
) -> None:
    call = worst_case()
    services = services_for(server, tmp_path, f"user_daily_usd = {call * 6.5!r}")
    assert calls(services, 1) == (1, 0)
    server.stop()
    worker = python(
        "-c", _DEAD_WORKER, server.url(), str(tmp_path / "local.db"), "4", repr(call),
        env={**os.environ, "CV_COPILOT_NO_DOTENV": "1"},
    )  # fmt: skip
    assert worker.returncode == -9
    assert calls(services, 3) == (1, 2), "1 + 4 (in the dead process's journal) + 1 calls fit in 6.5"
    server.start()
    assert wait_until(lambda: flushed(services.tracker), timeout=30)
    assert pg_writer_for(server.url(), tmp_path / "local.db").replay_dead_journals() == 4
    rows, spend = recorded(server)
    assert (rows, round(spend, 9)) == (6, round(6 * call, 9))
    services.close()


def test_a_process_started_while_postgresql_is_down_admits_no_paid_call_until_it_is_back(
    server: PgServer, tmp_path: Path
) -> None:
    call = worst_case()
    UsageTracker(server.url(), local_path=tmp_path / "local.db").close()  # the tables exist
    server.stop()
    services = services_for(server, tmp_path, f"user_daily_usd = {call * 3.5!r}")
    assert calls(services, 2) == (0, 2), "no spend known: nothing paid is admitted"
    server.start()
    assert wait_until(lambda: flushed(services.tracker), timeout=30)
    assert calls(services, 5) == (3, 2)
    services.close()
