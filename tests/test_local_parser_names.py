"""Names: address, city and label lines are never a name; a name on a line with other text is found; a CV
without a name line gets no name and a warning, not a guess. Every CV here is written for the test."""

from __future__ import annotations

import pytest

from core.local import parse_cv

CONTACT = "jo@example.com | +44 7700 900123\n"
BODY = (
    "\nEXPERIENCE\nStaff Nurse, Leeds General Infirmary, 2019 - Present\nEDUCATION\nBSc Nursing, University of Leeds\n"
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # the name line itself, after address, city and label lines
        ("24 Robinson Road\nMorris Plains, NJ 07950\nPriya Raman\n", "Priya Raman"),
        ("San Mateo, CA\nDaniel Okafor\n", "Daniel Okafor"),
        ("Bangalore Tavarekere\nAnita Desai\n", "Anita Desai"),
        ("Manchester, UK\nOliver Hartley\n", "Oliver Hartley"),
        ("Leeds LS1 4AB\nGrace Mbeki\n", "Grace Mbeki"),
        ("RESUMÉ\nHelen Fischer\n", "Helen Fischer"),
        ("Sample Resume\nTom Baker\n", "Tom Baker"),
        ("Curriculum Vitae\nMarta Lopez\n", "Marta Lopez"),
        ("First Names:\nJohn Peter\nSurname:\nSmith\n", "John Peter"),
        ("First Names: Maria Clara\n", "Maria Clara"),
        ("N A M E\nWilliam Chen\n", "William Chen"),
        ("Career Centre\nRoom 220, Lucina Hall\nShawn Nikolaus\n", "Shawn Nikolaus"),
        # a name that opens a line shared with the address, title or employer
        ("Ivan Keeling 87 Some Example Street\nKansas City, MO 52364\n", "Ivan Keeling"),
        ("Allen Neal King ESB Integration Developer - Cisco Systems\nHyderabad, Telangana\n", "Allen Neal King"),
        ("Melani Ivan Feil University Communications, University at Buffalo, Buffalo, NY\n", "Melani Ivan Feil"),
        # the plain cases stay
        ("Austin Miller\nSeattle, WA\n", "Austin Miller"),
        ("Greater Manchester\nGrace Wales\n", "Grace Wales"),
        ("PRIYA RAMAN\n", "Priya Raman"),
        ("Sam Fixture - Data Analyst\n", "Sam Fixture"),
    ],
)
def test_name_skips_address_and_label_lines(header: str, expected: str) -> None:
    assert expected == parse_cv(header + CONTACT + BODY)["basics"]["name"]


@pytest.mark.parametrize(
    "header",
    [
        "Morris Plains, NJ 07950\n",
        "San Mateo, CA\nAuthorized to work in the US for any employer\n",
        "RESUMÉ\n",
        "Sample Resume\n",
        "First Names:\n",
        "N A M E\n",
        "Bangalore Tavarekere\n",
        "42 Lanark Street, Clayton, VIC 3168\n",
        "Greater Manchester\n",
        "West Yorkshire\n",
        "Kind Regards\n",
    ],
)
def test_no_name_line_gives_no_name_and_a_warning(header: str) -> None:
    cv = parse_cv(header + CONTACT + BODY + "Class XII, Kendriya Vidyalaya\nB.E Anna University, Chennai\n")
    assert ("", True) == (cv["basics"]["name"], "No name was found." in cv["meta"]["warnings"])


def test_a_name_below_the_first_heading_needs_its_label() -> None:
    cv = parse_cv("PERSONAL DETAILS\nName: Demi Ledner\nNationality: Jordanian\n" + CONTACT + BODY)
    assert "Demi Ledner" == cv["basics"]["name"]
    unlabelled = parse_cv("PERSONAL DETAILS\nKey Strengths Overview\n" + CONTACT + BODY)
    assert "" == unlabelled["basics"]["name"]
