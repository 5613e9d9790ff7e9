"""AppTest of the routing-strategy controls on Settings (pick, preview, save, a refused all-zero weighting) and of
the vote evidence on Compare (threshold, winner by win rate per dollar, on/off)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.ab import VoteStore
from core.config import get_settings
from core.tracker.record import UsageRecord
from core.usage_tracker import UsageTracker

REPO = Path(__file__).resolve().parent.parent
SETTINGS = str(REPO / "app_pages" / "settings.py")
COMPARE = str(REPO / "app_pages" / "compare.py")
MODELS = {"openai": "gpt-4o", "groq": "llama-3.1-8b-instant", "gemini": "gemini-2.0-flash"}


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test-key-0001")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-groq-test-key-0003")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key-0002")


def config_path() -> Path:
    return Path(os.environ["CV_COPILOT_CONFIG"])


def saved() -> dict:
    return tomllib.loads(config_path().read_text()) if config_path().exists() else {}


def run(path: str) -> AppTest:
    at = AppTest.from_file(path, default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in elements)


def seed_usage(db: Path) -> None:
    """groq fails every other call; gemini is fast and healthy; openai is slow and dear."""
    tracker = UsageTracker(db, flush_interval=None)
    for provider, latency, failing in (("groq", 300.0, True), ("gemini", 500.0, False), ("openai", 2500.0, False)):
        for i in range(20):
            bad = failing and i % 2 == 0
            tracker.record(
                UsageRecord(
                    "cover_letter",
                    provider,
                    MODELS[provider],
                    latency_ms=latency,
                    success=not bad,
                    outcome="error" if bad else "ok",
                    error_kind="server" if bad else None,
                )
            )
    tracker.close()


def preview_order(at: AppTest) -> list[str]:
    return list(at.table[0].value["Provider"])


# --- settings ---------------------------------------------------------------------------------------------------


def test_pick_balanced_see_the_preview_and_save(db_path: Path) -> None:
    seed_usage(db_path)
    at = run(SETTINGS)
    assert "cost" == at.radio(key="route_strategy").value
    assert at.number_input(key="route_w_price").disabled  # weights only matter under balanced
    assert not at.table  # no preview for the cost strategy
    at.radio(key="route_strategy").set_value("balanced").run()
    assert not at.exception
    assert ["gemini", "groq", "openai", "local"] == preview_order(at)  # groq: cheapest, but fails half its calls
    record = at.table[0].value["Recent record"]
    assert "p50 0.5 s, 0% errors, ~$0.0003" == record.iloc[0]
    assert "p50 0.3 s, 50% errors, ~$0.000090" == record.iloc[1]
    at.number_input(key="route_w_errors").set_value(0.0).run()  # errors no longer count: groq is cheapest and fast
    assert ["groq", "gemini", "openai", "local"] == preview_order(at)
    at.button(key="save_strategy").click().run()
    assert not at.exception
    assert {"strategy": "balanced", "weights": {"price": 1.0, "latency": 1.0, "errors": 0.0}} == {
        k: v for k, v in saved()["router"].items() if k in ("strategy", "weights")
    }
    assert "Saved routing strategy" in texts(at.success)
    assert "balanced" == get_settings().strategy.name  # the routers were rebuilt from the file
    assert "balanced" == at.radio(key="route_strategy").value


def test_all_zero_weights_are_refused_with_a_message_and_nothing_is_written(db_path: Path) -> None:
    at = run(SETTINGS)
    at.radio(key="route_strategy").set_value("balanced").run()
    for name in ("price", "latency", "errors"):
        at.number_input(key=f"route_w_{name}").set_value(0.0)
    at.run()
    at.button(key="save_strategy").click().run()
    assert not at.exception
    assert "cannot all be 0" in texts(at.error)
    assert "router" not in saved()


def test_turning_on_vote_routing_saves_the_threshold(db_path: Path) -> None:
    at = run(SETTINGS)
    at.toggle(key="route_prefer_ab").set_value(True).run()
    at.number_input(key="route_min_votes").set_value(30).run()
    at.button(key="save_strategy").click().run()
    assert not at.exception
    assert (True, 30, "cost") == (
        saved()["router"]["prefer_ab_winner"],
        saved()["router"]["ab_min_votes"],
        saved()["router"]["strategy"],
    )


# --- compare: the evidence --------------------------------------------------------------------------------------


def seed_votes(db: Path, groq_wins: int, openai_wins: int) -> None:
    store = VoteStore(db)
    for winner, n in (("groq", groq_wins), ("openai", openai_wins)):
        for _ in range(n):
            store.record_vote(
                task_type="cover_letter", providers=["openai", "groq"], winner=winner,
                costs={"openai": 0.004, "groq": 0.0002},
            )  # fmt: skip
    store.close()


def evidence_table(at: AppTest) -> list[tuple[str, int, str, str]]:
    table = at.table[0].value
    return list(zip(table["Provider"], table["Wins"], table["Win rate"], table["Wins per $"], strict=True))


@pytest.mark.parametrize(
    ("groq_wins", "winner_shown", "sentence"),
    [
        (14, False, "19 of 20 votes needed for cover\\_letter; routing ignores them so far"),
        (15, True, "groq preferred for cover\\_letter\\: 20 votes, win rate 75%, \\$0.0003 per win"),
    ],
)
def test_compare_shows_the_evidence_and_the_threshold(
    db_path: Path, groq_wins: int, winner_shown: bool, sentence: str
) -> None:
    seed_votes(db_path, groq_wins, 5)
    config_path().write_text("[router]\nprefer_ab_winner = true\n", encoding="utf-8")
    at = run(COMPARE)
    at.selectbox(key="cmp_task").set_value("cover_letter").run()
    rows = evidence_table(at)
    star = " ★" if winner_shown else ""
    votes = groq_wins + 5
    assert [
        (f"groq{star}", groq_wins, f"{groq_wins / votes:.0%}", f"{groq_wins / (votes * 0.0002):,.0f}"),
        ("openai", 5, f"{5 / votes:.0%}", f"{5 / (votes * 0.004):,.0f}"),
    ] == rows
    caption = texts(at.caption)
    assert sentence in caption
    assert "Routing by votes is **on**" in caption


def test_compare_says_when_vote_routing_is_off_and_when_there_are_no_votes(db_path: Path) -> None:
    at = run(COMPARE)
    at.selectbox(key="cmp_task").set_value("cover_letter").run()
    assert "No votes yet for cover letter. Once it has 20, routing can follow them." in texts(at.caption)
    seed_votes(db_path, 20, 0)
    at.run()
    assert "Routing by votes is **off** (turn it on in Settings)." in texts(at.caption)
