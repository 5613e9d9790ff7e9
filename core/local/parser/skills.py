"""Skills: skills sections, labelled lists and comma lists in running text, checked against the vocabulary."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from core.local import gazetteers as gz
from core.local import text as tx
from core.local.parser.common import _DEGREE, _EMAIL, _URL, _URL_HINTS, _blank, _section_items, _url_view
from core.local.parser.sections import heading_of
from core.local.skills import vocabulary
from core.local.vocab.words import (
    CATEGORY_WORDS,
    EXTRA_TITLE_HEADS,
    HUMAN_LANGUAGES,
    LIST_LABEL_WORDS,
    PLAIN_WORDS,
    VAGUE,
)

_YEARS_NOTE = re.compile(
    r"\((?:[^()]*\b(?:year|years|yr|yrs|month|months)\b[^()]*)\)|\b\d+\+?\s*(?:years?|yrs?)\b", re.I
)
_NOT_SKILL = re.compile(r"https?:|www\.|@|\.com\b|^\d|^(?:and|or|in|of|the|than|to|with|for|a|an)$", re.I)

_NOT_NAMED = re.compile(
    r"\b(?:skills?|learner|attitude|player|worker|year|years|months?|less|resume|name|activities|activity|school|"
    r"college|university|institute|campus|coursework|degree|responsibilities|duties|experience|knowledge|"
    r"passionate|integrity|possess|demonstrated|summer|various|etc|including|wide|range|variety|exposure|basics?|"
    r"address|zip|code|grade|level|members?|club|interests?|hobbies|award|awards|licenses?|memberships?|"
    r"publications?|description|roles?|played|nationality|gender|marital|birth|email|phone|mobile)\b"
)


#: Last words of a listed item that name a person or a body: 'Participant', 'Organizer', 'Standard Bank'.
_NOT_A_SKILL_TAIL = frozenset(
    "participant participants organizer organiser volunteer member bank university college institute school "
    "hospital ltd limited inc llc plc gmbh corporation".split()
)


_ING_OR_ED_WORD = re.compile(r"(?<![a-z])[a-z]+(?:ing|ed)")
_THREE_LETTERS = re.compile(r"[A-Za-z]{3}")
# what marks 'c++', 'c#', '.net', 'python3' as technical despite lower case
_TECH_SYMBOL_OR_DIGIT = re.compile(r"[+#.\d]")


def _plausible_skill(item: str, labelled: bool = False) -> bool:
    """A listed item that is not in the vocabulary: keep it when it reads like a named skill, not a filler word.

    Phrases that start with a verb ('Coded unit tests', 'organizing') or carry a function word in the middle
    ('leadership where needed') are fragments of sentences, not skills.
    """
    key = tx.norm_key(item)
    words = key.split()
    if not words or len(words) > 3 or any(w in tx.STOPWORDS for w in words):
        return False
    if set(words) <= VAGUE | CATEGORY_WORDS or any(w in HUMAN_LANGUAGES for w in words):
        return False
    if _NOT_NAMED.search(key) or gz.is_place(item) or heading_of(item) or _DEGREE.fullmatch(item):
        return False
    if len(words) == 1 and (_ING_OR_ED_WORD.fullmatch(key) or key in PLAIN_WORDS or len(key) <= 2):
        return False  # 'o', 'VI', 'Co', 'RE': a two-letter item the vocabulary does not know names nothing
    if words[-1] in gz.TITLE_HEADS or words[-1] in _NOT_A_SKILL_TAIL:
        return False  # 'Technology Analyst', 'Consultant', 'Standard Bank': a role or a body, not a skill
    first = item.split()[0]
    if first.islower() and _ING_OR_ED_WORD.fullmatch(first):
        return False
    if tx.SINGLE_DATE.search(item) and _THREE_LETTERS.search(tx.SINGLE_DATE.sub("", item)) is None:
        return False  # 'April 2015', 'Since Feb 2008'
    if item.islower() and not labelled and not _TECH_SYMBOL_OR_DIGIT.search(item):
        # 'sales orders', 'best practices': lower-case phrases in a list are mostly descriptions, not named skills
        return len(words) == 1 and len(item) <= 3
    return not (len(words) >= 3 and item.isupper())


_LIST_LABEL = re.compile(
    r"(?:^|(?<=[.;] ))([A-Za-z][A-Za-z /&+\-]{1,40}?)\s*:\s*(.+?)(?=$|\.\s|\s[A-Z][A-Za-z /&+\-]{1,30}:\s)"
)


def _list_continued(lines: list[str], start: int) -> str:
    """The rest of a list that a flattened layout broke over lines ('securities, commodities;' / 'franchises')."""
    out = ""
    prev = lines[start - 1] if start else ""
    for line in lines[start : start + 6]:
        if ":" in line or heading_of(line) or not (prev.rstrip().endswith((",", ";")) or line[:1].islower()):
            break
        out += f", {line}"
        prev = line
    return out


_LABELLED_LIST_SEPARATOR = re.compile(r"(?<!\s)(?:\s*[,;|]\s*|\s+and\s+)")


def _labelled_lists(sections: dict[str, Any]) -> list[str]:
    """'Environment: Java, Spring, Oracle' lines outside the skills section: lists of skills under a telling label."""
    out: list[str] = []
    for sec, lines in _section_items(sections):
        if sec == "skills":
            continue
        for idx, line in enumerate(lines):
            if ":" not in line:
                continue
            for m in _LIST_LABEL.finditer(line):
                label, rest = m.group(1).strip(), m.group(2)
                words = label.lower().replace("/", " ").split()
                if len(words) > 4 or not any(w in LIST_LABEL_WORDS for w in words):
                    continue
                if m.end() == len(line):
                    rest += _list_continued(lines, idx + 1)
                items = [i for i in _LABELLED_LIST_SEPARATOR.split(rest) if i.strip(" .")]
                if len(items) >= 2 and sum(len(i.split()) <= 4 for i in items) >= 0.8 * len(items):
                    out.append(f"{label}: {rest}")
    return out


_CLAUSE = re.compile(r"[.;:()!?](?:\s|$)|\s[-–]\s|:")
_LIST_SEP = re.compile(r"(?<!\s)(?:\s*,\s*|\s+and\s+|\s*/\s*)")
_LEAD_IN = re.compile(r"^(?:like|such as|including|includes?|using|with|in|of|on|and|or)\s+", re.I)


def _inline_lists(sections: dict[str, Any], share: float = 0.3) -> list[str]:
    """Comma lists in running text ('using C#, MFC, .Net mobile and ASP.NET') where enough items are known skills.

    A list of three or more short items, a good share of them in the vocabulary, is a list of skills; its other
    items are then trusted as skills too.
    """
    vocab = vocabulary()
    out: list[str] = []
    for sec, lines in _section_items(sections):
        if sec == "skills":
            continue
        for line in lines:
            if line.count("|") >= 2 and _competency_grid(line):
                out.append(line.replace("|", ","))
                continue
            if line.count(",") < 1:
                continue
            for clause in _CLAUSE.split(line):
                items = [i.strip() for i in _LIST_SEP.split(clause)]
                if len(items) < 3:
                    continue
                head = items[0].split()
                items[0] = _LEAD_IN.sub("", " ".join(head[-2:]) if len(head) > 3 else items[0])
                if any(not i or len(i.split()) > 3 for i in items):
                    continue
                if sum(bool(vocab.canonical(i)) for i in items) >= share * len(items):
                    out.append(", ".join(items))
    return out


_PIPE = re.compile(r"(?<!\s)\s*\|\s*")


def _competency_grid(line: str) -> bool:
    """'Project Management | Strategic Planning | Cost Controls': a row of a core-competencies grid, three or more
    short named items between bars, with no date, address or link (a 'Title | Company | 2019' line has one)."""
    items = [i for i in _PIPE.split(line.strip(" |")) if i]
    return (
        len(items) >= 3
        and all(len(i.split()) <= 4 and i[:1].isupper() for i in items)
        and not _DIGIT_OR_AT.search(line)
        and not any(gz.is_place(i) for i in items)
    )


_DIGIT_OR_AT = re.compile(r"[\d@:]|www\.|https?:")
_CATEGORY_AND_ITEMS = re.compile(r"^([A-Za-z][A-Za-z /&+\-]{1,40}?)\s*[:\-–]\s+(.+)$")
_EDGE_AND_OR_ETC = re.compile(r"^(?:and|or|etc)\s+|(?<!\s)\s+(?:etc)\.?$", re.I)
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_SKILL_SEPARATOR = re.compile(
    r"(?<!\s)(?:\s*[,;|•]\s*|\s+and\s+|\s*\(\s*|\s*\)\s*)|(?<=\w\w)/(?=[A-Z])(?![A-Z]?[+#\s/]|[A-Z]$)"
)


_STRONG_SEPARATOR = re.compile(r"(?<!\s)\s*[,;|•]\s*")


def _split_items(line: str) -> list[str]:
    """Items of a skills line; 'Health and Safety' or 'Installation and Commissioning' stays whole when the
    vocabulary knows it, and only other items are split on 'and', '/' and brackets."""
    vocab = vocabulary()
    out: list[str] = []
    for chunk in _STRONG_SEPARATOR.split(line):
        if " and " in chunk and vocab.canonical(chunk.strip(" .")):
            out.append(chunk)
        else:
            out.extend(_SKILL_SEPARATOR.split(chunk))
    return out


def _parse_skills(lines: list[str], text: str, person: str = "") -> list[dict[str, Any]]:
    vocab = vocabulary()
    groups: list[dict[str, Any]] = []
    seen: set[str] = set()
    person_key = tx.norm_key(person)

    def add(item: str, listed: bool, labelled: bool = False) -> str | None:
        item = item.strip(" .,:;-*()[]\"'")
        item = _EDGE_AND_OR_ETC.sub("", item).strip()
        if not item or len(item) > 40 or len(item.split()) > 4 or not _ASCII_LETTER.search(item):
            return None
        if _NOT_SKILL.search(item) or tx.norm_key(item) == person_key:
            return None
        canon = vocab.canonical(item)
        if not canon and (not listed or not _plausible_skill(item, labelled)):
            return None
        if canon and vocab.category(canon) == "Soft Skills":
            return None
        name = canon or item
        key = tx.norm_key(name)
        if key in seen:
            return None
        seen.add(key)
        return name

    loose: list[str] = []
    for line in lines[:80]:
        if _URL.search(line) or _EMAIL.search(line):
            continue
        # 'logging (Less than 1 year), router (4 years)': items a CV rates by years of use are skills it claims
        rated = len(_YEARS_NOTE.findall(line)) >= 2
        line = _YEARS_NOTE.sub("", line)
        cat = ""
        m = _CATEGORY_AND_ITEMS.match(line)
        if m and len(m.group(1).split()) <= 4:
            cat, line = m.group(1).strip(), m.group(2)
        items = [i for i in _split_items(line) if i]
        short = sum(len(i.split()) <= 3 for i in items)
        listed = (len(items) >= 2 and short * 3 >= len(items) * 2) or len(line.split()) <= 3
        labelled = rated or bool(LIST_LABEL_WORDS.intersection(cat.lower().replace("/", " ").split()))
        names = [n for n in (add(i, listed, labelled) for i in items) if n]
        for f in vocab.find(line, include_generic=True, include_soft=False):
            key = tx.norm_key(f.skill.name)
            if key not in seen:
                seen.add(key)
                names.append(f.skill.name)
        if not names:
            continue
        cat_skill = vocab.canonical(cat) if cat else None
        if cat_skill and vocab.category(cat_skill) != "Soft Skills":
            # 'Java: Spring, Hibernate': the heading is itself a skill, so the group keeps it as its name
            groups.append({"name": cat_skill, "level": "", "keywords": [n for n in names if n != cat_skill]})
        else:
            # 'Languages: Java, C' or 'Tools: Git': the heading is not a skill; each skill stands on its own
            loose.extend(names)
    prose = _without_links(text)
    hits = vocab.find(prose, include_soft=False, prose=True)
    times = Counter(f.skill.name for f in hits)
    for f in hits:
        if (
            _names_a_role(prose, f.end)
            or _inside_title(prose, f.start, f.end)
            or (f.skill.name in _AMBIGUOUS_IN_PROSE and not _tech_near(prose, f))
            or (f.skill.category in _FIELD_CATEGORIES and times[f.skill.name] < 2)
        ):
            continue
        key = tx.norm_key(f.skill.name)
        if key not in seen:
            seen.add(key)
            loose.append(f.skill.name)
    groups.extend({"name": n, "level": "", "keywords": []} for n in loose)
    return groups


def _without_links(text: str) -> str:
    """text with e-mail addresses and URLs blanked, as _URL.sub(" ", _EMAIL.sub(" ", text)) would."""
    text = _blank(_EMAIL, text, text, ("@",))
    return _blank(_URL, text, _url_view(text), _URL_HINTS)


_NEXT_WORD = re.compile(r"(?<![ \t])[ \t]*+([A-Za-z][A-Za-z-]*)")


def _names_a_role(text: str, end: int) -> bool:
    """'Technical Support Engineer', 'QA Manager', 'Windows Developer': in running text a skill right before a
    job title's head noun is part of the title, not a skill the CV claims."""
    m = _NEXT_WORD.match(text, end)
    return m is not None and m.group(1).lower() in gz.TITLE_HEADS


def _inside_title(text: str, start: int, end: int) -> bool:
    """'Head Chef', 'Sales Representative': a skill word inside a job title its line names is part of the title."""
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    surface = text[start:end]
    if surface.lower() in _HEADS:
        return True  # 'Head Chef', 'Sous Chef': in running text the tool 'Chef' is far rarer than the cook
    return any(surface in p and p != surface for p in _titles_of(text[a : b if b >= 0 else len(text)]))


_HEADS = gz.TITLE_HEADS | EXTRA_TITLE_HEADS


@lru_cache(maxsize=4096)
def _titles_of(line: str) -> tuple[str, ...]:
    from core.local.parser.work import title_phrases

    return tuple(title_phrases(line))


#: Skills of a profession outside tech ('Lesson Planning', 'Special Education', 'Human Resources'): in running
#: text one mention names the field one works in more often than a skill one claims; twice, or in a list, counts.
_FIELD_CATEGORIES = frozenset(
    {"Education", "HR", "Healthcare", "Hospitality", "Sales", "Trades", "Finance and Accounting"}
)


#: Skills whose name is also a place or season word ('Silver Spring, MD', 'Spring 2010', 'Spring Lake Park'):
#: in running text they count only beside another technical skill.
_AMBIGUOUS_IN_PROSE = frozenset({"Spring", "Windows"})
_TECH_CATEGORIES = frozenset(
    {"Programming Languages", "Frameworks and Libraries", "Databases", "Cloud and DevOps", "Operating Systems", "Tools"}
)


def _tech_near(text: str, hit: Any) -> bool:
    window = text[max(0, hit.start - 80) : hit.end + 80]
    vocab = vocabulary()
    return any(
        f.skill.name != hit.skill.name and f.skill.category in _TECH_CATEGORIES
        for f in vocab.find(window, include_soft=False)
    )
