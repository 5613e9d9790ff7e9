"""The basics: contacts, profiles, name, label, location and summary."""

from __future__ import annotations

import re
from typing import Any

from core.local import gazetteers as gz
from core.local.parser.common import _DIGIT, _EMAIL, _PHONE, _URL, _URL_HINTS, _hint_span, _title_score, _url_view
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


def _find_name(lines: list[str], email: str) -> str:
    """The first name-like line of the header.

    A form label ('First Names:'), a heading ('RESUMÉ'), an address, street or city line is never a name; with
    no name-like line the answer is '' (and the caller warns) rather than a guess. (Preferring the line nearest
    the e-mail or phone line scored worse on both halves of the labelled set: .85 against .91.)"""
    for raw in lines:
        if raw.rstrip().endswith(":"):
            continue  # a label waiting for its value
        line = _NAME_LABEL.sub("", raw)
        line = _AFTER_NAME_SEPARATOR.split(line)[0].strip(" .:")
        if _looks_like_name(line):
            return line if not line.isupper() else line.title()
    return ""


def _looks_like_name(line: str) -> bool:
    toks = line.split()
    if not 2 <= len(toks) <= 4 or len(line) > 40 or heading_of(line):
        return False
    if any(ch.isdigit() or ch in "@/&:" for ch in line):
        return False
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
