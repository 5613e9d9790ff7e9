"""CV text → JSON Resume (v1) dict, by headings, date anchors and word lists; works on flattened text too.

The algorithm lives here, one module per section; the words it reads by live in core.local.vocab."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from core.local import text as tx
from core.local.parser.basics import _find_label, _find_name, _location, _parse_contacts, _summary
from core.local.parser.common import _DEGREE, _INSTITUTION, _section_items
from core.local.parser.education import _parse_education
from core.local.parser.extras import _parse_certificates, _parse_languages, _parse_projects
from core.local.parser.report import uncaptured_lines
from core.local.parser.sections import _split_sections, heading_of
from core.local.parser.skills import _inline_lists, _labelled_lists, _parse_skills
from core.local.parser.work import (
    _dated_jobs_in_lines,
    _employers_in_prose,
    _employers_in_sentences,
    _jobs_outside_experience,
    _parse_work,
    _tidy_work,
    _title_for_untitled_job,
    _titles_named,
    _undated_entries,
    title_phrases,
)
from core.local.render import MENTION_KEY, MENTIONED

__all__ = ["ParseReport", "heading_of", "parse_cv", "parse_cv_report", "title_phrases"]


def _blank_resume() -> dict[str, Any]:
    return {
        "basics": {
            "name": "",
            "label": "",
            "email": "",
            "phone": "",
            "url": "",
            "summary": "",
            "location": {"address": "", "city": "", "region": "", "countryCode": ""},
            "profiles": [],
        },
        "work": [],
        "education": [],
        "skills": [],
        "certificates": [],
        "languages": [],
        "projects": [],
        "meta": {"parser": "local", "warnings": []},
    }


def parse_cv(text: str) -> dict[str, Any]:
    """Parse CV text into JSON Resume; never raises, and says in meta.warnings what it could not do."""
    resume = _blank_resume()
    warnings: list[str] = resume["meta"]["warnings"]
    try:
        _parse_into(resume, text, warnings)
    except Exception as exc:  # noqa: BLE001 - the parser must never take the app down; report and return what we have
        warnings.append(f"The parser hit an unexpected problem ({type(exc).__name__}); the result may be partial.")
    return resume


class ParseReport(NamedTuple):
    """parse_cv's result with what it left out: unpack as (resume, uncaptured, warnings)."""

    resume: dict[str, Any]
    #: source lines that went into no field, in reading order, for a "what was not captured" view
    uncaptured: list[str]
    #: the parser's warnings (also in resume["meta"]["warnings"]), e.g. "No name was found."
    warnings: list[str]


def parse_cv_report(text: str) -> ParseReport:
    """Parse CV text and list the lines that went into no field; never raises."""
    resume = parse_cv(text)
    try:
        missed = uncaptured_lines(text, resume)
    except Exception:  # noqa: BLE001 - the report is a courtesy; the parse itself stands
        missed = []
    return ParseReport(resume, missed, list(resume["meta"]["warnings"]))


_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


_NOT_ASCII_LETTERS = bytes(b for b in range(256) if not chr(b).isascii() or not chr(b).isalpha())
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ENGLISH_FUNCTION_WORD = re.compile(r"\b(?:the|and|of|in|with|for|to)\b", re.I)


def _parse_into(resume: dict[str, Any], text: Any, warnings: list[str]) -> None:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text.strip():
        warnings.append("The CV text is empty: paste a CV or upload a PDF, DOCX or TXT file.")
        return
    if len(text) > tx.MAX_CHARS:
        warnings.append(f"The text is {len(text):,} characters long; only the first {tx.MAX_CHARS:,} were read.")
        text = text[: tx.MAX_CHARS]
    sample = text[:20000]
    if len(_BINARY.findall(sample)) > 0.15 * len(sample):
        warnings.append("The text looks like binary data, not a CV; the result is a best guess.")
    text = tx.english_months(tx.clean(text))
    lines = tx.split_lines(text)
    if not lines:
        warnings.append("No readable text was found in the CV.")
        return

    sections = _split_sections(lines)
    basics = resume["basics"]
    _parse_contacts(basics, text)
    first_heading = sections["_first_heading"]
    header = lines[: max(first_heading, 1)][:25] if first_heading else lines[:12]
    basics["name"] = _find_name(header, basics["email"]) or _find_name(lines[:25], basics["email"], labelled_only=True)
    basics["label"] = _find_label(header, basics["name"])
    basics["summary"] = _summary(sections.get("summary", []))
    _location(basics, header)

    exp_lines = sections.get("experience", [])
    if not exp_lines and "education" not in sections:
        exp_lines = lines  # no headings at all: look for dated entries anywhere
    resume["work"] = _parse_work(exp_lines)
    if not resume["work"] and exp_lines is not lines:
        # headings in an unknown spelling ('Accomplishments', 'Employment Highlights'): look outside the
        # education, skills and projects sections for dated entries
        exp_lines = [ln for sec, ls in _section_items(sections) if sec not in _NOT_WORK for ln in ls]
        resume["work"] = _parse_work(exp_lines)
    if sections.get("experience"):
        _undated_entries(resume["work"], sections["experience"])
    else:
        # no experience section: an undated title with no employer may come from an objective, not a job
        for w in resume["work"]:
            if not any(w.get(k) for k in ("name", "startDate", "endDate", "highlights")):
                w[MENTION_KEY] = MENTIONED
    if exp_lines is not lines:
        _jobs_outside_experience(resume["work"], sections)
    _dated_jobs_in_lines(
        resume["work"], [ln for sec, ls in _section_items(sections) if sec not in _NOT_JOB_LINES for ln in ls]
    )
    _employers_in_prose(resume["work"], exp_lines)
    _employers_in_sentences(resume["work"], lines)
    edu_lines_known = sections.get("education") or []
    edu_lines = edu_lines_known or [ln for ln in lines if _DEGREE.search(ln) or _INSTITUTION.search(ln)]
    resume["education"] = _parse_education(edu_lines)
    _tidy_work(resume["work"], resume["education"], basics["name"])
    # a certificate ('Tableau Desktop Specialist', 'NMC Registered Nurse') names no job held
    cert_lines = set(sections.get("certificates") or [])
    _titles_named(resume["work"], [ln for ln in lines if ln not in cert_lines])
    _title_for_untitled_job(resume["work"])
    skill_lines = sections.get("skills", []) + _labelled_lists(sections) + _inline_lists(sections)
    resume["skills"] = _parse_skills(skill_lines, text, basics["name"])
    resume["languages"] = _parse_languages(sections.get("languages", []), text)
    resume["certificates"] = _parse_certificates(sections.get("certificates", []))
    resume["projects"] = _parse_projects(sections.get("projects", []))

    if not any(sections[k] for k in sections if not k.startswith("_")):
        warnings.append("No section headings were found; sections were guessed from dates and keywords.")
    if not basics["name"]:
        warnings.append("No name was found.")
    if not basics["email"]:
        warnings.append("No e-mail address was found.")
    if not resume["work"]:
        warnings.append("No work experience was found.")
    ascii_letters, letters = _letter_counts(text[:5000])
    common = len(_ENGLISH_FUNCTION_WORD.findall(text[:20000]))
    if letters and (ascii_letters < 0.6 * letters or common < max(3, len(text[:20000]) // 1500)):
        warnings.append("The CV does not look like English; the offline parser is tuned for English CVs.")


def _letter_counts(text: str) -> tuple[int, int]:
    """(ASCII letters, all letters) in text, as [A-Za-z] and [^\\W\\d_] count them, without a list per character."""
    ascii_letters = len(text.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTERS))
    others = sum(c.isalnum() and not c.isdecimal() for run in _NON_ASCII.findall(text) for c in run)
    return ascii_letters, ascii_letters + others


_NOT_JOB_LINES = frozenset({"education", "skills", "certificates", "languages", "_first_heading", "_header"})
_NOT_WORK = frozenset({"education", "skills", "projects", "certificates", "languages", "_first_heading"})
