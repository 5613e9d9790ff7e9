"""Patterns and line tests that several sections of the CV parser share.

Degree, institution, contact and URL patterns; job-title and employer scores; short-line tests."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from core.local.gazetteers import TITLE_HEADS
from core.local.vocab.words import HUMAN_LANGUAGES, ORG_WORDS, TITLE_WORDS

_INSTITUTION = re.compile(
    r"\b(?:universit(?:y|ies|é|ät|at|ad|ario)|universidad|universidade|instituto|facultad|faculdade|fachhochschule|college|institute|institution|school|academy|vidyalaya|vidyapeeth|"
    r"vidyapith|polytechnic|iit|nit|iiit|iim|bits|mahavidyalaya|faculty|conservatory|seminary|campus|gymnasium|"
    r"lyceum|hochschule|école|ecole|escuela|universidade|board|cbse|icse|jntu|vtu|anna university)\b",
    re.I,
)
_DEGREE = re.compile(
    r"(?<![A-Za-z])(?:"
    r"b\.?\s?e\b\.?|b\.?\s?tech\b\.?|b\.?\s?sc\b\.?|b\.?\s?s\b\.?|b\.?\s?a\b\.?|b\.?\s?com\b\.?|b\.?\s?ed\b\.?|"
    r"bba\b|bca\b|bfa\b|bpharm\b|b\.?\s?pharm\b\.?|bds\b|mbbs\b|llb\b|ll\.?b\b\.?|llm\b|"
    r"m\.?\s?e\b\.?|m\.?\s?tech\b\.?|m\.?\s?sc\b\.?|m\.?\s?s\b\.?|m\.?\s?a\b\.?|m\.?\s?com\b\.?|m\.?\s?ed\b\.?|"
    r"mba\b|mca\b|mfa\b|m\.?\s?phil\b\.?|ph\.?\s?d\b\.?|d\.?\s?phil\b\.?|ed\.?\s?d\b\.?|m\.?\s?d\b\.?|j\.?\s?d\b\.?|"
    r"pgdm\b|pgdca\b|pgdba\b|pg\s?diploma|post\s?graduate(?:\s+diploma)?|"
    r"bachelor'?s?|masters?'?s?|master'?s|doctor(?:ate)?(?:\s+of)?|diploma|associate'?s?\s+(?:degree|of)|"
    r"high\s+school|secondary\s+school|higher\s+secondary|senior\s+secondary|hsc\b|ssc\b|intermediate\b|"
    r"12th|10th|xii\b|class\s+x\b|matriculation|a[\s-]levels?|gcse|certificate\s+in|ged\b|"
    r"undergraduate\s+degree|graduate\s+degree|degree\s+in|b\.?\s?arch\b\.?|m\.?\s?arch\b\.?|bsc\b|msc\b|"
    r"grado\s+en|licenciatura|licenciado|máster|doctorado|diplom\b|staatsexamen|maîtrise|licence\s+en|mestrado|"
    r"bacharelado|licenciatura"
    r")",
    re.I,
)
#: Bounded as RFC 5321 bounds an address (local part ≤ 64, domain ≤ 255): an unbounded run before a missing '@'
#: made every start scan to the end of the run, quadratic time ('a' * 40000 + '@' took 4 s).
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+'-]{0,63}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}")
_PHONE = re.compile(
    r"(?<![\w/])(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,5}[\s.-])?\d{2,5}[\s.-]?\d{2,5}(?:[\s.-]\d{2,5})?"
)
_URL = re.compile(r"(?:https?://|www\.)[^\s,;)>\"']+|(?:linkedin\.com|github\.com)/[^\s,;)>\"']+", re.I)


_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def _title_cased(line: str) -> bool:
    """Every word but the small ones starts with a capital: a heading, not a sentence."""
    words = _NAME_WORD.findall(line)
    return bool(words) and all(w[0].isupper() or w.lower() in ("and", "of", "in", "for", "the", "&") for w in words)


_DIGIT = re.compile(r"\d")


def _section_items(sections: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(k, v) for k, v in sections.items() if isinstance(v, list)]


_LETTER_RUN = re.compile(r"[a-z]+")


def _mentions_language(text: str) -> bool:
    return any(w in HUMAN_LANGUAGES for w in _LETTER_RUN.findall(text.lower()))


_LOWER_WORD = re.compile(r"[a-z][a-z.\-/']*")


def _words_lower(text: str) -> list[str]:
    return _LOWER_WORD.findall(text.lower())


@lru_cache(maxsize=32768)
def _title_score(text: str) -> int:
    words = _words_lower(text)
    if not words or len(words) > 9 or text.rstrip().endswith("."):
        return 0
    return sum(w.strip(".") in TITLE_WORDS for w in words)


_COMPANY_SUFFIX = re.compile(r"\b(?:pvt|ltd|inc|llc|limited|corp|corporation|gmbh|plc)\b", re.I)
_EUROPEAN_COMPANY_FORM = re.compile(
    r"[a-z]\s(?:AS|ASA|AB|Oy|Oyj|A/S|ApS|SA|SAS|SARL|S\.?r\.?l|S\.?p\.?A|N\.?V|B\.?V|AG|KG)\.?$"
)


@lru_cache(maxsize=32768)
def _org_score(text: str) -> int:
    words = _words_lower(text)
    if not words or len(words) > 9:
        return 0
    if _COMPANY_SUFFIX.search(text):
        return sum(w.strip(".,") in ORG_WORDS for w in words) + 2
    if words[-1].strip(".,") in TITLE_HEADS and len(words) <= 5 and words[-1].strip(".,") not in ORG_WORDS:
        return 0  # 'Digital Marketing Executive', 'Software Test Automation Engineer': a job title ends in its head
    score = sum(w.strip(".,") in ORG_WORDS for w in words)
    if _EUROPEAN_COMPANY_FORM.search(text):
        score += 2  # 'Linpro AS', 'Redpill Linpro AB', 'Nokia Oyj': European company forms
    return score


_JUNK = re.compile(
    r"^(?:responsibilities|roles?(?: and responsibilities)?|duration|location|client|team size|project|description|"
    r"environment|technologies|key result areas|details|summary|achievements|tools|reference)\b|^\W*\d",
    re.I,
)


_SENTENCE_STOP = re.compile(r"[.;!?]\s")


def _name_with_stop(line: str) -> bool:
    """'Trailer Park, Hollywood, California.' / 'Freelance Android Developer.': a name line that ends in a full stop."""
    body = line.rstrip()
    if not body.endswith(".") or body.endswith("..") or len(body.split()) > 7:
        return False
    return _title_cased(body) and not _SENTENCE_STOP.search(body)


def _ends_in_title(line: str) -> bool:
    """'Project Manager:', 'Client Services Director': a job title, though its first word opens a project note."""
    words = _words_lower(line)
    return 1 < len(words) <= 5 and words[-1].strip(".,:") in TITLE_HEADS


_ENDS_WITH_ABBREVIATION = re.compile(r"\b(?:co|inc|ltd|corp|llc|plc|pvt|jr|sr|st)\.$", re.I)
_LOWER_INITIAL = re.compile(r"^[a-z]")


def _is_short(line: str) -> bool:
    ends_abbrev = bool(_ENDS_WITH_ABBREVIATION.search(line))
    ends_stop = line.rstrip().endswith(";") or (line.rstrip().endswith(".") and not _name_with_stop(line))
    if len(line.split()) > 9 or (ends_stop and not ends_abbrev) or (_JUNK.match(line) and not _ends_in_title(line)):
        return False
    return not _LOWER_INITIAL.match(line) or bool(_title_score(line))


#: Each alternative that opens with whitespace starts only where a whitespace run starts ((?<!\s)): from inside a
#: run it would fail the same way again, once per position, which is quadratic on a long run of spaces.
_ENTRY_PART_SEPARATOR = re.compile(
    r"(?<!\s)(?:\s+[-|–@]\s+|\s+at\s+|\s*\|\s*|\s+-$)|,\s+(?!(?:Inc|INC|LLC|L\.L\.C|LLP|L\.L\.P|PLLC|P\.C|Ltd|LTD|Corp|PLC|GmbH)\b)"
)  # 'Google, Inc.', 'SoGe Mobile, LLC': the legal form after a comma stays with the name


def _split_parts(text: str) -> list[str]:
    parts = _ENTRY_PART_SEPARATOR.split(text)
    return [p.strip(" ,-:()") for p in parts if p and p.strip(" ,-:()")]


#: Every URL _URL reads starts with one of these (compared in lower case).
_URL_HINTS = ("http", "www.", "linkedin.com/", "github.com/")
#: Letters that a case-blind pattern takes for ASCII ones ('İ', 'ı', 'ſ', the Kelvin sign): with one of them in
#: the text a lower-case substring test no longer decides whether _URL can match.
_CASE_TWINS = ("\u0130", "\u0131", "\u017f", "\u212a")


def _url_view(text: str) -> str | None:
    """text in lower case for finding _URL_HINTS, or None when that would not be exact (offsets or case drift)."""
    low = text.lower()
    if len(low) != len(text) or any(c in text for c in _CASE_TWINS):
        return None
    return low


def _hint_span(view: str | None, text: str, hints: tuple[str, ...]) -> tuple[int, int] | None:
    """The lines from the first to the last hint: where a pattern that needs a hint and never crosses a line break
    can match. (0, len(text)) when view is None; None when no hint occurs."""
    if view is None:
        return 0, len(text)
    found = [h for h in hints if h in view]
    if not found:
        return None
    first = min(view.find(h) for h in found)
    last = max(view.rfind(h) for h in found)
    end = text.find("\n", last)
    return text.rfind("\n", 0, first) + 1, len(text) if end < 0 else end


def _blank(pattern: re.Pattern[str], text: str, view: str | None, hints: tuple[str, ...]) -> str:
    """pattern.sub(" ", text) for a pattern that cannot cross a line break and whose matches hold a hint: only
    the lines between the first and the last hint are searched."""
    span = _hint_span(view, text, hints)
    if span is None:
        return text
    a, b = span
    return text[:a] + pattern.sub(" ", text[a:b]) + text[b:]


def strip_keeping_pairs(text: str, chars: str = " ,-:") -> str:
    """text.strip(chars + '()') that keeps a balanced pair: 'BSc (Hons) Nursing', 'Immediate Life Support (ILS)'."""
    while True:
        t = text.strip(chars)
        if t.startswith(")") or (t.startswith("(") and ")" not in t):
            t = t[1:]
        elif t.endswith("(") or (t.endswith(")") and "(" not in t):
            t = t[:-1]
        if t == text:
            return t
        text = t
