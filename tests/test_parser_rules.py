"""The general rules behind the parser's employer and skill figures, each on a few lines written for the test:
where an employer stands (beside its town, after a broken date range, on one line with a title and a date, after
the dates), what is never an employer (a town, a field of work, a label, a date), and which words are skills."""

from __future__ import annotations

import pytest

from core.local import parse_cv
from core.local.gazetteers import is_place

HEADER = "Robin Ashdown\nrobin.ashdown@example.com\n\n"


def _employers(text: str) -> set[str]:
    return {w["name"] for w in parse_cv(HEADER + text)["work"] if w["name"]}


def _skills(text: str) -> set[str]:
    skills = parse_cv(HEADER + text)["skills"]
    return {s["name"] for s in skills} | {k for s in skills for k in s["keywords"]}


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("India", True),  # the first name on a line of the word list was once read with its indent
        ("Indiana", True),
        ("Nagpur", True),
        ("Boulder, CO", True),  # 'CO' is Colorado here, not 'Co.' of a company
        ("Acme Co, CA", False),
        ("Santa Rosa, Ca", True),  # a state code typed in title case
        ("Austin, Tx", True),
        ("Acme, In", False),
        ("Dundee", True),  # UK, Irish, Australian, Canadian and New Zealand cities, not only capitals
        ("Galway", True),
        ("Rennes", True),  # cities of the languages the app reads: French, German, Spanish, Portuguese
        ("Porto Alegre", True),
        ("Harlow Wynd, Dundee", False),
        ("Brackenridge Builders; Boston, MA", False),  # a name, a semicolon, then its town
        ("Maple Run School: Hoover, AL", False),  # 'In' and 'Or' are words before they are Indiana and Oregon
        ("Harbourview Analytics", False),
    ],
)
def test_places(place: str, expected: bool) -> None:
    assert expected == is_place(place)


@pytest.mark.parametrize(
    ("body", "employer"),
    [
        # a name beside its town, the title on the next line
        ("EXPERIENCE\nTeach Forward, Miami, FL\nEnglish Teacher\nTaught 120 pupils a year.\n", "Teach Forward"),
        # a date range broken over two lines, the employer after 'present'
        (
            "EXPERIENCE\nGame Programmer\n6/2007\npresent Greenfield Labs, Norman, OK\nBuilt games in C++.\n",
            "Greenfield Labs",
        ),
        # employer, title and date on one line, under a heading that is not 'Experience'
        (
            "SELECTED PROJECTS\nHarbourview Analytics, Senior Consultant, 2016-2019\nModelled churn.\n",
            "Harbourview Analytics",
        ),
        # dates alone on a line, then the employer and its town, then the title
        (
            "EXPERIENCE\n2008 to 2010\nMicrovane, Santa Rosa, California\nMechanical Designer\nDrew parts.\n",
            "Microvane",
        ),
        # dates, then the employer beside a town whose state is typed 'Ca', then the title
        # the employer above a line with its town and dates, the title below
        (
            "SKILLS\nLab Setup\nPROFESSIONAL EXPERIENCE\nBlue Willow\nRapid City, SD | January 2015 - Present\n"
            "Special Education Teacher\nProvide direct services to students with special needs\n"
            "Organize and communicate class targets and requirements\n",
            "Blue Willow",
        ),
        # a name cut inside its brackets keeps what stands before them
        (
            "EXPERIENCE\n2006 to 2008\nSiemara PLM Software (UGS), Cypress, California\nApplications Engineer\n",
            "Siemara PLM Software",
        ),
        # 'January' / 'May 2011': a range whose year is written once, broken over two lines
        (
            "TEACHING EXPERIENCE\nPhysical Education Student Teacher\nMinneapolis, MN\nLakeview High School\n"
            "January\nMay 2011\nLed a unit on health.\n",
            "Lakeview High School",
        ),
        # a legal form after a comma belongs to the name
        (
            "EXPERIENCE\nCase Manager\nWelcome Home, Inc., Columbia, MO\n2010 - 2012\nRan a caseload of 30 families.\n",
            "Welcome Home, Inc.",
        ),
        # a career history under 'Accomplishments'
        (
            "EXPERIENCE\nFinance Director\nGreyfield Holdings Ltd, Phoenix, Arizona\n2000 to 2012\nRan finance.\n"
            "ACCOMPLISHMENTS\nHARBOUR LINE BANK, Chicago, Illinois\n1995 to 2000\nChief Administrative Officer\n"
            "Ran risk and planning for the division.\n",
            "HARBOUR LINE BANK",
        ),
        # a Norwegian firm 'AS' is not a sentence cut after 'as'
        (
            "EXPERIENCE\nJanuary 2012 - present\nProject Manager\nFjordvik Data AS\nRan ICT projects.\n",
            "Fjordvik Data AS",
        ),
        # a job's own labels ('Project:', 'Technologies:', 'Project Description:') do not end the experience
        # section: the next job after them is still a job
        (
            "WORK EXPERIENCE\nData Engineer\nKestrel Freight Ltd -\nMay 2019 to Present\nProject: Route Planner\n"
            "Technologies: Python, Airflow, Redshift\nDeveloper\nOakridge Retail Inc -\nJune 2016 to April 2019\n",
            "Oakridge Retail Inc",
        ),
        (
            "WORK EXPERIENCE\nConsultant\nBlue Heron Group -\nMarch 2015 to April 2016\nProject Description:\n"
            "A billing system for a utility.\nTools Used:\nJava, Oracle\nAnalyst\nMarlow Shipping -\n"
            "October 2012 to February 2015\n",
            "Marlow Shipping",
        ),
    ],
)
def test_employer_found(body: str, employer: str) -> None:
    assert employer in _employers(body)


@pytest.mark.parametrize(
    ("body", "not_employer"),
    [
        ("EXPERIENCE\nSystems Administrator, Operating Systems, 2015 - 2018\n", "Operating Systems"),
        ("EXPERIENCE\nWeb Developer, Web Technologies, 2012 - 2014\n", "Web Technologies"),
        ("EXPERIENCE\nStudent Teacher, Spring [year]\nTaught PE.\n", "Spring [year]"),
        ("EXPERIENCE\nProgramme Manager, India, 2007 - 2008\nRan programmes.\n", "India"),
        ("EXPERIENCE\nPosition\nSales Assistant, 2010 - 2012\n", "Position"),
        ("EXPERIENCE\nOwner/Trainer/Consultant\nMarch 2001 - Present\nRan workshops.\n", "Owner/Trainer/Consultant"),
        ("EXPERIENCE\nBuyer, Cuc44@wh.net, 2011 - 2013\nBought stock.\n", "Cuc44@wh.net"),
        ("EXPERIENCE\nAvailable from September 2016\nProject Manager, 2014 - 2016\n", "Available from September 2016"),
        (
            "EXPERIENCE\nDatabase Developer\nExtensive experience with SQL Server and SSIS\n2003 - 2007\nBuilt ETL.\n",
            "Extensive experience with SQL Server and SSIS",
        ),
        ("TEACHING\nLecturer, Operating Systems (1998, 1997 - 1999\n", "Operating Systems (1998"),  # a course
        (
            "EXPERIENCE\nSpecial Education Teacher\nMiddle School Softball Coach\nFebruary 2014 - June 2016\n",
            "Middle School Softball Coach",  # a second role, not the employer
        ),
        ("EXPERIENCE\nWriting Center Tutor, SCHOOL, 2012 - 2013\nTutored first-years.\n", "SCHOOL"),  # no name
        ("ACTIVITIES\nMember, Ventura Hiking Club, 2005 - 2009\n", "Ventura Hiking Club"),
        ("EXPERIENCE\nMember\nAIDS CARE Inc.\n1992 - 1998\nSat on the research panel.\n", "AIDS CARE Inc."),
        ("EXPERIENCE\nTNE) Co-Author\nFunded Projects and Grants\n2011 - 2013\n", "TNE) Co-Author"),
        ("EXPERIENCE\nCommunity Nurse, P.O BOX 43123, 2009 - 2012\n", "P.O BOX 43123"),
        ("EXPERIENCE\nCo-Director\n1994 - 1996\nRan the summer programme.\n", "Co-Director"),
        ("EXPERIENCE\nSenior Practitioner\n2008 - 2011\nLed casework for the team.\n", "Senior Practitioner"),
        ("EXPERIENCE\nCamp Counselor\nMay [year]-August [year]\nLed hikes.\n", "May [year]-August [year]"),
        (
            "EXPERIENCE\nTeaching Assistant, Movement Studies for Primary Teachers II, 2012 - 2013\nMarked essays.\n",
            "Movement Studies for Primary Teachers II",  # a course and its level
        ),
        ("EXPERIENCE\nNanny, Child Care, 2002 - 2004\nLooked after two children.\n", "Child Care"),  # a field
        ("EXPERIENCE\nNanny, Child Care, 2002 - 2004\nLooked after two children.\n", "Nanny"),  # a job
        (
            "EXPERIENCE\nDeveloper, Brightwater Ltd, 2012 - 2014\nBuilt services with Java Technologies and Spring.\n",
            "Java Technologies",  # skills and a field of work, named in a sentence
        ),
        (
            "EXPERIENCE\nMarch 2008 - June 2009\nIntegration Aide\nDeveloped lesson plan units for Media Studies\n",
            "Developed lesson plan units for Media Studies",  # a duty: a verb in the past, then lower-case words
        ),
        (
            "EXPERIENCE\nSeptember 2004 - June 2005\nEditor/Proofreader\nDuties: Proofreading teaching materials\n",
            "Editor/Proofreader",
        ),
        ("EXPERIENCE\nOffice Manager/Medical Assistant\nUrology\n2003 - 2006\nRan the front desk.\n", "Urology"),
        ("EXPERIENCE\nPHP developer\nXXXXXXXXXXX\n2005 - 2007\nBuilt sites.\n", "XXXXXXXXXXX"),  # a template's
        (
            "EXPERIENCE\nJune 2008 - December 2008\nIntern engineer / Kerlann Systemes, Rennes\nWrote test tools.\n",
            "Rennes",
        ),
        # a maker's name before its product, written where the employer goes: a tool, not the employer
        ("EXPERIENCE\nConsultant\nSAP ABAP -\nMay 2014 to June 2016\nWrote reports.\n", "SAP ABAP"),
        (
            "EXPERIENCE\nDeveloper\nMicrosoft SharePoint -\nMay 2014 to June 2016\nBuilt sites.\n",
            "Microsoft SharePoint",
        ),
    ],
)
def test_not_an_employer(body: str, not_employer: str) -> None:
    assert not_employer not in _employers(body)


@pytest.mark.parametrize(
    ("body", "skill", "found"),
    [
        # a row of a core-competencies grid outside the skills section
        ("SUMMARY\nBudgeting | Sales Forecasting | Stakeholder Management\n", "Sales Forecasting", True),
        # a field of work named once in running text is not a skill the CV claims; in a list it is
        ("SUMMARY\nTwelve years in primary schools with a focus on pastoral care.\n", "Pastoral Care", False),
        ("SUMMARY\nPastoral care for 30 pupils; pastoral care lead for Year 6.\n", "Pastoral Care", True),
        ("SKILLS\nPastoral Care, Phonics\n", "Pastoral Care", True),
        # 'Spring' is a place or a season unless other tools stand beside it
        ("EXPERIENCE\nPrincipal, Blair High School, Silver Spring, MD, 1991 to 1995\n", "Spring", False),
        ("EXPERIENCE\nBuilt services in Java with Spring and Hibernate on PostgreSQL.\n", "Spring", True),
        # a tool named inside a job title is part of the title
        ("EXPERIENCE\nTechnical Support Engineer, Northgate Ltd, 2015 - 2019\n", "Technical Support", False),
        # items rated by years of use are skills, though the vocabulary does not know them
        ("SKILLS\nkestrelmon (Less than 1 year), grafana (2 years), Python (3 years)\n", "kestrelmon", True),
    ],
)
def test_skills(body: str, skill: str, found: bool) -> None:
    assert found == (skill in _skills(body))


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("EXPERIENCE\nConsultant\nSAP -\nMay 2014 to June 2016\nRan the rollout.\n", "SAP"),  # the firm itself
        ("EXPERIENCE\nSales Assistant\nRed Hat -\nMay 2014 to June 2016\nSold licences.\n", "Red Hat"),
    ],
)
def test_a_vendor_whose_name_is_a_skill_stays_an_employer(body: str, kept: str) -> None:
    assert kept in _employers(body)


def test_a_wrapped_sentence_end_is_not_a_heading() -> None:
    """'skills.' ends a sentence broken over two lines; it used to open a skills section and end the experience."""
    body = (
        "WORK EXPERIENCE\nPrincipal Engineer\nHalden Systems -\nSeptember 2005 to Present\n"
        "Led a team of six and grew their database\nskills.\nSenior Engineer\nNorthwind Labs -\n"
        "March 2001 to August 2005\n"
    )
    assert {"Halden Systems", "Northwind Labs"} <= _employers(body)


def test_a_degree_named_in_a_wrapped_sentence_is_not_a_degree() -> None:
    body = (
        "EDUCATION\nBA Sociology, University of Leeds, 2010\nMentored pupils who had completed their\n"
        "their high school education, with the Board of Education.\n"
    )
    degrees = [e["studyType"] for e in parse_cv(HEADER + body)["education"]]
    assert ["BA"] == degrees


def test_an_employer_beside_a_town_in_title_case_opens_its_entry() -> None:
    """'Santa Rosa, Ca' is a place: the entry after the dates is that employer's, not the last line of the job
    before ('Work with other Applications Engineers' is a duty, not a title)."""
    body = (
        "EXPERIENCE\n2006 to 2008\nSiemara Software, Cypress, California\nApplications Engineer\n"
        "Wrote test plans for each release of the modeller.\nWork with other Applications Engineers\n"
        "1981 to 2006\nKestrel Optics, Santa Rosa, Ca\nMechanical Designer\nDesigned tooling for the coaters.\n"
    )
    jobs = [(w["name"], w["position"]) for w in parse_cv(HEADER + body)["work"] if w.get("startDate") == "1981"]
    assert [("Kestrel Optics", "Mechanical Designer")] == jobs


def test_the_line_beside_a_town_is_the_employer_and_the_other_the_title() -> None:
    """'Summer Placement' over 'Harlow Wynd, Dundee': neither line has a firm's or a title's word; the one that
    stands beside its town is the employer."""
    body = (
        "LAW RELATED EXPERIENCE\nJuly 2016 - Aug 2016\nSummer Placement\nHarlow Wynd, Dundee\n"
        "Based in the energy team for six weeks, drafting letters for clients.\nSept 2014 - present\nTelesales\n"
        "Brightfold Kitchens, Cardiff\nCold calling to a high volume of customers.\n"
    )
    jobs = [(w["name"], w["position"]) for w in parse_cv(HEADER + body)["work"] if w["name"]]
    assert [("Harlow Wynd", "Summer Placement"), ("Brightfold Kitchens", "Telesales")] == jobs


@pytest.mark.parametrize(
    ("body", "employer"),
    [
        (
            "PROFESSIONAL EXPERIENCE\nBrackenridge Builders; Boston, MA (2011 - Present)\nProgram Manager\nRan it.\n",
            "Brackenridge Builders",
        ),
        (
            "EXPERIENCE\nStudent Teacher\nMaple Run Elementary School: Hoover, AL (Fall 2003 - Spring 2004)\n",
            "Maple Run Elementary School",
        ),
        ("EXPERIENCE\nAssociate\nHALVERSON & REID, P.C.\n1990 - 1991\nDrafted pleadings.\n", "HALVERSON & REID, P.C."),
    ],
)
def test_the_employer_is_cut_from_its_town_and_keeps_its_legal_form(body: str, employer: str) -> None:
    assert employer in _employers(body)


def test_dates_first_layout_with_an_entry_without_text() -> None:
    """Dates, title, employer, text: an entry with no text ends on its employer, and the next dates still open the
    next entry ('Redwing Linux AB' is the Senior System Consultant's employer, not the line before its dates)."""
    body = (
        "Work Experience\nJanuary 2012 - present\nChief Project Manager\nFjordvik Data AS\nRan the ICT group.\n"
        "January 2010 - December 2011\nOwner/Consultant\nStrandvik Consulting\nSeptember 2008 - December 2009\n"
        "Senior System Consultant\nRedwing Linux AB\nTaught Linux courses and ran client projects.\n"
    )
    jobs = {(w["name"], w["position"]) for w in parse_cv(HEADER + body)["work"] if w["name"]}
    assert {("Fjordvik Data AS", "Chief Project Manager"), ("Redwing Linux AB", "Senior System Consultant")} <= jobs


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Practicum", True), ("Work History", True), ("TAROKO TECHNOLOGIES", False), ("Taroko Technologies", False)],
)
def test_a_name_spelt_as_a_heading_is_no_employer(text: str, expected: bool) -> None:
    """Only an exact heading is refused as an employer; 'TAROKO TECHNOLOGIES' merely reads like 'Technologies'."""
    from core.local.parser.sections import is_heading_name

    assert expected == is_heading_name(text)


def test_a_label_above_the_first_dates_is_not_the_employer() -> None:
    """'Remunerated' over the first entry: the employer is the name after the title, not the label before the dates
    (only a 'Town | dates' line sends the parser to the line above for the employer)."""
    body = (
        "Work Experience\nRemunerated\nJanuary 2012 - present\nChief Project Manager\nFjordvik Data AS\n"
        "Ran the ICT group and its clients.\nSeptember 2008 - December 2011\nSenior System Consultant\n"
        "Redwing Linux AB\nTaught Linux courses and ran client projects.\n"
    )
    jobs = [(w["name"], w["position"]) for w in parse_cv(HEADER + body)["work"] if w["name"]]
    assert [("Fjordvik Data AS", "Chief Project Manager"), ("Redwing Linux AB", "Senior System Consultant")] == jobs


def test_a_job_whose_employer_line_is_rejected_keeps_its_dates_duties_and_title() -> None:
    """'Experience in …' is no employer, but its dates and duties are the job seeker's facts: the entry stays, and
    the title named alone above it ('Junior Data Engineer') is that job's, not a mention."""
    body = (
        "WORK EXPERIENCE\n\nJunior Data Engineer\n\nnorthwind\n\n"
        "• Junior Data Engineer in Northwind Analytics Pvt Ltd. (through Contoso Staffing Pvt Ltd)\n"
        "• Experience in Data Pipelines and Report Automation. (March 2019 onwards)\n"
        "Built nightly loads in Python.\nKept the reporting servers patched.\n"
    )
    work = parse_cv(HEADER + body)["work"]
    dated = [w for w in work if w.get("startDate")]
    assert ["2019-03"] == [w["startDate"] for w in dated]
    assert "Junior Data Engineer" == dated[0]["position"]
    assert not any("Experience in" in w["name"] for w in work)
    assert [] == [w for w in work if w.get("x-source") == "mentioned"]
