"""Tailor, cover letter, summary, e-mail and respond(): grounded in the CV, never inventing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.base import TaskType
from core.local import (
    analyze_job,
    cover_letter,
    draft_email,
    parse_cv,
    respond,
    resume_to_markdown,
    summarize,
    tailor,
)

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
    outputs += [
        cover_letter(cv, job_text, tone=t, length="long")
        for t in ("formal", "friendly", "enthusiastic", "concise", "warm")
    ]
    for out in outputs:
        assert set() == {org for org in orgs_in(out) if org.rstrip(".") not in source}
    employers = {w["name"] for w in cv["work"] if w.get("name")}
    assert employers == {w["name"] for w in tailor(cv, job_text)["resume"]["work"] if w.get("name")}


def test_tailor_reorders_and_reports(engineer: dict) -> None:
    job = "Data Engineer\nRequirements: Airflow, PostgreSQL, Kafka, Snowflake"
    result = tailor(engineer, job)
    work = result["resume"]["work"]
    # jobs stay newest first; the bullets that fit the job lead within each job
    assert [w["name"] for w in engineer["work"] if w.get("startDate")] == [
        w["name"] for w in work if w.get("startDate")
    ]
    roles = {w["name"]: w for w in work}
    assert roles["Imaginary Analytics Ltd"]["highlights"][0].startswith("Built ETL pipelines")
    assert "Snowflake" in result["missing_keywords"]
    assert "Snowflake" not in result["markdown"]
    assert result["coverage_after"] >= result["coverage_before"]
    assert not any("Led with" in c for c in result["changes"])


def test_tailor_summary_uses_only_supported_skills(engineer: dict) -> None:
    result = tailor(engineer, "Backend Engineer\nRequirements: Python, Cobol")
    assert "Python" in result["resume"]["basics"]["summary"]
    assert "Cobol" not in result["resume"]["basics"]["summary"]
    assert "meta" not in result["resume"]


@pytest.mark.parametrize("cv_path", CV_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("job_path", JOB_FILES, ids=lambda p: p.name)
def test_tailor_missing_keywords_are_never_company_title_or_filler(cv_path: Path, job_path: Path) -> None:
    job_text = read(job_path)
    job = analyze_job(job_text)
    asked = {w for s in job["required_skills"] + job["preferred_skills"] for w in re.findall(r"[a-z]+", s.lower())}
    named = set(re.findall(r"[a-z]+", f"{job['company']} {job['title']}".lower()))
    banned = (named - asked) | {"experience", "years", "the"}
    missing = tailor(parse_cv(read(cv_path)), job_text)["missing_keywords"]
    assert set() == {k for k in missing if k.lower() in banned}
    assert [] == [k for k in missing if len(k) < 3]


def test_tailor_data_analyst_suggestions_and_summary() -> None:
    cv = parse_cv(read(SAMPLES / "cv_marketing_manager.txt"))
    result = tailor(cv, read(SAMPLES / "job_data_analyst.txt"))
    assert [
        "Data Analysis",
        "SQL",
        "VLOOKUP",
        "Tableau",
        "Power BI",
        "Communication",
        "Python",
        "A/B Testing",
    ] == result["missing_keywords"]
    lead_in = result["resume"]["basics"]["summary"].split(". ")[0]
    assert "Experience relevant to Data Analyst: Excel, Google Analytics" == lead_in


def test_tailor_summary_ignores_skill_words_inside_employer_names() -> None:
    cv = {
        "basics": {"summary": "Store lead."},
        "work": [{"name": "Contoso Retail Group", "position": "Analyst", "highlights": ["Built reports in Excel."]}],
        "skills": [],
    }
    job = "Analyst - Fabrikam\nRequirements: Retail, Excel"
    result = tailor(cv, job)
    assert result["resume"]["basics"]["summary"].startswith("Experience relevant to Analyst: Excel.")
    assert ["Retail"] == result["missing_keywords"]


def test_tailor_does_not_touch_input(engineer: dict) -> None:
    before = json.dumps(engineer, sort_keys=True)
    tailor(engineer, read(SAMPLES / "job_python_backend.txt"))
    assert before == json.dumps(engineer, sort_keys=True)


@pytest.mark.parametrize("tone", ["formal", "friendly", "enthusiastic", "concise", "warm"])
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


# --- titles the CV only mentions (an objective's 'seeking a position as …') are never jobs held ---------------

CLAIMS_DS = re.compile(
    r"\b(?:experience|worked|work|role|roles|served|employed|current)\s+(?:as|at)\s+(?:an?\s+)?Data Sci"
)
DS_JOB = (
    "Data Scientist\nNorthwind Analytics\n\nRequirements:\n- Python, SQL and machine learning\n"
    "- 2+ years of experience\nPreferred: Pandas, Tableau"
)


@pytest.fixture(scope="module")
def aspirant() -> dict:
    return parse_cv(read(FIXTURES / "cv_objective_role.txt"))


def test_parser_marks_objective_title_as_mention(aspirant: dict) -> None:
    from core.local.render import held_roles, is_mention

    assert [("Sales Associate", False), ("Data Scientist", True)] == [
        (w["position"], is_mention(w)) for w in aspirant["work"]
    ]
    assert ["Sales Associate"] == [w["position"] for w in held_roles(aspirant)]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"position": "Data Scientist", "x-source": "mentioned"}, True),
        ({"position": "Data Scientist", "x-source": "mentioned", "name": "Acme"}, False),  # the user added an employer
        ({"position": "Data Scientist", "x-source": "mentioned", "startDate": "2020-01"}, False),
        ({"position": "Data Scientist"}, False),
        ({"position": "Data Scientist", "x-source": "other"}, False),
        ("not a dict", False),
        (None, False),
    ],
)
def test_is_mention(entry: object, expected: bool) -> None:
    from core.local.render import is_mention

    assert expected == is_mention(entry)


def experience_headings(markdown: str) -> list[str]:
    return [line[4:] for line in markdown.splitlines() if line.startswith("### ")]


def test_markdown_lists_only_roles_held(aspirant: dict) -> None:
    assert ["Sales Associate — Brightmart Stores Inc"] == experience_headings(resume_to_markdown(aspirant))


def test_markdown_with_only_mentions_has_no_experience_section() -> None:
    cv = {"basics": {"name": "A B"}, "work": [{"name": "", "position": "Data Scientist", "x-source": "mentioned"}]}
    assert "## Experience" not in resume_to_markdown(cv)


def test_docx_lists_only_roles_held(aspirant: dict) -> None:
    import io

    import docx

    from core.documents import resume_to_docx

    document = docx.Document(io.BytesIO(resume_to_docx(aspirant)))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    assert ["Sales Associate — Brightmart Stores Inc"] == headings


def test_tailor_never_leads_with_a_mention(aspirant: dict) -> None:
    out = tailor(aspirant, DS_JOB)
    assert ["Sales Associate", "Data Scientist"] == [w["position"] for w in out["resume"]["work"]]
    assert ["Sales Associate — Brightmart Stores Inc"] == experience_headings(out["markdown"])
    assert [] == [c for c in out["changes"] if "Data Scientist" in c and c.startswith("Led with")]


def test_tailor_does_not_lead_with_mention_even_when_it_is_first() -> None:
    cv = {
        "work": [
            {"name": "", "position": "Data Scientist", "x-source": "mentioned"},
            {"name": "Brightmart", "position": "Clerk", "startDate": "2019-01", "highlights": ["Filed reports"]},
            {"name": "Statco", "position": "Analyst", "startDate": "2020-01", "highlights": ["Python and SQL models"]},
        ]
    }
    out = tailor(cv, DS_JOB)
    assert ["Analyst", "Clerk", "Data Scientist"] == [w["position"] for w in out["resume"]["work"]]


@pytest.mark.parametrize("tone", ["formal", "friendly", "enthusiastic", "concise", "warm"])
@pytest.mark.parametrize("length", ["short", "medium", "long"])
def test_cover_letter_never_claims_a_mentioned_title(aspirant: dict, tone: str, length: str) -> None:
    letter = cover_letter(aspirant, DS_JOB, tone=tone, length=length)
    assert CLAIMS_DS.search(letter) is None
    if tone == "formal":
        assert "I bring experience as Sales Associate at Brightmart Stores Inc." in letter


def test_cover_letter_with_only_mentions_claims_no_role() -> None:
    cv = parse_cv("Jordan Aspirant\njordan@example.com\nObjective: Seeking a position as Data Scientist.\n")
    assert all(w.get("x-source") == "mentioned" for w in cv["work"])
    letter = cover_letter(cv, DS_JOB)
    assert "I bring experience" not in letter


@pytest.mark.parametrize("purpose", ["application", "follow_up", "thank_you", "networking", "withdrawal"])
def test_email_never_claims_a_mentioned_title(aspirant: dict, purpose: str) -> None:
    text = draft_email(aspirant, DS_JOB, purpose=purpose)
    assert CLAIMS_DS.search(text) is None


def test_matcher_uses_mentions_for_title_fit(aspirant: dict) -> None:
    from core.local import match

    without = {**aspirant, "work": [w for w in aspirant["work"] if w.get("x-source") != "mentioned"]}
    assert match(aspirant, DS_JOB)["parts"]["title"] > match(without, DS_JOB)["parts"]["title"]
    assert match(aspirant, DS_JOB)["parts"]["experience"] == match(without, DS_JOB)["parts"]["experience"]
