"""Grounding removes (structured) or flags (prose) employers, schools, degrees and skills the CV does not show."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from core import grounding

ROOT = Path(__file__).resolve().parents[1]

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
    tailored = {**CV, "work": [{"name": spelling, "position": "Engineer"}, CV["work"][1]]}
    assert [] == grounding.ground_resume(tailored, CV)[1]


def test_a_job_the_tailoring_left_out_is_put_back_in_the_cvs_order() -> None:
    tailored = {**CV, "work": [CV["work"][1]]}
    out, findings = grounding.ground_resume(tailored, CV)
    assert CV["work"] == out["work"]
    assert [("employer", "Acme Corp", "restored")] == [(f["kind"], f["value"], f["action"]) for f in findings]
    assert ["Employer left out by the tailoring, put back from your CV: Acme Corp"] == grounding.describe(findings)


def test_a_tailored_job_keeps_the_cvs_position_and_dates() -> None:
    """SmolLM2 tailoring (tests/fixtures/llm_replies/smollm2/tech__tailor__schema.json) moved a job to "2021-09" –
    "2020-12" and made the candidate's name an employer."""
    source = copy.deepcopy(CV)
    source["work"][0].update(startDate="2021-01", endDate="")
    tailored = copy.deepcopy(source)
    tailored["work"][0].update(position="Senior Engineer", startDate="2021-09")
    tailored["work"].append({"name": "Jane Doe", "position": "Backend developer"})
    out, findings = grounding.ground_resume(tailored, source)
    assert source["work"] == out["work"]
    assert [
        ("employer", "Jane Doe", "removed"),
        ("position", "Senior Engineer", "replaced"),
        ("date", "2021-09", "replaced"),
    ] == _found_of(findings)
    assert "Position changed by the tailoring (Senior Engineer), kept as in your CV: Engineer" in grounding.describe(
        findings
    )


def test_a_summary_copied_from_the_job_ad_is_replaced_by_the_cvs_own() -> None:
    job = "Example Lending Ltd is looking for a Senior Python Developer to build our loan servicing platform."
    tailored = copy.deepcopy(CV)
    tailored["basics"]["summary"] = job
    out, findings = grounding.ground_resume(tailored, CV, job_description=job)
    assert "Backend developer." == out["basics"]["summary"]
    assert [("summary", job, "replaced")] == _found_of(findings)
    written = copy.deepcopy(CV)
    written["basics"]["summary"] = "Backend developer who builds REST APIs in Python, keen to build loan platforms."
    assert [] == grounding.ground_resume(written, CV, job_description=job)[1]


def test_sections_the_tailoring_emptied_are_put_back() -> None:
    """SmolLM2 tailoring (smollm2/nurse__tailor.json) answered with work only, one job with no employer or position,
    and its skills outside the resume."""
    tailored = {"basics": {"name": "Jane Doe"}, "work": [*CV["work"], {"name": "", "job_description": "Engineer"}]}
    out, findings = grounding.ground_resume(tailored, CV)
    assert [CV[k] for k in ("work", "education", "skills")] == [out[k] for k in ("work", "education", "skills")]
    assert CV["basics"]["summary"] == out["basics"]["summary"]
    assert [
        ("education", "", "restored"),
        ("skills", "", "restored"),
        ("summary", "Backend developer.", "restored"),
    ] == (_found_of(findings))
    assert "Skills left out by the tailoring, put back from your CV" in grounding.describe(findings)


def _found_of(findings: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(f["kind"], f["value"], f["action"]) for f in findings]


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


# --- a parsed value must be in the CV text ------------------------------------------------------------------------

SOURCE = """OLIVER HARTLEY
Staff Nurse | oliver.hartley@example.org | 07700 900 456 | Manchester, UK
EXPERIENCE
Staff Nurse, Royal Manchester Infirmary — March 2019 to Present
- Administered IV therapy to 30 patients a day
EDUCATION
BSc (Hons) General Nursing, University of Salford, 2015 - 2018
SKILLS
IV therapy, BLS, ILS, NEWS2, Communication
"""


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("name", "Oliver Hartley", True),  # title case of a name the CV writes in capitals
        ("name", "OLIVER HARTLEY", True),
        ("name", "oliver-hartley", False),  # a slug
        ("name", "oliver.hartley", False),  # from the e-mail
        ("name", "Olivia Hart", False),
        ("email", "oliver.hartley@example.org", True),
        ("email", "oliver@example.org", False),
        ("phone", "+44 7700 900456", True),
        ("phone", "07700 900 999", False),
        ("label", "Staff Nurse", True),
        ("label", "Chief Nursing Officer", False),
    ],
)
def test_basics_are_kept_only_when_the_cv_text_has_them(field: str, value: str, kept: bool) -> None:
    parsed = {"basics": {field: value}}
    out, findings = grounding.ground_parsed(parsed, {"basics": {}}, SOURCE)
    assert (value if kept else "") == out["basics"][field]
    assert kept == (not findings)


def test_an_empty_or_wrong_value_is_replaced_by_the_offline_parsers() -> None:
    offline = {"basics": {"name": "OLIVER HARTLEY", "email": "oliver.hartley@example.org"}}
    out, findings = grounding.ground_parsed({"basics": {"name": "oliver-hartley", "email": ""}}, offline, SOURCE)
    assert ("OLIVER HARTLEY", "oliver.hartley@example.org") == (out["basics"]["name"], out["basics"]["email"])
    assert [("name", "replaced"), ("email", "replaced")] == [(f["kind"], f["action"]) for f in findings]
    lines = grounding.describe_parsed(findings)
    assert "“oliver-hartley”" in lines[0] and "OLIVER HARTLEY" in lines[0]


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        ({"name": "Royal Manchester Infirmary", "position": "Staff Nurse", "startDate": "2019-03"}, True),
        ({"name": "Royal Manchester Infirmary.", "position": "Staff  Nurse", "startDate": "2019"}, True),
        ({"name": "St Thomas' Hospital", "position": "Ward Manager", "startDate": "2012-01"}, False),
    ],
)
def test_jobs_are_kept_only_when_the_cv_text_has_them(entry: dict, kept: bool) -> None:
    out, _ = grounding.ground_parsed({"work": [entry]}, {}, SOURCE)
    assert kept == bool(out["work"])


@pytest.mark.parametrize(
    ("date", "kept"),
    [
        ("2019-03", True),
        ("2015", True),
        ("2012-01", False),
        ("", True),
        ("2019-03-01", True),
        ("2019-09", False),  # the CV says "March 2019": the year is there, the month is made up
        ("2019-04-30", False),
        ("2015-07", True),  # the CV gives no month for 2015
    ],
)
def test_dates_must_have_a_year_of_the_cv(date: str, kept: bool) -> None:
    out, _ = grounding.ground_parsed({"work": [{"name": "Royal Manchester Infirmary", "startDate": date}]}, {}, SOURCE)
    assert (date if kept else "") == out["work"][0]["startDate"]


def test_school_and_degree_must_be_in_the_cv() -> None:
    parsed = {"education": [{"institution": "University of Salford", "studyType": "MSc", "area": "General Nursing"}]}
    out, findings = grounding.ground_parsed(parsed, {}, SOURCE)
    assert ("University of Salford", "", "General Nursing") == tuple(
        out["education"][0][k] for k in ("institution", "studyType", "area")
    )
    assert [("degree", "MSc")] == [(f["kind"], f["value"]) for f in findings]


def test_skills_must_be_in_the_cv() -> None:
    parsed = {"skills": [{"name": "Clinical", "keywords": ["IV therapy", "BLS", "Phlebotomy", "Communication"]}]}
    out, findings = grounding.ground_parsed(parsed, {}, SOURCE)
    assert ["IV therapy", "BLS", "Communication"] == out["skills"][0]["keywords"]
    assert [("skill", "Phlebotomy")] == [(f["kind"], f["value"]) for f in findings]


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("Jan 2021 - Present", {"2021": {1}}),
        ("März 2020 – heute; 03/2019 - 02/2020", {"2020": {3, 2}, "2019": {3}}),
        ("sept. 2018 a dic. 2019", {"2018": {9}, "2019": {12}}),
        ("Marketing 2019, Maintained 2018, 2015 - 2018, 1.5 2019", {}),
        ("2017-05 to 2020-03", {"2017": {5}, "2020": {3}}),
    ],
)
def test_the_months_a_cv_names(text: str, months: dict[str, set[int]]) -> None:
    assert months == grounding.SourceText(text).months


#: the offline parser's reading of SOURCE (what a section the model got wholly wrong is replaced by)
OFFLINE = {
    "basics": {"name": "OLIVER HARTLEY", "label": "Staff Nurse", "email": "oliver.hartley@example.org"},
    "work": [{"name": "Royal Manchester Infirmary", "position": "Staff Nurse", "startDate": "2019-03"}],
    "education": [{"institution": "University of Salford", "studyType": "BSc (Hons)", "area": "General Nursing"}],
    "skills": [{"name": "IV therapy", "keywords": []}, {"name": "BLS", "keywords": []}],
}


def _found(findings: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(f["kind"], f["value"], f["action"]) for f in findings]


def test_the_shape_handed_back_with_dates_is_no_job_and_the_offline_sections_are_used() -> None:
    """A small model's parse: every name "", dates made up, skills [""] (tests/fixtures/llm_replies, *__schema)."""
    parsed = {
        "work": [{"name": "", "position": "", "startDate": "2019-04-30", "highlights": [""]}],
        "education": [{"institution": "", "area": "field of study", "studyType": "degree", "endDate": "2018-12-31"}],
        "skills": [{"name": "", "keywords": [""]}, {"name": "", "keywords": [""]}],
    }
    out, findings = grounding.ground_parsed(parsed, OFFLINE, SOURCE)
    assert [OFFLINE[k] for k in ("work", "education", "skills")] == [out[k] for k in ("work", "education", "skills")]
    assert [
        ("name", "", "replaced"),
        ("label", "", "replaced"),
        ("email", "", "replaced"),
        ("work", "", "replaced"),
        ("degree", "degree", "dropped"),
        ("area", "field of study", "dropped"),
        ("education", "", "replaced"),
        ("skills", "", "replaced"),
    ] == _found(findings)
    lines = grounding.describe_parsed(findings)
    assert "Name: the model left it empty; used “OLIVER HARTLEY” from your CV." == lines[0]
    assert "Experience: the model gave none that is in your CV; used the entries read from your CV offline." in lines
    assert (
        "Degree: the model's “degree” is a word of the requested answer's shape, not a value from your CV" in lines[4]
    )


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        ({"name": "BSc (Hons) General Nursing, University of Salford", "position": ""}, False),  # a school line
        ({"name": "Royal Manchester Infirmary", "position": "Experience"}, True),  # the position is dropped
        ({"name": "EXPERIENCE", "position": ""}, False),  # a heading
        ({"name": "employer", "position": ""}, False),  # the prompt's shape
    ],
)
def test_a_job_needs_an_employer_or_position_that_is_one(entry: dict[str, str], kept: bool) -> None:
    out, findings = grounding.ground_parsed({"work": [entry]}, {}, SOURCE)
    assert ([entry["name"]] if kept else []) == [j["name"] for j in out["work"]]
    assert findings and all(f["action"] == "dropped" for f in findings)


def test_the_same_job_twice_is_kept_once() -> None:
    job = {"name": "Royal Manchester Infirmary", "position": "Staff Nurse", "startDate": "2019-03"}
    out, findings = grounding.ground_parsed({"work": [job, dict(job)]}, {}, SOURCE)
    assert ([job["name"]], []) == ([j["name"] for j in out["work"]], findings)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("skill", False),  # only inside the heading "SKILLS": a value must be whole words of the CV
        ("education", False),  # the heading itself
        ("degree", False),  # the shape's word
        ("BSc", True),
        ("General Nursing", True),
    ],
)
def test_a_degree_is_a_degree_of_the_cv(value: str, kept: bool) -> None:
    parsed = {"education": [{"institution": "University of Salford", "studyType": value}]}
    out, _ = grounding.ground_parsed(parsed, {}, SOURCE)
    assert (value if kept else "") == out["education"][0]["studyType"]


@pytest.mark.parametrize(
    ("keyword", "kept"),
    [
        ("NEWS2", True),
        ("Staff Nurse", False),  # the CV's job title
        ("Royal Manchester Infirmary", False),  # its employer
        ("royal manchester infirmary", False),
        ("Oliver Hartley", False),  # its owner
        ("Nurs", False),  # part of a word
    ],
)
def test_a_skill_is_not_the_cvs_employer_title_or_name(keyword: str, kept: bool) -> None:
    out, _ = grounding.ground_parsed({"skills": [{"name": "", "keywords": ["BLS", keyword]}]}, OFFLINE, SOURCE)
    assert (["BLS", keyword] if kept else ["BLS"]) == out["skills"][0]["keywords"]


@pytest.mark.parametrize(("name", "kept"), [("BLS", True), ("Administered IV therapy", False), ("Skills", False)])
def test_a_skill_group_without_keywords_must_be_a_skill(name: str, kept: bool) -> None:
    out, _ = grounding.ground_parsed({"skills": [{"name": "ILS", "keywords": ["ILS"]}, {"name": name}]}, {}, SOURCE)
    assert (["ILS", name] if kept else ["ILS"]) == [g["name"] for g in out["skills"]]


def test_the_candidates_name_is_no_employer_or_school() -> None:
    """SmolLM2 with a "filled" schema (smollm2/tech__parse__schema_filled.json) gave "Oliver Hartley" as both."""
    parsed = {
        "work": [{"name": "Oliver Hartley", "position": "Staff Nurse"}],
        "education": [{"institution": "Oliver Hartley", "studyType": "BSc"}],
    }
    out, findings = grounding.ground_parsed(parsed, OFFLINE, SOURCE)
    dropped = [f for f in _found(findings) if f[2] == "dropped"]
    assert [("employer", "Oliver Hartley", "dropped"), ("school", "Oliver Hartley", "dropped")] == dropped
    assert (OFFLINE["work"], OFFLINE["education"]) == (out["work"], out["education"])  # no complete entry was left
    assert (
        "Employer: the model's “Oliver Hartley” is your name, not an employer, so it was left out."
        in grounding.describe_parsed(findings)
    )


@pytest.mark.parametrize(
    ("position", "kept"),
    [
        ("Staff Nurse", True),
        ("Administered IV therapy to 30 patients", False),  # five words or more, inside a sentence of the CV
        ("Staff Nurse, Royal Manchester Infirmary", False),  # two entries run together
    ],
)
def test_a_long_value_must_be_one_entry_of_the_cv(position: str, kept: bool) -> None:
    out, _ = grounding.ground_parsed(
        {"work": [{"name": "Royal Manchester Infirmary", "position": position}]}, {}, SOURCE
    )
    assert (position if kept else "") == out["work"][0]["position"]


@pytest.mark.parametrize(
    ("summary", "shown"),
    [
        ("Awesome, amazing, amazing, awesome, amazing", "Nurse on a busy ward."),  # made up: the CV's own instead
        ("Staff nurse administered IV therapy to 30 patients a day.", None),  # the CV's words: kept
        ("", "Nurse on a busy ward."),
    ],
)
def test_a_summary_must_be_the_cvs_words(summary: str, shown: str | None) -> None:
    offline = {"basics": {"summary": "Nurse on a busy ward."}}
    out, _ = grounding.ground_parsed({"basics": {"summary": summary}}, offline, SOURCE)
    assert (shown or summary) == out["basics"]["summary"]


def test_a_skills_line_given_as_one_keyword_is_split() -> None:
    parsed = {"skills": [{"name": "Bridgestown School of Data", "keywords": ["IV therapy, BLS, Phlebotomy"]}]}
    out, findings = grounding.ground_parsed(parsed, {}, SOURCE)
    assert [{"name": "", "keywords": ["IV therapy", "BLS"]}] == out["skills"]
    assert [("skill", "Phlebotomy", "dropped"), ("skill", "Bridgestown School of Data", "dropped")] == _found(findings)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("General Nursing", True),
        ("BSc (Hons) General Nursing, University of Salfrod", True),  # a slip in a word
        ("Administered IV therapy to 30 patients a dey", True),  # a slip in a word
        ("Administered IV therapy to 30 patients a week", False),  # another word
    ],
)
def test_fuzzy_finds_slips_not_other_words(value: str, kept: bool) -> None:
    assert kept == grounding.SourceText(SOURCE).has(value)


def test_a_tailored_employer_must_be_one_of_the_cvs() -> None:
    """SmolLM2 tailoring (smollm2/nurse__tailor__schema_filled.json) made "Mentor" and "BLS" employers: words of
    the CV, not employers in it."""
    tailored = copy.deepcopy(CV)
    tailored["work"] += [{"name": "Python", "position": "Engineer"}, {"name": "Backend", "position": "Intern"}]
    out, findings = grounding.ground_resume(tailored, CV)
    assert CV["work"] == out["work"]
    assert [("employer", "Python", "removed"), ("employer", "Backend", "removed")] == _found(findings)


# --- generated text ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I am writing to apply for the role of staff nurse at your hospital, and I have the skills you need.", "en"),
        ("Ich bewerbe mich hiermit um die Stelle als Pflegekraft und freue mich auf ein Gespräch mit Ihnen.", "de"),
        ("Me dirijo a ustedes para solicitar el puesto de analista de datos en la empresa con mucho interés.", "es"),
        ("Je vous écris pour postuler au poste de développeur dans votre entreprise avec un grand intérêt.", "fr"),
        (
            "Venho por meio desta candidatar-me à vaga de enfermeira no hospital e tenho a experiência que procuram.",
            "pt",
        ),
        ("Python Django AWS", None),
    ],
)
def test_language_of(text: str, lang: str | None) -> None:
    assert lang == grounding.language_of(text)


LETTER_OK = (
    "Dear Hiring Manager, I am applying for the Staff Nurse role at Salford Royal. For five years I have given IV "
    "therapy and led handovers, and I would bring the same care to your ward. Yours sincerely, Oliver Hartley"
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (LETTER_OK, None),
        ('<cv>\n{"basics": {"name": "Oliver"}}\n</cv>', "echoes"),
        ('{"letter": "Dear Hiring Manager"}', "echoes"),
        ("```\nDear Hiring Manager\n```", "echoes"),
        ("<<refillable_v2: Staff Nurse>>\n\n" + LETTER_OK, "echoes"),  # recorded from SmolLM2-135M
        (LETTER_OK + "\n\nBest regards,\n[Your Name]\n[Company Name]", "unfilled placeholders"),  # likewise
        ("[Company Name]\n[Date] 2023-10-07\n\n" + LETTER_OK, "unfilled placeholders"),
        (LETTER_OK.replace("Dear Hiring Manager", "Dear {{recipient}}"), "unfilled placeholders"),
        (LETTER_OK.replace("Dear Hiring Manager", "Estimado/a [Nombre del responsable]"), "unfilled placeholders"),
        (LETTER_OK + " See [the ward's page](https://example.org/ward) for the job title.", None),  # a link
        (LETTER_OK + " The ward [sic] is new.", None),
        (LETTER_OK.replace("Staff Nurse role at Salford Royal", "position"), "names neither"),
        (
            "Sehr geehrte Damen und Herren, ich bewerbe mich bei Salford Royal als Staff Nurse und freue mich auf "
            "ein Gespräch mit Ihnen, denn ich bin mit der Pflege sehr vertraut.",
            "in German",
        ),
        ("", "empty"),
    ],
)
def test_text_problems(text: str, problem: str | None) -> None:
    job = "Staff Nurse at Salford Royal. We are looking for a nurse with IV therapy and BLS to join our ward team."
    found = grounding.text_problems(text, job_description=job, company="Salford Royal", role="Staff Nurse")
    assert (problem is None) == (not found), found
    if problem:
        assert any(problem in p for p in found)


def test_text_problems_spots_the_prompt_echoed_back() -> None:
    prompt = "Write a formal cover letter of about 250 words for Staff Nurse. Link the candidate's real experience."
    echo = f"{LETTER_OK} Write a formal cover letter of about 250 words for Staff Nurse."
    assert any("echoes" in p for p in grounding.text_problems(echo, prompt=prompt, company="Salford Royal"))


def test_words_several_languages_share_do_not_hide_spanish() -> None:
    # "de" and "en" are French and Portuguese stop-words too; counted whole, they left this CV "unclear"
    cv = (ROOT / "tests" / "fixtures" / "llm_replies" / "inputs" / "spanish_analyst_cv.txt").read_text(encoding="utf-8")
    assert "es" == grounding.language_of(cv)


SOURCE_TEXT = (
    "Lucía Fernández Ortega, analista de datos en Sevilla. Cuadros de mando en Power BI para 40 tiendas; consultas "
    "SQL y modelos de previsión de ventas en Python."
)


@pytest.mark.parametrize(
    ("summary", "problem"),
    [
        ("Lucía Fernández es analista de datos en Sevilla: Power BI, SQL y Python para 40 tiendas.", None),
        ("Una profesional que ayuda a la empresa con informes y con el equipo de la oficina.", "says nothing"),
        # recorded from SmolLM2-135M, summarising a Spanish CV: a paragraph naming two of the CV's words, looped
        (
            "Sí, este documento es de forma completa y puedes ser completamente encontro.\n\nPara esto, no tienen "
            'nada más de este documento. No te dices "comercio" ni "ventas".\n\nSí, esta páralía es de forma '
            "completa y puedes ser completamente encontro.\n\nPara esto, no tienen nada más de este documento. No "
            'te dices "comercio" ni "ventas".',
            "repeats itself",
        ),
        # likewise
        (
            "The document is a summary of documents that are provided by the user or a third party to the CV "
            "Copilot. The content includes data from the document itself and also other relevant information.",
            "echoes",
        ),
    ],
)
def test_a_summary_must_say_something_from_its_text(summary: str, problem: str | None) -> None:
    found = grounding.text_problems(summary, job_description=SOURCE_TEXT, kind="summary")
    assert (problem is None) == (not found), found
    if problem:
        assert any(problem in p for p in found)


# --- skills an LLM left out come from the offline parser ---------------------------------------------------------

ACCOUNTANT = """PRIYA SHAH
Accounts Assistant | priya.shah@example.com | Leeds, UK
EXPERIENCE
Accounts Assistant, Northgate Foods Ltd, June 2020 - Present
- Ran weekly payroll for 85 staff and prepared quarterly VAT returns
SKILLS
Xero, Sage 50, Excel, Payroll, Bank reconciliation, JavaScript
"""


def _skill_names(resume: dict[str, Any]) -> list[str]:
    return [str(g["name"]) for g in resume["skills"]]


def test_skills_the_model_left_out_are_added_from_the_offline_parse_and_named() -> None:
    from core.local import parse_cv

    offline = parse_cv(ACCOUNTANT)
    parsed = {"skills": [{"name": "Finance", "keywords": ["Xero", "JS"]}]}  # JS: JavaScript under its alias
    out, findings = grounding.ground_parsed(parsed, offline, ACCOUNTANT)
    added = [f["value"] for f in findings if f["action"] == "added"]
    assert ["Sage 50", "Excel", "Payroll", "Bank reconciliation"] == added[:4]
    assert "JavaScript" not in added and "Xero" not in added  # the model had them, JavaScript as "JS"
    assert {"name": "Finance", "keywords": ["Xero", "JS"]} == out["skills"][0]
    assert added == _skill_names(out)[1:]
    lines = grounding.describe_parsed(findings)
    assert [line for line in lines if line.startswith("Skills:")] == [
        f"Skills: the model listed fewer skills than your CV has; added {len(added)} read from your CV offline: "
        + ", ".join(added)
        + "."
    ]


@pytest.mark.parametrize(
    ("kept", "added"),
    [
        (["Xero", "Sage 50", "Excel", "Payroll", "Bank reconciliation"], 0),  # five of six or more: enough
        (["Xero", "Sage 50", "Excel", "Payroll"], 2),  # two thirds kept: under three quarters
        (["Xero"], 5),
        (["Xero", "Sage 50"], 4),
    ],
)
def test_skills_are_added_only_when_the_model_kept_clearly_fewer(kept: list[str], added: int) -> None:
    offline = {"skills": [{"name": s, "keywords": []} for s in ["Xero", "Sage 50", "Excel", "Payroll",
                                                                 "Bank reconciliation", "JavaScript"]]}  # fmt: skip
    out, findings = grounding.ground_parsed({"skills": [{"name": "Tools", "keywords": kept}]}, offline, ACCOUNTANT)
    assert added == sum(f["action"] == "added" for f in findings)
    assert len(out["skills"]) == 1 + added


@pytest.mark.parametrize(("group", "added"), [("Finance", 2), ("Excel", 0)])
def test_a_group_name_counts_as_a_skill_only_when_it_is_one(group: str, added: int) -> None:
    """Four keywords and a group name: "Finance" is a category (four of six kept: two added), "Excel" a skill of
    the CV (five of six kept: none added)."""
    offline = {"skills": [{"name": s, "keywords": []} for s in ["Xero", "Sage 50", "Excel", "Payroll",
                                                                 "Bank reconciliation", "JavaScript"]]}  # fmt: skip
    parsed = {"skills": [{"name": group, "keywords": ["Xero", "Sage 50", "Payroll", "JS"]}]}
    _, findings = grounding.ground_parsed(parsed, offline, ACCOUNTANT)
    assert added == sum(f["action"] == "added" for f in findings)


def test_an_offline_skill_that_is_not_a_skill_of_the_cv_is_not_added() -> None:
    """The offline parse is checked as the model's is: a skill not in the text, or the CV's employer, stays out."""
    offline = {
        "work": [{"name": "Northgate Foods Ltd", "position": "Accounts Assistant"}],
        "skills": [{"name": s, "keywords": []} for s in ["Xero", "Excel", "Payroll", "Northgate Foods Ltd", "SAP"]],
    }
    out, findings = grounding.ground_parsed({"skills": [{"name": "Xero", "keywords": []}]}, offline, ACCOUNTANT)
    assert [("skill", "Excel", "added"), ("skill", "Payroll", "added")] == [
        f for f in _found(findings) if f[0] == "skill"
    ]
    assert ["Xero", "Excel", "Payroll"] == _skill_names(out)
