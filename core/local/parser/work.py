"""Work experience: dated entries, employers named in prose, and job titles named anywhere."""

from __future__ import annotations

import re
from typing import Any

from core.local import gazetteers as gz
from core.local import text as tx
from core.local.parser.common import (
    _COMPANY_SUFFIX,
    _DEGREE,
    _DIGIT,
    _ENDS_WITH_ABBREVIATION,
    _EUROPEAN_COMPANY_FORM,
    _JUNK,
    _LETTER_RUN,
    _URL,
    _ends_in_title,
    _is_short,
    _name_with_stop,
    _org_score,
    _split_parts,
    _title_score,
    _words_lower,
)
from core.local.parser.sections import heading_of, is_heading_name
from core.local.render import MENTION_KEY, MENTIONED
from core.local.skills import vocabulary
from core.local.vocab.words import EXTRA_TITLE_HEADS, LOWER_OK, ROMAN, TAIL_LOWER, TITLE_TAIL

_LABELLED = re.compile(
    r"^(designation|job title|position|company|organi[sz]ation|employer|company name|duration|period)"
    r"\s*[:\-]\s*(.+)$",
    re.I,
)


_WORD_THEN_TRAILING_HYPHEN = re.compile(r"\w\s*-\s*$")
_BULLET_PREFIX = re.compile(r"^[-*–•·▪►✓>]\s+")


_AFTER_DATE = re.compile(r"(?<!\s)\s*[:\-–]")
_SPACE_THEN_WORD = re.compile(r"(?<!\s)\s+\(?[A-Za-z]{2}")


_BARE_MONTH = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?(?: ?[-–])?", re.I)


def _join_broken_ranges(lines: list[str]) -> list[str]:
    """'2001' / '2006: Principal Engineer' → '2001 - 2006: Principal Engineer': a date range that a PDF's date
    column broke over two lines."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and _BARE_MONTH.fullmatch(line.strip()) and tx.SINGLE_DATE.match(lines[i + 1].lstrip()):
            # 'January' / 'May 2011': the year is written once, after the second month
            months = f"{line.strip()} - {lines[i + 1].lstrip()}"
            if tx.find_date_range(months):
                out.append(months)
                i += 2
                continue
        if i + 1 < len(lines) and len(line) < 20 and tx.SINGLE_DATE.fullmatch(line.strip()):
            nxt = lines[i + 1].lstrip()
            m = tx.SINGLE_DATE.match(nxt) or tx.PRESENT.match(nxt)
            # '6/2007' / 'present K20 Center, Norman, OK': the range goes on with the employer after a space
            joined = m and (
                _AFTER_DATE.match(nxt, m.end())
                or (_SPACE_THEN_WORD.match(nxt, m.end()) and tx.find_date_range(f"{line.strip()} - {nxt[: m.end()]}"))
            )
            if joined:
                out.append(f"{line.strip()} - {nxt}")
                i += 2
                continue
        out.append(line)
        i += 1
    return out


def _parse_work(lines: list[str]) -> list[dict[str, Any]]:
    lines = _join_broken_ranges([ln for ln in lines if not _URL.fullmatch(ln.strip())])
    anchors = []
    for i, ln in enumerate(lines):
        rng = tx.find_date_range(ln)
        if rng and (len(ln.split()) <= 16 or len(ln[: rng[3][0]].split()) <= 12):
            anchors.append(i)
    entries: list[dict[str, Any]] = []
    labelled = _labelled_entries(lines)
    if labelled:
        return labelled
    used: set[int] = set()
    prev_anchor = -1
    date_first = _date_first(lines, anchors)
    for k, idx in enumerate(anchors):
        next_anchor = anchors[k + 1] if k + 1 < len(anchors) else len(lines)
        start, end, _current, span = tx.find_date_range(lines[idx]) or ("", "", False, (0, 0))
        line = lines[idx]
        after = line[span[1] :] if len(line[span[1] :].split()) <= 8 else ""
        rest = (line[: span[0]] + " " + after).strip(" ,:-|().")
        if not after.strip(" ,:-|().") and _WORD_THEN_TRAILING_HYPHEN.search(line[: span[0]]):
            rest += " -"  # 'Company - City - June 2019 to Present' (Indeed): the text before the dates is the employer
        cands: list[tuple[int, str]] = []
        if rest and len(rest.split()) <= 10 and (_is_short(rest) or _title_score(rest) or _org_score(rest)):
            cands.append((idx, rest))
        back = idx - 1
        if not rest and idx + 2 < next_anchor and (date_first or _employer_then_title(lines, idx + 1)):
            back = prev_anchor  # '2008 to 2010' / 'Microlux, Santa Rosa, California' / 'Designer': the entry follows
        while (
            back > prev_anchor
            and back >= idx - 3
            and back not in used
            and _is_short(lines[back])
            and not _BULLET_PREFIX.match(lines[back])  # a bullet ends the previous entry
        ):
            cands.insert(0, (back, lines[back]))
            back -= 1
        fwd = idx + 1
        has_header = any(_title_score(c) or _org_score(c) for _, c in cands)
        # 'Rising Sun' / 'Rapid City, SD | dates': the employer stands on the line above its town and dates
        first_own = idx - 1 if rest and gz.is_place(rest) else idx
        while not has_header and fwd + 1 < next_anchor and fwd <= idx + 2 and _is_short(lines[fwd]):
            if date_first and not rest and len(cands) >= 2:
                break
            if _title_score(lines[fwd]) or _org_score(lines[fwd]) or len(cands) < 2:
                cands.append((fwd, lines[fwd]))
                fwd += 1
            else:
                break
            if _title_score(lines[fwd - 1]) and any(_proper_name(c) for j, c in cands if j >= first_own):
                break  # 'Rising Sun / City, ST | dates / Teacher': employer and title both found
        prev_anchor = idx
        entry = _entry_from(cands)
        if not entry:
            continue
        if not entry["position"] or not entry["name"]:
            fwd = _fill_forward(entry, lines, fwd, next_anchor)
        used.update(i for i, _ in cands)
        entry["startDate"] = start
        if end:
            entry["endDate"] = end
        highlights = [
            _BULLET_PREFIX.sub("", ln)
            for ln in lines[fwd:next_anchor]
            if len(ln.split()) >= 4 and _title_score(ln) == 0
        ][:8]
        entry["highlights"] = highlights
        entry["summary"] = ""
        entries.append(entry)
    if not entries:
        for i, line in enumerate(lines[:80]):
            if _is_short(line) and _title_score(line) and len(line.split()) <= 8:
                near = [(j, lines[j]) for j in (i - 1, i + 1) if 0 <= j < len(lines) and _is_short(lines[j])]
                entry = _entry_from([(i, line), *near]) or {"name": "", "position": line}
                entries.append({**entry, "startDate": "", "highlights": [], "summary": ""})
            if len(entries) >= 8:
                break
    return entries


#: Sections where a CV may carry on its jobs under a heading the parser took for another ('ACCOMPLISHMENTS' over a
#: career history): read for whole entries, each with an employer, a title and dates.
_SECTIONS_WITH_STRAY_JOBS = ("awards",)


def _jobs_outside_experience(work: list[dict[str, Any]], sections: dict[str, Any]) -> None:
    """Dated entries (employer, title, dates) under headings that are not 'Experience': kept only whole, and only
    when no job the parser already has names that employer."""
    known = {tx.norm_key(w.get("name", "")) for w in work if w.get("name")}
    for sec in _SECTIONS_WITH_STRAY_JOBS:  # summary, projects, skills … were tried: more wrong entries than right
        lines = sections.get(sec)
        if not lines or not any(_DIGIT.search(ln) for ln in lines):
            continue
        for entry in _parse_work(lines):
            name, position = entry.get("name", ""), entry.get("position", "")
            key = tx.norm_key(name)
            if not (name and position and entry.get("startDate")) or not key or key in known or len(work) >= 16:
                continue
            if not (_org_score(name) or _proper_name(name)) or _school_or_activity(name):
                continue
            known.add(key)
            work.append(entry)


def _date_first(lines: list[str], anchors: list[int]) -> bool:
    """Each entry opens with its dates alone on a line, then the title and employer ('January 2012 - present' /
    'Chief Project Manager' / 'Nofas AS'): then the short lines before a date close the previous entry."""
    alone = body_before = 0
    for k, idx in enumerate(anchors):
        rng = tx.find_date_range(lines[idx])
        if not rng:
            continue
        a, b = rng[3]
        nxt = lines[idx + 1] if idx + 1 < len(lines) else ""
        if not (lines[idx][:a] + lines[idx][b:]).strip(" ,:-|().") and nxt and _is_short(nxt):
            alone += bool(_title_score(nxt) or _org_score(nxt))
        # the previous entry's text, not a header; or no text at all: its dates, title and employer only
        body_before += k > 0 and (not _is_short(lines[idx - 1]) or idx - anchors[k - 1] <= 3)
    n = len(anchors)
    return n >= 2 and alone * 3 >= n * 2 and body_before * 3 >= (n - 1) * 2


def _employer_then_title(lines: list[str], i: int) -> bool:
    """lines[i] is an employer beside its town and lines[i + 1] a job title: the entry follows its dates."""
    return _employer_at_place(lines[i]) and _is_short(lines[i + 1]) and bool(_title_score(lines[i + 1]))


def _employer_at_place(line: str) -> bool:
    """'Microlux, Santa Rosa, California', 'Sooner Information Network, Norman, OK': a name, then its town."""
    if len(line.split()) > 10 or gz.is_place(line) or tx.find_date_range(line):
        return False
    stripped = gz.strip_place(line)
    return stripped != line.strip(" ,-|") and (_proper_name(stripped) or bool(_org_score(stripped)))


_ORG_MENTION = re.compile(
    r"\b((?:[A-Z][A-Za-z&'-]*\.?\s){0,4}?[A-Z][A-Za-z&'-]*\s(?:Pvt\.?\s?Ltd|Private\sLimited|Ltd|Limited|Inc|"
    r"Corporation|Corp|LLC|LLP|PLC|GmbH|Technologies|Solutions|Consultancy\sServices|Infotech|Systems|"
    r"Public\sSchools|School\sDistrict|Elementary(?:\sSchool)?|Middle\sSchool))\b\.?"
)


def _fill_forward(entry: dict[str, Any], lines: list[str], fwd: int, stop: int) -> int:
    """'Company / City | dates / Title': the missing title (or employer) is on a short line right after the dates."""
    j = fwd
    while j < min(stop, fwd + 2):
        line = lines[j]
        if not _is_short(line) or tx.find_date_range(line) or gz.is_place(line):
            break
        if not entry["position"] and _title_score(line) and not _org_score(line):
            entry["position"] = line.strip(" ,-:")
        elif not entry["name"] and _org_score(line) and not _title_score(line):
            entry["name"] = _clean_company(gz.strip_place(line))
        else:
            break
        j += 1
    return j


_SEASON_OR_PRESENT = re.compile(r"\b(?:spring|summers?|fall|autumn|winters?|present|current)\b", re.I)
_TWO_LETTERS = re.compile(r"[A-Za-z]{2}")


def _undated_entries(work: list[dict[str, Any]], lines: list[str]) -> None:
    """Employer lines the date anchors missed: 'Teacher, Lane High School, Tucson, AZ, 1998' or 'Acme Corp'."""
    known = {tx.norm_key(w.get("name", "")) for w in work} | {tx.norm_key(w.get("position", "")) for w in work}
    for idx, line in enumerate(lines[:150]):
        if len(work) >= 12:
            break
        if len(line.split()) > 14 or line.rstrip().endswith((".", ";", ":")) or _JUNK.match(line):
            continue
        body = tx.SINGLE_DATE.sub(" ", line) if _DIGIT.search(line) else line  # every date has a digit
        body = _SEASON_OR_PRESENT.sub(" ", body)
        if gz.is_place(body):
            continue
        stripped = gz.strip_place(body)
        parts = [p for p in _split_parts(stripped) if not gz.is_place(p) and _TWO_LETTERS.search(p)]
        if not parts or len(parts) > 3:
            continue
        # 'Teach for America, Miami, FL' or 'Google, Inc.' over 'Mountain View, CA': a name beside its town is
        # an employer's header even without a word like 'Ltd' or 'School'
        nxt = lines[idx + 1] if idx + 1 < len(lines) else ""
        placed = stripped != body.strip(" ,-|") or ("," in nxt and gz.is_place(nxt) and len(parts[0].split()) > 1)
        orgs = [
            p for p in parts if (_org_score(p) or placed) and not _title_score(p) and _proper_name(p) and len(p) > 2
        ]
        titles = [p for p in parts if _title_score(p) and not _org_score(p)]
        if len(orgs) != 1 or len(orgs) + len(titles) != len(parts) or len(titles) > 1:
            continue
        key = tx.norm_key(orgs[0])
        if key in known or any(key in k or k in key for k in known if k):
            continue
        known.add(key)
        work.append(
            {"name": orgs[0], "position": titles[0] if titles else "", "startDate": "", "highlights": [], "summary": ""}
        )


_ORG_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'&.-]*")


def _tidy_work(work: list[dict[str, Any]], education: list[dict[str, Any]], person: str = "") -> None:
    """Blank employer names that read like a sentence, a title, a place, the CV's own school or the person's own
    name (a page footer); drop empty entries."""
    schools = {tx.norm_key(e.get("institution", "")) for e in education if e.get("institution")}
    person_key = tx.norm_key(person)
    for w in work:
        name = w.get("name", "")
        if name and person_key and tx.norm_key(name) == person_key:
            w["name"] = name = ""
        words = [x for x in _ORG_NAME_WORD.findall(name) if x.lower() not in LOWER_OK]
        lower = sum(x[0].islower() for x in words)
        sentence_like = not (name[:1].isupper() or name[:1].isdigit()) or lower * 2 > len(words) or len(words) > 8
        # 'Developed lesson plan units for Media Studies': a verb in the past, then words in lower case
        sentence_like = sentence_like or (lower >= 2 and bool(_PAST_TENSE_FIRST.match(name)))
        own_school = _own_school(name, schools)
        position = w.get("position", "")
        if position and (_date_like(position) or _CONTACT_LABEL.match(position)):
            w["position"] = position = ""  # 'Summer' left of 'Summer 20XX-20XX', 'Tel: (123)…': not a title
        if name and _KIND_OF_PLACE.fullmatch(name.strip(" .,")):
            w["name"] = name = ""  # 'School', 'UNIVERSITY': a kind of place with its name left out
        if name and not position and not w.get("startDate") and _skills_and_fields(name):
            w["name"] = name = ""  # 'Java Technologies', 'International Leadership' named in prose: no employer
        if name and position.strip().lower() == "member":
            w["name"] = name = ""  # a member of a club, board or society holds no job there
        if name:
            w["name"] = name = _balanced(name)
        if name and _title_not_employer(name):
            if not position:
                w["position"] = position = name  # 'Reading Coach, Eaton Elementary School': the title came first
            w["name"] = name = ""
        if name and (
            sentence_like
            or _generic_name(name)
            or _not_an_employer(name)
            or own_school
            or _date_like(name)
            or is_heading_name(name)  # 'Practicum', 'Employment History': a heading, not a name
            or _ORG_UNIT.search(name)
            or (not position and (_school_or_activity(name) or _MEMBERSHIP_BODY.search(name)))
            or ((_ACTIVITY.search(name) or _MEMBERSHIP_BODY.search(name)) and _MEMBERSHIP_ROLE.fullmatch(position))
        ):
            w["name"] = ""
    # an entry whose name was blanked keeps its dates and duties: the job seeker's facts are not dropped with it
    work[:] = [w for w in work if any(w.get(k) for k in ("name", "position", "startDate", "highlights"))]


def _title_for_untitled_job(work: list[dict[str, Any]]) -> None:
    """One dated job with neither employer nor title, and one title named alone in the CV ('Associate Software
    Engineer' over 'oracle' and the dated duties): that title is the job's, not a mention."""
    untitled = [w for w in work if not w.get("name") and not w.get("position") and w.get("startDate")]
    alone = [w for w in work if w.get("position") and not any(w.get(k) for k in ("name", "startDate", "highlights"))]
    if len(untitled) == 1 and len(alone) == 1:
        untitled[0]["position"] = alone[0]["position"]
        work.remove(alone[0])  # a mention no more: the title is held


_KIND_OF_PLACE = re.compile(
    r"(?:school|university|college|institute|hospital|clinic|company|firm|agency|studio|store|office|department|"
    r"organi[sz]ation)",
    re.I,
)


def _balanced(name: str) -> str:
    """'Siemens PLM Software (UGS' → 'Siemens PLM Software'; 'TNE) Co-Author' → '': a name cut inside brackets."""
    if ")" in name and "(" not in name.split(")", 1)[0]:
        return ""
    return name[: name.rfind("(")].rstrip() if name.count("(") > name.count(")") else name


#: Words that name a field of work or a kind of system, not a firm: 'Operating Systems', 'Web Technologies',
#: 'Health Information Systems', 'Market Research', 'Industry'. A name made only of these is a field, never an
#: employer ('Cisco Systems' and 'Tangible Technologies' have a name word).
_FIELD_WORDS = frozenset(
    """operating systems system technologies technology solutions software hardware applications application web
    information computer computing data network networking networks control version geographic health enterprise
    distributed embedded mobile cloud digital security management business financial finance marketing market
    research sales industry function history sciences science analysis quantitative media office programming
    development design services service products product platform platforms process processes various global
    international general public engineering electronics telecom telecommunications internet e-business e-commerce
    tools environment domain domains areas area sector field child care childcare cardiology urology oncology
    radiology pediatrics paediatrics dermatology neurology orthopedics orthopaedics psychiatry surgery""".split()
)


def _skills_and_fields(name: str) -> bool:
    """Every word a skill or a field of work, one at least a skill: 'Java Technologies', 'VirtualBox and Docker'."""
    words = [w for w in name.replace("/", " ").split() if w.lower() not in ("and", "&", "of")]
    skills = [w for w in words if vocabulary().canonical(w)]
    return bool(skills) and all(w in skills or w.lower() in _FIELD_WORDS for w in words)


def _generic_name(name: str) -> bool:
    """'Operating Systems', 'Web Technologies (2011': a field of work or a course, with or without its year."""
    words = [w.strip(".,&()") for w in name.split("(", 1)[0].lower().split()]
    words = [w for w in words if w and w not in ("and", "of", "&", "the", "in", "for")]
    if not words or len(words) > 5:
        return False
    return all(w in _FIELD_WORDS for w in words)


_PAST_TENSE_FIRST = re.compile(r"[A-Z][a-z]{3,}ed\s")
_TRAILING_FUNCTION_WORD = re.compile(r"\s(?:for|of|and|at|with|the|to|in|as|by|&)$", re.I)
#: 'MNC. As Thomson Reuters': a sentence break inside the name
_SENTENCE_BREAK = re.compile(r"\.\s+(?:as|the|in|for|with|and|at|to|we|i)\s", re.I)
_NAMES_IN_ED = frozenset({"limited", "united", "allied", "unlimited", "incorporated"})


_CONTACT_LABEL = re.compile(r"(?:tel|phone|mobile|cell|fax|e-?mail|room\s+no)\b", re.I)
_ARTICLE_OR_LABEL = re.compile(r"(?:an?|job\s+profile|employer'?s?\s+name|references?)\b", re.I)


def _title_not_employer(name: str) -> bool:
    """'Software Developer', 'Reading Coach': a job title in the employer's place (a firm has no head noun)."""
    words = _words_lower(name)
    last = words[-1].strip(".,").rsplit("/", 1)[-1] if words else ""  # 'Owner/Trainer/Consultant'
    last = last.rsplit("-", 1)[-1] if last.startswith(("co-", "vice-", "sub-")) else last  # 'Co-Director'
    heads = gz.TITLE_HEADS
    if not (last in heads or last in EXTRA_TITLE_HEADS) or len(words) > 6:
        return False
    # 'Middle School Softball Coach': an employer's word inside, but the name ends in a job's head noun
    return not _org_score(name) or (not _COMPANY_SUFFIX.search(name) and not _EUROPEAN_COMPANY_FORM.search(name))


#: Words that end a label, a heading or a kind of place, never a firm's name ('Position', 'Home', 'Summer
#: Placement', 'Research Activities', 'Selected Publications', 'Secretarial Duties').
_NOT_A_NAME = frozenset(
    """position title designation period duration role employer home hours responsibilities responsibility duties
    activities publications papers placement placements presentation presentations undertaken""".split()
)


#: An e-mail address, a grade, a page number, an availability note, a claim of experience, a P.O. box or a
#: template's 'XXXXXX': never an employer.
_NEVER_AN_EMPLOYER = re.compile(
    r"@|\bGPA\b|^page\s+\d+$|^available\b|\bexperience\s+(?:with|in|of)\b|\bp\.?\s?o\.?\s+box\b|^x{3,}$", re.I
)


def _not_an_employer(name: str) -> bool:
    """'Trainer for', 'Interned', 'MNC. As Thomson Reuters': a fragment of a sentence, not an employer."""
    words = name.split()
    if _NEVER_AN_EMPLOYER.search(name):
        return True
    trailing = _TRAILING_FUNCTION_WORD.search(name) and not name.endswith(" AS")  # 'Nofas AS': a Norwegian firm
    if trailing or _SENTENCE_BREAK.search(name) or _ARTICLE_OR_LABEL.match(name):
        return True  # 'An ISO 9002 Company', 'Job Profile: Operations', 'References available upon request'
    if gz.is_place(name) or gz.is_place(name.rstrip("/")):
        return True
    if words and words[-1].lower().strip(".,:") in _NOT_A_NAME:
        return True  # 'Position', 'Home', 'Duluth Campus Responsibilities', 'Selected Publications'
    if _vendor_product(name):
        return True
    if len(words) >= 2 and words[-1] in ("I", "II", "III", "IV"):
        return True  # 'Physical Education for Elementary Students II', 'Animal Ambassador I': a course or a grade
    low = name.lower()
    return len(words) == 1 and name.isalpha() and len(low) > 5 and low.endswith("ed") and low not in _NAMES_IN_ED


def _vendor_product(name: str) -> bool:
    """'SAP ABAP', 'Microsoft SharePoint', 'Amazon Redshift': a maker's name before one of its products, which the
    skills vocabulary knows by the product alone; a tool one worked with, not the employer."""
    canon = vocabulary().canonical(name)
    if not canon:
        return False
    key, canon_key = tx.norm_key(name), tx.norm_key(canon)
    return key != canon_key and key.endswith(" " + canon_key) and len(key.split()) - len(canon_key.split()) == 1


_UNIVERSITY_OR_COLLEGE = re.compile(r"universit|college", re.I)


def _own_school(name: str, schools: set[str]) -> bool:
    """A university or college the education section names: an employer only in a dated entry with a title."""
    if not _UNIVERSITY_OR_COLLEGE.search(name):
        return False
    key = tx.norm_key(name)
    if key in schools:
        return True
    words = set(key.split()) - {"university", "college", "of", "the", "at"}
    for school in schools:
        other = set(school.split()) - {"university", "college", "of", "the", "at"}
        if (words and other and 2 * len(words & other) >= len(words | other)) or (school and school in key):
            return True
    return False


_SCHOOL_NAME = re.compile(r"\b(?:universit(?:y|ies)|college|high school|secondary school)\b", re.I)
_ACTIVITY = re.compile(
    r"\b(?:club|society|team|camp|committee|council|league|fraternity|sorority|chapter|scholarship|competition|"
    r"olympiad|fest|hackathon|workshop|seminar|conference|journal|magazine)\b",
    re.I,
)


#: 'Customer Service Team', 'Graduate Studies Committee (GSC)', 'Advisory Board', 'Towson University Chapter':
#: a unit or a body one sits on, not an employer; also a heading read as a name ('Professional Associations').
_ORG_UNIT = re.compile(
    r"\b(?:team|committee|sub-committee|board|chapter|trustees)\b(?:\s*\([^)]*\)?)?\s*$|^(?:professional\s+)?"
    r"(?:associations|affiliations|memberships|activities)\b|^associations?\s+\w+$",
    re.I,
)
#: Associations, churches and fraternities: employers only when one holds a job there, not a membership.
_MEMBERSHIP_BODY = re.compile(r"\b(?:association|church|fraternity|sorority|brothers/big)\b", re.I)
#: 'Member', 'Treasurer', 'Vice President', 'Volunteer Big Sister': the roles of a member, not of an employee.
_MEMBERSHIP_ROLE = re.compile(
    r"(?<![\w.-])(?:[\w.-]++\s++){0,2}(?:member|treasurer|secretary|(?:vice\s+)?president|volunteer(?:\s+[\w.-]+){0,3})"
    r"(?:\s*/\s*(?:vice\s+)?(?:president|secretary|treasurer))?",
    re.I,
)


_DATE_WORD = re.compile(
    r"\b(?:summers?|spring|fall|autumn|winters?|since|from|till|until|present|current|ongoing|20xx|19xx|year|"
    r"months?|years|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6})\b|[\[\]()]",
    re.I,
)
# 'Summer 2009', 'July 20XX': up to 12 word characters before a year
_SHORT_PREFIX_YEAR = re.compile(r"[\w\s]{0,12}\b(?:20|19)(?:\d\d|xx)\b", re.I)


def _date_like(name: str) -> bool:
    """'Summer 2009', 'Oct 2014', 'July 20XX', 'since 2013': a date read as an employer."""
    rest = tx.SINGLE_DATE.sub(" ", name)
    rest = _DATE_WORD.sub(" ", rest)
    return rest.strip(" ,.-") == "" or bool(_SHORT_PREFIX_YEAR.fullmatch(name.strip()))


def _school_or_activity(name: str) -> bool:
    """Universities, colleges, clubs and camps: employers only when the entry also names a job title."""
    return bool(_SCHOOL_NAME.search(name) or _ACTIVITY.search(name))


_LEADING_CAPITALISED_FUNCTION_WORD = re.compile(r"^(?:The|At|In|With|For|And|Of)\s+")


def _employers_in_prose(work: list[dict[str, Any]], lines: list[str]) -> None:
    """Employers named in sentences ('worked with Apple in Exilant Technologies Pvt. Ltd.') that no entry names."""
    known = {tx.norm_key(w.get("name", "")) for w in work}
    for line in lines[:200]:
        for m in _ORG_MENTION.finditer(line):
            after = line[m.end() :].split(None, 1)
            if after and after[0].strip(".,;:").lower() in gz.TITLE_HEADS:
                continue  # 'Senior Systems Engineer': a job title, not the firm 'Senior Systems'
            org = _LEADING_CAPITALISED_FUNCTION_WORD.sub("", m.group(1)).strip()
            key = tx.norm_key(org)
            if len(org.split()) < 2 or key in known or any(key in k or k in key for k in known if k):
                continue
            known.add(key)
            blank = next((w for w in work if not w.get("name") and line in w.get("highlights", [])), None)
            if blank is not None:
                blank["name"] = org
            elif len(work) < 12:
                work.append({"name": org, "position": "", "startDate": "", "highlights": [], "summary": ""})


_WORKED_AT = re.compile(
    r"\b(?:work(?:ing|ed)?|employed|interned|internship|serv(?:ing|ed)|join(?:ed|ing)|consultant|controller|"
    r"engineer|developer|manager|analyst|director|officer|associate|intern)\s+(?:as\s+[\w/ -]{2,40}?\s+)?"
    r"(?:at|with|for|in)\s+((?:[A-Z][\w&'.-]*|[A-Z]{2,})(?:\s+(?:&\s+|and\s+|of\s+)?[A-Z][\w&'.-]*){0,4})"
)


def _employers_in_sentences(work: list[dict[str, Any]], lines: list[str]) -> None:
    """'Currently working as Team Lead at Hashe Computer Solutions', 'Corporate Controller for Caliber Bank'."""
    known = {tx.norm_key(w.get("name", "")) for w in work}
    for line in lines[:200]:
        for m in _WORKED_AT.finditer(line):
            org = gz.strip_place(m.group(1).rstrip(".,")) or m.group(1)
            key = tx.norm_key(org)
            if (
                not key
                or key in known
                or any(key in k or k in key for k in known if k)
                or gz.is_place(org)
                or _date_like(org)
                or _school_or_activity(org)
                or vocabulary().canonical(org)
                or heading_of(org)
                or len(work) >= 14
            ):
                continue
            known.add(key)
            work.append({"name": org, "position": "", "startDate": "", "highlights": [], "summary": ""})


#: 'Bar Association/Service Award', 'Major Accounts Division': an award or a unit, not the employer's name
_AWARD_OR_UNIT = re.compile(r"\b(?:award|prize|division)\b", re.I)


def _dated_jobs_in_lines(work: list[dict[str, Any]], lines: list[str]) -> None:
    """'Veristage, Senior Consultant, 2000-2001', 'Microsoft, Product Manager, Redmond, WA 2006': one line that names
    an employer, one job title and a date, wherever it stands (a 'Selected projects' list, a career summary)."""
    known = {tx.norm_key(w.get("name", "")) for w in work if w.get("name")}
    for line in lines[:300]:
        if len(work) >= 16:
            break
        if len(line) > 120 or not _DIGIT.search(line) or line.rstrip().endswith((".", ";")):
            continue
        rng = tx.find_date_range(line)
        if rng:
            a, b = rng[3]
            body = f"{line[:a]} {line[b:]}"
        elif tx.SINGLE_DATE.search(line):
            body = tx.SINGLE_DATE.sub(" ", line)
        else:
            continue
        body = _SEASON_OR_PRESENT.sub(" ", body).strip(" ,-|()")
        parts = [p for p in _split_parts(body) if _TWO_LETTERS.search(p)]
        if not 2 <= len(parts) <= 4 or _DIGIT.search(body):
            continue
        titles = [p for p in parts if _title_score(p) and not _org_score(p)]
        names = [p for p in parts if not gz.is_place(p) and p not in titles]
        if len(titles) != 1 or len(names) != 1 or parts.index(names[0]) > parts.index(titles[0]) + 1:
            continue
        org, title = names[0], titles[0]
        head_first = title.split()[0].lower().strip(".,") in gz.TITLE_HEADS  # 'Director of Sales'
        if not (_ends_in_title(title) or head_first or len(title.split()) == 1) or _MEMBERSHIP_ROLE.fullmatch(title):
            continue  # 'Student Assistance Program Training', 'Member', 'Volunteer': no job held
        if not (_proper_name(org) or _org_score(org)) or _school_or_activity(org) or _date_like(org):
            continue
        if _AWARD_OR_UNIT.search(org) or not title[:1].isupper():
            continue
        key = tx.norm_key(org)
        if not key or key in known or any(key in k or k in key for k in known):
            continue
        known.add(key)
        work.append(
            {"name": org, "position": title, "startDate": rng[0] if rng else "", "highlights": [], "summary": ""}
        )


def _labelled_entries(lines: list[str]) -> list[dict[str, Any]]:
    """'Designation: X / Organization: Y / Duration: Z' layouts."""
    entries: list[dict[str, Any]] = []
    cur: dict[str, Any] = {}
    for line in lines:
        m = _LABELLED.match(line)
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        field = "position" if key in ("designation", "job title", "position") else "name"
        if key in ("duration", "period"):
            rng = tx.find_date_range(value)
            if rng:
                cur["startDate"] = rng[0]
                if rng[1]:
                    cur["endDate"] = rng[1]
            continue
        if field in cur:
            entries.append(cur)
            cur = {}
        cur[field] = _clean_company(value) if field == "name" else value
    if cur:
        entries.append(cur)
    out = []
    for e in entries:
        if e.get("position") or e.get("name"):
            out.append({"name": "", "position": "", "startDate": "", "highlights": [], "summary": "", **e})
    return out if any(e["position"] and e["name"] for e in out) else []


_JOB_TITLE_LABEL = re.compile(
    r"^(?:designation|title|position|role|present|current|to date|now|today)\s*[:\-–]\s*", re.I
)  # 'Title: …', and 'Present: Art Editor' where a date range broke over two lines


def _entry_from(cands: list[tuple[int, str]]) -> dict[str, Any] | None:
    """Pick the job title and the employer among the short lines around a date."""
    texts: list[str] = []
    #: index in texts of the part that follows a job title on the same line ('Assistant, Lush Cosmetics, Chadstone')
    after_title: dict[int, int] = {}
    placed: set[int] = set()  # index in texts of a line that stood beside a town
    for _, c in cands:
        if _URL.search(c) or _DEGREE.match(c) or gz.is_place(c):
            continue
        if _name_with_stop(c) and not _ENDS_WITH_ABBREVIATION.search(c):
            c = c.rstrip()[:-1]
        dash = c.endswith(" -")
        before = c
        c = gz.strip_place(c) or c
        if c != before.strip(" ,-|"):
            placed.add(len(texts))  # 'Pinsent Masons, Aberdeen': a name beside its town
        c = c + " -" if dash and not c.endswith(" -") else c
        parts = _split_parts(c)
        if len(parts) > 1 and _title_score(c) and _org_score(c) and any(_org_score(p) for p in parts):
            texts.extend(parts)  # 'Project Manager at Fakeco Ltd': title and employer on one line
        elif len(parts) in (2, 3) and _title_and_name(parts):
            kept = [p for p in parts if not gz.is_place(p)]  # 'Senior Engineer, Levelup' / 'Acme - Analyst'
            first = len(texts)
            texts.extend(kept)
            for i in range(len(kept) - 1):
                if _title_score(kept[i]) and not _org_score(kept[i]):
                    after_title[first + i] = first + i + 1
        else:
            texts.append(c)
    if not texts:
        return None
    t_scores = [_title_score(c) for c in texts]
    o_scores = [_org_score(c) for c in texts]
    title, company = "", ""
    ti = max(range(len(texts)), key=lambda i: (t_scores[i] - o_scores[i], -i))
    if t_scores[ti] and t_scores[ti] >= o_scores[ti]:
        title = texts[ti]
    else:
        ti = -1
    rest = [i for i in range(len(texts)) if i != ti]
    ci = -1
    if rest:
        ci = max(
            rest, key=lambda i: (o_scores[i], texts[i].rstrip().endswith(" -") or " - " in texts[i], i in placed, -i)
        )
        if not o_scores[ci] and not (texts[ci].rstrip().endswith("-") or " - " in texts[ci]) and len(rest) > 1:
            ci = after_title.get(ti, rest[-1]) if ti >= 0 else ci
    if title:
        parts = _split_parts(title)
        if len(parts) > 1:
            t_parts = [p for p in parts if _title_score(p)]
            others = [p for p in parts if not _title_score(p)]
            title = ", ".join(t_parts[:2]) if t_parts else parts[0]
            if others and ci < 0:
                company = _department_of(others) or others[0]
    if ci >= 0:
        parts = _split_parts(texts[ci])
        company = parts[0] if parts else texts[ci]
        unit = _department_of(parts)
        company = unit or company
        if not title and len(rest) > 1:
            other_ids = [i for i in rest if i != ci]
            if other_ids and len(texts[other_ids[0]].split()) <= 6:
                title = texts[other_ids[0]]
    if not title and not company:
        return None
    title = _JOB_TITLE_LABEL.sub("", title)
    return {"name": _clean_company(company), "position": title.strip(" ,-:")}


def _proper_name(text: str) -> bool:
    """A capitalised name of a few words ('OTC Logic', 'Red Bug Computers'), not a place, date or sentence."""
    words = text.split()
    if not 1 <= len(words) <= 6 or gz.is_place(text) or tx.SINGLE_DATE.search(text) or _title_score(text):
        return False
    caps = sum(w[:1].isupper() or w[:1].isdigit() or w in ("&", "and", "of", "the", "for") for w in words)
    return caps == len(words) and words[0][:1].isupper() and not heading_of(text)


def _title_and_name(parts: list[str]) -> bool:
    """One part is a job title and another a proper name: the line names a role and its employer."""
    titles = [p for p in parts if _title_score(p) and not _org_score(p)]
    names = [p for p in parts if _proper_name(p)]
    return (
        len(titles) == 1 and len(names) >= 1 and len(titles) + len(names) + sum(map(gz.is_place, parts)) == len(parts)
    )


_COMPANY_LABEL = re.compile(r"^(?:company|organi[sz]ation|employer|client)\s*(?:name)?\s*[:\-]\s*", re.I)


#: 'Department of Statistics', 'Office of Admissions', 'Systems Engineering Department', 'IT Dept.': the unit of a
#: university or government one worked in, which a CV names as the employer.
_DEPARTMENT_UNIT = re.compile(
    r"(?:^|\s)(?P<unit>(?:Department|Dept\.?|Office|Division|Bureau|Ministry)\s+of\s+\S.*)$"
    r"|^(?P<named>(?:[A-Z][\w&.-]*\s+){1,4}(?:Department|Dept\.?))$"
)


def _department_of(parts: list[str]) -> str:
    """The department part of 'DePaul University, Office of Admissions' or 'University X Department of Y'."""
    for part in parts:
        m = _DEPARTMENT_UNIT.search(part)
        if m:
            return (m.group("unit") or m.group("named")).strip()
    return ""


_DOTTED_FORM_CUT = re.compile(r"\b(?:[A-Z]\.){1,3}[A-Z]$")


def _clean_company(text: str) -> str:
    text = _COMPANY_LABEL.sub("", text).strip(" ,-:|")
    return text + "." if _DOTTED_FORM_CUT.search(text) else text  # 'Banco Ejemplo S.A' lost the dot of 'S.A.'


_CHUNK = re.compile(
    r"[,;:()|\[\]\"]|(?<=[a-z])/(?=[A-Z])|\s[-–/]\s|(?<=[a-z]{2})\.(?:\s|$)|\s(?:at|with|in|for|from|since|to)\s"
)


def _cap(word: str) -> bool:
    return word[:1].isupper() or word[:1].isdigit() or word[:1] == "."


_HYPHENED_RUN = re.compile(r"(?<![a-z])[a-z]++(?:-[a-z]++)+")


def _may_name_title(line: str) -> bool:
    """False only when no word of line can be a title head: a head is letters, perhaps joined by '-' or '/'
    ('in-charge', 'programmer/analyst', whose halves are heads too), set off by spaces or punctuation."""
    low = line.lower()
    heads = gz.TITLE_HEADS
    return not heads.isdisjoint(_LETTER_RUN.findall(low)) or (
        "-" in low and not heads.isdisjoint(_HYPHENED_RUN.findall(low))
    )


def title_phrases(line: str) -> list[str]:
    """Job titles named in a line: 'Senior Software Engineer', 'Director of Software Development', 'Sr. Web Developer'.

    A title is a head noun (engineer, manager, teacher …) with the modifiers in front of it that job titles use
    (seniority, field, function) and an optional 'of …' tail; a head that is also an everyday word ('lead',
    'member') needs a modifier. Written as a name (capitalised), or after 'as' in running text.
    """
    out: list[str] = []
    if not _may_name_title(line):
        return out
    for chunk in _CHUNK.split(line):
        words = chunk.split()
        n = len(words)
        i = 0
        while i < n:
            w = words[i]
            low = w.lower().strip(".'")
            if low not in gz.TITLE_HEADS:
                i += 1
                continue
            capital = _cap(w)
            j = i
            while j > 0 and i - j < 5:
                prev = words[j - 1]
                pl = prev.lower().strip(".'")
                if capital and not _cap(prev):
                    break
                if pl in gz.TITLE_MODIFIERS or pl in gz.TITLE_HEADS or (capital and vocabulary().canonical(prev)):
                    j -= 1
                    continue
                break
            sentence_case = j == 0 and j < i and _cap(words[0])
            if not capital and not sentence_case and not (j > 0 and words[j - 1].lower() in ("as", "an", "a")):
                i += 1
                continue
            k = i + 1
            while k < n and _cap(words[k]) and words[k].lower().strip(".'") in gz.TITLE_HEADS and k - i < 3:
                k += 1
            tail = False
            if k + 1 < n and words[k].lower() in TITLE_TAIL and _cap(words[k + 1]):
                m = k + 1
                while m < n and m - k <= 4 and (_cap(words[m]) or words[m].lower() in TAIL_LOWER):
                    m += 1
                while m > k + 1 and words[m - 1].lower() in TAIL_LOWER:
                    m -= 1
                k, tail = m, True
            while k < n and words[k].lower().strip(".") in ROMAN and words[k][:1].isupper():
                k += 1
            if low in gz.WEAK_HEADS and j == i and not tail:
                i = k
                continue
            phrase = " ".join(words[j:k]).strip(" .-'")
            if phrase and len(phrase) > 2:
                out.append(phrase)
            i = k
    return out


def _titles_named(work: list[dict[str, Any]], lines: list[str]) -> None:
    """Roles the CV names outside dated entries (header, objective, experience prose): position-only entries."""
    known = {tx.norm_key(w.get("position", "")) for w in work}
    for line in lines[:400]:
        phrases = title_phrases(line)
        if not phrases:
            continue
        line_key = tx.norm_key(line)
        # the position an entry already took from this very line covers a bare head noun inside it
        taken = [set(k.split()) for k in known if k and k in line_key]
        for phrase in phrases:
            key = tx.norm_key(phrase)
            if len(work) >= 30 or key in known or (" " not in key and any(key in t for t in taken)):
                continue
            known.add(key)
            work.append(_mention(phrase))


def _mention(title: str) -> dict[str, Any]:
    """A job title the CV names without showing it was held: kept for title search and fit, marked as a mention."""
    return {"name": "", "position": title, "startDate": "", "highlights": [], "summary": "", MENTION_KEY: MENTIONED}
