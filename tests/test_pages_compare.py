"""AppTest of the compare page (no key: the offline engine alone; with fake providers: side by side and a vote)
and of the cost preview widget."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from core import ab, services
from core.config import load_settings
from tests.fakes import FakeHandler, openai_handler

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "compare.py")
CV = (
    "Jane Doe\njane@example.com\n\nExperience\nPython developer, Acme Ltd, 2019 - present\n"
    "Built Django services on PostgreSQL.\n\nSkills\nPython, Django, SQL, Docker\n"
)
JOB = "We are hiring a backend engineer with Python, Django and Kubernetes experience."
HOSTS = {"api.openai.com": "openai", "api.groq.com": "groq"}


class Fleet:
    def __init__(self) -> None:
        self.fakes: dict[str, FakeHandler] = {
            "openai": openai_handler("Dear hiring manager, from openai.", input_tokens=400, output_tokens=120),
            "groq": openai_handler("Dear hiring manager, from groq.", input_tokens=410, output_tokens=100),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.fakes[HOSTS[request.url.host]](request)


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """Installs a shared router with OpenAI and Groq keys whose HTTP goes to in-process fakes."""
    config = tmp_path / "cv_copilot.toml"
    config.write_text("[router]\nchallenger_provider = 'groq'\nchallenger_percent = 5\n", encoding="utf-8")
    env = {
        "CV_COPILOT_NO_DOTENV": "1",
        "CV_COPILOT_DB": str(tmp_path / "usage.db"),
        "OPENAI_API_KEY": "sk-openai-test-key-0001",
        "GROQ_API_KEY": "gsk-groq-test-key-0003",
    }
    fleet = Fleet()
    settings = load_settings(env=env, config_path=config)
    services.install(services.build_services(settings, transport=httpx.MockTransport(fleet)))
    yield fleet


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=30).run()


def fill(at: AppTest, task: str = "cover_letter", cv: str = CV, job: str = JOB) -> AppTest:
    at.selectbox(key="cmp_task").set_value(ab.TaskType(task))
    at.text_area(key="cmp_cv").input(cv)
    at.text_area(key="cmp_job").input(job)
    return at.run()


def texts(elements) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in elements)


def test_no_key_offers_only_local_and_explains_how_to_enable_comparisons() -> None:
    at = page()
    assert not at.exception
    assert (["local"], ["local"]) == (
        at.multiselect(key="cmp_providers").options,
        at.multiselect(key="cmp_providers").value,
    )
    assert "Add a key in **Settings**" in texts(at.info)
    assert "Challenger routing is **off**" in texts(at.caption)
    assert at.button(key="cmp_go").disabled  # no CV or job yet
    assert "Add a CV and a job description" in texts(at.caption)


def test_no_key_runs_the_offline_engine_alone() -> None:
    at = fill(page())
    assert not at.button(key="cmp_go").disabled
    preview = at.dataframe[0].value
    assert ["local"] == list(preview["Provider"])
    assert ["$0 (free)"] == list(preview["Estimated cost"])
    at.button(key="cmp_go").click().run()
    assert not at.exception
    assert not at.error
    assert "local" in [h.value for h in at.subheader]
    assert "Voting needs at least two answers." in texts(at.caption)
    assert "$0 (free)" in texts(at.caption)


@pytest.mark.parametrize(("task", "missing"), [("fast_summary", "a CV"), ("job_analysis", "a job description")])
def test_each_task_asks_only_for_what_it_needs(task: str, missing: str) -> None:
    at = fill(page(), task, cv="", job="")
    assert f"Add {missing} to run this task." in texts(at.caption)


def test_fake_providers_side_by_side_then_a_vote_and_the_win_rates(fleet: Fleet, tmp_path: Path) -> None:
    at = page()
    assert ["openai", "groq"] == at.multiselect(key="cmp_providers").value
    assert not at.info
    assert "5% of real calls go to **groq**" in texts(at.caption)
    at = fill(at)
    preview = at.dataframe[0].value
    assert ["groq", "openai ★"] == list(preview["Provider"])  # cheapest first; ★ the task's default
    assert 0 == sum(len(f.requests) for f in fleet.fakes.values())  # the preview made no call
    at.button(key="cmp_go").click().run()
    assert not at.exception
    assert [1, 1] == [len(f.requests) for f in fleet.fakes.values()]
    assert ["openai", "groq"] == [h.value for h in at.subheader]
    shown = texts(at.markdown)
    assert "from openai" in shown and "from groq" in shown
    assert "400 in / 120 out tokens" in texts(at.caption)
    at.button(key="cmp_vote_groq").click().run()
    assert not at.exception
    assert "Vote saved for groq." in texts(at.success)
    assert at.button(key="cmp_vote_openai").disabled and at.button(key="cmp_vote_tie").disabled
    rates = at.dataframe[-1].value
    assert [("groq", 1, "100%"), ("openai", 0, "0%")] == list(
        zip(rates["Provider"], rates["Wins"], rates["Win rate"], strict=True)
    )
    votes = ab.get_vote_store(tmp_path / "usage.db").votes()
    assert [("cover_letter", ["openai", "groq"], "groq")] == [
        (v["task_type"], v["providers"], v["winner"]) for v in votes
    ]
    assert {"openai", "groq"} == set(votes[0]["costs"])


def test_a_tie_vote_and_a_failing_provider(fleet: Fleet, tmp_path: Path) -> None:
    fleet.fakes["groq"].script.status = 500
    at = page()
    at.multiselect(key="cmp_providers").set_value(["openai", "groq", "local"])
    at = fill(at, "fast_summary")
    at.button(key="cmp_go").click().run()
    assert not at.exception
    assert 1 == len(at.error) and "server" in at.error[0].value  # groq's error, in its own column
    assert ["openai", "groq", "local"] == [h.value for h in at.subheader]
    at.button(key="cmp_vote_tie").click().run()
    assert "Vote saved: thank you." in texts(at.success)
    votes = ab.get_vote_store(tmp_path / "usage.db").votes()
    assert [(["openai", "local"], "tie")] == [(v["providers"], v["winner"]) for v in votes]  # failed groq left out


# --- the cost preview widget --------------------------------------------------------------------------------------


def _preview_script(prompt: str) -> None:
    from ui.preview import render_cost_preview

    render_cost_preview("cover_letter", prompt, max_tokens=1024, key="test_preview")


def test_preview_widget_shows_each_configured_provider(fleet: Fleet) -> None:
    at = AppTest.from_function(_preview_script, args=("hello world",), default_timeout=30).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert ["groq", "openai ★", "local"] == list(table["Provider"])
    assert ["8", "8", "8"] == list(table["Input tokens"])  # 2 tokens of text + 6 of message framing
    assert ["500", "500", "500"] == list(table["Expected output"])
    assert "$0 (free)" == table["Estimated cost"].iloc[-1]
    assert 0 == sum(len(f.requests) for f in fleet.fakes.values())


def test_preview_widget_with_empty_text_asks_for_text() -> None:
    at = AppTest.from_function(_preview_script, args=("  ",), default_timeout=30).run()
    assert (0, True) == (len(at.dataframe), "add your text" in texts(at.caption))
