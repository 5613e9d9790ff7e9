"""JSON Resume models, the checks every CV passes on its way in, and the CV page's lossless form round trip."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core import resume
from core.base import InputError
from core.resume import Resume, apply_form, check_cv, check_json_depth, form_values

DEV_SET = Path("/work/shared/data/cv-ner-dev")


def _nested(depth: int) -> dict:
    root: dict = {"basics": {"name": "Jane"}}
    node = root
    for _ in range(depth):
        node["x"] = {}
        node = node["x"]
    return root


@pytest.mark.parametrize(
    ("cv", "message"),
    [
        ("Jane Doe", "not text"),
        (["a"], "not a list"),
        (42, "not a number"),
        (None, "no CV yet"),
        ({}, "no CV yet"),
        ({"basics": "Jane Doe, jane@example.com"}, "“basics” section must be an object"),
        ({"basics": ["Jane"]}, "“basics” section must be an object"),
        ({"basics": {"name": "Jane"}, "work": "Acme"}, "“work” section must be a list"),
        ({"basics": {"name": "Jane"}, "work": ["Acme"]}, "Each entry"),
        ({"basics": {"name": "Jane", "profiles": "x"}}, "cannot read"),
        (_nested(5000), "nested more than"),
    ],
    ids=[
        "text",
        "list",
        "number",
        "none",
        "empty",
        "basics-text",
        "basics-list",
        "work-text",
        "work-items",
        "profiles",
        "deep-5000",
    ],
)
def test_check_cv_raises_input_error_with_a_human_message(cv: object, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        check_cv(cv)


def test_check_json_depth_refuses_100k_nesting_before_json_loads() -> None:
    data = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InputError, match="nested more than"):
        check_json_depth(data)
    with pytest.raises(InputError, match="nested more than"):
        resume.loads(data.encode())


def test_check_json_depth_ignores_brackets_inside_strings() -> None:
    check_json_depth(json.dumps({"basics": {"summary": "[[[[{{{{" * 100}}))


def test_resume_is_lenient_with_llm_shapes() -> None:
    parsed = Resume.model_validate(
        {"basics": {"name": "Jane", "location": "Leeds, UK", "phone": None}, "skills": ["Python", "SQL"], "x-extra": 1}
    )
    assert "Leeds, UK" == parsed.basics.location.city
    assert [["Python", "SQL"]] == [s.keywords for s in parsed.skills]
    assert 1 == parsed.to_dict()["x-extra"]


SKILL_ONLY = {
    "basics": {"name": "Ann Lee", "email": "ann@example.com", "location": {"city": ""}},
    "work": [{"name": "", "position": "Nurse", "x-source": "mentioned", "highlights": []}],
    "skills": [{"name": "SEO", "level": "", "keywords": []}, {"name": "Excel", "level": "", "keywords": []}],
    "meta": {"parser": "local"},
}


def test_untouched_form_keeps_every_skill() -> None:
    assert SKILL_ONLY == apply_form(SKILL_ONLY, form_values(SKILL_ONLY))
    assert "SEO\nExcel" == form_values(SKILL_ONLY)["skills"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("SEO\nExcel\nFigma", [["SEO", []], ["Excel", []], ["Figma", []]]),
        ("SEO\nTools: Excel, Figma", [["SEO", []], ["Tools", ["Excel", "Figma"]]]),
        ("Python, Go", [["Skills", ["Python", "Go"]]]),
        ("", []),
    ],
)
def test_edited_skills_are_parsed(typed: str, expected: list) -> None:
    out = apply_form(SKILL_ONLY, {**form_values(SKILL_ONLY), "skills": typed})
    assert expected == [[g["name"], g["keywords"]] for g in out["skills"]]


def test_an_edit_changes_only_that_field() -> None:
    values = {**form_values(SKILL_ONLY), "name": "Ann B. Lee", "work_1_position": "Clerk", "work_1_name": "Acme"}
    out = apply_form(SKILL_ONLY, values)
    assert "Ann B. Lee" == out["basics"]["name"]
    assert SKILL_ONLY["work"][0] == out["work"][0]
    assert {"name": "Acme", "position": "Clerk"} == {k: out["work"][1][k] for k in ("name", "position")}
    assert SKILL_ONLY["skills"] == out["skills"]


def test_blanking_a_job_deletes_it() -> None:
    cv = {"basics": {"name": "A"}, "work": [{"name": "Acme", "position": "Dev", "highlights": ["x"]}]}
    values = {**form_values(cv), "work_0_name": "", "work_0_position": "", "work_0_highlights": ""}
    assert [] == apply_form(cv, values)["work"]


def _dev_texts() -> list[str]:
    if not DEV_SET.is_dir():
        return []
    texts = []
    for path in sorted(DEV_SET.glob("*.xml"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0):
        raw = path.read_text(encoding="utf-8", errors="replace")
        body = re.sub(r"<[^>]+>", "", raw.split("<cv>", 1)[-1].rsplit("</cv>", 1)[0])
        texts.append(body)
    return texts


@pytest.mark.slow
@pytest.mark.skipif(not DEV_SET.is_dir(), reason="the dev set is not on this machine")
def test_form_round_trip_equals_the_parsed_cv_on_the_dev_set() -> None:
    """Parse → form → save with no edits gives back the parsed CV, on every dev CV (310)."""
    from core import local

    texts = _dev_texts()
    assert len(texts) >= 300
    lost = []
    for i, text in enumerate(texts):
        cv = local.parse_cv(text)
        if apply_form(cv, form_values(cv)) != cv:
            lost.append(i)
        # and the skills as the form shows them come back as the same groups when retyped
        reparsed = resume.parse_skills(form_values(cv)["skills"])
        if [(g["name"], g["keywords"]) for g in reparsed] != [
            (g["name"], g["keywords"]) for g in cv.get("skills") or [] if g.get("name") or g.get("keywords")
        ]:
            lost.append(i)
    assert [] == lost


@pytest.mark.slow
@pytest.mark.skipif(not DEV_SET.is_dir(), reason="the dev set is not on this machine")
def test_parse_form_tailor_export_keeps_every_skill_date_and_employer_on_the_dev_set() -> None:
    """The whole chain on every dev CV: parse → form → save (no edits) → tailor (offline) → Markdown and DOCX export.
    Every skill, employer and date the parser found is still in both documents."""
    from core import local
    from core.documents import extract_text, resume_to_docx
    from tests.test_ai_service import JOB

    lost: dict[int, list[str]] = {}
    for i, text in enumerate(_dev_texts()):
        cv = local.parse_cv(text)
        saved = apply_form(cv, form_values(cv))
        tailored = local.tailor(saved, JOB)
        facts = [g["name"] for g in cv.get("skills") or [] if g.get("name")]
        facts += [k for g in cv.get("skills") or [] for k in g.get("keywords") or []]
        facts += [w[k] for w in cv.get("work") or [] for k in ("name", "startDate", "endDate") if w.get(k)]
        markdown = tailored["markdown"].casefold()
        docx = " ".join(extract_text(resume_to_docx(tailored["resume"]), "cv.docx").casefold().split())
        missing = [f for f in facts if f.casefold() not in markdown or " ".join(f.casefold().split()) not in docx]
        if missing:
            lost[i] = missing
    assert {} == lost
