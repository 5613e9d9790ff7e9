"""A cover letter grounded in the CV and the job: only employers, degrees and skills the CV shows."""

from __future__ import annotations

import re
from typing import Any

from core.local import text as tx
from core.local.matcher import _as_job, cv_skills
from core.local.render import held_roles
from core.local.vocab.stopwords import STOPWORDS_OTHER_LANGUAGES

_ACHIEVEMENT = re.compile(
    r"\d|%|\b(?:increased|reduced|improved|led|launched|built|delivered|saved|grew|won|created|designed|"
    r"implemented|managed|achieved|cut|automated|developed)\b",
    re.I,
)


_LETTERS = re.compile(r"[^\W\d_]+")
_ENGLISH_FUNCTION = frozenset("the and of to with for in on by from as at an a".split())
#: Function words of the other languages the app reads that English never uses.
_FOREIGN_FUNCTION = STOPWORDS_OTHER_LANGUAGES - tx.STOPWORDS - {"plus", "son", "die", "den", "e", "o", "um", "ma"}


def _foreign_share(text: str) -> tuple[int, int]:
    """(English, foreign) function words in text."""
    words = _LETTERS.findall(text.lower())
    return sum(w in _ENGLISH_FUNCTION for w in words), sum(w in _FOREIGN_FUNCTION for w in words)


def _is_foreign(text: str) -> bool:
    """A phrase in another language ('Automatización de informes con SQL'): never quoted in an English letter."""
    english, foreign = _foreign_share(text)
    return foreign > english or (foreign > 0 and any(ord(c) > 127 for c in text))


def _achievement(cv: dict[str, Any], english: bool = False) -> str:
    """The CV's most concrete bullet: numbers and outcome verbs first (in English for an English letter)."""
    best, best_score = "", 0
    for w in held_roles(cv):
        for h in w.get("highlights") or []:
            h = str(h).strip()
            if not 5 <= len(h.split()) <= 45 or (english and _is_foreign(h)):
                continue
            score = len(_ACHIEVEMENT.findall(h)) + 2 * bool(re.search(r"\d", h))
            if score > best_score:
                best, best_score = h, score
    return best.rstrip(".")


#: The tones the app offers (core.ai_service.TONES); each writes a visibly different letter.
TONES = ("formal", "friendly", "enthusiastic", "concise")
_TONE_ALIASES = {"warm": "friendly"}


def tone_of(tone: object) -> str:
    """A tone name from a plain string or an enum member ('Friendly', Tone.FRIENDLY, 'warm'); unknown → formal."""
    raw = getattr(tone, "value", tone)
    key = str(raw or "").strip().lower()
    key = _TONE_ALIASES.get(key, key)
    return key if key in TONES else "formal"


def _lower_first(text: str) -> str:
    """'Led a team' → 'led a team', but 'SQL tuning' stays."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def cover_letter(
    cv: dict[str, Any],
    job: str | dict[str, Any],
    *,
    company: str | None = None,
    role: str | None = None,
    tone: object = "formal",
    length: str = "medium",
) -> str:
    """Write the letter. tone: one of TONES ('warm' = friendly; an enum works too); length: short, medium or long."""
    cv = cv if isinstance(cv, dict) else {}
    analysed, _text = _as_job(job)
    basics = cv.get("basics") or {}
    name = str(basics.get("name") or "").strip()
    role = (role or analysed.get("title") or "the advertised role").strip()
    company = (company or analysed.get("company") or "").strip()
    have = cv_skills(cv)
    wanted = [str(s) for s in (analysed.get("required_skills") or []) + (analysed.get("preferred_skills") or [])]
    matched = [s for s in wanted if tx.norm_key(s) in have][:4]
    fits = bool(matched)  # never claim a match the CV does not show
    if not matched:
        matched = [have[k] for k in list(have)[:3]]
    # only jobs held: a title named in an objective ('seeking a position as …') is never claimed as a role
    work = [w for w in held_roles(cv) if w.get("position") or w.get("name")]
    current = work[0] if work else {}
    edu: dict[str, Any] = next((e for e in cv.get("education") or [] if e.get("studyType") or e.get("institution")), {})
    english_job, foreign_job = _foreign_share(_text[:5000])
    english = english_job >= foreign_job  # an English ad gets an English letter: no quoted foreign fragments
    achievement = _achievement(cv, english)
    at = f" at {company}" if company else ""
    tone = tone_of(tone)
    length = length if length in ("short", "medium", "long") else "medium"

    greeting = {
        "formal": "Dear Hiring Manager,",
        "friendly": "Hello,",
        "enthusiastic": f"Dear Hiring Team at {company}," if company else "Dear Hiring Team,",
        "concise": "Dear Hiring Manager,",
    }[tone]
    opening = {
        "formal": f"I am writing to apply for the position of {role}{at}.",
        "friendly": f"I was glad to see the {role} opening{at}, and I would love to be considered.",
        "enthusiastic": f"I was thrilled to see the {role} opening{at}: it is exactly the role I have been aiming for!",
        "concise": f"I am applying for the {role} role{at}.",
    }[tone]
    paras = [opening]
    if current:
        pos, org = str(current.get("position") or "").strip(), str(current.get("name") or "").strip()
        pos = "" if english and _is_foreign(pos) else pos
        where = f"as {pos}" if pos else "in my current role"
        where += f" at {org}" if org else ""
        paras[0] += f" I bring experience {where.rstrip('.')}."
    if matched:
        skill_text = ", ".join(matched[:-1]) + (f" and {matched[-1]}" if len(matched) > 1 else matched[0])
        fit = "matches what the role asks for, in particular" if fits else "includes"
        paras.append(
            {
                "formal": f"My background {fit} {skill_text}.",
                "friendly": f"What I enjoy most is my work with {skill_text}"
                + (", and it fits what your team needs." if fits else "."),
                "enthusiastic": f"I love working with {skill_text}"
                + (", and I am excited that it is just what your team is looking for!" if fits else "!"),
                "concise": f"{'Relevant' if fits else 'Key'} skills: {skill_text}.",
            }[tone]
        )
    if achievement and length != "short":
        paras.append(
            {
                "formal": f"One example from my experience: {_lower_first(achievement)}.",
                "friendly": f"One thing I am proud of: {_lower_first(achievement)}.",
                "enthusiastic": f"One achievement I am especially proud of: {_lower_first(achievement)}!",
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
        "friendly": "I would be happy to talk about how I could help. Thank you for reading!",
        "enthusiastic": "I can't wait to bring this energy to your team, and I would love to talk soon. Thank you!",
        "concise": "I would welcome a conversation. Thank you.",
    }[tone]
    paras.append(closing)
    sign = {
        "formal": "Yours sincerely,",
        "friendly": "Best wishes,",
        "enthusiastic": "With enthusiasm,",
        "concise": "Regards,",
    }[tone]
    body = "\n\n".join(paras)
    return f"{greeting}\n\n{body}\n\n{sign}\n{name}".rstrip() + "\n"
