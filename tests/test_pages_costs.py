"""AppTest of the cost controls in the UI: budget gauges and A/B win rates on Usage, the cost preview on each
job-seeker page (checked against the request the service really sends), per-user budgets and retention on
Settings, and the sidebar's spend against budget."""

from __future__ import annotations

import asyncio
import os
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core import ab, prompts, services
from core.ai_service import AIService
from core.base import InputError
from core.config import load_settings
from core.tokens import count_message_tokens
from core.usage_tracker import UsageTracker
from tests.apptest import APP, open_page
from tests.fakes import FakeHandler, openai_handler
from tests.test_ai_service import CV_TEXT, JOB, JOB_2
from tests.usage_page import page_charts, usage_app
from ui import preview
from ui.widgets import user_budget_updates

REPO = Path(__file__).resolve().parent.parent
USAGE = str(REPO / "app_pages" / "usage.py")
SETTINGS = str(REPO / "app_pages" / "settings.py")
HOSTS = {"api.openai.com": "openai", "api.groq.com": "groq"}


@pytest.fixture(autouse=True)
def clean_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


@pytest.fixture
def parsed_cv() -> dict:
    """Parsed offline inside each test's clean environment (before any fake provider fleet), never on the
    repository's data/usage.db."""
    return asyncio.run(AIService().parse_cv(CV_TEXT))


def config_path() -> Path:
    return Path(os.environ["CV_COPILOT_CONFIG"])


def write_config(text: str) -> None:
    config_path().write_text(text, encoding="utf-8")


def config() -> dict:
    return tomllib.loads(config_path().read_text()) if config_path().exists() else {}


def seed_spend(db: Path, spends: dict[str, float], provider: str = "openai") -> None:
    """One call per user, now, costing the given USD (so it counts against today's and this month's budgets)."""
    tracker = UsageTracker(db)
    for user, cost in spends.items():
        tracker.record_usage(
            task_type="cover_letter", provider=provider, model="gpt-4o", input_tokens=100, output_tokens=50,
            cost_usd=cost, success=True, user_id=user, latency_ms=500,
        )  # fmt: skip
    tracker.close()


def run(path: str) -> AppTest:
    """The page run once; the usage page with every section open."""
    at = usage_app() if path == USAGE else AppTest.from_file(path, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def charts_by_key(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page, by widget key (the suffix of the element id)."""
    return {chart.key: chart.figure for chart in page_charts(at)}


def texts(elements) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in elements)


class Fleet:
    """OpenAI and Groq fakes behind one transport, each keeping the requests it got."""

    def __init__(self) -> None:
        self.fakes: dict[str, FakeHandler] = {
            "openai": openai_handler("Dear hiring manager, I am Jane Doe.", input_tokens=400, output_tokens=120),
            "groq": openai_handler("Dear hiring manager, I am Jane Doe.", input_tokens=410, output_tokens=100),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.fakes[HOSTS[request.url.host]](request)

    def first_request(self) -> tuple[str, dict]:
        """(provider, JSON body) of the first call any fake received."""
        called = [(name, fake.requests[0]) for name, fake in self.fakes.items() if fake.requests]
        assert len(called) == 1, [name for name, _ in called]
        return called[0][0], called[0][1].json


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """The shared router with OpenAI and Groq keys, its HTTP answered in-process."""
    env = {
        "CV_COPILOT_NO_DOTENV": "1",
        "CV_COPILOT_DB": os.environ["CV_COPILOT_DB"],
        "OPENAI_API_KEY": "sk-openai-test-key-0001",
        "GROQ_API_KEY": "gsk-groq-test-key-0003",
    }
    fleet = Fleet()
    settings = load_settings(env=env, config_path=config_path())
    services.install(services.build_services(settings, transport=httpx.MockTransport(fleet)))
    return fleet


# --- usage dashboard: budgets ---------------------------------------------------------------------------------------


def test_no_budget_and_no_votes_give_friendly_notes(db_path: Path) -> None:
    seed_spend(db_path, {"alice": 0.1})
    at = run(USAGE)
    assert "No budget is set" in texts(at.info)
    assert "**Settings**" in texts(at.info)
    assert "No votes in this view" in texts(at.info)
    assert {"chart_ab"}.isdisjoint(charts_by_key(at))
    assert not [k for k in charts_by_key(at) if k.startswith("chart_budget")]
    assert "Saved by the cache" in [m.label for m in at.metric]
    assert {"Saved by prompt caching", "Cached input tokens", "Reasoning share of output"} <= {
        m.label for m in at.metric
    }


BUDGETS = """
[budgets]
global_daily_usd = 0.5
global_monthly_usd = 10
user_daily_usd = 0.2
[budgets.users.alice]
daily_usd = 0.1
"""


def test_without_a_user_filter_the_global_lines_are_drawn(db_path: Path) -> None:
    write_config(BUDGETS)
    seed_spend(db_path, {"alice": 0.09, "bob": 0.35})
    at = run(USAGE)
    gauges = {k: v for k, v in charts_by_key(at).items() if k.startswith("chart_budget")}
    assert 2 == len(gauges)
    assert all(chart.lite for chart in page_charts(at))  # the gauges too: no chart loads the full plotly.js
    daily = gauges["chart_budget_0"]
    assert ("bar", 0.44, [0, 0.5]) == (
        daily["data"][0]["type"],
        pytest.approx(daily["data"][0]["x"][0]),
        daily["layout"]["xaxis"]["range"],
    )
    assert "Global daily" in daily["layout"]["title"]["text"]
    assert ["Global daily budget at 88%: $0.4400 of $0.50"] == [w.value.split(". ")[0] for w in at.warning]
    assert not at.error
    assert "pick one user in the filter" in texts(at.caption)


def test_one_selected_user_sees_their_own_line_first(db_path: Path) -> None:
    write_config(BUDGETS)
    seed_spend(db_path, {"alice": 0.09, "bob": 0.35})
    at = run(USAGE)
    at.multiselect(key="usage_user_id").set_value(["alice"]).run()
    assert not at.exception
    gauges = [v for k, v in sorted(charts_by_key(at).items()) if k.startswith("chart_budget")]
    assert [pytest.approx(0.09), pytest.approx(0.44), pytest.approx(0.44)] == [g["data"][0]["x"][0] for g in gauges]
    limits = [next(s["x0"] for s in g["layout"]["shapes"] if s["name"] == "limit") for g in gauges]
    assert [0.1, 0.5, 10] == limits  # alice's own 0.1, not 0.2
    assert ["User daily budget at 90%", "Global daily budget at 88%"] == [w.value.split(":")[0] for w in at.warning]


def test_a_spent_budget_shows_an_error_and_the_dial_stretches(db_path: Path) -> None:
    write_config("[budgets]\nglobal_daily_usd = 0.3\n")
    seed_spend(db_path, {"bob": 0.44})
    at = run(USAGE)
    assert (0, 1) == (len(at.warning), len(at.error))
    assert "It is spent" in at.error[0].value
    gauge = charts_by_key(at)["chart_budget_0"]
    assert pytest.approx(0.44) == gauge["layout"]["xaxis"]["range"][1]  # the bar never leaves the gauge


def test_only_per_user_budgets_ask_for_a_user(db_path: Path) -> None:
    write_config("[budgets]\npolicy = 'block'\nuser_daily_usd = 1\n")
    seed_spend(db_path, {"bob": 0.1})
    at = run(USAGE)
    assert "Select a single user" in texts(at.info)
    assert "refuses further paid calls" in texts(at.caption)


# --- usage dashboard: A/B -------------------------------------------------------------------------------------------


def seed_votes(db: Path) -> None:
    store = ab.VoteStore(db)
    common = {"task_type": "cover_letter", "providers": ["openai", "groq"]}
    costs = {"openai": 0.01, "groq": 0.001}
    store.record_vote(**common, winner="groq", costs=costs, user_id="alice")
    store.record_vote(**common, winner="groq", costs=costs, user_id="bob")
    store.record_vote(**common, winner="tie", costs=costs, user_id="alice")
    store.record_vote(task_type="fast_summary", providers=["groq", "local"], winner="local", costs={"groq": 0.002})
    store.record_vote(**common, winner="openai", costs=costs, user_id="alice", ts=time.time() - 48 * 3600)
    store.close()


def ab_rows(at: AppTest) -> list[tuple]:
    frame = at.dataframe[0].value
    return list(zip(frame["task_type"], frame["provider"], frame["wins"], frame["comparisons"], strict=True))


def test_ab_win_rates_and_cost_per_win(db_path: Path) -> None:
    seed_spend(db_path, {"alice": 0.1})
    seed_spend(db_path, {"alice": 0.0}, provider="groq")
    seed_votes(db_path)
    at = run(USAGE)
    assert [
        ("cover_letter", "groq", 2, 3),
        ("cover_letter", "openai", 0, 3),
        ("fast_summary", "local", 1, 1),
        ("fast_summary", "groq", 0, 1),
    ] == ab_rows(at)
    frame = at.dataframe[0].value
    assert [pytest.approx(0.0015), None] == [
        None if c != c else c for c in frame["cost_per_win"][:2]
    ]  # groq: $0.003 over 3 comparisons / 2 wins; openai never won
    chart = charts_by_key(at)["chart_ab"]
    assert ["groq", "local", "openai"] == [trace["name"] for trace in chart["data"]]


def test_ab_follows_the_dashboard_filters(db_path: Path) -> None:
    seed_spend(db_path, {"alice": 0.1, "bob": 0.1})
    seed_spend(db_path, {"alice": 0.0}, provider="groq")
    seed_votes(db_path)
    at = run(USAGE)
    at.multiselect(key="usage_provider").set_value(["groq"]).run()
    assert [("cover_letter", "groq", 2, 3), ("fast_summary", "groq", 0, 1)] == ab_rows(at)
    at.multiselect(key="usage_provider").set_value([])
    at.multiselect(key="usage_user_id").set_value(["bob"]).run()
    assert [("cover_letter", "groq", 1, 1), ("cover_letter", "openai", 0, 1)] == ab_rows(at)
    assert "votes of **bob**" in texts(at.caption)
    at.multiselect(key="usage_user_id").set_value([])
    at.selectbox(key="usage_window").set_value("All time").run()
    assert not at.exception
    assert [("cover_letter", "groq", 2, 4), ("cover_letter", "openai", 1, 4)] == ab_rows(at)[:2]  # the old vote


# --- cost preview on the job-seeker pages ---------------------------------------------------------------------------


def estimate(at: AppTest) -> AppTest:
    """The "Estimated cost" expander (exactly one per page)."""
    found = [e for e in at.expander if e.label == "Estimated cost"]
    assert 1 == len(found)
    return found[0]


@pytest.mark.parametrize(
    ("page", "needs_cv", "hint"),
    [
        ("app_pages/cv.py", False, "The CV is empty."),
        ("app_pages/tailor.py", True, "The job description is empty."),
        ("app_pages/cover_letter.py", True, "The job description is empty."),
        ("app_pages/match.py", True, "Add at least one job description."),
    ],
)
def test_preview_with_empty_input_shows_a_hint(page: str, needs_cv: bool, hint: str, parsed_cv: dict) -> None:
    at = open_page(page, parsed_cv if needs_cv else None)
    box = estimate(at)
    assert 0 == len(box.dataframe)
    assert hint in texts(box.caption)


#: page → (text area, what to type, the main action's button, its task)
ACTIONS = {
    "app_pages/cv.py": ("cv_paste", CV_TEXT, "cv_parse", "cv_parsing"),
    "app_pages/tailor.py": ("tailor_job", JOB, "tailor_run", "cv_tailoring"),
    "app_pages/cover_letter.py": ("letter_job", JOB, "letter_run", "cover_letter"),
    "app_pages/match.py": ("match_jobs", f"{JOB}\n---\n{JOB_2}", "match_run", "job_matching"),
}


def fill(at: AppTest, page: str) -> AppTest:
    area, text, _, _ = ACTIONS[page]
    at.text_area(key=area).input(text)
    if page == "app_pages/cover_letter.py":
        at.text_input(key="letter_company").input("Globex")
        at.selectbox(key="letter_tone").select("friendly")
    at.run()
    assert not at.exception
    return at


@pytest.mark.parametrize(
    "page", ["app_pages/cv.py", "app_pages/tailor.py", "app_pages/cover_letter.py", "app_pages/match.py"]
)
def test_preview_counts_exactly_what_the_service_sends(page: str, parsed_cv: dict, fleet: Fleet) -> None:
    at = fill(open_page(page, None if page == "app_pages/cv.py" else parsed_cv), page)
    table = estimate(at).dataframe[0].value
    assert 0 == sum(len(f.requests) for f in fleet.fakes.values())  # the preview called nobody
    shown = {row["Provider"].rstrip(" ★"): row for row in table.to_dict("records")}
    assert {"openai", "groq", "local"} == set(shown)
    assert "$0 (free)" == shown["local"]["Estimated cost"]
    assert shown["openai"]["Estimated cost"].startswith("$")
    assert (page != "app_pages/match.py") == ("openai ★" in set(table["Provider"]))  # matching defaults to gemini
    _, _, button, task = ACTIONS[page]
    at.button(key=button).click().run()
    assert not at.exception
    provider, body = fleet.first_request()
    system, user = (m["content"] for m in body["messages"])
    counted = count_message_tokens(user, system, body["model"])
    assert f"{'~' if counted.estimated else ''}{counted.tokens:,}" == shown[provider]["Input tokens"]
    assert preview.max_tokens_for(task) == body.get("max_completion_tokens", body.get("max_tokens"))


@pytest.mark.parametrize(
    ("build", "service_args"),
    [
        (lambda cv: preview.parse_request(f"  {CV_TEXT}\r\n"), lambda cv: prompts.cv_parsing(CV_TEXT.strip())),
        (lambda cv: preview.tailor_request(cv, JOB), lambda cv: prompts.cv_tailoring(cv, JOB.strip())),
        (
            lambda cv: preview.letter_request(cv, JOB, company="Globex", role=None, tone="friendly", length="short"),
            lambda cv: prompts.cover_letter(
                cv, JOB.strip(), company="Globex", role=None, tone="friendly", length="short"
            ),
        ),
        (
            lambda cv: preview.match_request(cv, [JOB, "  ", JOB_2]),
            lambda cv: prompts.job_matching(cv, [JOB.strip(), JOB_2.strip()]),
        ),
    ],
    ids=["parse", "tailor", "letter", "match"],
)
def test_request_builders_match_the_prompts(build, service_args, parsed_cv: dict) -> None:  # type: ignore[no-untyped-def]
    assert service_args(parsed_cv) == build(parsed_cv)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda cv: preview.parse_request(""), "empty"),
        (lambda cv: preview.parse_request("x" * 70_000), "limit"),
        (lambda cv: preview.tailor_request(cv, "1234"), "no words"),
        (lambda cv: preview.match_request(cv, []), "at least one"),
        (lambda cv: preview.match_request(cv, [JOB] * 21), "too many"),
    ],
)
def test_request_builders_refuse_what_the_service_refuses(call, message: str, parsed_cv: dict) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        call(parsed_cv)


# --- settings: per-user budgets, retention, cache -------------------------------------------------------------------


def test_per_user_budgets_are_listed_edited_added_and_removed() -> None:
    write_config("[budgets.users.alice]\ndaily_usd = 0.1\n[budgets.users.zed]\nmonthly_usd = 4.0\n")
    at = run(SETTINGS)
    editor = next(d.value for d in at.dataframe if "daily_usd" in d.value.columns)
    assert ["alice", "zed"] == list(editor["user"])
    at.session_state["user_budgets_editor"] = {
        "edited_rows": {0: {"monthly_usd": 3.0}},
        "added_rows": [{"user": "carol", "daily_usd": 1.0}],
        "deleted_rows": [1],
    }
    at.button(key="save_budgets").click().run()
    assert not at.exception
    assert {"alice": {"daily_usd": 0.1, "monthly_usd": 3.0}, "carol": {"daily_usd": 1.0}} == config()["budgets"][
        "users"
    ]
    from core.config import get_settings

    assert {"user_daily_usd": 1.0, "user_monthly_usd": None} == {
        k: v for k, v in get_settings().budgets.limits_for("carol").items() if k.startswith("user")
    }
    at.number_input(key="global_monthly_usd").set_value(20.0)
    at.button(key="save_budgets").click().run()  # the global limits, saved again, keep the per-user ones
    assert {"global_monthly_usd": 20.0, "policy": "downgrade"} == {
        k: v for k, v in config()["budgets"].items() if k != "users"
    }
    assert {"alice", "carol"} == set(config()["budgets"]["users"])
    at.session_state["user_budgets_editor"] = {
        "edited_rows": {},
        "added_rows": [{"user": "amy", "daily_usd": 1.0}, {"user": "amy", "monthly_usd": 2.0}],
        "deleted_rows": [],
    }
    at.button(key="save_budgets").click().run()
    assert not at.exception
    assert "listed twice" in at.error[0].value
    assert {"alice", "carol"} == set(config()["budgets"]["users"])


def test_retention_is_saved_and_a_short_one_is_flagged() -> None:
    write_config("[budgets]\nglobal_monthly_usd = 5\n[usage]\nretention_days = 7\n")
    at = run(SETTINGS)
    assert 7.0 == at.number_input(key="retention_days").value
    assert "keep at least 31 days" in texts(at.caption)
    from core.config import get_settings

    for days, saved in [(90.0, 90.0), (0.0, None)]:
        at.number_input(key="retention_days").set_value(days)
        at.button(key="save_retention").click().run()
        assert not at.exception
        assert saved == config().get("usage", {}).get("retention_days")
        assert saved == get_settings().retention_days
    assert "keep at least 31 days" not in texts(at.caption)


def test_cache_enable_and_ttl_are_saved() -> None:
    at = run(SETTINGS)
    at.toggle(key="cache_enabled").set_value(False)
    at.number_input(key="ttl").set_value(2.0)
    at.button(key="save_cache").click().run()
    assert not at.exception
    assert {"enabled": False, "ttl_days": 2.0} == config()["cache"]
    from core.config import get_settings

    assert (False, 2 * 86400) == (get_settings().cache_enabled, get_settings().cache_ttl_seconds)


@pytest.mark.parametrize(
    ("before", "rows", "expected"),
    [
        ({}, [], {}),
        (
            {},
            [{"user": " ann ", "daily_usd": 2.0, "monthly_usd": float("nan")}],
            {"ann": {"daily_usd": 2.0, "monthly_usd": None}},
        ),
        ({"ann": {"daily_usd": 2.0}}, [], {"ann": None}),
        ({"ann": {"daily_usd": 2.0}}, [{"user": "ann", "daily_usd": 0.0, "monthly_usd": None}], {"ann": None}),
        ({}, [{"user": None, "daily_usd": None, "monthly_usd": None}], {}),
    ],
    ids=["nothing", "added", "deleted", "zeroed", "blank-row"],
)
def test_user_budget_updates(before: dict, rows: list, expected: dict) -> None:
    assert expected == user_budget_updates(before, rows)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"user": "ann", "daily_usd": -1.0}], "0 or more"),
        ([{"user": "", "daily_usd": 1.0}], "no user name"),
        ([{"user": "ann"}, {"user": "ann"}], "listed twice"),
    ],
)
def test_user_budget_updates_refuse_bad_rows(rows: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        user_budget_updates({}, rows)


# --- sidebar --------------------------------------------------------------------------------------------------------


def test_sidebar_shows_spend_against_each_budget(db_path: Path) -> None:
    write_config(BUDGETS)
    seed_spend(db_path, {"alice": 0.09, "bob": 0.35})
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user_id"] = "alice"
    at.run()
    assert not at.exception
    side = at.sidebar
    assert [("Your spend today", "$0.0900")] == [(m.label, m.value) for m in side.metric]
    bars = [(e.proto.value, e.proto.text) for e in side.get("progress")]
    assert [
        (89, "user daily: $0.0900 of $0.10"),
        (87, "global daily: $0.4400 of $0.50"),
        (4, "global monthly: $0.4400 of $10.00"),
    ] == bars
    assert 2 == len(side.warning)


def test_sidebar_without_budgets_shows_only_the_spend(db_path: Path) -> None:
    from core.workspace import default_owner

    seed_spend(db_path, {default_owner(): 0.02, "anonymous": 0.38})  # the OS user owns a local run
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert [("Your spend today", "$0.0200")] == [(m.label, m.value) for m in at.sidebar.metric]
    assert 0 == len(at.sidebar.get("progress"))


def test_a_hosted_model_with_no_known_price_is_offered_for_pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_MODEL", "acme-unreleased-model")
    from core.services import reset

    reset()
    at = run(SETTINGS)
    assert "openai uses acme-unreleased-model, which has no known price" in texts(at.warning)
    editor = next(d.value for d in at.dataframe if "input" in d.value.columns and "model" in d.value.columns)
    assert "acme-unreleased-model" in list(editor["model"])
    assert "prices as of" in texts(at.caption)
    at.session_state["prices_editor"] = {
        "edited_rows": {len(editor) - 1: {"input": 0.001, "output": 0.002}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="save_prices").click().run()
    assert not at.exception
    assert {"input": 0.001, "output": 0.002} == config()["prices"]["acme-unreleased-model"]
    assert "no known price" not in texts(at.warning)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ([{"name": "openai", "model": "x", "configured": True, "price_estimated": True}], {"x": "openai"}),
        ([{"name": "openai", "model": "x", "configured": False, "price_estimated": True}], {}),
        ([{"name": "openai", "model": "gpt-4o", "configured": True, "price_estimated": False}], {}),
    ],
)
def test_unpriced_models(status: list[dict], expected: dict[str, str]) -> None:
    from core.pricing import unpriced_models

    assert expected == unpriced_models(status, {})


@pytest.mark.parametrize(
    ("first_column", "numbers"),
    [("model", ["input", "output"]), ("user", ["daily_usd", "monthly_usd"])],
)
def test_an_empty_prices_or_per_user_table_still_takes_numbers(first_column: str, numbers: list[str]) -> None:
    write_config("[budgets]\nglobal_monthly_usd = 5\n")  # no price overrides, no per-user budgets
    at = run(SETTINGS)
    assert not at.exception
    [editor] = [d.value for d in at.dataframe if d.value.columns[0] == first_column]
    assert 0 == len(editor)
    assert [first_column, *numbers] == list(editor.columns)
    assert ["object", *["float64"] * len(numbers)] == [str(t) for t in editor.dtypes]
