"""A cover letter grounded in the CV and the job: only employers, degrees and skills the CV shows."""

from __future__ import annotations

import re
from typing import Any

from core.local import text as tx
from core.local.matcher import _as_job, cv_skills
from core.local.render import held_roles

_ACHIEVEMENT = re.compile(
    r"\d|%|\b(?:increased|reduced|improved|led|launched|built|delivered|saved|grew|won|created|designed|"
    r"implemented|managed|achieved|cut|automated|developed)\b",
    re.I,
)


def _achievement(cv: dict[str, Any]) -> str:
    """The CV's most concrete bullet: numbers and outcome verbs first."""
    best, best_score = "", 0
    for w in held_roles(cv):
        for h in w.get("highlights") or []:
            h = str(h).strip()
            if not 5 <= len(h.split()) <= 45:
                continue
            score = len(_ACHIEVEMENT.findall(h)) + 2 * bool(re.search(r"\d", h))
            if score > best_score:
                best, best_score = h, score
    return best.rstrip(".")


def _lower_first(text: str) -> str:
    """'Led a team' → 'led a team', but 'SQL tuning' stays."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def cover_letter(
    cv: dict[str, Any],
    job: str | dict[str, Any],
    *,
    company: str | None = None,
    role: str | None = None,
    tone: str = "formal",
    length: str = "medium",
) -> str:
    """Write the letter. tone: formal | warm | concise; length: short | medium | long."""
    cv = cv if isinstance(cv, dict) else {}
    analysed, _text = _as_job(job)
    basics = cv.get("basics") or {}
    name = str(basics.get("name") or "").strip()
    role = (role or analysed.get("title") or "the advertised role").strip()
    company = (company or analysed.get("company") or "").strip()
    have = cv_skills(cv)
    wanted = [str(s) for s in (analysed.get("required_skills") or []) + (analysed.get("preferred_skills") or [])]
    matched = [s for s in wanted if tx.norm_key(s) in have][:4]
    if not matched:
        matched = [have[k] for k in list(have)[:3]]
    # only jobs held: a title named in an objective ('seeking a position as …') is never claimed as a role
    work = [w for w in held_roles(cv) if w.get("position") or w.get("name")]
    current = work[0] if work else {}
    edu = next((e for e in cv.get("education") or [] if e.get("studyType") or e.get("institution")), {})
    achievement = _achievement(cv)
    at = f" at {company}" if company else ""
    tone = tone if tone in ("formal", "warm", "concise") else "formal"
    length = length if length in ("short", "medium", "long") else "medium"

    greeting = {"formal": "Dear Hiring Manager,", "warm": "Hello,", "concise": "Dear Hiring Manager,"}[tone]
    opening = {
        "formal": f"I am writing to apply for the position of {role}{at}.",
        "warm": f"I was glad to see the {role} opening{at}, and I would love to be considered.",
        "concise": f"I am applying for the {role} role{at}.",
    }[tone]
    paras = [opening]
    if current:
        pos, org = str(current.get("position") or "").strip(), str(current.get("name") or "").strip()
        where = f"as {pos}" if pos else "in my current role"
        where += f" at {org}" if org else ""
        paras[0] += f" I bring experience {where}."
    if matched:
        skill_text = ", ".join(matched[:-1]) + (f" and {matched[-1]}" if len(matched) > 1 else matched[0])
        paras.append(
            {
                "formal": f"My background matches what the role asks for, in particular {skill_text}.",
                "warm": f"What excites me is how well my work with {skill_text} fits what your team needs.",
                "concise": f"Relevant skills: {skill_text}.",
            }[tone]
        )
    if achievement and length != "short":
        paras.append(
            {
                "formal": f"One example from my experience: {_lower_first(achievement)}.",
                "warm": f"One thing I am proud of: {_lower_first(achievement)}.",
                "concise": f"Example: {achievement}.",
            }[tone]
        )
    if length == "long":
        if edu:
            degree = " in ".join(x for x in (str(edu.get("studyType") or ""), str(edu.get("area") or "")) if x)
            inst = str(edu.get("institution") or "")
            school = ", ".join(x for x in (degree, inst) if x)
            paras.append(f"My education ({school}) gave me a solid grounding for this work.")
        if len(work) > 1:
            orgs = [str(w.get("name")) for w in work[1:3] if w.get("name")]
            if orgs:
                paras.append(f"Earlier roles at {' and '.join(orgs)} broadened that experience.")
    closing = {
        "formal": "I would welcome the opportunity to discuss how I can contribute. Thank you for your consideration.",
        "warm": "I would be happy to talk about how I could help. Thank you for reading!",
        "concise": "I would welcome a conversation. Thank you.",
    }[tone]
    paras.append(closing)
    sign = {"formal": "Yours sincerely,", "warm": "Best wishes,", "concise": "Regards,"}[tone]
    body = "\n\n".join(paras)
    return f"{greeting}\n\n{body}\n\n{sign}\n{name}".rstrip() + "\n"
