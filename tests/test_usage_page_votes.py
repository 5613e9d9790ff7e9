"""The A/B votes panel of the usage page counts the votes cast inside the chosen range, and only those."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import ab
from tests.usage_page import fresh_streamlit_cache, usage_app  # noqa: F401 - autouse

DAY = 86_400.0
NOW = 1_790_000_000.0  # a fixed clock for the store tests


def vote(store: ab.VoteStore, ts: float, winner: str = "groq") -> None:
    store.record_vote(
        task_type="cover_letter", providers=["openai", "groq"], winner=winner, costs={"openai": 0.01}, ts=ts
    )


@pytest.fixture
def store(tmp_path: Path) -> ab.VoteStore:
    s = ab.VoteStore(tmp_path / "votes.db", clock=lambda: NOW)
    vote(s, NOW - 40 * DAY, winner="openai")
    vote(s, NOW - 20 * DAY)
    vote(s, NOW - 3600)
    return s


def comparisons(rows: list[dict[str, object]]) -> int:
    return max((int(r["comparisons"]) for r in rows), default=0)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (None, None, 3),
        (NOW - 30 * DAY, None, 2),  # up to now
        (NOW - 30 * DAY, NOW - 10 * DAY, 1),  # ended in the past: the vote of an hour ago is left out
        (None, NOW - 30 * DAY, 1),
        (NOW - 20 * DAY, NOW - 20 * DAY + 1, 1),  # since is included
        (NOW - 30 * DAY, NOW - 20 * DAY, 0),  # until is not
        (NOW - 10 * DAY, NOW - 5 * DAY, 0),
    ],
)
def test_win_rates_count_the_votes_in_the_range(
    store: ab.VoteStore, since: float | None, until: float | None, expected: int
) -> None:
    assert expected == comparisons(store.win_rates(since=since, until=until))


@pytest.mark.parametrize("bad", [math.nan, math.inf, "yesterday", True])
def test_win_rates_refuse_a_bound_that_is_not_a_time(store: ab.VoteStore, bad: object) -> None:
    with pytest.raises(ValueError, match="since must be finite"):
        store.win_rates(since=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="until must be finite"):
        store.win_rates(until=bad)  # type: ignore[arg-type]


def ab_rows(at: AppTest) -> list[tuple[str, str, int, int]]:
    frame = at.dataframe[0].value  # the votes table comes before the calls table
    return list(zip(frame["task_type"], frame["provider"], frame["wins"], frame["comparisons"], strict=True))


def test_a_custom_range_that_ended_in_the_past_leaves_out_later_votes(db_path: Path) -> None:
    now = time.time()
    store = ab.VoteStore(db_path)
    vote(store, now - 5 * DAY, winner="openai")  # inside the range below
    vote(store, now - 3600)  # after it: not counted
    vote(store, now - 60)
    store.close()
    today = datetime.now(UTC).date()
    at = usage_app(("usage_open_ab",))  # the comparison's section, open
    at.run()
    assert [("cover_letter", "groq", 2, 2), ("cover_letter", "openai", 0, 2)] == ab_rows(at)  # the last 24 h
    at.selectbox(key="usage_window").set_value("Custom range").run()
    at.date_input(key="usage_custom_range").set_value((today - timedelta(days=10), today - timedelta(days=2))).run()
    assert not at.exception
    assert [("cover_letter", "openai", 1, 1), ("cover_letter", "groq", 0, 1)] == ab_rows(at)
