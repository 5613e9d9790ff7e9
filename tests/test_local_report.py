"""parse_cv_report: the lines that went into no field are listed, so nothing vanishes silently (issue 12 item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.local import ParseReport, parse_cv, parse_cv_report
from core.local.text import clean, split_lines

CVS = Path(__file__).parent / "fixtures" / "cvs"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_a_line_no_field_took_is_reported() -> None:
    text = (SAMPLES / "cv_software_engineer.txt").read_text(encoding="utf-8")
    odd = "Quokka wrangling certificate from the zoo of Blorvania"
    resume, missed, warnings = parse_cv_report(text + "\n" + odd + "\n")
    assert odd in missed
    assert resume["basics"]["name"]
    assert warnings == resume["meta"]["warnings"]


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("cv_*.txt")), ids=lambda p: p.name)
def test_a_well_parsed_cv_leaves_little_uncaptured(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    report = parse_cv_report(text)
    assert report.resume == parse_cv(text)
    lines = split_lines(clean(text))  # the parser's lines: a flattened PDF paste is one text line
    assert len(report.uncaptured) <= len(lines) // 4


@pytest.mark.parametrize("text", ["", "   \n", None, 42])
def test_bad_input_gives_an_empty_report_and_a_warning(text: object) -> None:
    report = parse_cv_report(text)  # type: ignore[arg-type]
    assert isinstance(report, ParseReport)
    assert [] == report.uncaptured
    assert report.warnings


def test_headings_and_dates_are_not_reported() -> None:
    text = "Jane Example\njane@example.com\n\nEXPERIENCE\nData Analyst, Acme Ltd | 2019 - 2021\n"
    _resume, missed, _warnings = parse_cv_report(text)
    assert [] == missed
