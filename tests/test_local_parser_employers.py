"""Employers by structure: the segment beside the title and the dates, 'at X', 'X —', 'X, City', legal forms; and
what is never an employer (a city after the employer, a job title, a fragment of a sentence). CVs written here."""

from __future__ import annotations

import pytest

from core.local import parse_cv
from core.local.parser.sections import heading_of

HEAD = "Jo Bloggs\njo@example.com\nEXPERIENCE\n"


def roles(body: str) -> list[tuple[str, str]]:
    return [(w["position"], w["name"]) for w in parse_cv(HEAD + body)["work"] if not w.get("x-source")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # 'Title, Employer, City': the city after the employer is no employer, known city or not
        (
            "Staff Nurse, Leeds General Infirmary, Leeds\nMar 2019 - Present\nCared for 28 patients a shift.\n",
            ("Staff Nurse", "Leeds General Infirmary"),
        ),
        (
            "Dec 2013 - Feb 2014\nMarketing Assistant, Salvation Army, Melbourne\nRan two fundraising campaigns.\n",
            ("Marketing Assistant", "Salvation Army"),
        ),
        (
            "Dec 2011 - current\nCustomer Service Assistant, Lush Cosmetics, Chadstone\nServed customers all day.\n",
            ("Customer Service Assistant", "Lush Cosmetics"),
        ),
        # 'Employer, City | dates' then the title; a title ends in its head noun, though 'marketing' names firms too
        (
            "Nestle, Norwalk, CT | Mar 2008 - Present\nDigital Marketing Executive\nPlanned campaigns for brands.\n",
            ("Digital Marketing Executive", "Nestle"),
        ),
        (
            "Software Test Automation Engineer\nEPAM - December 2014 to October 2017\nWrote automated tests daily.\n",
            ("Software Test Automation Engineer", "EPAM"),
        ),
        # a date range broken over two lines by a PDF's date column
        (
            "ABC Corp\nSomewhere, NJ\n2001\n2006: Principal Software Engineer\nDesigned firmware for medical pumps.\n",
            ("Principal Software Engineer", "ABC Corp"),
        ),
        (
            "2003\nPresent: Associate Art Editor, Home and Gardens\nPlanned the layout of every monthly issue.\n",
            ("Associate Art Editor", "Home and Gardens"),
        ),
        # 'Project Manager:' is a job title, not a 'Projects' heading
        (
            "Prudential\nNewark, New Jersey\n1997-1999\nProject Manager:\nBuilt a client service centre.\n",
            ("Project Manager", "Prudential"),
        ),
        # 'at X', dashes, and legal forms
        (
            "Accountant at Brightwell & Co Ltd\n2016 - 2020\nPrepared monthly management accounts.\n",
            ("Accountant", "Brightwell & Co Ltd"),
        ),
        (
            "Analista Financiero | Banco Ejemplo S.A. | 2019 - 2021\nPrepared the monthly board reports.\n",
            ("Analista Financiero", "Banco Ejemplo S.A."),
        ),
        (
            "Sous Chef — The Olive Tree Restaurant, Bath\nJune 2017 - May 2020\nRan the pass for 120 covers a night.\n",
            ("Sous Chef", "The Olive Tree Restaurant"),
        ),
        (
            "Trainee Solicitor\nHarper & Lowe LLP, London\nSep 2015 - Aug 2017\nDrafted contracts for clients.\n",
            ("Trainee Solicitor", "Harper & Lowe LLP"),
        ),
        (
            "Electrician - Sparks Electrical Pty Ltd - 2012 - 2018\nWired new homes across the suburbs.\n",
            ("Electrician", "Sparks Electrical Pty Ltd"),
        ),
    ],
)
def test_employer_beside_title_and_dates(body: str, expected: tuple[str, str]) -> None:
    assert expected == roles(body)[0]


@pytest.mark.parametrize(
    ("body", "not_employer"),
    [
        ("Senior Developer\nJAVA Developer/Senior Systems Engineer - INFOSYS LIMITED\n2016 - 2019\n", "Senior Systems"),
        ("Amazon\nInterned at Amazon Development Centre for 6 months 2017\n", "Interned"),
        ("Trainer for\nFreelance translation and the use of CAT tools\n", "Trainer for"),
        ("Good expertise in working at MNC. As Thomson Reuters for EMEA Project as a content analyst.\n", "MNC"),
    ],
)
def test_fragments_are_not_employers(body: str, not_employer: str) -> None:
    names = [w["name"] for w in parse_cv(HEAD + body)["work"]]
    assert [] == [n for n in names if n.startswith(not_employer)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Project Manager:", None),
        ("PROJECT COORDINATOR", None),
        ("Client Services Director", None),
        ("PROJECTS", ("projects", "")),
        ("Academic Projects:", ("projects", "")),
    ],
)
def test_job_titles_are_not_headings(line: str, expected: tuple[str, str] | None) -> None:
    assert expected == heading_of(line)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # the person's own name in a page footer, and a phone label, are neither employer nor title
        ("2000 - 2004\nJo Bloggs\nTel: (123)345-7890\nGrew product revenue by 100% in one year.\n", []),
        # a title in the employer's place becomes the title
        ("Reading Coach\nAug 2009 - May 2010\nCoached small reading groups twice a week.\n", [("Reading Coach", "")]),
        # a descriptor and a place are not employers
        ("An ISO 9002 Company\n1998 - 2003\nPlanned the erection of blast furnace parts.\n", []),
        ("Alabama\n2003 - 2005\nEvaluated the state telecoms plan for a regional commission.\n", []),
    ],
)
def test_footers_titles_descriptors_and_places_are_not_employers(body: str, expected: list[tuple[str, str]]) -> None:
    assert expected == [r for r in roles(body) if r != ("", "")]
