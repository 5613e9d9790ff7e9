"""Job analysis and the matcher: skills, parts, ranking, speed, bad input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.local import WEIGHTS, analyze_job, match, match_jobs, parse_cv, titles

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def engineer() -> dict:
    return parse_cv(sample("cv_software_engineer.txt"))


def test_analyze_job_fields() -> None:
    job = analyze_job(sample("job_python_backend.txt"))
    assert ("Senior Python Backend Engineer", "Fictional Fintech Ltd") == (job["title"], job["company"])
    assert "Remote (UK/EU)" == job["location"]
    assert ["Python", "Django", "FastAPI", "PostgreSQL", "REST", "Docker", "Kubernetes", "Git", "CI/CD"] == job[
        "required_skills"
    ]
    assert ["Kafka", "Terraform", "AWS", "Mentoring"] == job["preferred_skills"]
    assert (5, "senior") == (job["years_experience"], job["seniority"])


@pytest.mark.parametrize(
    ("text", "title", "company", "seniority"),
    [
        (
            "Job title: Head of Digital Marketing\nCompany: Example Outdoor Brands\n",
            "Head of Digital Marketing",
            "Example Outdoor Brands",
            "lead",
        ),
        ("Junior Analyst at Foo Ltd\nExcel and SQL needed.", "Junior Analyst", "Foo Ltd", "junior"),
        ("Data Analyst\n3 years of experience with SQL", "Data Analyst", "", "mid"),
    ],
)
def test_analyze_job_title_company_seniority(text: str, title: str, company: str, seniority: str) -> None:
    job = analyze_job(text)
    assert (title, company, seniority) == (job["title"], job["company"], job["seniority"])


def test_job_without_skills_warns_and_still_matches(engineer: dict) -> None:
    job = analyze_job("We want a cheerful person for our friendly shop.")
    assert ([], []) == (job["required_skills"], job["preferred_skills"])
    assert job["warnings"]
    assert 0 <= match(engineer, "We want a cheerful person for our friendly shop.")["score"] <= 100


@pytest.mark.parametrize("bad", ["", "\x00\x01\x02" * 100, "x" * 300_000])
def test_analyze_job_bad_input_never_raises(bad: str) -> None:
    assert isinstance(analyze_job(bad)["warnings"], list)


def test_match_shape_and_weights(engineer: dict) -> None:
    result = match(engineer, sample("job_python_backend.txt"))
    assert {"skills", "similarity", "title", "experience"} == set(result["parts"])
    assert 100 == sum(WEIGHTS.values())
    expected = round(sum(result["parts"][k] * w for k, w in WEIGHTS.items()) / 100)
    assert expected == result["score"]
    assert {"Python", "Django", "FastAPI", "PostgreSQL", "Docker", "Kubernetes"} <= set(result["matched_skills"])
    assert "Python" not in result["missing_skills"]
    assert result["explanation"].startswith("The CV covers")


def test_missing_skills_list_required_first(engineer: dict) -> None:
    job = "Backend Engineer\nRequirements: Rust, Scala, Python\nNice to have: Elixir"
    assert ["Rust", "Scala", "Elixir"] == match(engineer, job)["missing_skills"]


def test_required_weighs_more_than_preferred(engineer: dict) -> None:
    req = match(engineer, "Engineer\nRequirements: Python, Rust\nNice to have: Haskell")["parts"]["skills"]
    pref = match(engineer, "Engineer\nRequirements: Rust, Haskell\nNice to have: Python")["parts"]["skills"]
    assert req > pref


def test_experience_part(engineer: dict) -> None:
    assert 100 == match(engineer, "Engineer\n3+ years of Python")["parts"]["experience"]
    assert match(engineer, "Engineer\n20+ years of Python")["parts"]["experience"] < 50


def test_fitting_job_ranks_first(engineer: dict) -> None:
    jobs = [sample("job_ward_nurse.txt"), sample("job_python_backend.txt"), sample("job_marketing_lead.txt")]
    ranked = match_jobs(engineer, jobs)
    assert [1, 3] == [ranked[0]["index"], len(ranked)]
    assert "Senior Python Backend Engineer" == ranked[0]["title"]
    assert ranked[0]["score"] > ranked[-1]["score"]


def test_match_accepts_analysed_job(engineer: dict) -> None:
    text = sample("job_python_backend.txt")
    assert (
        match(engineer, text)["matched_skills"]
        == match(engineer, {**analyze_job(text), "text": text})["matched_skills"]
    )


@pytest.mark.parametrize("cv", [{}, {"work": "nonsense"}, None])
def test_match_bad_cv_never_raises(cv: object) -> None:
    result = match(cv, sample("job_python_backend.txt"))  # type: ignore[arg-type]
    assert 0 <= result["score"] <= 100


def test_rank_many_jobs_quickly(engineer: dict) -> None:
    jobs = [sample("job_python_backend.txt") + f"\nRef {i}" for i in range(300)]
    start = time.process_time()
    ranked = match_jobs(engineer, jobs)
    assert time.process_time() - start < 1.5
    assert list(range(300)) == sorted(r["index"] for r in ranked)


@pytest.mark.parametrize(
    ("text", "company", "not_skill"),
    [
        ("Data Analyst - Sample Retail Co\nRequirements: SQL, Excel", "Sample Retail Co", "Retail"),
        ("Sales Engineer - Python Widgets Ltd\nRequirements: CRM, negotiation", "Python Widgets Ltd", "Python"),
    ],
)
def test_analyze_job_ignores_skill_words_in_company_name(text: str, company: str, not_skill: str) -> None:
    job = analyze_job(text)
    assert company == job["company"]
    assert not_skill not in job["required_skills"] + job["preferred_skills"]
    assert set() == {k for k in job["keywords"] if k.lower() in company.lower().split()}


def test_analyze_job_keywords_skip_title_and_role_words() -> None:
    text = (
        "Data Analyst - Sample Retail Co\nJoin Sample Retail Co as a Data Analyst.\n"
        "Requirements: SQL, Excel. Build dashboards and review dashboards with the analyst team."
    )
    keywords = analyze_job(text)["keywords"]
    assert ["SQL", "Excel", "dashboards"] == keywords  # words as the ad writes them, never a stem
    assert set() == {"data", "analyst", "sample", "retail", "co", "team"} & set(keywords)


# --- title similarity for every profession (core.local.titles) ------------------------------------------------

SAME_ROLE = [
    ("Staff Nurse", "Registered Nurse"),
    ("Registered Nurse", "RN"),
    ("Staff Nurse - Acute Medical Unit", "RGN"),
    ("Sr. RN (Band 5)", "Staff Nurse"),
    ("A&E Nurse", "Staff Nurse"),
    ("Enfermera", "Registered Nurse"),
    ("Healthcare Assistant", "HCA"),
    ("Care Assistant", "Support Worker"),
    ("Accounts Assistant", "Bookkeeper"),
    ("AP Clerk", "Purchase Ledger Clerk"),
    ("Chartered Accountant (ACCA)", "Senior Accountant"),
    ("Sous Chef", "Chef de Partie"),
    ("Head Chef", "Commis Chef"),
    ("Teaching Assistant", "Classroom Assistant"),
    ("TA", "Learning Support Assistant"),
    ("Sales Associate", "Retail Assistant"),
    ("Shop Assistant", "Store Associate"),
    ("Customer Service Advisor", "Call Centre Agent"),
    ("Admin Assistant", "Office Administrator"),
    ("HR Advisor", "Human Resources Officer"),
    ("Recruitment Consultant", "Talent Acquisition Specialist"),
    ("Waiter", "Food and Beverage Assistant"),
    ("Warehouse Operative", "Picker Packer"),
    ("HGV Driver", "Delivery Driver"),
    ("Electrician", "Electrical Installer"),
    ("Senior Python Backend Engineer", "Software Developer"),
    ("Softwareentwickler", "Backend Developer"),
    ("Analista de Datos", "Data Analyst"),
    ("Head of Digital Marketing", "Marketing Manager"),
]
NEIGHBOURS = [
    ("Staff Nurse", "Healthcare Assistant"),
    ("Bookkeeper", "Accountant"),
    ("Teaching Assistant", "Teacher"),
    ("Sales Associate", "Cashier"),
    ("Data Scientist", "Data Analyst"),
]
DIFFERENT = [
    ("Accounts Assistant", "Teaching Assistant"),
    ("Teaching Assistant", "Kitchen Assistant"),
    ("Retail Assistant", "Healthcare Assistant"),
    ("Staff Nurse", "Software Engineer"),
    ("Nursery Nurse", "Staff Nurse"),
    ("Sales Associate", "Audit Associate"),
    ("Customer Service Advisor", "Tax Advisor"),
    ("Marketing Manager", "Store Manager"),
    ("Sous Chef", "Chief Financial Officer"),
    ("Bookkeeper", "Data Engineer"),
    ("Registered Nurse", "Sales Assistant"),
]


@pytest.mark.parametrize(("wanted", "held"), SAME_ROLE + [(b, a) for a, b in SAME_ROLE])
def test_one_role_under_its_different_titles_is_a_full_title_match(wanted: str, held: str) -> None:
    assert 1.0 == titles.similarity(wanted, held)


@pytest.mark.parametrize(("wanted", "held"), NEIGHBOURS + [(b, a) for a, b in NEIGHBOURS])
def test_neighbouring_roles_are_partly_similar(wanted: str, held: str) -> None:
    assert 0.5 <= titles.similarity(wanted, held) < 1.0


@pytest.mark.parametrize(("wanted", "held"), DIFFERENT + [(b, a) for a, b in DIFFERENT])
def test_different_roles_sharing_a_word_are_not_similar(wanted: str, held: str) -> None:
    assert titles.similarity(wanted, held) < 0.3


@pytest.mark.parametrize(
    ("title", "words"),
    [
        ("Sr. RN (Band 5)", ["senior", "registered", "nurse", "band", "5"]),
        ("FP&A Analyst", ["fpa", "analyst"]),
        ("Food & Beverage Assistant", ["food", "and", "beverage", "assistant"]),
        ("Jr. Dev / QA", ["junior", "developer", "quality", "assurance"]),
        ("Técnico de Recursos Humanos", ["tecnico", "de", "recursos", "humanos"]),
    ],
)
def test_titles_are_normalised(title: str, words: list[str]) -> None:
    assert words == titles.normalise(title)


@pytest.mark.parametrize(
    ("wanted", "held", "expected"),
    [
        ("Python Wizard", "Python Developer", 0.5),  # unknown title: plain overlap of role words
        ("Assistant Curator", "Assistant Librarian", 0.2),  # a shared generic head word counts a quarter
        ("", "Staff Nurse", 0.0),
    ],
)
def test_unknown_titles_fall_back_to_weighted_word_overlap(wanted: str, held: str, expected: float) -> None:
    assert expected == pytest.approx(titles.similarity(wanted, held))


NEUTRAL_BODY = "\nWe are hiring in Manchester. Full time, permanent. Apply with your CV.\n"


@pytest.fixture(scope="module")
def nurse() -> dict:
    return parse_cv((ROOT / "tests" / "fixtures" / "cvs" / "nurse.txt").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("job_title", "title_part"),
    [
        ("RN - Surgical Ward", 100),
        ("Registered General Nurse (Band 5)", 100),
        ("Care Assistant", 100),  # the CV's Healthcare Assistant job
        ("Midwife", 60),
        ("Teaching Assistant", 0),
        ("Nursery Nurse", 0),
        ("Retail Assistant", 0),
        ("Accounts Assistant", 0),
    ],
)
def test_nurse_title_fit_by_role_not_by_shared_words(nurse: dict, job_title: str, title_part: int) -> None:
    assert title_part == match(nurse, f"Job title: {job_title}{NEUTRAL_BODY}")["parts"]["title"]


def test_nurse_ranks_a_nurse_posting_above_unrelated_ones_with_the_same_soft_skills(nurse: dict) -> None:
    body = "\nRequirements: excellent communication and teamwork, a caring attitude.\n"
    postings = [f"Job title: {t}{body}" for t in ("Teaching Assistant", "Retail Assistant", "Registered Nurse")]
    postings.append(f"Job title: Kitchen Assistant{body}")
    ranked = match_jobs(nurse, postings)
    assert 2 == ranked[0]["index"]
    assert ranked[0]["score"] >= ranked[1]["score"] + 10


def test_non_tech_cv_title_fits_its_family_posting() -> None:
    cv = parse_cv(
        "Priya Shah\npriya@example.com\n\nEXPERIENCE\nAccounts Assistant\nNorthgate Builders Ltd | 2019 - Present\n"
        "- Processed supplier invoices and bank reconciliations in Sage\n"
    )
    assert 100 == match(cv, f"Job title: Bookkeeper{NEUTRAL_BODY}")["parts"]["title"]
    assert 0 == match(cv, f"Job title: Teaching Assistant{NEUTRAL_BODY}")["parts"]["title"]


def test_title_vocabulary_is_consistent() -> None:
    import re

    from core.local.vocab import titles as vocab

    sectors, _, family_of = titles._parse_families()
    assert set() == {f for pair in vocab.RELATED for f in pair} - set(sectors)
    assert all(sectors.values())  # every family sits in a sector
    spelled = [
        " ".join(titles.normalise(spelling))
        for block in re.split(r"\n(?=\S)", vocab.FAMILIES.strip())
        if not block.startswith("##")
        for spelling in block.partition(":")[2].split("|")
    ]
    assert len(spelled) == len(set(spelled)) == len(family_of)  # no spelling twice, none in two families
