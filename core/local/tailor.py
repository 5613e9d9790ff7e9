"""Tailor a CV to a job without inventing anything: reorder by relevance, adjust the summary, list what is missing."""

from __future__ import annotations

import copy
from typing import Any

from core.local import text as tx
from core.local.matcher import _as_job, cv_skills, cv_text
from core.local.render import is_mention, resume_to_markdown
from core.local.skills import vocabulary


def _relevance(text: str, keys: set[str], terms: set[str]) -> float:
    found = {tx.norm_key(n) for n in vocabulary().names(text, include_generic=True)}
    return 3 * len(found & keys) + len(set(tx.words(text)) & terms) * 0.2


def _supported_skills(cv: dict[str, Any]) -> dict[str, str]:
    """Skills the CV shows, not counting words of employers' and schools' names ('Contoso Retail Group' ≠ Retail)."""
    bare = copy.deepcopy(cv)
    for w in bare.get("work") or []:
        if isinstance(w, dict):
            w["name"] = ""
    for e in bare.get("education") or []:
        if isinstance(e, dict):
            e["institution"] = ""
    return cv_skills(bare, cv_text(bare))


def coverage(cv: dict[str, Any], keywords: list[str]) -> float:
    """Share of the job's keywords that appear in the CV (skills by alias, other words literally)."""
    if not keywords:
        return 0.0
    text = cv_text(cv)
    skills = cv_skills(cv, text)
    words = set(tx.words(text))
    hit = 0
    for kw in keywords:
        key = tx.norm_key(kw)
        if key in skills or all(w in words for w in tx.words(kw) or [key]):
            hit += 1
    return round(hit / len(keywords), 3)


def _newest_first(work: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Held jobs by date, newest first (current jobs first); the CV's order when a job has no start date."""
    if not all(str(w.get("startDate") or "")[:4].isdigit() for w in work):
        return work

    def key(w: dict[str, Any]) -> tuple[str, str]:
        end = str(w.get("endDate") or "9999")  # no end date: a current job
        return end, str(w.get("startDate") or "")

    return sorted(work, key=key, reverse=True)


def tailor(cv: dict[str, Any], job: str | dict[str, Any]) -> dict[str, Any]:
    """Reorder and refocus the CV for one job; every fact in the result comes from the CV."""
    cv = cv if isinstance(cv, dict) else {}
    analysed, text = _as_job(job)
    resume = copy.deepcopy(cv)
    resume.pop("meta", None)
    changes: list[str] = []
    wanted = [str(s) for s in (analysed.get("required_skills") or []) + (analysed.get("preferred_skills") or [])]
    keys = {tx.norm_key(s) for s in wanted}
    terms = set(tx.words(text))
    have = _supported_skills(cv)
    before = coverage(cv, analysed.get("keywords") or wanted)

    skills = resume.get("skills") or []
    for group in skills:
        kws = list(group.get("keywords") or [])
        ordered = sorted(kws, key=lambda k: -_relevance(str(k), keys, terms))
        if ordered != kws:
            group["keywords"] = ordered
    ranked = sorted(
        skills,
        key=lambda g: -_relevance(" ".join([str(g.get("name", "")), *map(str, g.get("keywords") or [])]), keys, terms),
    )
    if [id(g) for g in ranked] != [id(g) for g in skills]:
        changes.append("Moved the skills that the job asks for to the top of the skills section.")
    resume["skills"] = ranked

    # titles the CV only mentions are not jobs: they never lead and stay after the roles actually held
    entries = [w for w in resume.get("work") or [] if isinstance(w, dict)]
    work = [w for w in entries if not is_mention(w)]
    mentions = [w for w in entries if is_mention(w)]
    moved = 0
    for w in work:
        hl = list(w.get("highlights") or [])
        ordered = sorted(hl, key=lambda h: -_relevance(str(h), keys, terms))
        if ordered != hl:
            w["highlights"] = ordered
            moved += 1
    if moved:
        changes.append(f"Put the most relevant bullet points first in {moved} role(s).")
    # jobs stay newest first, as recruiters and applicant-tracking systems expect: only bullets and skills move
    work = _newest_first(work)
    resume["work"] = work + mentions

    matched = [s for s in wanted if tx.norm_key(s) in have]
    basics = resume.setdefault("basics", {})
    summary = str(basics.get("summary") or "")
    if matched:
        title = str(analysed.get("title") or "").strip()
        focus = ", ".join(matched[:5])
        lead_in = f"Experience relevant to {title}: {focus}." if title else f"Relevant strengths: {focus}."
        basics["summary"] = f"{lead_in} {summary}".strip()
        changes.append(f"Opened the summary with skills the CV shows and the job asks for ({focus}).")
    missing = [s for s in wanted if tx.norm_key(s) not in have]
    missing += [
        k
        for k in analysed.get("keywords") or []
        if tx.norm_key(k) not in have
        and k not in missing
        and not any(w in set(tx.words(cv_text(cv))) for w in tx.words(k))
    ]
    after = coverage(resume, analysed.get("keywords") or wanted)
    if not changes:
        changes.append("No changes were needed: the CV already reads in the job's order.")
    if after <= before:
        changes.append(
            "Keyword coverage is unchanged: reordering adds no new words. Add the missing keywords below"
            " where they are true of your experience."
        )
    return {
        "resume": resume,
        "markdown": resume_to_markdown(resume),
        "changes": changes,
        "coverage_before": before,
        "coverage_after": max(after, before),
        "missing_keywords": missing[:15],
    }
