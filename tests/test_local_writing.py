"""Tailor, cover letter, summary, e-mail and respond(): grounded in the CV, never inventing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.base import TaskType
from core.local import cover_letter, draft_email, parse_cv, respond, resume_to_markdown, summarize, tailor

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
FIXTURES = Path(__file__).parent / "fixtures"
CV_FILES = sorted(SAMPLES.glob("cv_*.txt")) + sorted(FIXTURES.glob("cv_*.txt"))
JOB_FILES = sorted(SAMPLES.glob("job_*.txt"))
ORG_WORDS = re.compile(
    r"\b[A-Z][\w&.'-]*(?: [A-Z][\w&.'-]*)* (?:Ltd|Inc|Pvt|Group|University|College|Institute|School|Hospital|"
    r"Homes|Studio|Co\.)(?![\w])"
)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def engineer() -> dict:
    return parse_cv(read(SAMPLES / "cv_software_engineer.txt"))


def orgs_in(text: str) -> set[str]:
    return {m.group(0) for m in ORG_WORDS.finditer(text)}


@pytest.mark.parametrize("cv_path", CV_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("job_path", JOB_FILES, ids=lambda p: p.name)
def test_tailor_and_letter_never_invent_employers_or_schools(cv_path: Path, job_path: Path) -> None:
    cv_text, job_text = read(cv_path), read(job_path)
    cv = parse_cv(cv_text)
    source = " ".join((cv_text + " " + job_text).split())
    outputs = [tailor(cv, job_text)["markdown"]]
    outputs += [cover_letter(cv, job_text, tone=t, length="long") for t in ("formal", "warm", "concise")]
    for out in outputs:
        assert set() == {org for org in orgs_in(out) if org.rstrip(".") not in source}
    employers = {w["name"] for w in cv["work"] if w.get("name")}
    assert employers == {w["name"] for w in tailor(cv, job_text)["resume"]["work"] if w.get("name")}


def test_tailor_reorders_and_reports(engineer: dict) -> None:
    job = "Data Engineer\nRequirements: Airflow, PostgreSQL, Kafka, Snowflake"
    result = tailor(engineer, job)
    first_role = result["resume"]["work"][0]
    assert "Imaginary Analytics Ltd" == first_role["name"]
    assert first_role["highlights"][0].startswith("Built ETL pipelines")
    assert "Snowflake" in result["missing_keywords"]
    assert "Snowflake" not in result["markdown"]
    assert result["coverage_after"] >= result["coverage_before"]
    assert any("Led with" in c for c in result["changes"])


def test_tailor_summary_uses_only_supported_skills(engineer: dict) -> None:
    result = tailor(engineer, "Backend Engineer\nRequirements: Python, Cobol")
    assert "Python" in result["resume"]["basics"]["summary"]
    assert "Cobol" not in result["resume"]["basics"]["summary"]
    assert "meta" not in result["resume"]


def test_tailor_does_not_touch_input(engineer: dict) -> None:
    before = json.dumps(engineer, sort_keys=True)
    tailor(engineer, read(SAMPLES / "job_python_backend.txt"))
    assert before == json.dumps(engineer, sort_keys=True)


@pytest.mark.parametrize("tone", ["formal", "warm", "concise"])
def test_cover_letter_is_grounded(engineer: dict, tone: str) -> None:
    letter = cover_letter(engineer, read(SAMPLES / "job_python_backend.txt"), tone=tone)
    assert "Senior Python Backend Engineer" in letter
    assert "Fictional Fintech Ltd" in letter
    assert "Python" in letter
    assert "40%" in letter  # the CV's most concrete achievement
    assert letter.rstrip().endswith("Priya Example")


def test_cover_letter_overrides_and_lengths(engineer: dict) -> None:
    job = read(SAMPLES / "job_python_backend.txt")
    short = cover_letter(engineer, job, company="Other Org", role="Platform Lead", length="short")
    long = cover_letter(engineer, job, length="long")
    assert "Platform Lead" in short and "Other Org" in short
    assert len(short) < len(long)
    assert "Example Institute of Technology" in long


def test_cover_letter_never_claims_missing_skill(engineer: dict) -> None:
    letter = cover_letter(engineer, "Rust Engineer at Foo Ltd\nRequirements: Rust, Haskell")
    assert "Rust Engineer" in letter
    assert not re.search(r"\b(?:with|in|particular|skills:)[^.]*\b(?:Rust|Haskell)\b", letter)


def test_summarize_is_extractive_and_bounded() -> None:
    text = read(SAMPLES / "job_marketing_lead.txt")
    out = summarize(text, 2)
    assert 1 <= len(re.findall(r"[.!?](?:\s|$)", out)) <= 3
    assert all(part.strip() in " ".join(text.split()) for part in out.split(". ") if part.strip())
    assert "" == summarize("")


@pytest.mark.parametrize("purpose", ["application", "follow_up", "thank_you", "networking", "withdrawal", "other"])
def test_draft_email_templates(engineer: dict, purpose: str) -> None:
    mail = draft_email(engineer, read(SAMPLES / "job_python_backend.txt"), purpose=purpose, recipient="Ms Lee")
    assert mail.startswith("Subject: ")
    assert "Dear Ms Lee," in mail
    assert mail.rstrip().endswith("Priya Example")


def test_draft_email_without_cv_or_job() -> None:
    assert "Dear Hiring Manager," in draft_email(None, None)


def test_markdown_rendering(engineer: dict) -> None:
    md = resume_to_markdown(engineer)
    assert md.startswith("# Priya Example\n")
    assert "### Senior Software Engineer — Fictional Payments Pvt Ltd" in md
    assert "*2021-03 – Present*" in md
    assert "# Curriculum Vitae\n" == resume_to_markdown({})


# --- respond() ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", list(TaskType))
def test_respond_answers_every_task_from_prompt_only(task: TaskType) -> None:
    out = respond(task.value, read(SAMPLES / "cv_software_engineer.txt"))
    assert out.strip()
    if task.value in ("cv_parsing", "job_analysis", "job_matching", "cv_tailoring"):
        assert isinstance(json.loads(out), dict)


def test_respond_structured_payloads(engineer: dict) -> None:
    job = read(SAMPLES / "job_python_backend.txt")
    parsed = json.loads(respond("cv_parsing", "", {"cv_text": read(SAMPLES / "cv_nurse.txt")}))
    assert "Alex Placeholder" == parsed["basics"]["name"]
    matched = json.loads(respond("job_matching", "", {"cv": engineer, "job_description": job}))
    assert 0 <= matched["score"] <= 100
    ranked = json.loads(respond("job_matching", "", {"cv": engineer, "jobs": [job, "Nurse\nPatient care"]}))
    assert [0, 1] == [r["index"] for r in ranked["results"]]
    tailored = json.loads(respond(TaskType.CV_TAILORING, "", {"cv": engineer, "job_description": job}))
    assert "markdown" in tailored
    letter = respond("cover_letter", "", {"cv": engineer, "job_description": job, "tone": "concise", "company": "X"})
    assert "at X" in letter


@pytest.mark.parametrize("payload", [None, {"cv": "not a dict"}, {"jobs": "nope"}, {"max_sentences": "x"}])
def test_respond_never_raises(payload: object) -> None:
    for task in TaskType:
        assert isinstance(respond(task.value, "some text", payload), str)  # type: ignore[arg-type]
