"""CV vs job: a 0-100 score from readable parts (skills, text similarity, title, experience), and ranking.

Weights (sum 100): skills 50, similarity 25, title 15, experience 10. Skills: required skills count twice as much as
preferred ones. Similarity: BM25 of the job's words against the CV, normalised by the job's self-score. Title: role
families first (core.local.titles: "Staff Nurse" ~ "RN", "Bookkeeper" ~ "Accounts Assistant"), word overlap for titles
the vocabulary does not know, against the CV's positions and label. Experience: CV years vs the years the job asks for.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from core.local import text as tx
from core.local import titles as role_titles
from core.local.job import analyze_job
from core.local.skills import vocabulary

WEIGHTS = {"skills": 50, "similarity": 25, "title": 15, "experience": 10}
_K1, _B = 1.2, 0.75


@dataclass
class CVProfile:
    """Everything about one CV that matching needs, computed once and reused for every job."""

    skills: dict[str, str]  # normalised key → display name
    terms: Counter[str]
    length: int
    titles: list[role_titles.Title]
    years: float
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def cv_text(cv: dict[str, Any]) -> str:
    """All the words of a JSON Resume, for similarity and skill lookup."""
    basics = cv.get("basics") or {}
    parts = [str(basics.get("label") or ""), str(basics.get("summary") or "")]
    for w in cv.get("work") or []:
        parts += [str(w.get("position") or ""), str(w.get("name") or ""), str(w.get("summary") or "")]
        parts += [str(h) for h in w.get("highlights") or []]
    for e in cv.get("education") or []:
        parts += [str(e.get("studyType") or ""), str(e.get("area") or ""), str(e.get("institution") or "")]
    for s in cv.get("skills") or []:
        parts += [str(s.get("name") or ""), *[str(k) for k in s.get("keywords") or []]]
    for p in cv.get("projects") or []:
        parts += [
            str(p.get("name") or ""),
            str(p.get("description") or ""),
            *[str(h) for h in p.get("highlights") or []],
        ]
    for c in cv.get("certificates") or []:
        parts.append(str(c.get("name") or ""))
    return "\n".join(p for p in parts if p)


def cv_skills(cv: dict[str, Any], text: str | None = None) -> dict[str, str]:
    """The CV's skills: listed ones plus vocabulary skills found in its text, keyed by normalised canonical name."""
    vocab = vocabulary()
    out: dict[str, str] = {}
    for s in cv.get("skills") or []:
        for item in [s.get("name") or "", *(s.get("keywords") or [])]:
            name = vocab.canonical(str(item)) or str(item).strip()
            if name:
                out.setdefault(tx.norm_key(name), name)
    for name in vocab.names(text if text is not None else cv_text(cv), include_generic=True):
        out.setdefault(tx.norm_key(name), name)
    return out


def cv_years(cv: dict[str, Any]) -> float:
    """Total years of work, overlapping jobs counted once."""
    spans: list[tuple[float, float]] = []
    for w in cv.get("work") or []:
        start = str(w.get("startDate") or "")
        if not re.match(r"\d{4}", start):
            continue
        end = str(w.get("endDate") or "")
        length = tx.years_between(start, end)
        s = int(start[:4]) + (int(start[5:7]) - 1) / 12 if len(start) >= 7 else int(start[:4])
        spans.append((s, s + length))
    spans.sort()
    total, cur_s, cur_e = 0.0, None, None
    for s, e in spans:
        if cur_e is None or s > cur_e:
            if cur_e is not None and cur_s is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None and cur_s is not None:
        total += cur_e - cur_s
    return round(total, 1)


def profile(cv: dict[str, Any]) -> CVProfile:
    text = cv_text(cv)
    terms = Counter(tx.words(text))
    basics = cv.get("basics") or {}
    held = [str(w.get("position") or "") for w in cv.get("work") or []] + [str(basics.get("label") or "")]
    titles = [role_titles.analyse(t) for t in held if t.strip()]
    return CVProfile(
        skills=cv_skills(cv, text),
        terms=terms,
        length=sum(terms.values()),
        titles=[t for t in titles if t.words or t.families],
        years=cv_years(cv),
        text=text,
    )


def _bm25(cv: CVProfile, job_terms: Counter[str], avg_len: float = 400.0) -> float:
    """BM25 of the job's distinct words against the CV, divided by the best score a CV could get (0..1)."""
    if not job_terms or not cv.length:
        return 0.0
    score = best = 0.0
    norm = _K1 * (1 - _B + _B * cv.length / avg_len)
    for term, qtf in job_terms.items():
        weight = 1.0 + math.log1p(qtf)
        tf = cv.terms.get(term, 0)
        score += weight * tf * (_K1 + 1) / (tf + norm) if tf else 0.0
        best += weight * 3 * (_K1 + 1) / (3 + norm)
    return min(1.0, score / best) if best else 0.0


def _as_job(job: str | dict[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(job, dict):
        text = str(job.get("text") or job.get("description") or "")
        analysed = job if "required_skills" in job else analyze_job(text)
        return analysed, text or " ".join(map(str, analysed.get("keywords") or []))
    text = job if isinstance(job, str) else ""
    return analyze_job(text), text


def match(cv: dict[str, Any], job: str | dict[str, Any]) -> dict[str, Any]:
    """Score one CV against one job; never raises."""
    try:
        return _match(profile(cv if isinstance(cv, dict) else {}), *_as_job(job))
    except Exception as exc:  # noqa: BLE001 - scoring must never take a page down
        return {
            "score": 0,
            "parts": dict.fromkeys(WEIGHTS, 0),
            "matched_skills": [],
            "missing_skills": [],
            "explanation": f"The match could not be computed ({type(exc).__name__}).",
        }


def match_jobs(cv: dict[str, Any], jobs: list[str]) -> list[dict[str, Any]]:
    """Rank many job descriptions for one CV, best first; the CV is analysed once."""
    prof = profile(cv if isinstance(cv, dict) else {})
    out = []
    for index, job in enumerate(jobs or []):
        try:
            analysed, text = _as_job(job)
            result = _match(prof, analysed, text)
        except Exception:  # noqa: BLE001 - one bad ad must not sink the ranking
            analysed, result = {"title": ""}, {"score": 0, "parts": dict.fromkeys(WEIGHTS, 0), "explanation": ""}
        result["index"] = index
        result["title"] = analysed.get("title") or ""
        out.append(result)
    out.sort(key=lambda r: (-r["score"], r["index"]))
    return out


def _match(cv: CVProfile, job: dict[str, Any], text: str) -> dict[str, Any]:
    required = [str(s) for s in job.get("required_skills") or []]
    preferred = [str(s) for s in job.get("preferred_skills") or []]
    have = cv.skills
    req_hit = [s for s in required if tx.norm_key(s) in have]
    pref_hit = [s for s in preferred if tx.norm_key(s) in have]
    total_w = 2 * len(required) + len(preferred)
    job_terms = tx.word_counts(text)
    similarity = _bm25(cv, job_terms)
    # no known skills in the ad: fall back to its words
    skills = (2 * len(req_hit) + len(pref_hit)) / total_w if total_w else similarity
    title_part = _title_fit(cv, str(job.get("title") or ""))
    exp_part = _experience_fit(cv.years, job.get("years_experience"))
    parts = {
        "skills": round(100 * skills),
        "similarity": round(100 * similarity),
        "title": round(100 * title_part),
        "experience": round(100 * exp_part),
    }
    score = round(sum(parts[k] * w for k, w in WEIGHTS.items()) / 100)
    missing = [s for s in required if s not in req_hit] + [s for s in preferred if s not in pref_hit]
    matched = req_hit + pref_hit
    return {
        "score": max(0, min(100, score)),
        "parts": parts,
        "matched_skills": matched,
        "missing_skills": missing,
        "explanation": _explain(parts, matched, missing, required, req_hit, cv.years, job),
    }


def _title_fit(cv: CVProfile, title: str) -> float:
    want = role_titles.analyse(title)
    if not (want.words or want.families):
        return 0.5
    return max((role_titles.similarity(want, have) for have in cv.titles), default=0.0)


def _experience_fit(years: float, wanted: Any) -> float:
    if not isinstance(wanted, int) or wanted <= 0:
        return 1.0 if years else 0.5
    return min(1.0, years / wanted)


def _explain(
    parts: dict[str, int],
    matched: list[str],
    missing: list[str],
    required: list[str],
    req_hit: list[str],
    years: float,
    job: dict[str, Any],
) -> str:
    bits = []
    if required:
        bits.append(f"The CV covers {len(req_hit)} of {len(required)} required skills")
    elif matched:
        bits.append(f"The CV shows {len(matched)} of the skills the job mentions")
    else:
        bits.append("The job names no skills the CV shows")
    if matched:
        bits[-1] += f" ({', '.join(matched[:5])})"
    if missing:
        bits.append(f"missing: {', '.join(missing[:5])}")
    wanted = job.get("years_experience")
    if isinstance(wanted, int):
        bits.append(f"it asks for {wanted}+ years and the CV shows about {years:g}")
    bits.append(f"text similarity {parts['similarity']}/100, title fit {parts['title']}/100")
    return "; ".join(bits) + "."
