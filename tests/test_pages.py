"""Each job-seeker page in Streamlit's AppTest: type, click, see the result, and never an exception."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.ai_service import AIService
from tests.apptest import open_page
from tests.page_steps import fresh_caches, parse_pasted
from tests.test_ai_service import CV_TEXT, JOB, JOB_2

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture(autouse=True)
def clear_caches() -> Iterator[None]:
    with fresh_caches():
        yield


@pytest.fixture
def parsed_cv() -> dict:
    """Parsed inside each test's clean environment: a module-wide parse ran before it and built the process's
    services on the repository's data/usage.db (and the shell's keys), which the first page test then used."""
    return asyncio.run(AIService().parse_cv(CV_TEXT))


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def test_cv_page_parses_pasted_text_and_shows_the_email() -> None:
    at = parse_pasted(CV_TEXT)
    assert not at.exception
    assert "jane.doe@example.com" in texts(at)
    assert "Answered by local" in texts(at)
    assert "jane.doe@example.com" == at.session_state["cv"]["basics"]["email"]
    assert "jane.doe@example.com" == at.text_input(key="cvf_email").value


def test_cv_page_edits_are_saved_to_the_session() -> None:
    at = parse_pasted(CV_TEXT)
    at.text_input(key="cvf_name").input("Jane Q. Doe")
    at.text_area(key="cvf_skills").input("Languages: Python, Go\nTools: Docker")
    at.button(key="FormSubmitter:cv_form-Save changes").click()
    at.run()
    assert not at.exception
    cv = at.session_state["cv"]
    assert "Jane Q. Doe" == cv["basics"]["name"]
    assert [["Python", "Go"], ["Docker"]] == [g["keywords"] for g in cv["skills"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("\x00\x01\x02\x03" * 50, "binary"), ("1234 5678", "no words")],
    ids=["empty", "binary", "no-words"],
)
def test_cv_page_shows_readable_errors(text: str, message: str) -> None:
    at = parse_pasted(text)
    assert not at.exception
    assert any(message in e.value for e in at.error)
    assert "cv" not in at.session_state or at.session_state["cv"] is None


@pytest.mark.skipif(not any(SAMPLES.glob("*.txt")), reason="no samples under data/samples yet")
def test_try_a_sample_cv_parses_it() -> None:
    at = open_page("app_pages/cv.py")
    at.button(key="cv_sample").click()
    at.run()
    assert not at.exception
    assert at.session_state["cv"]["basics"]["email"]
    assert at.session_state["cv"]["basics"]["email"] in texts(at)


@pytest.mark.parametrize("page", ["app_pages/tailor.py", "app_pages/cover_letter.py", "app_pages/match.py"])
def test_pages_without_a_cv_explain_what_to_do(page: str) -> None:
    at = open_page(page)
    assert any("no CV yet" in i.value for i in at.info)


def test_tailor_page(parsed_cv: dict) -> None:
    at = open_page("app_pages/tailor.py", parsed_cv)
    at.text_area(key="tailor_job").input(JOB)
    at.button(key="tailor_run").click()
    at.run()
    assert not at.exception
    labels = [m.label for m in at.main.metric]  # the sidebar has its own ("Your spend today")
    assert ["ATS keyword coverage before", "After tailoring"] == labels
    assert "Answered by local" in texts(at)
    assert "jane.doe@example.com" in at.session_state["tailor_result"]["markdown"]


def test_cover_letter_page_streams_an_editable_letter(parsed_cv: dict) -> None:
    at = open_page("app_pages/cover_letter.py", parsed_cv)
    at.text_area(key="letter_job").input(JOB)
    at.text_input(key="letter_company").input("Globex Corporation")
    at.text_input(key="letter_role").input("Senior Python Developer")
    at.selectbox(key="letter_tone").select("friendly")
    at.button(key="letter_run").click()
    at.run()
    assert not at.exception
    letter = at.text_area(key="letter_edit").value
    assert "Jane" in letter
    assert "Answered by local" in texts(at)
    at.text_area(key="letter_edit").input(letter + "\nP.S. Thank you.")
    at.run()
    assert not at.exception
    assert at.text_area(key="letter_edit").value.endswith("P.S. Thank you.")


def test_match_page_ranks_several_jobs(parsed_cv: dict) -> None:
    at = open_page("app_pages/match.py", parsed_cv)
    at.text_area(key="match_jobs").input(f"{JOB_2}\n---\n{JOB}")
    at.button(key="match_run").click()
    at.run()
    assert not at.exception
    table = at.dataframe[-1].value  # the first one is the cost preview
    assert 2 == len(table)
    assert list(table["Score"]) == sorted(table["Score"], reverse=True)
    assert "Python" in table["Matched skills"].iloc[0]
    assert "Answered by local" in texts(at)


@pytest.mark.parametrize(
    ("page", "areas", "button", "message"),
    [
        ("app_pages/tailor.py", {}, "tailor_run", "job description is empty"),
        ("app_pages/match.py", {"match_jobs": "---\n---"}, "match_run", "at least one job"),
    ],
    ids=["tailor", "match"],
)
def test_pages_with_no_job_say_what_to_add(
    parsed_cv: dict, page: str, areas: dict[str, str], button: str, message: str
) -> None:
    at = open_page(page, parsed_cv)
    for key, text in areas.items():
        at.text_area(key=key).input(text)
    at.button(key=button).click()
    at.run()
    assert not at.exception
    assert any(message in e.value for e in at.error)


def test_job_and_letter_survive_moving_between_pages(parsed_cv: dict) -> None:
    at = open_page("app_pages/tailor.py", parsed_cv)
    at.text_area(key="tailor_job").input(JOB)
    at.run()
    at.switch_page("app_pages/cover_letter.py")
    at.run()
    assert JOB == at.text_area(key="letter_job").value
    assert "medium" == at.select_slider(key="letter_length").value
    at.button(key="letter_run").click()
    at.run()
    letter = at.text_area(key="letter_edit").value
    at.switch_page("app_pages/match.py")
    at.run()
    at.switch_page("app_pages/cover_letter.py")
    at.run()
    assert not at.exception
    assert letter == at.text_area(key="letter_edit").value


def test_cv_page_shows_what_the_parser_did_not_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines the offline parser put in no field are listed under "What was not captured"."""
    import core.local

    seen: list[tuple[str, dict]] = []

    def uncaptured_lines(text: str, resume: dict) -> list[str]:
        seen.append((text, resume))
        return ["Volunteer: Leeds food bank, Saturdays"]

    monkeypatch.setattr(core.local, "uncaptured_lines", uncaptured_lines, raising=False)
    at = parse_pasted(CV_TEXT)
    assert not at.exception
    assert any(e.label.startswith("What was not captured (1 lines)") for e in at.expander)
    assert ["Volunteer: Leeds food bank, Saturdays"] == [c.value for c in at.code]
    assert seen and CV_TEXT.strip() == seen[-1][0].strip() and "meta" not in seen[-1][1]
