"""The offline CV parser: layouts, fields, dates and bad input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.local import parse_cv
from core.local.parser import title_phrases
from core.local.text import find_date_range, parse_date, split_lines

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return parse_cv((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "person", "email"),
    [
        ("cv_multiline.txt", "Sam Fixture", "sam.fixture@example.com"),
        ("cv_flat.txt", "Morgan Flatline", "morgan.flat@example.com"),
        ("cv_no_headings.txt", "Taylor Noheading", "taylor.nh@example.com"),
        ("cv_odd_bullets.txt", "Robin Bullets", "robin.bullets@example.com"),
    ],
)
def test_basics_in_every_layout(name: str, person: str, email: str) -> None:
    basics = load(name)["basics"]
    assert (person, email) == (basics["name"], basics["email"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "cv_multiline.txt",
            [("Data Engineer", "Testco Analytics Ltd"), ("Junior Developer", "Mockup Systems Inc")],
        ),
        (
            "cv_flat.txt",
            [("Senior Graphic Designer", "Pixel Example Studio"), ("Junior Designer", "Sample Print Co.")],
        ),
        (
            "cv_no_headings.txt",
            [("Project Manager", "Fakeco Solutions Ltd"), ("Business Analyst", "Dummy Consulting Group")],
        ),
        ("cv_odd_bullets.txt", [("QA Engineer", "Placeholder Software Pvt Ltd")]),
    ],
)
def test_work_positions_and_employers(name: str, expected: list[tuple[str, str]]) -> None:
    work = load(name)["work"]
    assert expected == [(w["position"], w["name"]) for w in work][: len(expected)]


def test_dates_normalised_and_present_has_no_end() -> None:
    work = load("cv_multiline.txt")["work"]
    assert ("2020-01", None) == (work[0]["startDate"], work[0].get("endDate"))
    assert ("2017-06", "2019-12") == (work[1]["startDate"], work[1]["endDate"])


@pytest.mark.parametrize(
    ("name", "study", "area", "institution"),
    [
        ("cv_multiline.txt", "MSc", "Data Science", "University of Fixtureton"),
        ("cv_flat.txt", "Bachelor of Fine Arts", "Graphic Design", "Example College of Art"),
        ("cv_odd_bullets.txt", "B.E.", "Electronics", "Sample Engineering College"),
        ("cv_no_headings.txt", "MBA", "Operations", "Imaginary Business School"),
    ],
)
def test_education(name: str, study: str, area: str, institution: str) -> None:
    edu = load(name)["education"][0]
    assert (study, area, institution) == (edu["studyType"], edu["area"], edu["institution"])


def test_skill_headings_that_are_not_skills_are_not_emitted_and_aliases_resolve() -> None:
    skills = load("cv_multiline.txt")["skills"]
    names = [s["name"] for s in skills]
    assert ["Python", "Java", "SQL"] == [n for n in names if n in ("Python", "Java", "SQL")]
    assert {"Snowflake", "PostgreSQL"} <= set(names)
    assert "Languages" not in names + [k for s in skills for k in s["keywords"]]


@pytest.mark.parametrize(
    ("line", "group", "members"),
    [
        ("Java: Spring, Hibernate, Maven", "Java", ["Spring", "Hibernate", "Maven"]),
        ("Python - Django, Flask", "Python", ["Django", "Flask"]),
    ],
)
def test_skill_heading_that_is_itself_a_skill_keeps_the_group(line: str, group: str, members: list[str]) -> None:
    skills = parse_cv(f"Pat Example\npat@example.com\nSkills\n{line}\n")["skills"]
    assert {group: members} == {s["name"]: s["keywords"] for s in skills if s["keywords"]}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("April 2013 Senior Software Engineer, LevelUp.", ["Senior Software Engineer"]),
        ("Systems Designer & Lead Mobile Developer, MIT Lab.", ["Systems Designer", "Lead Mobile Developer"]),
        ("-Working as Sr. Java programmer for Example Solutions Ltd", ["Sr. Java programmer"]),
        ("Vice President of Engineering", ["Vice President of Engineering"]),
        ("Director of Software Development at Fakeco", ["Director of Software Development"]),
        ("Role: Team member", ["Team member"]),
        ("Position: PHP developer/Project manager", ["PHP developer", "Project manager"]),
        ("IT Senior Manager/Director. Managed and directed staff", ["IT Senior Manager", "Director"]),
        ("Lead the development of the payments platform", []),
        ("We worked closely with the team", []),
        ("senior engineer mentioned in lower case prose", []),
        ("", []),
    ],
)
def test_title_phrases(line: str, expected: list[str]) -> None:
    assert expected == title_phrases(line)


def test_titles_named_outside_dated_entries_become_positions() -> None:
    text = (
        "Casey Example\ncasey@example.com\nSUMMARY\nData Analyst with five years in retail reporting.\n"
        "EXPERIENCE\nBusiness Analyst, Fakeco Ltd, Jan 2019 - Present\nBuilt dashboards.\n"
    )
    work = parse_cv(text)["work"]
    assert ("Business Analyst", "Fakeco Ltd") == (work[0]["position"], work[0]["name"])
    assert {"Business Analyst", "Data Analyst"} == {w["position"] for w in work}
    assert [""] == [w["name"] for w in work if w["position"] == "Data Analyst"]


def test_skills_drop_years_notes() -> None:
    names = [s["name"] for s in load("cv_odd_bullets.txt")["skills"]]
    assert ["Selenium", "TestNG", "JIRA", "Java", "SQL"] == names[:5]


def test_profiles_and_phone() -> None:
    basics = load("cv_multiline.txt")["basics"]
    assert [("LinkedIn", "sam-fixture")] == [(p["network"], p["username"]) for p in basics["profiles"]]
    assert "+44 7700 900123" == basics["phone"]


def test_meta_and_schema_keys() -> None:
    cv = load("cv_multiline.txt")
    assert {"parser": "local", "warnings": []} == cv["meta"]
    expected = {"basics", "work", "education", "skills", "certificates", "languages", "projects", "meta"}
    assert expected == set(cv)


def test_languages_section() -> None:
    text = "Jo Lang\njo@example.com\n\nLanguages\nEnglish (Fluent), French (Intermediate)\n"
    assert [("English", "Fluent"), ("French", "Intermediate")] == [
        (x["language"], x["fluency"]) for x in parse_cv(text)["languages"]
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sep 2017", "2017-09"),
        ("September 2017", "2017-09"),
        ("03/2019", "2019-03"),
        ("2019-03", "2019-03"),
        ("2019", "2019"),
        ("Jan '15", "2015-01"),
        ("nonsense", ""),
    ],
)
def test_parse_date(text: str, expected: str) -> None:
    assert expected == parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("February 2016 to Present", ("2016-02", "", True)),
        ("2004-2007", ("2004", "2007", False)),
        ("July 2014 - December 2015", ("2014-07", "2015-12", False)),
        ("09/14-Present", ("2014-09", "", True)),
        ("September 2017 onwards", ("2017-09", "", True)),
        ("2010 - 2005", None),
    ],
)
def test_find_date_range(text: str, expected: tuple | None) -> None:
    found = find_date_range(text)
    assert expected == (found[:3] if found else None)


def test_flattened_text_is_split_on_wide_gaps() -> None:
    flat = "x" * 300 + "  Work History  Designer, Acme Ltd  August 2014  -  Present  Did things."
    assert ["Work History", "Designer, Acme Ltd", "August 2014 - Present", "Did things."] == split_lines(flat)[1:]


# --- bad input ----------------------------------------------------------------------------------------------


def test_empty_text_gives_empty_sections_and_a_warning() -> None:
    cv = parse_cv("   ")
    assert ([], [], "") == (cv["work"], cv["skills"], cv["basics"]["name"])
    assert ["The CV text is empty: paste a CV or upload a PDF, DOCX or TXT file."] == cv["meta"]["warnings"]


@pytest.mark.parametrize("bad", [None, 42, b"bytes"])
def test_non_string_input_never_raises(bad: object) -> None:
    assert "local" == parse_cv(bad)["meta"]["parser"]  # type: ignore[arg-type]


def test_huge_text_is_capped_fast_and_warned() -> None:
    text = (FIXTURES / "cv_multiline.txt").read_text() + "\nfiller words here. " * 60000
    start = time.perf_counter()
    cv = parse_cv(text)
    assert time.perf_counter() - start < 5
    assert any("only the first" in w for w in cv["meta"]["warnings"])
    assert "Sam Fixture" == cv["basics"]["name"]


def test_binary_junk_warns() -> None:
    junk = bytes(range(256)).decode("latin-1") * 40
    assert any("binary" in w for w in parse_cv(junk)["meta"]["warnings"])


def test_non_utf8_bytes_decoded_with_replacement_still_parse() -> None:
    text = "Ana Pérez\nana@example.com\n".encode("cp1252").decode("utf-8", errors="replace")
    assert "ana@example.com" == parse_cv(text)["basics"]["email"]


def test_other_language_gets_a_warning_and_best_effort() -> None:
    cv = load("cv_spanish.txt")
    assert ("Lucía Ejemplo", "lucia.ejemplo@example.es") == (cv["basics"]["name"], cv["basics"]["email"])
    assert any("English" in w for w in cv["meta"]["warnings"])


def test_fast_per_cv() -> None:
    text = (FIXTURES / "cv_multiline.txt").read_text()
    parse_cv(text)
    start = time.process_time()
    for _ in range(20):
        parse_cv(text)
    assert (time.process_time() - start) / 20 < 0.05


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tucson, AZ", True),
        ("Pune, Maharashtra", True),
        ("Bangalore", True),
        ("Palo Alto, CA, USA", True),
        ("OTC Logic, New York, NY", False),
        ("Leander Corporation, Boston, MA", False),
        ("Senior Software Engineer", False),
        ("", False),
    ],
)
def test_is_place(text: str, expected: bool) -> None:
    from core.local.gazetteers import is_place

    assert expected == is_place(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INFOSYS LIMITED - Pune, Maharashtra -", "INFOSYS LIMITED"),
        ("Quillfeather Ltd, Tucson, AZ", "Quillfeather Ltd"),
        ("Teaching & Mentoring Communities", "Teaching & Mentoring Communities"),
    ],
)
def test_strip_place(text: str, expected: str) -> None:
    from core.local.gazetteers import strip_place

    assert expected == strip_place(text)


def test_company_city_dates_then_title_layout() -> None:
    text = (
        "Jo Bloggs\njo@example.com\nWORK EXPERIENCE\nBrightpath Institute\nTucson, AZ | Mar 2011 - Present\n"
        "Educational Assistant\nAssist teachers with day to day work and marking exams\nEDUCATION\n"
        "Bachelor of Arts in Education, Tucson City College, 2010\n"
    )
    work = parse_cv(text)["work"]
    assert [("Brightpath Institute", "Educational Assistant")] == [(w["name"], w["position"]) for w in work]


def test_undated_employer_lines_in_experience() -> None:
    text = (
        "Jo Bloggs\njo@example.com\nEXPERIENCE\nFourth Grade Teacher, Maplewood Elementary School, Dover, DE\n"
        "Planned lessons for a class of twenty-eight pupils\nEDUCATION\nBA in Education, Dover State College\n"
    )
    work = parse_cv(text)["work"]
    assert ("Maplewood Elementary School", "Fourth Grade Teacher") in [(w["name"], w["position"]) for w in work]


def test_sentence_is_not_an_employer_and_soft_skills_are_not_listed() -> None:
    text = (
        "Jo Bloggs\njo@example.com\nSKILLS\nPython, Communication, coded unit tests, Kubernetes\n"
        "EXPERIENCE\nData Engineer - Tallyway Ltd - Jan 2019 - Present\n"
    )
    cv = parse_cv(text)
    names = {s["name"] for s in cv["skills"]} | {k for s in cv["skills"] for k in s["keywords"]}
    assert {"Python", "Kubernetes"} <= names
    assert not names & {"Communication", "coded unit tests"}


def test_objective_title_is_a_marked_mention_not_a_job() -> None:
    cv = load("cv_objective_role.txt")
    roles = [(w["position"], w["name"], w["startDate"], w.get("x-source")) for w in cv["work"]]
    assert [
        ("Sales Associate", "Brightmart Stores Inc", "2019-06", None),
        ("Data Scientist", "", "", "mentioned"),
    ] == roles
    assert (
        "Increased monthly sales by 15% by building a Python script that tracked stock levels."
        == (cv["work"][0]["highlights"][0])
    )


def test_titles_without_experience_section_are_mentions() -> None:
    cv = parse_cv("Jordan Aspirant\njordan@example.com\nSeeking a position as Senior Data Analyst.\n")
    assert [("Senior Data Analyst", "mentioned")] == [(w["position"], w.get("x-source")) for w in cv["work"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8/1/2008 - 1/1/2012", ("2008-08", "2012-01")), ("12/15/2019 to Present", ("2019-12", ""))],
)
def test_us_month_day_year_ranges(text: str, expected: tuple[str, str]) -> None:
    rng = find_date_range(text)
    assert expected == (rng[0], rng[1]) if rng else None


def test_employer_named_in_a_sentence_and_dates_never_employers() -> None:
    cv = parse_cv(
        "Casey Ledger\ncasey@example.com\nSUMMARY\nCurrently working as Team Lead at Hashe Computer Solutions.\n"
        "EXPERIENCE\nResearch Intern\nSummer 2009\nBuilt ranking models in Python for search quality.\n"
    )
    names = {w["name"] for w in cv["work"] if w["name"]}
    assert "Hashe Computer Solutions" in names
    assert "Summer 2009" not in names


def test_indeed_layout_company_before_dates() -> None:
    cv = parse_cv("Pat Lee\npat@example.com\nWORK EXPERIENCE\nApp develop\nMicrosoft -\nAugust 2016 to Present\n")
    assert [("App develop", "Microsoft", "2016-08")] == [
        (w["position"], w["name"], w["startDate"]) for w in cv["work"] if not w.get("x-source")
    ]


def _skill_names(text: str) -> set[str]:
    resume = parse_cv(text)
    return {v for g in resume["skills"] for v in [g["name"], *g["keywords"]]}


_FLAT_HEAD = "Jane Roe  jane@example.com  Developer  "


def test_labelled_list_outside_skills_section_keeps_unknown_items() -> None:
    text = (
        _FLAT_HEAD + "EXPERIENCE  Developer  Acme Ltd  2015 - 2018  Built billing tools.  "
        "Environment: Java, Spring, Zorblex, Quantix Suite.  EDUCATION  B.Sc. Physics, Kent University" + " " * 300
    )
    names = _skill_names(text)
    assert {"Java", "Zorblex", "Quantix Suite"} <= names


def test_list_in_running_text_with_known_skills_keeps_its_other_items() -> None:
    text = (
        _FLAT_HEAD + "SUMMARY  Radiology tools, built with C#, MFC, Zorblex and SQL Server.  "
        "EDUCATION  B.Sc. Physics, Kent University, 2014" + " " * 300
    )
    assert "Zorblex" in _skill_names(text)


def test_prose_without_known_skills_is_not_a_skills_list() -> None:
    text = (
        _FLAT_HEAD + "SUMMARY  I visited Paris, Rome, Berlin and Oslo with friends.  "
        "EDUCATION  B.Sc. Physics, Kent University, 2014" + " " * 300
    )
    assert not {"Rome", "Berlin", "Oslo"} & _skill_names(text)


@pytest.mark.parametrize("heading", ["Applied Skills", "Core Professional Strengths", "Technical Proficiencies"])
def test_title_case_skill_headings(heading: str) -> None:
    text = f"Jane Roe\njane@example.com\n{heading}\nZorblex, Quantix, Flumox\nEDUCATION\nB.Sc. Physics, Kent University"
    assert {"Zorblex", "Quantix", "Flumox"} <= _skill_names(text)


def test_personal_skills_heading_is_not_a_skills_section() -> None:
    text = "Jane Roe\njane@example.com\nPersonal Skills\nPatient, Punctual, Cheerful\nEDUCATION\nB.Sc. Physics"
    assert not {"Patient", "Punctual", "Cheerful"} & _skill_names(text)


def test_languages_label_inside_skills_section_stays_a_skill_list() -> None:
    text = (
        _FLAT_HEAD + "TECHNICAL SKILLS  Languages:  ActionScript, ColdFusion, Tcl, Lua  Tools:  Git, Jira  "
        "EDUCATION  B.Sc. Physics, Kent University, 2014" + " " * 300
    )
    assert {"ColdFusion", "Tcl", "Lua", "Git"} <= _skill_names(text)


def test_labelled_list_broken_over_lines_is_read_whole() -> None:
    text = (
        _FLAT_HEAD + "EXPERIENCE  Partner  Wendel Law LLP  1990 - 2000  "
        "Practice Concentration: securities, commodities and trade regulation;  dealerships, franchises  "
        "EDUCATION  J.D., Kent University, 1989" + " " * 300
    )
    assert {"securities", "franchises", "dealerships"} <= {n.lower() for n in _skill_names(text)}


@pytest.mark.parametrize("item", ["April 2015", "sales orders", "best practices"])
def test_dates_and_lower_case_phrases_in_lists_are_not_skills(item: str) -> None:
    text = f"Jane Roe\njane@example.com\nSKILLS\nPython, {item}, Java\nEDUCATION\nB.Sc. Physics"
    assert item not in _skill_names(text)


@pytest.mark.parametrize(
    ("line", "employer"),
    [
        ("Taught reading to grade 3 pupils at Springfield Public Schools for two years.", "Springfield Public Schools"),
        ("Served as a substitute in the Lakeview School District during 2015.", "Lakeview School District"),
        ("Volunteer reader at Oak Mountain Elementary School every week.", "Oak Mountain Elementary School"),
    ],
)
def test_school_employers_named_in_sentences(line: str, employer: str) -> None:
    text = f"Jane Doe\njane@example.com\nExperience\n{line}\nEducation\nB.A. in English, Ohio State University, 2012"
    names = [w["name"] for w in parse_cv(text)["work"]]
    assert employer in names


def test_own_university_is_not_an_employer_even_when_spelled_differently() -> None:
    text = (
        "Jane Doe\njane@example.com\nExperience\nResearch volunteer\nThe Ohio State University Columbus\n2011\n"
        "Education\nB.A. in English, Ohio State University, 2012"
    )
    names = {w["name"] for w in parse_cv(text)["work"]}
    assert not any("Ohio State" in n for n in names)


def test_foreign_month_with_a_dotless_i_is_left_alone():
    from core.local import text

    assert "JANUARı 2012" == text.english_months("JANUARı 2012")
    assert "January 2012" == text.english_months("Januar 2012")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("June 20XX - present", ("", "", True)),
        ("Summer 20XX-20XX", ("", "", False)),
        ("19xx-20xx", ("", "", False)),
        ("January-May, 19xx", ("", "", False)),
        ("September 2019 - 20XX", ("2019-09", "", False)),
        ("March 2019 - May 2020", ("2019-03", "2020-05", False)),
        ("May, 19xx", None),
    ],
)
def test_placeholder_years_mark_a_range_without_inventing_dates(text: str, expected: tuple | None) -> None:
    found = find_date_range(text)
    assert expected == (found[:3] if found else None)


def test_placeholder_dated_entry_is_found_with_empty_dates() -> None:
    cv = "Pat Template\npat@example.com\nWORK HISTORY\nBest Buy\nJuly 20XX - present\nSales Associate\n"
    work = parse_cv(cv)["work"]
    assert ("Best Buy", "Sales Associate", "") == (work[0]["name"], work[0]["position"], work[0]["startDate"])
    assert "endDate" not in work[0]


@pytest.mark.parametrize(
    ("line", "employer"),
    [
        ("DePaul University, Office of Admissions, Chicago, IL", "Office of Admissions"),
        ("University of Minnesota Duluth Department of Composition", "Department of Composition"),
        ("Missouri S&T - Systems Engineering Department", "Systems Engineering Department"),
    ],
)
def test_department_named_after_its_university_is_the_employer(line: str, employer: str) -> None:
    cv = f"Kim Unit\nkim@example.com\nEXPERIENCE\n{line}\nJan 2013 - Dec 2013\nResearch Assistant\n"
    assert [employer] == [w["name"] for w in parse_cv(cv)["work"]]


@pytest.mark.parametrize(
    ("org", "role"),
    [
        ("Adaptive Sports Club", "Member"),
        ("Eastern Educational Research Association", "Treasurer"),
        ("Big Brothers/Big Sisters", "Volunteer Big Sister"),
        ("Graduate Studies Committee", "Team Leader"),
        ("Customer Service Team", "Team Leader"),
    ],
)
def test_memberships_and_teams_are_not_employers(org: str, role: str) -> None:
    cv = f"Lee Member\nlee@example.com\nEXPERIENCE\n{role}\n{org}\n2010 - 2012\n"
    work = parse_cv(cv)["work"]
    assert [("", role)] == [(w["name"], w["position"]) for w in work]


def test_a_job_at_an_association_keeps_its_employer() -> None:
    cv = "Ann Job\nann@example.com\nEXPERIENCE\nProgramme Manager\nThe Childrens Society\n2009 - 2012\n"
    assert ["The Childrens Society"] == [w["name"] for w in parse_cv(cv)["work"]]


@pytest.mark.parametrize("season", ["Summer", "Winter"])
def test_season_before_placeholder_years_is_not_a_job_title(season: str) -> None:
    cv = (
        "Jo Camp\njo@example.com\nEXPERIENCE\nFood Service Worker\nJanuary 2019 - present\n"
        f"Charlottesville Parks and Rec\n{season} 20XX-20XX\nPerformed landscaping service, such as cutting grass.\n"
    )
    work = parse_cv(cv)["work"]
    assert ("Charlottesville Parks and Rec", "") == (work[-1]["name"], work[-1]["position"])
