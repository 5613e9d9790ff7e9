"""The basics: contacts, profiles, name, label, location and summary."""

from __future__ import annotations

import re
from typing import Any

from core.local import gazetteers as gz
from core.local.parser.common import (
    _DEGREE,
    _DIGIT,
    _EMAIL,
    _PHONE,
    _URL,
    _URL_HINTS,
    _hint_span,
    _org_score,
    _title_score,
    _url_view,
)
from core.local.parser.sections import _HEADING_TOKENS, heading_of
from core.local.skills import vocabulary
from core.local.vocab.words import NAME_BLOCK, ORG_WORDS, TITLE_WORDS

_NON_DIGIT = re.compile(r"\D")
# '2019 - 2021': a year range that the phone pattern also matches
_YEAR_SPAN = re.compile(r"(19|20)\d\d\D*(19|20)\d\d")


def _parse_contacts(basics: dict[str, Any], text: str) -> None:
    head = text[:50000]
    m = _EMAIL.search(head) if "@" in head else None
    if m:
        basics["email"] = m.group(0).rstrip(".")
    for m in _PHONE.finditer(head[:5000]):
        digits = _NON_DIGIT.sub("", m.group(0))
        if 7 <= len(digits) <= 15 and not _YEAR_SPAN.fullmatch(m.group(0).strip()):
            basics["phone"] = m.group(0).strip()
            break
    profiles = []
    seen: set[str] = set()
    span = _hint_span(_url_view(head), head, _URL_HINTS)
    for m in _URL.finditer(head, *span) if span else ():
        url = m.group(0).rstrip(".")
        low = url.lower()
        if low in seen:
            continue
        seen.add(low)
        for network, dom in (("LinkedIn", "linkedin.com"), ("GitHub", "github.com"), ("Twitter", "twitter.com")):
            if dom in low:
                user = low.split(dom, 1)[1].lstrip("/")
                user = user[3:] if user.startswith(("in/", "pub")) else user
                user = user.strip("/").split("/")[0]
                profiles.append({"network": network, "username": user, "url": url})
                break
        else:
            if not basics["url"] and "indeed.com" not in low:
                basics["url"] = url
    basics["profiles"] = profiles


_NAME_LABEL = re.compile(
    r"^(?:name|full name|first names?|given names?|surname|last name|family name|nombre|vorname|nachname|"
    r"nom|prénom|nome)\s*[:\-]\s*",
    re.I,
)
# what follows a name on its line: ' - Engineer', ' | Pune', ', MBA', '(Jr)'
_AFTER_NAME_SEPARATOR = re.compile(r"(?<!\s)(?:\s+[-|,]\s+|\s*[|,(]\s*)")


def _find_name(lines: list[str], email: str, *, labelled_only: bool = False) -> str:
    """The first name-like line of the header, or the name that opens a header line.

    A form label ('First Names:'), a heading ('RESUMÉ'), an address, street or city line is never a name; with
    no name-like line the answer is '' (and the caller warns) rather than a guess. (Preferring the line nearest
    the e-mail or phone line scored worse on both halves of the labelled set: .85 against .91.)
    labelled_only: read only 'Name: …' lines (below the header, any other line is a guess)."""
    for i, raw in enumerate(lines):
        if raw.rstrip().endswith(":") or _address_line(raw):
            continue  # a label waiting for its value; 'Morris Plains, NJ 07950'
        if labelled_only and not _NAME_LABEL.match(raw):
            continue
        line = _NAME_LABEL.sub("", raw)
        line = _AFTER_NAME_SEPARATOR.split(line)[0].strip(" .:")
        if _looks_like_name(line):
            return line if not line.isupper() else line.title()
        lead = _leading_name(line) if i < 2 else ""  # a name shares a line with other text only at the top
        if lead:
            return lead
    return ""


#: The words that may open a line after a name: a house number, or the job title or employer written beside it.
_HOUSE_NUMBER = re.compile(r"^\d")


def _leading_name(line: str) -> str:
    """'Ivan Keeling 87 Some Street', 'Ann Lee Senior Nurse', 'Mel Feil University Communications': the two to
    four capitalised words before a house number, a job title or an employer name."""
    toks = line.split()
    if len(toks) < 3:
        return ""
    mixed_case = not line.isupper()
    for k in range(2, min(4, len(toks) - 1) + 1):
        nxt = toks[k]
        if mixed_case and nxt.isupper() and len(nxt) > 1 and nxt.isalpha():
            stop = True  # 'Allen King ESB Developer': an acronym after a name in mixed case opens what follows
        else:
            stop = bool(_HOUSE_NUMBER.match(nxt)) or nxt.lower().strip(".,") in TITLE_WORDS | ORG_WORDS
        if not stop:
            continue
        rest = " ".join(toks[k:])
        head = " ".join(toks[:k])
        if (_HOUSE_NUMBER.match(rest) or _title_score(rest) or _org_score(rest)) and _looks_like_name(head):
            return head if not head.isupper() else head.title()
        return ""
    return ""


#: 'North Vill., New York City', 'Kodungaiyur,': a line that names a place is an address line, never the name.
_POSTCODE = re.compile(r"\b\d{5,6}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b")


def _address_line(raw: str) -> bool:
    """'Morris Plains, NJ 07950', 'San Mateo, CA', 'Bangalore Tavarekere', 'Leeds LS1 4AB': a place, not a name."""
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) >= 2 and gz.is_place(f"{parts[0]}, {parts[1]}"):
        return True
    if len(parts) >= 2 and gz.is_place(parts[1]) and not _POSTCODE.search(parts[0]):
        return not _DIGIT.search(parts[0]) and len(parts[0].split()) <= 3
    first = parts[0].split()
    if first and first[0].lower() in gz.CITIES and first[0].lower() not in _NAMES_THAT_ARE_CITIES:
        return True
    if (
        len(first) == 2
        and first[0].lower() in _COMPASS
        and (first[1].lower().endswith("shire") or gz.is_place(first[1]))
    ):
        return True  # 'West Yorkshire', 'Greater Manchester', 'South Wales': a region, not a name
    return bool(_POSTCODE.search(raw)) and not _leading_name(_AFTER_NAME_SEPARATOR.split(raw)[0])


#: Words that turn a place into a region: 'Greater Manchester', 'West Yorkshire'.
_COMPASS = frozenset("north south east west greater central upper lower northern southern eastern western".split())
#: Cities in the place list that are also given names or surnames ('Austin Miller', 'Charlotte Gray').
_NAMES_THAT_ARE_CITIES = frozenset(
    "austin charlotte victoria georgia washington phoenix columbus orlando jackson houston dallas perth sydney "
    "paris london milan florence santiago adelaide lincoln chester kent york lima regina madison denver".split()
)


def _looks_like_name(line: str) -> bool:
    toks = line.split()
    if not 2 <= len(toks) <= 4 or len(line) > 40 or heading_of(line):
        return False
    if any(ch.isdigit() or ch in "@/&:" for ch in line):
        return False
    if sum(len(t.strip(".")) > 1 for t in toks) < 2 or _DEGREE.search(line):
        return False  # 'N A M E', 'B.E Anna University'; 'J. R. Smith' has two whole words
    for tok in toks:
        low = tok.lower().strip(".")
        if not tok[0].isupper() or not all(ch.isalpha() or ch in ".'-" for ch in tok):
            return False
        if low in NAME_BLOCK or low in TITLE_WORDS or low in ORG_WORDS or low in _HEADING_TOKENS:
            return False
    if gz.is_place(line):
        return False
    return not vocabulary().names(line)


_SPACED_HYPHEN = re.compile(r"(?<!\s)\s+-\s+")


def _find_label(header: list[str], name: str) -> str:
    for line in header[:6]:
        if line == name or "@" in line:
            continue
        first = _SPACED_HYPHEN.split(line)[0]
        if _title_score(first) and len(first.split()) <= 6 and not _DIGIT.search(first):
            return first
    return ""


_CITY_REGION_POSTCODE = re.compile(
    r"^([A-Z](?:[^\W\d_]|[ .])+),\s*([A-Z](?:[^\W\d_]|[ .])+?)(?:\s+(\d{5,6}))?\s*(?:-|$)"
)


def _location(basics: dict[str, Any], header: list[str]) -> None:
    for line in header[:10]:
        m = _CITY_REGION_POSTCODE.match(line)
        if m and not _looks_like_name(line) and len(m.group(0)) < 50:
            basics["location"]["city"] = m.group(1).strip()
            basics["location"]["region"] = m.group(2).strip()
            return


def _summary(lines: list[str]) -> str:
    text = " ".join(lines)
    return text[:800].strip()
