"""A/B votes on PostgreSQL: `test_ab.py`'s store tests again, with the votes beside the usage rows in PostgreSQL.

Skipped, with the reason, when the PostgreSQL binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.ab import VoteStore
from tests.pg import needs_pg, pg_url  # noqa: F401 - fixtures
from tests.test_ab import (  # noqa: F401 - the contract tests, run again with the fixture below
    test_clear_deletes_every_vote,
    test_record_vote_rejects_an_unknown_task,
    test_record_vote_rejects_bad_votes,
    test_record_vote_stores_task_providers_winner_costs_and_latencies,
    test_votes_from_many_threads_are_all_stored,
    test_win_rates_agree_with_a_python_count_on_random_votes,
    test_win_rates_empty,
    test_win_rates_match_hand_counts,
)

pytestmark = needs_pg


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[VoteStore]:  # noqa: F811
    s = VoteStore(pg_url, local_path=tmp_path / "local.db")
    yield s
    s.close()


def test_win_rates_window_and_user_filters(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    now = [10_000.0]
    s = VoteStore(pg_url, clock=lambda: now[0], local_path=tmp_path / "local.db")
    s.record_vote(task_type="fast_summary", providers=["a", "b"], winner="a", ts=now[0] - 7200, user_id="ann")
    s.record_vote(task_type="fast_summary", providers=["a", "b"], winner="b", ts=now[0] - 60, user_id="bob")
    assert {"a": 0, "b": 1} == {r["provider"]: r["wins"] for r in s.win_rates(hours=1)}
    assert {"a": 1, "b": 1} == {r["provider"]: r["wins"] for r in s.win_rates(hours=None)}
    assert {"a": 1, "b": 0} == {r["provider"]: r["wins"] for r in s.win_rates(user_id="ann")}


def test_win_rates_are_the_same_on_both_backends(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    stores = [VoteStore(pg_url, local_path=tmp_path / "local.db"), VoteStore(tmp_path / "usage.db")]
    for s in stores:
        s.record_vote(
            task_type="cover_letter", providers=["openai", "gemini", "local"], winner="gemini", ts=100.0,
            costs={"openai": 0.02, "gemini": 0.001}, latencies={"openai": 900, "gemini": 400, "local": 5},
        )  # fmt: skip
        s.record_vote(task_type="cover_letter", providers=["openai", "gemini"], winner="tie", ts=200.0)
        s.record_vote(task_type="fast_summary", providers=["groq", "local"], winner="local", ts=300.0)
    assert stores[0].win_rates() == stores[1].win_rates()
    assert [v | {"id": 0} for v in stores[0].votes()] == [v | {"id": 0} for v in stores[1].votes()]
