"""Grounding removes (structured) or flags (prose) employers, schools, degrees and skills the CV does not show."""

from __future__ import annotations

import copy

import pytest

from core import grounding

CV = {
    "basics": {"name": "Jane Doe", "email": "jane@example.com", "summary": "Backend developer."},
    "work": [
        {"name": "Acme Corp", "position": "Engineer", "highlights": ["Built REST APIs in Python and PostgreSQL"]},
        {"name": "Initech Ltd.", "position": "Intern", "highlights": []},
    ],
    "education": [{"institution": "University of Leeds", "studyType": "BSc", "area": "Computer Science"}],
    "skills": [{"name": "Languages", "keywords": ["Python", "SQL", "JS"]}],
}


def _kinds(findings: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(f["kind"], f["value"], f["action"]) for f in findings}


def test_faithful_tailoring_has_no_findings() -> None:
    tailored = copy.deepcopy(CV)
    tailored["work"].reverse()
    tailored["skills"][0]["keywords"] = ["JavaScript", "Python"]  # an alias of JS is the same skill
    out, findings = grounding.ground_resume(tailored, CV)
    assert [] == findings
    assert tailored == out


@pytest.mark.parametrize("spelling", ["Acme, Inc.", "ACME", "The Acme Corporation", "acme corp"])
def test_employer_spellings_are_recognised(spelling: str) -> None:
    tailored = {**CV, "work": [{"name": spelling, "position": "Engineer"}]}
    assert [] == grounding.ground_resume(tailored, CV)[1]


def test_invented_employer_school_degree_and_skill_are_removed() -> None:
    tailored = copy.deepcopy(CV)
    tailored["work"].append({"name": "Google", "position": "SRE", "highlights": ["Ran Kubernetes"]})
    tailored["education"][0]["studyType"] = "PhD"
    tailored["education"].append({"institution": "MIT", "studyType": "MSc"})
    tailored["skills"][0]["keywords"] += ["Kubernetes", "Go"]
    out, findings = grounding.ground_resume(tailored, CV)
    assert ["Acme Corp", "Initech Ltd."] == [w["name"] for w in out["work"]]
    assert [("University of Leeds", "BSc")] == [(e["institution"], e["studyType"]) for e in out["education"]]
    assert ["Python", "SQL", "JS"] == out["skills"][0]["keywords"]
    assert {
        ("employer", "Google", "removed"),
        ("school", "MIT", "removed"),
        ("degree", "PhD Computer Science", "removed"),
        ("skill", "Kubernetes", "removed"),
        ("skill", "Go", "removed"),
    } == _kinds(findings)


def test_invented_skill_in_summary_is_flagged_not_rewritten() -> None:
    tailored = copy.deepcopy(CV)
    tailored["basics"]["summary"] = "Python developer with deep Terraform experience."
    out, findings = grounding.ground_resume(tailored, CV)
    assert tailored["basics"]["summary"] == out["basics"]["summary"]
    assert [{"kind": "skill", "value": "Terraform", "action": "flagged", "where": "summary"}] == findings


def test_source_is_not_mutated() -> None:
    before = copy.deepcopy(CV)
    grounding.ground_resume({**CV, "work": [{"name": "Google"}]}, CV)
    assert before == CV


def test_skill_only_in_raw_text_counts_as_grounded() -> None:
    tailored = {**CV, "skills": [{"name": "Tools", "keywords": ["Docker"]}]}
    assert [] == grounding.ground_resume(tailored, CV, cv_text="I also use Docker daily.")[1]


def test_letter_flags_invented_claims_and_allows_the_target_company() -> None:
    letter = (
        "Dear Hiring Manager,\n\nAt Acme Corp I built Python APIs. Before that I worked at Google on Kubernetes. "
        "I hold a Master of Science from Stanford University and studied at the University of Leeds. I would love "
        "to join Globex Corporation.\n\nSincerely,\nJane Doe"
    )
    findings = grounding.check_letter(letter, CV, job_description="Globex Corporation needs Kubernetes skills.")
    assert {
        ("skill", "Kubernetes", "flagged"),
        ("degree", "Master", "flagged"),
        ("employer", "Google", "flagged"),
        ("school", "Stanford University", "flagged"),
    } == _kinds(findings)


@pytest.mark.parametrize(
    "letter",
    [
        "Dear Hiring Manager, I am writing to apply. At Acme Corp I used Python. Sincerely, Jane Doe",
        "Dear Hiring Team,\nMy BSc from the University of Leeds and the SQL work I did at Initech fit your role.\nJane",
        "",
    ],
)
def test_faithful_letters_have_no_findings(letter: str) -> None:
    assert [] == grounding.check_letter(letter, CV)


@pytest.mark.parametrize(
    ("text", "level"),
    [("BSc", "bachelor"), ("B.Sc.", "bachelor"), ("Master of Science", "master"), ("MSc", "master"),
     ("PhD", "doctor"), ("MBA", "mba"), ("Computer Science", None), ("Basic", None)],
)  # fmt: skip
def test_degree_level(text: str, level: str | None) -> None:
    assert level == grounding.degree_level(text)


@pytest.mark.parametrize(
    ("name", "key"),
    [("Acme, Inc.", "acme"), ("The Acme Corporation", "acme"), ("Société Générale SA", "societe generale")],
)
def test_org_key(name: str, key: str) -> None:
    assert key == grounding.org_key(name)


def test_describe_is_readable() -> None:
    findings = [{"kind": "employer", "value": "Google", "action": "removed", "where": "work[1]"}]
    assert ["Employer not in your CV: Google (removed)"] == grounding.describe(findings)


def test_empty_cv_grounds_nothing() -> None:
    out, findings = grounding.ground_resume({"work": [{"name": "Google"}], "skills": []}, {})
    assert [] == out["work"]
    assert [("employer", "Google", "removed")] == [(f["kind"], f["value"], f["action"]) for f in findings]
