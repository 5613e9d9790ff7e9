"""The skills vocabulary and matcher: aliases, case rules, speed."""

from __future__ import annotations

import time

import pytest

from core.local import parse_cv
from core.local.skills import VOCAB_PATH, Vocabulary, vocabulary


def test_vocabulary_is_shipped_and_large() -> None:
    vocab = vocabulary()
    assert VOCAB_PATH.exists()
    assert len(vocab.skills) > 1000
    assert len(vocab.entries) > 1700


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("JS", "JavaScript"),
        ("postgres", "PostgreSQL"),
        ("k8s", "Kubernetes"),
        ("ML", "Machine Learning"),
        ("node.js", "Node.js"),
        ("Node JS", "Node.js"),
        ("c sharp", "C#"),
        ("unknownthing", None),
    ],
)
def test_canonical(spelling: str, canonical: str | None) -> None:
    assert canonical == vocabulary().canonical(spelling)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Python, C/C++ and C# with .NET", ["Python", "C", "C++", "C#", ".NET"]),
        ("Spring Boot and PL/SQL on k8s", ["Spring Boot", "PL/SQL", "Kubernetes"]),
        ("I excel at go-to-market work", []),
        ("R&D team in Spring 2015", []),
        ("Grade (C) in maths", []),
        ("Reports in Excel and Go services", ["Excel", "Go"]),
    ],
)
def test_find_respects_case_and_context(text: str, expected: list[str]) -> None:
    assert expected == vocabulary().names(text)


def test_prose_mode_skips_one_word_domain_terms() -> None:
    vocab = vocabulary()
    assert ["Sales"] == vocab.names("Sales, Python", include_generic=True)[:1]
    assert ["Python"] == vocab.names("Sales, Python", prose=True)


def test_custom_vocabulary_file_format() -> None:
    vocab = Vocabulary(["## Cat", "Foo Bar | fb", "=Baz", "?Thing"])
    assert ["Foo Bar"] == vocab.names("uses FB daily")
    assert [] == vocab.names("baz")
    assert ["Baz"] == vocab.names("Baz")
    assert ["Thing"] == vocab.names("thing", include_generic=True)


def test_find_is_fast() -> None:
    text = "Python Django PostgreSQL AWS Docker Kubernetes teamwork and more words " * 300
    vocabulary().names(text)
    start = time.process_time()
    vocabulary().names(text)
    assert time.process_time() - start < 0.2


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [("apache", "Apache HTTP Server"), ("assembler", "Assembly"), ("cold fusion", "ColdFusion"), ("ekgs", "EKG")],
)
def test_added_aliases(spelling: str, canonical: str) -> None:
    assert canonical == vocabulary().canonical(spelling)


def test_protocols_count_in_lists_but_not_in_prose() -> None:
    text = "Configured VPN tunnels for the branch offices."
    assert [] == vocabulary().names(text, prose=True)
    assert ["VPN"] == vocabulary().names(text)


@pytest.mark.parametrize(
    ("spelling", "canonical", "category"),
    [
        # health
        ("tracheostomy care", "Tracheostomy Care", "Healthcare"),
        ("ECG", "EKG", "Job-specific Skills (extended)"),
        ("perioperative care", "Theatre Nursing", "Healthcare"),
        ("emergency first aid", "CPR", "Business and Management"),
        ("discharge planning", "Discharge Planning", "Healthcare"),
        # education
        ("EYFS", "Early Years Foundation Stage", "Education"),
        ("synthetic phonics", "Phonics", "Education"),
        ("TEFL", "EAL", "Education"),
        ("IEPs", "Individual Education Plans", "Education"),
        ("pastoral care", "Pastoral Care", "Education"),
        # finance
        ("purchase ledger", "Accounts Payable", "Business and Management"),
        ("variance analysis", "Variance Analysis", "Finance and Accounting"),
        ("credit control", "Credit Control", "Finance and Accounting"),
        ("Sage Line 50", "Sage 50", "Finance and Accounting"),
        # hospitality
        ("food hygiene", "Food Safety", "Business and Management"),
        ("bartending", "Bar Service", "Hospitality"),
        ("latte art", "Coffee Making", "Hospitality"),
        ("till operation", "EPOS", "Hospitality"),
        # trades
        ("CSCS card", "CSCS", "Trades"),
        ("working at height", "Site Safety", "Trades"),
        ("boiler servicing", "Gas Safe", "Trades"),
        ("CNC machining", "Machining", "Trades"),
        # HR
        ("succession planning", "Talent Management", "HR"),
        ("training needs analysis", "Learning and Development", "HR"),
        ("DBS checks", "Right to Work Checks", "HR"),
        # sales
        ("telesales", "Cold Calling", "Business and Management"),
        ("solution selling", "Consultative Selling", "Sales"),
        ("client retention", "Customer Retention", "Sales"),
        # soft skills
        ("strong work ethic", "Work Ethic", "Soft Skills"),
        ("working under pressure", "Stress Management", "Soft Skills"),
        ("prioritising", "Prioritisation", "Soft Skills"),
        ("rapport building", "Relationship Building", "Soft Skills"),
        ("emotional intelligence", "Emotional Intelligence", "Soft Skills"),
    ],
)
def test_non_technical_professions_and_soft_skills(spelling: str, canonical: str, category: str) -> None:
    vocab = vocabulary()
    assert (canonical, category) == (vocab.canonical(spelling), vocab.category(spelling))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Responsible for wound care, discharge planning and catheter care.", ["Discharge Planning", "Catheter Care"]),
        ("Taught synthetic phonics within the EYFS framework.", ["Phonics", "Early Years Foundation Stage"]),
        ("Ran the purchase ledger and credit control for 40 suppliers.", ["Accounts Payable", "Credit Control"]),
        ("Trained staff in food hygiene and allergen awareness.", ["Food Safety", "Allergen Awareness"]),
    ],
)
def test_non_technical_skills_found_in_running_text(text: str, expected: list[str]) -> None:
    found = vocabulary().names(text, prose=True)
    assert expected == [n for n in found if n in expected]


@pytest.mark.parametrize("text", ["The scaffolding of the course", "interviewing the users", "strong numeracy"])
def test_everyday_words_count_only_in_a_skills_list(text: str) -> None:
    assert [] == vocabulary().names(text, prose=True)


@pytest.mark.parametrize(
    ("skills_section", "expected"),
    [
        ("Bartending, Food Hygiene, Till Operation, Stock Rotation", {"Bar Service", "Food Safety", "EPOS"}),
        ("18th Edition wiring regulations; fault-finding; CSCS card; PAT testing", {"Fault Finding", "CSCS"}),
        ("Succession planning | Onboarding | DBS checks", {"Talent Management", "Onboarding", "Right to Work Checks"}),
        ("Scaffolding, Interviewing, Numeracy", {"Scaffolding", "Interviewing", "Numeracy"}),
    ],
)
def test_a_skills_section_of_any_trade_is_read(skills_section: str, expected: set[str]) -> None:
    cv = parse_cv(f"Sam Carter\nsam@example.com\nSKILLS\n{skills_section}\n")
    names = {v for g in cv["skills"] for v in [g["name"], *g["keywords"]]}
    assert expected == expected & names


#: Categories of job-specific and profession skills, where a spelling read under another skill's name splits one
#: skill in two ("Medication Management" beside "Medication Administration") or is silently never read.
_JOB_SPECIFIC = {"Job-specific Skills (extended)", "Healthcare", "Education", "Finance and Accounting", "Hospitality",
                 "Trades", "HR", "Sales", "Soft Skills"}  # fmt: skip


def test_every_job_specific_spelling_reaches_the_skill_its_line_names() -> None:
    """The first line to claim a spelling wins: a later line that repeats it is dead, and a line whose name is
    another skill's alias makes a second skill for the same thing. Neither may be left in the job-specific parts."""
    vocab = vocabulary()
    category, wrong = "", []
    for line in VOCAB_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            category = line[3:].strip()
            continue
        if category not in _JOB_SPECIFIC or not line.strip() or line.startswith("#"):
            continue
        spellings = [p.strip().lstrip("=?") for p in line.split("|") if p.strip()]
        wrong += [(s, vocab.canonical(s), spellings[0]) for s in spellings if vocab.canonical(s) != spellings[0]]
    assert [] == wrong


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("user experience design", "User Experience"),  # once a second skill "UX Design"
        ("contract negotiations", "Contract Management"),  # once "Contract Negotiation", beside the singular
        ("mobile application development", "Mobile Development"),
        ("CNC programming", "CNC"),
        ("special needs education", "Special Education"),
        ("external audit", "Auditing"),
        ("back end development", "Back-End Development"),  # was "Back-End Development development"
        ("drafting", "Drafting"),  # a designer's or a lawyer's: not Contract Drafting, and only in a skills list
        ("legal drafting", "Contract Drafting"),
    ],
)
def test_job_specific_spellings(spelling: str, canonical: str | None) -> None:
    assert canonical == vocabulary().canonical(spelling)


@pytest.mark.parametrize(
    ("text", "not_found"),
    [
        ("Automated the deployment of the billing service.", "Deployment"),
        ("Kept staffing levels safe on a 30-bed ward.", "Staffing"),
        ("CRM Portal Administration for 300 users.", "Office Administration"),  # the administration of a system
        ("Training plan for new starters.", "Training and Development"),
        ("Ran the On Demand Operations team.", "Operations"),
        ("Helped with the drafting of site plans.", "Drafting"),
    ],
)
def test_ordinary_words_in_running_text_are_not_skills(text: str, not_found: str) -> None:
    assert not_found not in vocabulary().names(text, prose=True)
    assert not_found not in vocabulary().names(text)
