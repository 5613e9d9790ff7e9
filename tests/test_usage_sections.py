"""The usage page's sections: closed ones run and draw nothing, an opened one is drawn, a click on a chart opens
the calls it filters, and what is open survives reruns and view changes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import charts
from core.usage_tracker import UsageTracker
from tests.usage_page import (  # noqa: F401 - fresh_streamlit_cache is autouse
    ALL_SECTIONS,
    USAGE,
    click,
    forget_click,
    fresh_streamlit_cache,
    headline,
    open_sections,
    page_charts,
)
from ui.usage_data import CALLS_SECTION, SECTIONS


def seed(db: Path) -> None:
    tracker = UsageTracker(db)
    now = time.time()
    for provider, task, user, cost in (
        ("openai", "cv_parsing", "alice", 0.3),
        ("gemini", "cover_letter", "bob", 0.1),
        ("openai", "cv_parsing", "alice", 0.2),
    ):
        tracker.record_usage(
            task_type=task, provider=provider, model="m", input_tokens=100, output_tokens=20, cost_usd=cost,
            baseline_cost_usd=0.4, success=True, user_id=user, latency_ms=300, ts=now - 3600,
        )  # fmt: skip
    tracker.close()


def new_session(*keys: str) -> AppTest:
    at = open_sections(AppTest.from_file(USAGE, default_timeout=30), keys)
    at.run()
    assert not at.exception, at.exception
    return at


def chart_titles(at: AppTest) -> list[str]:
    return [c.title for c in page_charts(at)]


def calls_table(at: AppTest) -> list[str]:
    """The providers of the calls listed under Recent calls ([] when it is not drawn)."""
    tables = [d.value for d in at.dataframe if list(d.value.columns) == list(charts.CALL_COLUMNS)]
    return list(tables[0]["provider"]) if tables else []


def test_a_new_session_draws_the_headline_and_the_cost_chart_only(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db_path)
    ran: list[str] = []
    for name in ("drilled_calls", "cost_by_provider", "cost_per_user", "success_failure", "savings_by_task"):
        real = getattr(charts, name)
        monkeypatch.setattr(charts, name, lambda *a, _n=name, _r=real, **k: ran.append(_n) or _r(*a, **k))
    at = new_session()
    assert ["Cost over time by provider (USD)"] == chart_titles(at)
    assert [label for _key, label, _open in SECTIONS] == [e.label for e in at.expander]
    assert [] == ran  # no query and no figure for a closed section
    assert [] == list(at.dataframe)
    assert "Saved by routing" not in [m.label for m in at.metric]
    assert "3" == headline(at)["Requests"]["value"]  # the headline is always there


def _charts(*titles: str) -> Callable[[AppTest], bool]:
    return lambda at: all(any(t in c for c in chart_titles(at)) for t in titles)


SHOWN: dict[str, Callable[[AppTest], bool]] = {
    "usage_open_breakdown": _charts("Cost by provider", "Cost by task", "Tokens over time"),
    "usage_open_reliability": _charts("Success and failure by provider", "Latency by provider"),
    "usage_open_users": _charts("Cost per user"),
    "usage_open_savings": lambda at: (
        "Saved by routing" in [m.label for m in at.metric] and _charts("Actual cost vs the task default provider")(at)
    ),
    "usage_open_budgets": lambda at: (
        any("No budget is set" in i.value for i in at.info) and "**Budget alerts**" in [m.value for m in at.markdown]
    ),
    "usage_open_ab": lambda at: any("No votes in this view" in i.value for i in at.info),
    "usage_open_calls": lambda at: (
        ["openai", "openai", "gemini"] == sorted(calls_table(at), reverse=True) and 1 == len(at.get("download_button"))
    ),
}


@pytest.mark.parametrize("key", [key for key, _label, _open in SECTIONS])
def test_a_section_is_drawn_while_open_and_gone_once_closed(db_path: Path, key: str) -> None:
    assert set(SHOWN) == {k for k, _label, _open in SECTIONS}  # every section is covered here
    seed(db_path)
    at = new_session()
    opened_at_start = dict((k, o) for k, _label, o in SECTIONS)[key]
    assert opened_at_start == SHOWN[key](at)
    at.session_state[key] = True  # what a click on its label does
    at.run()
    assert not at.exception
    assert SHOWN[key](at)
    at.session_state[key] = False
    at.run()
    assert not SHOWN[key](at)


def test_every_section_open_at_once_draws_every_chart_and_the_calls(db_path: Path) -> None:
    seed(db_path)
    at = new_session(*ALL_SECTIONS)
    assert 8 == len(page_charts(at))
    assert all(chart.lite for chart in page_charts(at))  # bars and lines: the basic bundle draws them all
    assert all(shown(at) for shown in SHOWN.values())


@pytest.mark.parametrize(
    ("title", "point", "providers"),
    [
        ("Cost by provider", {"x": "gemini", "customdata": ["provider", "gemini"]}, ["gemini"]),
        ("Cost by task", {"x": "cv_parsing", "customdata": ["task_type", "cv_parsing"]}, ["openai", "openai"]),
    ],
)
def test_a_click_on_a_chart_opens_the_calls_it_filters(
    db_path: Path, title: str, point: dict, providers: list[str]
) -> None:
    seed(db_path)
    at = new_session("usage_open_breakdown")
    assert [] == calls_table(at)  # closed at first
    click(at, title, point)
    assert at.session_state[CALLS_SECTION]
    assert providers == calls_table(at)
    assert any("(from your click on a chart)" in i.value for i in at.info)
    forget_click(at)
    at.selectbox(key="usage_granularity").set_value("day").run()  # the section and the filter survive a rerun
    assert providers == calls_table(at)
    at.button(key="usage_drill_clear").click().run()
    assert 3 == len(calls_table(at))  # the filter is gone, the section stays open
    click(at, title, point)  # the same point again: a new click, the same filter
    assert providers == calls_table(at)


def test_a_click_on_a_time_bucket_opens_its_calls(db_path: Path) -> None:
    seed(db_path)
    at = new_session()
    spec = next(c.figure for c in page_charts(at) if "Cost over time" in c.spec)
    bucket = next(c for t in spec["data"] if t["type"] == "bar" for c in t["customdata"] if c[2] == "gemini")
    click(at, "Cost over time", {"customdata": bucket})
    assert ["gemini"] == calls_table(at)


def test_open_sections_stay_open_when_the_range_or_filters_change(db_path: Path) -> None:
    seed(db_path)
    at = new_session("usage_open_users", "usage_open_reliability")
    at.selectbox(key="usage_window").set_value("Last 7 d").run()
    at.multiselect(key="usage_provider").set_value(["openai"]).run()
    assert not at.exception
    assert SHOWN["usage_open_users"](at) and SHOWN["usage_open_reliability"](at)
    assert not SHOWN["usage_open_calls"](at)


def test_the_request_detail_runs_only_while_open(db_path: Path) -> None:
    seed(db_path)
    at = new_session(CALLS_SECTION)
    assert "Request detail" in [e.label for e in at.expander]
    assert not [d for d in at.dataframe if "Field" in d.value.columns]
    open_sections(at, ("usage_open_detail",)).run()
    table = next(d.value for d in at.dataframe if "Field" in d.value.columns)
    assert "Route reason" in set(table["Field"])


def test_an_open_alert_is_named_above_the_closed_section_and_a_button_opens_it(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.alerts import Alert, AlertStore

    seed(db_path)
    store = AlertStore(db_path)
    store.claim(Alert("global monthly", "global", "2026-11", "80%", 0.8, 1.0, 1.6, time.time()))
    store.close()
    at = new_session()
    assert ["**1 budget alert open**: see **Budgets and alerts**."] == [
        w.value for w in at.warning if "budget alert" in w.value
    ]
    at.button(key="usage_show_alerts").click().run()
    assert at.session_state["usage_open_budgets"]
    assert [] == [w.value for w in at.warning if "budget alert open" in w.value]  # the section itself lists it
    assert any("global monthly budget" in w.value for w in at.warning)
    assert at.button(key="alerts_ack_all")
    reads: list[int] = []
    read = AlertStore.alerts
    monkeypatch.setattr(AlertStore, "alerts", lambda self, *a, **k: reads.append(1) or read(self, *a, **k))
    at.run()
    assert [1] == reads  # the open section reads the store; the line above it does not read it again
