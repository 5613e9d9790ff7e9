"""Grounding: an employer, school, degree or skill in generated output must come from the CV.

LLMs invent, and a job seeker asked about an invented employer in an interview is the one who pays. After tailoring,
entries the CV does not support are removed; in free text (summaries, letters) they are flagged for the user.
Each finding is a dict: {"kind": employer|school|degree|skill, "value", "action": removed|flagged, "where"}.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from core.local.skills import vocabulary

_ORG_SUFFIXES = {
    "inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "corp", "corporation", "co", "company", "gmbh", "ag",
    "sa", "sas", "bv", "nv", "oy", "ab", "as", "pty", "srl", "spa", "kk", "the", "group", "holdings",
}  # fmt: skip
_ORG_WORDS = (
    "University|College|Institute|School|Academy|Polytechnic|Inc|Ltd|LLC|Corp|Corporation|GmbH|Technologies|"
    "Technology|Labs|Systems|Solutions|Group|Bank|Consulting|Software|Partners|Hospital"
)
_DEGREE_LEVELS: tuple[tuple[str, str], ...] = (
    ("doctor", r"ph\.?\s?d|d\.?\s?phil|doctor(?:ate)?|ed\.?d"),
    ("mba", r"m\.?b\.?a"),
    ("master", r"master'?s?|m\.?sc|m\.?s|m\.?a|m\.?eng|m\.?phil|m\.?res|meng|llm"),
    ("bachelor", r"bachelor'?s?|b\.?sc|b\.?s|b\.?a|b\.?eng|beng|b\.?tech|llb|bcom"),
    ("associate", r"associate'?s?|a\.?a\.?s"),
    ("diploma", r"diploma|hnd|certificate of higher education"),
)
_DEGREE_RE = re.compile(
    r"\b(" + "|".join(pattern for _, pattern in _DEGREE_LEVELS) + r")(?![a-z])", re.IGNORECASE
)  # fmt: skip
_NOT_ORGS = {
    "i", "the", "a", "an", "my", "your", "our", "this", "that", "dear", "sincerely", "regards", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "present", "hiring", "manager", "team",
}  # fmt: skip
_CAP = r"[A-Z](?:[\w&'-]|\.(?=\w))*"
_AT_ORG = re.compile(rf"\b(?i:at|joined|with|for|from|by)\s+((?:{_CAP})(?:\s+(?:{_CAP}|&|of|and|de))*)")
_BOILERPLATE = re.compile(r"\b(?:hiring|recruiting|recruitment) (?:manager|team|committee)s?\b", re.IGNORECASE)
_SUFFIXED_ORG = re.compile(rf"((?:{_CAP}\s+){{0,4}}(?:{_ORG_WORDS})\b(?:\s+of(?:\s+{_CAP}){{1,3}})?)")


def norm(text: str) -> str:
    """Lower-case words only, accents folded: 'Acme, Inc.' → 'acme inc'."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9+#]+", folded.lower()))


def org_key(name: str) -> str:
    """An organisation name without legal suffixes: 'The Acme Corp.' → 'acme'."""
    words = [w for w in norm(name).split() if w not in _ORG_SUFFIXES]
    return " ".join(words)


def degree_level(text: str) -> str | None:
    """'MSc', 'Master of Science' → 'master'; None when no degree is named."""
    match = _DEGREE_RE.search(text or "")
    if not match:
        return None
    found = match.group(1)
    for level, pattern in _DEGREE_LEVELS:
        if re.fullmatch(pattern, found, re.IGNORECASE):
            return level
    return None


@dataclass
class Facts:
    """What the CV supports: its employers, schools, degree levels and skills, and its full text."""

    text: str
    employers: set[str] = field(default_factory=set)
    schools: set[str] = field(default_factory=set)
    degrees: set[str] = field(default_factory=set)
    skills: set[str] = field(default_factory=set)

    def has_org(self, name: str, extra: str = "") -> bool:
        key = org_key(name)
        if not key:
            return True
        known = self.employers | self.schools
        if any(key == k or _contains(k, key) or _contains(key, k) for k in known if k):
            return True
        return _contains(self.text, key) or bool(extra and _contains(norm(extra), key))

    def has_skill(self, name: str) -> bool:
        canonical = vocabulary().canonical(name) or name
        if norm(canonical) in self.skills or norm(name) in self.skills:
            return True
        return _contains(self.text, norm(name))


def _contains(haystack: str, needle: str) -> bool:
    """Whole-word containment of normalised text."""
    return bool(needle) and f" {needle} " in f" {haystack} "


def _resume_text(resume: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in (resume or {}).items() if k != "meta"}, ensure_ascii=False)


def cv_facts(cv: dict[str, Any] | None, cv_text: str = "") -> Facts:
    """Collect what the CV (parsed and raw text) says about the candidate."""
    cv = cv or {}
    raw = f"{_resume_text(cv)}\n{cv_text or ''}"
    facts = Facts(text=norm(raw))
    for job in cv.get("work") or []:
        if isinstance(job, dict) and job.get("name"):
            facts.employers.add(org_key(str(job["name"])))
    for school in cv.get("education") or []:
        if not isinstance(school, dict):
            continue
        if school.get("institution"):
            facts.schools.add(org_key(str(school["institution"])))
        level = degree_level(f"{school.get('studyType', '')} {school.get('area', '')}")
        if level:
            facts.degrees.add(level)
    for match in _DEGREE_RE.finditer(raw):
        level = degree_level(match.group(1))
        if level:
            facts.degrees.add(level)
    for group in cv.get("skills") or []:
        if isinstance(group, dict):
            for keyword in group.get("keywords") or []:
                facts.skills.add(norm(str(vocabulary().canonical(str(keyword)) or keyword)))
                facts.skills.add(norm(str(keyword)))
    for name in vocabulary().names(raw, include_generic=True):
        facts.skills.add(norm(name))
    return facts


def ground_resume(
    tailored: dict[str, Any], source: dict[str, Any], cv_text: str = "", job_description: str = ""
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A copy of `tailored` without the employers, schools, degrees and skills that `source` does not support,
    plus the findings. Invented skills in summaries and highlights are flagged, not rewritten.
    A job's employer, position and dates are facts: a tailored job keeps the CV's own, and a job of the CV the
    tailoring left out is put back (in the CV's order). A summary copied from `job_description` (the ad, not the
    candidate) is replaced by the CV's own."""
    facts = cv_facts(source, cv_text)
    out = copy.deepcopy(tailored or {})
    findings: list[dict[str, str]] = []
    owner = norm(str((source.get("basics") or {}).get("name") or ""))

    kept_work = []
    for i, job in enumerate(out.get("work") or []):
        name = str((job or {}).get("name", ""))
        if not name.strip() and not str((job or {}).get("position") or "").strip():
            continue  # no employer and no position: nothing of a job
        if name and (not facts.has_org(name) or (owner and norm(name) == owner)):
            findings.append(_finding("employer", name, "removed", f"work[{i}]"))
            continue
        kept_work.append(job)
    if "work" in out:
        out["work"] = _facts_of_jobs(kept_work, source, findings)
    summary = str((out.get("basics") or {}).get("summary") or "")
    if summary and job_description and _copies(summary, job_description, cv_text or _resume_text(source)):
        own = str((source.get("basics") or {}).get("summary") or "")
        out["basics"] = {**out["basics"], "summary": own}
        findings.append({**_finding("summary", summary, "replaced", "summary"), "by": own})

    source_schools = {org_key(str(e.get("institution", ""))): e for e in source.get("education") or [] if e}
    kept_education = []
    for i, school in enumerate(out.get("education") or []):
        name = str((school or {}).get("institution", ""))
        if name and not facts.has_org(name):
            findings.append(_finding("school", name, "removed", f"education[{i}]"))
            continue
        degree = f"{school.get('studyType', '')} {school.get('area', '')}".strip()
        level = degree_level(degree)
        if level and level not in facts.degrees:
            findings.append(_finding("degree", degree, "removed", f"education[{i}]"))
            original = source_schools.get(org_key(name), {})
            school = {**school, "studyType": original.get("studyType", ""), "area": original.get("area", "")}
        kept_education.append(school)
    if "education" in out:
        out["education"] = kept_education
    _restore_section(out, source, "education", findings)

    kept_groups = []
    for group in out.get("skills") or []:
        if not isinstance(group, dict):
            continue
        keywords = []
        for keyword in group.get("keywords") or []:
            if facts.has_skill(str(keyword)) and norm(str(keyword)) not in _heading_keys():
                keywords.append(keyword)
            else:
                findings.append(_finding("skill", str(keyword), "removed", "skills"))
        group_name = str(group.get("name", ""))
        if not keywords and group_name and vocabulary().canonical(group_name) and not facts.has_skill(group_name):
            findings.append(_finding("skill", group_name, "removed", "skills"))
            continue
        kept_groups.append({**group, "keywords": keywords})
    if "skills" in out:
        out["skills"] = kept_groups
    _restore_section(out, source, "skills", findings)
    own_summary = str((source.get("basics") or {}).get("summary") or "")
    if own_summary and not str((out.get("basics") or {}).get("summary") or "").strip():
        out["basics"] = {**(out.get("basics") or {}), "summary": own_summary}
        findings.append(_finding("summary", own_summary, "restored", "summary"))

    basics = out.get("basics") or {}
    findings += check_text(str(basics.get("summary", "")), facts, where="summary", check_orgs=False)
    for i, job in enumerate(out.get("work") or []):
        prose = " ".join([str(job.get("summary", "")), *map(str, job.get("highlights") or [])])
        findings += check_text(prose, facts, where=f"work[{i}]", check_orgs=False)
    return out, _dedupe(findings)


def check_text(
    text: str,
    facts: Facts,
    *,
    where: str = "text",
    allowed: str = "",
    check_orgs: bool = True,
) -> list[dict[str, str]]:
    """Flag employers/schools, degrees and skills named in free text that the CV does not support.
    `allowed` is other legitimate text (the job description, the target company), whose names may appear."""
    findings: list[dict[str, str]] = []
    if not text:
        return findings
    allowed_norm = norm(allowed)
    for name in vocabulary().names(_BOILERPLATE.sub(" ", text)):
        if not facts.has_skill(name):
            findings.append(_finding("skill", name, "flagged", where))
    for match in _DEGREE_RE.finditer(text):
        level = degree_level(match.group(1))
        if level and level not in facts.degrees:
            findings.append(_finding("degree", match.group(1), "flagged", where))
    if check_orgs:
        for name in _org_mentions(text):
            if not facts.has_org(name) and not _contains(allowed_norm, org_key(name)):
                kind = "school" if re.search(r"University|College|Institute|School|Academy", name) else "employer"
                findings.append(_finding(kind, name, "flagged", where))
    return _dedupe(findings)


def check_letter(
    letter: str,
    cv: dict[str, Any] | None,
    *,
    cv_text: str = "",
    job_description: str = "",
    extra: str = "",
    target_names: list[str] | None = None,
) -> list[dict[str, str]]:
    """Findings for a cover letter or e-mail: what it claims that the CV does not show. `target_names` (the job
    title, company, role) are where the letter is going, not claims: words inside them are not checked."""
    for name in sorted({n.strip() for n in target_names or [] if n and n.strip()}, key=len, reverse=True):
        letter = re.sub(re.escape(name), " ", letter, flags=re.IGNORECASE)
    return check_text(letter, cv_facts(cv, cv_text), where="letter", allowed=f"{job_description}\n{extra}")


def _org_mentions(text: str) -> list[str]:
    text = _BOILERPLATE.sub(" ", text)
    names: dict[str, None] = {}
    vocab = vocabulary()
    for regex in (_AT_ORG, _SUFFIXED_ORG):
        for match in regex.finditer(text):
            words = match.group(1).split()
            while words and (words[0].lower() in _NOT_ORGS or words[0].lower() == "at"):
                words = words[1:]
            for cut, word in enumerate(words[1:], start=1):
                if word.lower() in _NOT_ORGS:
                    words = words[:cut]
                    break
            while words and words[-1].lower() in {"of", "and", "de", "&"}:
                words = words[:-1]
            name = " ".join(words)
            if not name or vocab.canonical(name) or name.lower() in _NOT_ORGS:
                continue
            names.setdefault(name, None)
    return list(names)


def _finding(kind: str, value: str, action: str, where: str) -> dict[str, str]:
    return {"kind": kind, "value": value, "action": action, "where": where}


def _dedupe(findings: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for f in findings:
        key = (f["kind"], norm(f["value"]), f["action"])
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def describe(findings: list[dict[str, str]]) -> list[str]:
    """One readable line per finding, for the page."""
    verbs = {"removed": "removed", "flagged": "check this"}
    lines = []
    for f in findings:
        kind = f["kind"].capitalize()
        if f["action"] == "restored" and f["kind"] in ("education", "skills", "summary"):
            lines.append(f"{kind} left out by the tailoring, put back from your CV")
        elif f["action"] == "restored":
            lines.append(f"{kind} left out by the tailoring, put back from your CV: {f['value']}")
        elif f["action"] == "replaced" and f["kind"] == "summary":
            lines.append("Summary copied from the job ad, not about you: your CV's own summary was kept")
        elif f["action"] == "replaced":
            lines.append(
                f"{kind} changed by the tailoring ({f['value'] or 'none'}), kept as in your CV: {f['by'] or 'none'}"
            )
        else:
            lines.append(f"{kind} not in your CV: {f['value']} ({verbs.get(f['action'], f['action'])})")
    return lines


_JOB_FACTS = (("position", "position"), ("startDate", "date"), ("endDate", "date"))
_PRESENT = {"present", "current", "now", "today", "heute", "actualidad", "actual"}


def _facts_of_jobs(
    jobs: list[dict[str, Any]], source: dict[str, Any], findings: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Tailored jobs with the CV's own position and dates, and the CV's jobs the tailoring dropped put back."""
    own = [j for j in source.get("work") or [] if isinstance(j, dict) and j.get("name")]
    if not own:
        return jobs
    matched: dict[int, dict[str, Any]] = {}
    result = []
    for i, job in enumerate(jobs):
        key = org_key(str((job or {}).get("name") or ""))
        at = next((n for n, o in enumerate(own) if n not in matched and key and _same_org(key, o["name"])), None)
        if at is None and key:  # an employer the CV does not have ("Mentor", "BLS": words of the CV, not employers)
            findings.append(_finding("employer", str(job["name"]), "removed", f"work[{i}]"))
            continue
        if at is not None:
            job = dict(job)
            for field_name, kind in _JOB_FACTS:
                theirs, mine = str(job.get(field_name) or "").strip(), str(own[at].get(field_name) or "").strip()
                if _fact(theirs) != _fact(mine):
                    findings.append({**_finding(kind, theirs, "replaced", f"work[{i}]"), "by": mine})
                    job[field_name] = own[at].get(field_name, "")
            matched[at] = job
        result.append(job)
    if len(matched) == len(own):
        return result
    for n, job in enumerate(own):
        if n not in matched:
            findings.append(_finding("employer", str(job["name"]), "restored", f"work[{n}]"))
    extra = [job for job in result if not any(job is m for m in matched.values())]
    return [matched.get(n, copy.deepcopy(own[n])) for n in range(len(own))] + extra


def _restore_section(out: dict[str, Any], source: dict[str, Any], section: str, findings: list[dict[str, str]]) -> None:
    """A section of the CV (education, skills) the tailoring left empty or out is put back as the CV has it."""
    entries = [
        e for e in out.get(section) or [] if isinstance(e, dict) and any(v for k, v in e.items() if k != "level")
    ]
    if entries or not source.get(section):
        return
    out[section] = copy.deepcopy(source[section])
    findings.append(_finding(section, "", "restored", section))


def _same_org(key: str, name: Any) -> bool:
    other = org_key(str(name))
    return bool(other) and (key == other or _contains(other, key) or _contains(key, other))


def _fact(value: str) -> str:
    key = norm(value)
    return "" if key in _PRESENT else key


def _copies(text: str, source: str, allowed: str, run: int = 8) -> bool:
    """`text` has a run of `run` words from `source` that `allowed` (the CV) does not have."""
    words, theirs, ours = norm(text).split(), f" {norm(source)} ", f" {norm(allowed)} "
    for i in range(len(words) - run + 1):
        piece = " " + " ".join(words[i : i + run]) + " "
        if piece in theirs and piece not in ours:
            return True
    return False


# --- parsed values from an LLM must be found in the CV text ------------------------------------------------------

_BASICS_CHECKED = ("name", "label", "email", "phone", "url")
_FIELD_LABELS = {
    "name": "Name", "label": "Headline", "email": "E-mail", "phone": "Phone", "url": "Website", "city": "City",
    "employer": "Employer", "position": "Position", "school": "School", "degree": "Degree", "area": "Field of study",
    "date": "Date", "skill": "Skill", "highlight": "Highlight", "work": "Experience", "education": "Education",
    "skills": "Skills", "summary": "Summary",
}  # fmt: skip
_SECTIONS = ("work", "education", "skills")
_MONTHS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip


def _squash(text: str, *, case: bool = False) -> str:
    """Whitespace collapsed (line breaks included); case folded unless `case`."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()
    return text if case else text.casefold()


class SourceText:
    """The CV text, prepared once for the fuzzy look-ups grounding makes."""

    def __init__(self, text: str) -> None:
        self.raw = text or ""
        self.squashed = _squash(self.raw)
        self.words = norm(self.raw)
        self.digits = re.sub(r"\D", "", self.raw)
        self.years = set(re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", self.raw))
        self.months = _months_by_year(self.raw)

    def has(self, value: str, *, case: bool = False, fuzzy: bool = True) -> bool:
        """`value` is written in the CV: exactly (whitespace aside), or, when `fuzzy`, as the same words with
        punctuation aside ("Acme Corp." / "Acme Corp"), or nearly so (one slip in ten characters). With `case`
        (names), as whole words with the CV's own capitals (see `_written_as`)."""
        value = (value or "").strip()
        if not value:
            return True
        if case:
            return _written_as(value, self.raw)
        if _within(_squash(value), self.squashed):
            return True
        if not fuzzy:
            return False
        words = norm(value)
        if words and _contains(self.words, words):
            return True
        return _near(words, self.words)

    def has_phone(self, phone: str) -> bool:
        digits = re.sub(r"\D", "", phone or "")
        return not digits or (len(digits) >= 6 and digits[-9:] in self.digits)

    def has_date(self, date: str) -> bool:
        """A date the model normalised ("2020-01" for "Jan 2020"): its year must be in the CV."""
        text = (date or "").strip()
        if not text or text.casefold() in {"present", "current", "now", "today"}:
            return True
        years = re.findall(r"(?:19|20)\d\d", text)
        if not years or not all(y in self.years for y in years):
            return False
        # "2018-04-30" for a CV's "Jun 2018": the year is there, the month is made up
        numeric = re.fullmatch(r"((?:19|20)\d\d)-(\d\d)(?:-\d\d)?", text)
        if numeric and self.months.get(numeric.group(1)):
            return int(numeric.group(2)) in self.months[numeric.group(1)]
        return True


_MONTH_NAMES = {
    1: "jan january januar jänner ene enero janv janvier", 2: "feb february februar febrero fév févr février",
    3: "mar march märz maerz mrz marzo mars", 4: "apr april abr abril avr avril", 5: "may mai mayo",
    6: "jun june juni junio juin", 7: "jul july juli julio juil juillet", 8: "aug august ago agosto août",
    9: "sep sept september septiembre setiembre septembre", 10: "oct october okt oktober octubre octobre",
    11: "nov november noviembre novembre", 12: "dec december dez dezember dic diciembre déc décembre",
}  # fmt: skip
_MONTH_OF = {name: month for month, names in _MONTH_NAMES.items() for name in names.split()}
_MONTH_WORD = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _MONTH_OF), key=len, reverse=True)) + r")\.?\s*,?\s*((?:19|20)\d\d)(?!\d)",
    re.IGNORECASE,
)
_MONTH_NUMBER = re.compile(
    r"(?<![\d.])(0?[1-9]|1[0-2])\s*[/.]\s*((?:19|20)\d\d)(?!\d)|((?:19|20)\d\d)-(0[1-9]|1[0-2])\b"
)


def _months_by_year(raw: str) -> dict[str, set[int]]:
    """The months the CV names, by year: "Jan 2021", "März 2020", "03/2021", "2021-03" → {"2021": {1, 3}, …}."""
    out: dict[str, set[int]] = {}
    for match in _MONTH_WORD.finditer(raw):
        out.setdefault(match.group(2), set()).add(_MONTH_OF[match.group(1).casefold()])
    for match in _MONTH_NUMBER.finditer(raw):
        if match.group(1):
            out.setdefault(match.group(2), set()).add(int(match.group(1)))
        else:
            out.setdefault(match.group(3), set()).add(int(match.group(4)))
    return out


def _within(needle: str, haystack: str) -> bool:
    """`needle` in `haystack`, not as part of a longer word: "skill" is not in "skills", "Java" not in "JavaScript"."""
    if needle not in haystack:
        return False
    head = r"(?<!\w)" if needle[:1].isalnum() else ""
    tail = r"(?!\w)" if needle[-1:].isalnum() else ""
    return re.search(head + re.escape(needle) + tail, haystack) is not None


def _written_as(value: str, raw: str) -> bool:
    """A name as the CV writes it: its words in order, separated by spaces (or ", " / ". " for initials), with the
    same capitals, or title-cased from a CV that writes it in capitals. So "oliver-hartley" (a slug) and "jane.doe"
    (from the e-mail) are not "Oliver Hartley" / "Jane Doe"."""
    words = re.findall(r"[^\W\d_]+", value)
    if not words:
        return True
    pattern = r"(?<![\w@.\-/])" + r"[.,]?\s+".join(map(re.escape, words)) + r"(?![\w@\-/])"
    if re.search(pattern, raw):
        return True
    for match in re.finditer(pattern, raw, re.IGNORECASE):
        if match.group(0).isupper() and all(w[:1].isupper() for w in words):
            return True
    return False


def _slip(a: str, b: str) -> bool:
    """The same word, or one with a slip: ≥ 85 % alike, or one letter changed ("dey"/"day"; not "php"/"python")."""
    import difflib

    if a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.85:
        return True
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _near(words: str, haystack: str) -> bool:
    """A fuzzy find: some window of `haystack` of the same word count is ≥ 90 % similar to `words`, word for word
    (≥ 85 % each): a slip in a word, not another word ("fünf Jahren Erfahrung in PHP" is not "… in Python")."""
    import difflib

    if len(words) < 6:
        return False
    target = words.split()
    hay = haystack.split()
    n = len(target)
    first = {target[0][:3], target[-1][:3]}
    for i in range(0, max(0, len(hay) - n) + 1):
        if hay[i][:3] not in first and hay[i + n - 1][:3] not in first:
            continue
        window = " ".join(hay[i : i + n])
        if difflib.SequenceMatcher(None, words, window).ratio() >= 0.9 and all(
            _slip(a, b) for a, b in zip(target, hay[i : i + n], strict=True)
        ):
            return True
    return False


def _ground_finding(kind: str, value: str, action: str, where: str, by: str = "", why: str = "") -> dict[str, str]:
    finding = _finding(kind, value, action, where)
    if by:
        finding["by"] = by
    if why and why != _NOT_IN_CV:
        finding["why"] = why
    return finding


_NOT_IN_CV = "is not in your CV"
#: The words of the JSON shape the parse prompt shows ("employer", "field of study", …): handed back, not values.
_SHAPE_WORDS = frozenset({"employer", "field of study", "degree", "group", "yyyy mm", "yyyy mm or", "school", "skill",
                          "name", "position", "institution", "keyword", "keywords"})  # fmt: skip


@functools.cache
def _heading_keys() -> frozenset[str]:
    from core.local.vocab.headings import HEADINGS

    return frozenset(norm(h) for names in HEADINGS.values() for h in names)


class _Checker:
    """Why a parsed value should not be kept, or "" when it may: it must be in the CV text, and be a value of its
    kind there, not a heading, a word of the requested shape, a degree given as the employer, or the CV's own
    employer, job title or name given as a skill."""

    def __init__(self, src: SourceText, offline: dict[str, Any]) -> None:
        self.src = src
        self.facts = cv_facts(None, src.raw)
        basics = offline.get("basics") or {}
        own = [str(basics.get("name") or ""), str(basics.get("label") or "")]
        for job in offline.get("work") or []:
            if isinstance(job, dict):
                own += [str(job.get("name") or ""), str(job.get("position") or "")]
        for school in offline.get("education") or []:
            if isinstance(school, dict):
                own.append(str(school.get("institution") or ""))
        self.not_skills = {k for v in own for k in (norm(v), org_key(v)) if k}
        self.owner = norm(str(basics.get("name") or ""))
        # the CV's entries: its lines cut at the separators CVs put between employer, title, place and dates
        pieces = re.split(r"\n|,|\||•|·|;|\s[-–—@]\s|:\s", src.raw)
        self.entries = {norm(p) for p in pieces if norm(p)} | {norm(re.sub(r"\(.*", "", p)) for p in pieces}

    def why_not(self, value: str, kind: str, *, vocabulary_only: bool = False) -> str:
        if not value:
            return ""
        key = norm(value)
        if key in _SHAPE_WORDS:
            return "is a word of the requested answer's shape, not a value from your CV"
        if key in _heading_keys():
            return "is a heading of your CV, not a value"
        if kind == "skill":
            if key in self.not_skills or org_key(value) in self.not_skills:
                return "is an employer, job title or name in your CV, not a skill"
            if vocabulary_only:
                known = bool(vocabulary().canonical(value)) and self.facts.has_skill(value)
                return "" if known else "is not a skill in your CV"
            return "" if self.src.has(value) or self.facts.has_skill(value) else _NOT_IN_CV
        if kind != "email" and "@" in value:
            return "is an e-mail address, not a value of this kind"
        if kind in ("employer", "school", "position") and self.owner and key == self.owner:
            return f"is your name, not {'a' if kind == 'position' else 'an' if kind == 'employer' else 'a'} {kind}"
        if kind == "employer" and _names_degree(value):
            return "is a degree, not an employer"
        if kind in ("employer", "school", "position") and not self.src.has(value):
            return _NOT_IN_CV
        if kind in ("employer", "school", "position") and len(key.split()) >= 5 and key not in self.entries:
            return "is pieced together from your CV's text, not one of its entries"
        if kind in ("degree", "area"):
            return "" if self.src.has(value) or _degree_in(value, self.src) else _NOT_IN_CV
        return "" if self.src.has(value) else _NOT_IN_CV


def _names_degree(value: str) -> bool:
    """A degree written out ("BSc", "Bachelor", "PhD"; not a two-letter "BA", which is also a company)."""
    return any(len(re.sub(r"\W", "", m.group(1))) >= 3 for m in _DEGREE_RE.finditer(value))


def ground_parsed(
    parsed: dict[str, Any], offline: dict[str, Any], cv_text: str
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """An LLM's parse of `cv_text`, keeping only values found in the text (fuzzily). A value that is not there is
    replaced by the offline parser's (`offline`) when that one is, else dropped; an empty basics field the offline
    parser filled is filled. Findings have action "replaced" (with "by"), "dropped", or "added" (a skill of the CV
    the model left out while keeping clearly fewer than the offline parser found, see `_skills_missed`)."""
    src = SourceText(cv_text)
    out = copy.deepcopy(parsed or {})
    findings: list[dict[str, str]] = []
    basics = dict(out.get("basics") or {})
    own = offline.get("basics") or {}

    def check_basic(key: str, value: str) -> bool:
        if key == "phone":
            return src.has_phone(value)
        if key == "email":
            return src.has(value, fuzzy=False)
        return src.has(value, case=key == "name")

    for key in _BASICS_CHECKED:
        value = str(basics.get(key) or "").strip()
        fallback = str(own.get(key) or "").strip()
        if value and check_basic(key, value):
            continue
        if fallback and check_basic(key, fallback):
            basics[key] = fallback
            findings.append(_ground_finding(key, value, "replaced", "basics", fallback))
        elif value:
            basics[key] = ""
            findings.append(_ground_finding(key, value, "dropped", "basics"))
    summary, own_summary = str(basics.get("summary") or "").strip(), str(own.get("summary") or "").strip()
    if summary and not (src.has(summary) or _mostly_in(summary, src)):
        basics["summary"] = own_summary
        findings.append(_ground_finding("summary", summary, "replaced" if own_summary else "dropped", "basics",
                                        own_summary))  # fmt: skip
    elif not summary and own_summary:
        basics["summary"] = own_summary  # the CV's own words, as the offline parser read them
    location = dict(basics.get("location") or {}) if isinstance(basics.get("location"), dict) else {}
    city = str(location.get("city") or "")
    if city and not src.has(city):
        fallback = str((own.get("location") or {}).get("city") or "")
        location["city"] = fallback if fallback and src.has(fallback) else ""
        findings.append(_ground_finding("city", city, "replaced" if location["city"] else "dropped", "basics",
                                        location["city"]))  # fmt: skip
        basics["location"] = location
    out["basics"] = basics

    check = _Checker(src, offline)
    kept_work: list[dict[str, Any]] = []
    seen_jobs: set[tuple[str, ...]] = set()
    for i, job in enumerate(out.get("work") or []):
        if not isinstance(job, dict):
            continue
        job = dict(job)
        where = f"work[{i}]"
        name, position = str(job.get("name") or "").strip(), str(job.get("position") or "").strip()
        if not name and not position:  # the shape handed back with dates filled in: no job at all
            continue
        name_why, position_why = check.why_not(name, "employer"), check.why_not(position, "position")
        if (name_why or not name) and (position_why or not position):  # nothing of the job is left
            findings.append(
                _ground_finding("employer", name or position, "dropped", where, why=name_why or position_why)
            )
            continue
        if name_why:
            findings.append(_ground_finding("employer", name, "dropped", where, why=name_why))
            job["name"] = ""
        if position_why:
            findings.append(_ground_finding("position", position, "dropped", where, why=position_why))
            job["position"] = ""
        _ground_dates(job, src, findings, where)
        highlights = []
        for line in job.get("highlights") or []:
            if not str(line).strip():
                continue
            if src.has(str(line)) or _mostly_in(str(line), src):
                highlights.append(line)
            else:
                findings.append(_ground_finding("highlight", str(line), "dropped", where))
        job["highlights"] = highlights
        job_key = tuple(norm(str(job.get(k) or "")) for k in ("name", "position", "startDate", "endDate"))
        if job_key in seen_jobs:  # the same job twice: a small model looping
            continue
        seen_jobs.add(job_key)
        kept_work.append(job)
    if not _complete(kept_work, "name", "position") and _complete(offline.get("work") or [], "name", "position"):
        kept_work = copy.deepcopy(offline["work"])
        findings[:] = _without_details(findings, "work[")
        findings.append(_ground_finding("work", "", "replaced", "work", _OFFLINE))
    if "work" in out or kept_work:
        out["work"] = kept_work

    kept_schools = []
    for i, school in enumerate(out.get("education") or []):
        if not isinstance(school, dict):
            continue
        school = dict(school)
        where = f"education[{i}]"
        for key, kind in (("institution", "school"), ("studyType", "degree"), ("area", "area")):
            value = str(school.get(key) or "").strip()
            why = check.why_not(value, kind)
            if why:
                findings.append(_ground_finding(kind, value, "dropped", where, why=why))
                school[key] = ""
        if any(str(school.get(f) or "") for f in ("institution", "studyType", "area")):
            _ground_dates(school, src, findings, where)
            kept_schools.append(school)
    complete_schools = _complete(kept_schools, "institution", "studyType") + _complete(
        kept_schools, "institution", "area"
    )
    if not complete_schools and offline.get("education"):
        kept_schools = copy.deepcopy(offline["education"])
        findings[:] = _without_details(findings, "education[")
        findings.append(_ground_finding("education", "", "replaced", "education", _OFFLINE))
    if "education" in out or kept_schools:
        out["education"] = kept_schools

    kept_groups = []
    for group in out.get("skills") or []:
        if not isinstance(group, dict):
            continue
        keywords = []
        for keyword in _split_list(group.get("keywords") or []):
            value = str(keyword).strip()
            why = check.why_not(value, "skill") if value else ""
            if why:
                findings.append(_ground_finding("skill", value, "dropped", "skills", why=why))
            elif value:
                keywords.append(keyword)
        name = str(group.get("name") or "").strip()
        sentence = len(name.split()) > 3 and not vocabulary().canonical(name)  # not a category
        if keywords and name and (sentence or norm(name) in check.not_skills or "@" in name):  # or the owner's name
            findings.append(_ground_finding("skill", name, "dropped", "skills", why="is not a skill group"))
            group, name = {**group, "name": ""}, ""
        if not keywords and not name:
            continue
        # a group with no keywords is kept only when its name is itself a skill of the CV
        why = check.why_not(name, "skill") if keywords else check.why_not(name, "skill", vocabulary_only=True)
        if not keywords and why:
            findings.append(_ground_finding("skill", name, "dropped", "skills", why=why))
            continue
        kept_groups.append({**group, "keywords": keywords})
    if not kept_groups and offline.get("skills"):
        kept_groups = copy.deepcopy(offline["skills"])
        findings.append(_ground_finding("skills", "", "replaced", "skills", _OFFLINE))
    else:
        kept_groups += _skills_missed(kept_groups, offline, check, findings)
    out["skills"] = kept_groups
    return out, findings


def _skill_key(value: str) -> str:
    """A skill's key after alias folding: "JS" and "JavaScript", "Postgres" and "PostgreSQL" are one skill."""
    return norm(str(vocabulary().canonical(value) or value))


def _skill_keys(groups: list[Any]) -> dict[str, str]:
    """Skill key → the skill as written, over the groups' keywords and names, in order; the name of a group with
    keywords counts only when it is itself a skill ("Languages", "Finance" are categories)."""
    out: dict[str, str] = {}
    for group in groups:
        if not isinstance(group, dict):
            continue
        name, keywords = group.get("name"), list(group.get("keywords") or [])
        named = not keywords or bool(vocabulary().canonical(str(name or "")))
        for value in [name, *keywords] if named else keywords:
            text = str(value or "").strip()
            if text and _skill_key(text):
                out.setdefault(_skill_key(text), text)
    return out


def _skills_missed(
    kept: list[dict[str, Any]], offline: dict[str, Any], check: _Checker, findings: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """The offline parser's skills an LLM left out, when it kept clearly fewer (under three quarters, two or more
    missing): a small model often lists the first few of a long skills line. Each is in the CV text and is a skill
    there (the same check as the model's own); each is named in the findings as "added"."""
    theirs = _skill_keys(kept)
    ours = _skill_keys(offline.get("skills") or [])
    missed = [(key, value) for key, value in ours.items() if key not in theirs and not check.why_not(value, "skill")]
    if len(missed) < 2 or len(theirs) * 4 >= len(ours) * 3:
        return []
    added = []
    for _, value in missed:
        findings.append(_ground_finding("skill", value, "added", "skills", _OFFLINE))
        added.append({"name": value, "level": "", "keywords": []})
    return added


_OFFLINE = "the offline parser's"


def _without_details(findings: list[dict[str, str]], where: str) -> list[dict[str, str]]:
    """The findings less the dates and highlights of a section that is replaced as a whole (they no longer apply)."""
    return [f for f in findings if not (f["where"].startswith(where) and f["kind"] in ("date", "highlight"))]


def _split_list(keywords: list[Any]) -> list[Any]:
    """Keywords with "Python, Go, Redis" (one string, as a small model writes a CV's skills line) split up."""
    out: list[Any] = []
    for keyword in keywords:
        text = str(keyword)
        out += [p.strip() for p in text.split(",") if p.strip()] if "," in text else [keyword]
    return out


def _complete(entries: list[Any], *keys: str) -> list[dict[str, Any]]:
    """The entries with every one of `keys` filled: a job with an employer and a position, a school with a degree."""
    return [e for e in entries if isinstance(e, dict) and all(str(e.get(k) or "").strip() for k in keys)]


def _ground_dates(entry: dict[str, Any], src: SourceText, findings: list[dict[str, str]], where: str) -> None:
    for key in ("startDate", "endDate"):
        value = str(entry.get(key) or "")
        if value and not src.has_date(value):
            findings.append(_ground_finding("date", value, "dropped", where))
            entry[key] = ""


def _mostly_in(line: str, src: SourceText) -> bool:
    words = [w for w in norm(line).split() if len(w) > 2]
    return bool(words) and sum(1 for w in words if _contains(src.words, w)) >= 0.8 * len(words)


def _degree_in(value: str, src: SourceText) -> bool:
    level = degree_level(value)
    return bool(level) and any(degree_level(m.group(1)) == level for m in _DEGREE_RE.finditer(src.raw))


def describe_parsed(findings: list[dict[str, str]]) -> list[str]:
    """What the user should know about a grounded parse, one line per value."""
    lines = []
    added = [f["value"] for f in findings if f["action"] == "added"]
    if added:
        lines.append(
            f"Skills: the model listed fewer skills than your CV has; added {len(added)} read from your CV offline: "
            + ", ".join(added)
            + "."
        )
    for f in findings:
        if f["action"] == "added":
            continue
        label = _FIELD_LABELS.get(f["kind"], f["kind"].capitalize())
        value = f"“{f['value']}”" if f["value"] else "(empty)"
        if f.get("why"):
            lines.append(f"{label}: the model's {value} {f['why']}, so it was left out.")
        elif f["kind"] in _SECTIONS:
            lines.append(
                f"{label}: the model gave none that is in your CV; used the entries read from your CV offline."
            )
        elif f["action"] == "replaced" and not f["value"]:
            lines.append(f"{label}: the model left it empty; used “{f.get('by', '')}” from your CV.")
        elif f["action"] == "replaced":
            lines.append(f"{label}: the model's {value} is not in your CV; used “{f.get('by', '')}” from your CV.")
        else:
            lines.append(f"{label}: the model's {value} is not in your CV, so it was left out.")
    return lines


# --- generated text (letters, summaries, e-mails) must be text, in the job's language, for this job ---------------

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and of to in for with a is that on as i am my your you have be at this are we our".split()),
    "de": frozenset("der die das und ist ich mit für nicht ein eine zu von auf den im sie wir bei als auch".split()),
    "es": frozenset("el la los las y de que en un una por con para es su mi me se del al como más lo".split()),
    "fr": frozenset("le la les et de des que un une pour dans est je vous avec mon ma sur du au en ne pas".split()),
    "pt": frozenset("o a os as e de que em um uma para com por é do da no na eu meu minha não se ao".split()),
}  # fmt: skip


_STOP_WEIGHT: dict[str, float] = {
    word: 1 / sum(1 for stops in _STOPWORDS.values() if word in stops)
    for stops in _STOPWORDS.values()
    for word in stops
}


def language_of(text: str) -> str | None:
    """'en', 'de', 'es', 'fr' or 'pt' by stop-word counts; None when the text is too short or unclear to say."""
    words = re.findall(r"[^\W\d_]+", (text or "").casefold())
    if len(words) < 12:
        return None
    # a word several languages share ("de", "en", "a") counts as a fraction: it says little about which one it is
    scores = {lang: sum(_STOP_WEIGHT.get(w, 0.0) for w in words if w in stops) for lang, stops in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] < 3 or ranked[0] < 1.5 * ranked[1]:
        return None
    return best


_ECHO_MARKERS = re.compile(
    r"<\s*/?\s*(?:cv|job_description|job|text|reply|system)\s*>|\{\s*\"(?:basics|work|skills|resume|matches)\"|"
    r"^\s*(?:\{\s*(?:\"|$)|\[\s*[{\"\[]|\[\s*$)|```|\bDATA_RULE\b|\bCV Copilot\b|Text inside <cv>|<<[^<>\n]*>>|"
    r"Your previous answer was rejected",
    re.IGNORECASE | re.MULTILINE,
)
# "[Your Name]", "[Company Name]", "[Fecha]", "{{company}}": a template handed back unfilled (small models do this).
_PLACEHOLDER = re.compile(
    r"\[[^\[\]\n]{0,30}\b(?:name|company|position|role|title|date|address|e-?mail|phone|number|recipient|manager|"
    r"employer|job|city|website|contact|signature|nombre|empresa|puesto|fecha|firma|unternehmen|datum|stelle|"
    r"anrede)\b[^\[\]\n]{0,30}\](?!\()|\{\{\s*\w+\s*\}\}",
    re.IGNORECASE,
)
_LANGUAGE_NAMES = {"en": "English", "de": "German", "es": "Spanish", "fr": "French", "pt": "Portuguese"}


def text_problems(
    text: str,
    *,
    prompt: str = "",
    job_description: str = "",
    company: str | None = None,
    role: str | None = None,
    kind: str = "letter",
) -> list[str]:
    """Why generated text is not what was asked for (empty when it is fine):
    it echoes the prompt or JSON/markup; it repeats itself; it is a template with unfilled placeholders; it is not
    in the job's language; a summary names nothing from its text; a letter or e-mail names neither the company nor
    the role (when either is known)."""
    problems: list[str] = []
    body = (text or "").strip()
    if not body:
        return ["it is empty"]
    if _ECHO_MARKERS.search(body) or _echoes(body, prompt):
        problems.append("it echoes the prompt or JSON/markup instead of being a " + kind)
    if _repeats(body):
        problems.append("it repeats itself")
    placeholder = _PLACEHOLDER.search(body)
    if placeholder:
        problems.append(f"it has unfilled placeholders such as “{placeholder.group(0)}”")
    want = language_of(job_description) if job_description else None
    got = language_of(body)
    if want and got and want != got:
        source = "the text" if kind == "summary" else "the job"
        problems.append(f"it is in {_LANGUAGE_NAMES[got]}, but {source} is in {_LANGUAGE_NAMES[want]}")
    if kind == "summary" and job_description and not _shares_content(body, job_description):
        problems.append("it says nothing from the text it summarises")
    targets = [t for t in (company or "", role or "") if t and t.strip()]
    if targets and kind in ("letter", "e-mail"):
        said = norm(body)
        if not any(_names(target, said) for target in targets):
            problems.append(f"it names neither {' nor '.join(f'“{t}”' for t in targets)}")
    return problems


def _names(target: str, said: str) -> bool:
    key = org_key(target) or norm(target)
    if key and _contains(said, key):
        return True
    words = [w for w in norm(target).split() if len(w) > 3]
    return bool(words) and sum(1 for w in words if _contains(said, w)) >= max(1, (len(words) + 1) // 2)


def _echoes(body: str, prompt: str) -> bool:
    """A long run of the prompt's own instructions (outside the CV and job) copied into the answer."""
    if not prompt:
        return False
    instructions = re.sub(r"<(cv|job_description|job|text)[^>]*>.*?</\1>", " ", prompt, flags=re.DOTALL)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?:])\s+", instructions) if len(s.strip()) > 40]
    squashed = _squash(body)
    return any(_squash(s)[:60] in squashed for s in sentences)


def _content_words(text: str) -> set[str]:
    stops = set().union(*_STOPWORDS.values())
    return {w for w in norm(text).split() if len(w) > 3 and w not in stops and not w.isdigit()}


def _shares_content(summary: str, source: str, least: int = 2) -> bool:
    """A summary names at least `least` of the source's own words (names, places, skills, figures); one that
    describes "the document" or the request in general words names none."""
    return len(_content_words(summary) & _content_words(source)) >= least


def _repeats(text: str) -> bool:
    """The same sentence or line (six words or more) twice, or short lines over and over (a quarter of the lines,
    three or more of them, are repeats): a small model looping, not a letter or summary."""
    seen: set[str] = set()
    for piece in re.split(r"(?<=[.!?])\s+|\n+", text):
        words = norm(piece).split()
        if len(words) < 6:
            continue
        key = " ".join(words)
        if key in seen:
            return True
        seen.add(key)
    lines = [norm(line) for line in text.splitlines() if len(norm(line).split()) >= 2]
    repeats = len(lines) - len(set(lines))
    return repeats >= 3 and repeats >= len(lines) / 4
