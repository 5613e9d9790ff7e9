"""Section headings: which line starts which section, and the CV split into its sections."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from core.local.gazetteers import TITLE_HEADS
from core.local.parser.common import _DIGIT, _mentions_language, _title_cased, _title_score
from core.local.vocab.headings import HEADINGS, SKILL_TAILS, SOFT_HEAD, STRONG_HEADINGS

_HEADING_OF = {h: sec for sec, names in HEADINGS.items() for h in names}
_HEADING_TOKENS = frozenset(w for names in HEADINGS.values() for h in names for w in h.split() if len(w) > 3)
_HEADING_WORDS = {
    sec: frozenset(w for w in HEADINGS[sec] if " " not in w)
    for sec in ("experience", "education", "skills", "projects", "certificates", "summary")
}
_GLUED_HEADING = re.compile(r"^(" + "|".join(STRONG_HEADINGS) + r")\s*:?\s+(\S.*)$", re.I)


_WHITESPACE_RUN = re.compile(r"\s+")


def _heading_key(line: str) -> str:
    s = line.lower().replace("&", "and").strip(" :-|•*#=_.")
    s = _WHITESPACE_RUN.sub(" ", s)
    if "cont" not in s:  # every '(continued)' spelling has it; most lines are answered here
        return s
    return _CONTINUED.sub("", s) or s


#: 'Experience (continued)', 'Work History - Cont'd': a heading repeated on the next page.
_CONTINUED = re.compile(r"(?<!\s)\s*+[-(,]?\s*+(?:continued|cont'?d|cont\.?)\s*\)?$")
_SQUASHED_HEADING = {h.replace(" ", ""): sec for h, sec in _HEADING_OF.items() if len(h) > 4}


_NOT_LOWER_LETTER = re.compile(r"[^a-z]")
_LONE_CAPITAL = re.compile(r"(?:^|\s)[A-Z](?:\s|$)")
_SQUASHED_CONTINUED_SUFFIX = re.compile(r"(?:continued|contd)$")


def _letter_spaced(line: str) -> str | None:
    """Section of a heading typed with spaced letters or broken small caps: 'E X P E R I E N C E', 'P ROFE SSI ONAL'."""
    if len(line) > 70 or not line.isupper() or not _LONE_CAPITAL.search(line):
        return None
    squashed = _NOT_LOWER_LETTER.sub("", line.lower())
    return _SQUASHED_HEADING.get(squashed) or _SQUASHED_HEADING.get(_SQUASHED_CONTINUED_SUFFIX.sub("", squashed))


def is_heading_name(text: str) -> bool:
    """text is spelt exactly as a section heading ('Practicum', 'Work History'), not merely read as one."""
    return _heading_key(text) in _HEADING_OF


@lru_cache(maxsize=16384)
def heading_of(line: str) -> tuple[str, str] | None:
    """(section, rest of line) when the line is a section heading (alone, or 'Skills: Java, SQL').

    Cached: sections, names, skills and employers all ask about the same lines."""
    if len(line) > 80 or (line[:1].islower() and line.rstrip().endswith(".")):
        return None  # 'skills.': the end of a sentence wrapped onto its own line
    key = _heading_key(line)
    if key in _HEADING_OF:
        return _HEADING_OF[key], ""
    if "/" in key and len(key) < 50:
        parts = [p.strip() for p in key.split("/")]
        if all(p in _HEADING_OF for p in parts):  # 'Internship/Experience', 'Awards/Honors'
            return _HEADING_OF[parts[0]], ""
    spaced = _letter_spaced(line)
    if spaced:
        return spaced, ""
    if ":" in line:
        head, rest = line.split(":", 1)
        hk = _heading_key(head)
        if hk in _HEADING_OF and rest.strip() and len(head) < 40:
            return _HEADING_OF[hk], rest.strip()
    m = _GLUED_HEADING.match(line)
    glued = m and m.group(2)[:1].isupper() and (m.group(1).isupper() or m.group(1).istitle())
    if (
        glued
        and m is not None
        and not (len(line.split()) <= 4 and _title_score(m.group(2)) and not _title_score(m.group(1)))
    ):
        # 'Education Administrator' and 'Project Manager' are job titles, not a heading glued to its text
        return _HEADING_OF[_heading_key(m.group(1))], m.group(2)
    words = key.split()
    if 1 < len(words) <= 4 and words[-1] in SKILL_TAILS and _title_cased(line):
        # 'Applied Skills', 'Core Professional Strengths'; 'Personal Skills' lists traits, not skills
        return ("other" if SOFT_HEAD & set(words) else "skills"), ""
    if 1 < len(words) <= 4 and words[-1] in ("experience", "employment") and _title_cased(line):
        return "experience", ""  # 'Legal Work Experience', 'Other Relevant Experience'
    if (
        1 < len(words) <= 5
        and not _DIGIT.search(key)
        and (line.isupper() or line.rstrip().endswith(":"))
        and words[-1] not in TITLE_HEADS  # 'Project Manager:', 'EDUCATION COORDINATOR': a job title, not a heading
    ):
        for sec, tails in _HEADING_WORDS.items():
            if words[-1] in tails or words[0] in tails:
                return sec, ""
    return None


def _entry_label(line: str, sec: str, rest: str) -> bool:
    """A label of one job's fields ('Project: X', 'Environment: Java, SQL', 'Project Description:', 'Tools:'):
    labels are typed in mixed case with a colon (or carry their value); a heading of its own is not."""
    if sec in ("experience", "education") or line.isupper():
        return False
    if rest:
        return True
    return line.rstrip().endswith(":") and _heading_key(line) not in _HEADING_OF


def _split_sections(lines: list[str]) -> dict[str, Any]:
    """Section name → its lines. Skill-category lines ('Languages: Java, C') stay inside the skills section."""
    sections: dict[str, Any] = {"_first_heading": 0}
    current = "_header"
    for idx, line in enumerate(lines):
        hit = heading_of(line)
        if hit and current == "experience" and _entry_label(line, *hit):
            # 'Project: Arrow Unity', 'Technologies: SQL, Tableau', 'Project Description:' inside a job: a field of
            # the entry, not a new section; the listed values still reach their section (skills, projects)
            sections["experience"].append(line)
            if hit[1]:
                sections.setdefault(hit[0], []).append(hit[1])
            continue
        if hit:
            sec, rest = hit
            inline_skill = current == "skills" and sec in ("languages", "other", "skills", "projects")
            # 'Languages:' alone on a line inside a skills section labels the list that follows
            inline_skill = inline_skill and bool(rest or (line.rstrip().endswith(":") and sec == "languages"))
            lang_list = sec == "languages" and rest and not _mentions_language(rest)
            if inline_skill or lang_list:
                sections.setdefault(current, []).append(line)
                continue
            if not sections["_first_heading"]:
                sections["_first_heading"] = idx
            current = sec
            if rest:
                sections.setdefault(sec, []).append(rest)
            else:
                sections.setdefault(sec, [])
            continue
        sections.setdefault(current, []).append(line)
    return sections
