"""Extractive summaries and template e-mails, for FAST_SUMMARY and EMAIL_DRAFTING."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from core.local import text as tx
from core.local.matcher import _as_job, cv_skills


def summarize(text: str, max_sentences: int = 3) -> str:
    """The max_sentences most central sentences, in their original order (word-frequency scoring)."""
    if not isinstance(text, str) or not text.strip():
        return ""
    sents = [s for s in tx.sentences(text[: tx.MAX_CHARS]) if len(s.split()) >= 3][:2000]
    if not sents:
        return tx.squash(text)[:300]
    freq = Counter(tx.words(" ".join(sents)))
    top = max(freq.values()) if freq else 1

    def score(s: str) -> float:
        ws = tx.words(s)
        return sum(freq[w] / top for w in ws) / math.sqrt(len(ws) + 1) if ws else 0.0

    n = max(1, int(max_sentences or 1))
    ranked = sorted(range(len(sents)), key=lambda i: (-score(sents[i]), i))[:n]
    return " ".join(sents[i] for i in sorted(ranked))


def draft_email(
    cv: dict[str, Any] | None,
    job: str | dict[str, Any] | None,
    *,
    purpose: str = "application",
    company: str | None = None,
    recipient: str | None = None,
) -> str:
    """A short e-mail from a template: application, follow_up, thank_you, networking or withdrawal."""
    cv = cv if isinstance(cv, dict) else {}
    analysed, _ = _as_job(job) if job else ({}, "")
    name = str((cv.get("basics") or {}).get("name") or "").strip()
    role = str(analysed.get("title") or "the open position")
    company = company or str(analysed.get("company") or "") or "your company"
    hello = f"Dear {recipient}," if recipient else "Dear Hiring Manager,"
    wanted = [str(s) for s in analysed.get("required_skills") or []]
    have = cv_skills(cv) if cv else {}
    matched = [s for s in wanted if tx.norm_key(s) in have][:3]
    skills = f" My experience with {', '.join(matched)} fits the role well." if matched else ""
    templates = {
        "application": (
            f"Application: {role}",
            f"I would like to apply for the {role} position at {company}.{skills} "
            "Please find my CV attached. I would welcome the chance to discuss it.",
        ),
        "follow_up": (
            f"Following up: {role} application",
            f"I applied for the {role} position at {company} and wanted to follow up. "
            "I remain very interested and would be glad to provide anything else you need.",
        ),
        "thank_you": (
            f"Thank you: {role} interview",
            f"Thank you for taking the time to talk with me about the {role} position at {company}. "
            f"I enjoyed learning more about the team.{skills}",
        ),
        "networking": (
            f"Introduction: interest in {company}",
            f"I am exploring opportunities at {company}, such as {role}, and would value a short conversation "
            "about your team.",
        ),
        "withdrawal": (
            f"Withdrawing my application: {role}",
            f"Thank you for considering me for the {role} position at {company}. "
            "I would like to withdraw my application; I appreciate your time.",
        ),
    }
    subject, body = templates.get(purpose, templates["application"])
    return f"Subject: {subject}\n\n{hello}\n\n{body}\n\nBest regards,\n{name}".rstrip() + "\n"
