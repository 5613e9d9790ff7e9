"""Grounding: an employer, school, degree or skill in generated output must come from the CV.

LLMs invent, and a job seeker asked about an invented employer in an interview is the one who pays. After tailoring,
entries the CV does not support are removed; in free text (summaries, letters) they are flagged for the user.
Each finding is a dict: {"kind": employer|school|degree|skill, "value", "action": removed|flagged, "where"}.
"""

from __future__ import annotations

import copy
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
    tailored: dict[str, Any], source: dict[str, Any], cv_text: str = ""
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A copy of `tailored` without the employers, schools, degrees and skills that `source` does not support,
    plus the findings. Invented skills in summaries and highlights are flagged, not rewritten."""
    facts = cv_facts(source, cv_text)
    out = copy.deepcopy(tailored or {})
    findings: list[dict[str, str]] = []

    kept_work = []
    for i, job in enumerate(out.get("work") or []):
        name = str((job or {}).get("name", ""))
        if name and not facts.has_org(name):
            findings.append(_finding("employer", name, "removed", f"work[{i}]"))
            continue
        kept_work.append(job)
    if "work" in out:
        out["work"] = kept_work

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

    kept_groups = []
    for group in out.get("skills") or []:
        if not isinstance(group, dict):
            continue
        keywords = []
        for keyword in group.get("keywords") or []:
            if facts.has_skill(str(keyword)):
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
    return [
        f"{f['kind'].capitalize()} not in your CV: {f['value']} ({verbs.get(f['action'], f['action'])})"
        for f in findings
    ]
