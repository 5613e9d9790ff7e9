"""The offline CV engine: parsing, job analysis, matching, tailoring and writing, in plain Python.

It needs no key and no network, is deterministic, and is the `local` provider's whole implementation.
"""

from __future__ import annotations

import json
from typing import Any

from core.local.job import analyze_job
from core.local.letter import cover_letter
from core.local.matcher import WEIGHTS, match, match_jobs
from core.local.parser import ParseReport, parse_cv, parse_cv_report
from core.local.render import resume_to_markdown
from core.local.summary import draft_email, summarize
from core.local.tailor import tailor

__all__ = [
    "WEIGHTS",
    "ParseReport",
    "analyze_job",
    "cover_letter",
    "draft_email",
    "match",
    "match_jobs",
    "parse_cv",
    "parse_cv_report",
    "respond",
    "resume_to_markdown",
    "summarize",
    "tailor",
]


def _cv_from(payload: dict[str, Any], prompt: str) -> dict[str, Any]:
    cv = payload.get("cv")
    if isinstance(cv, dict):
        return cv
    text = payload.get("cv_text")
    return parse_cv(text if isinstance(text, str) and text.strip() else prompt)


def _job_from(payload: dict[str, Any], prompt: str) -> str:
    job = payload.get("job_description")
    return job if isinstance(job, str) and job.strip() else prompt


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def respond(task_type: str, prompt: str, payload: dict[str, Any] | None = None) -> str:
    """Answer any task offline: JSON text for structured tasks, plain text for writing tasks. Never raises."""
    task = str(getattr(task_type, "value", task_type) or "").lower()
    prompt = prompt if isinstance(prompt, str) else ""
    data = payload if isinstance(payload, dict) else {}
    try:
        return _respond(task, prompt, data)
    except Exception as exc:  # noqa: BLE001 - the last-resort provider must always answer
        return json.dumps({"error": f"offline engine failed: {type(exc).__name__}", "task": task})


def _respond(task: str, prompt: str, data: dict[str, Any]) -> str:
    if task == "cv_parsing":
        text = data.get("cv_text")
        return json.dumps(parse_cv(text if isinstance(text, str) and text.strip() else prompt), ensure_ascii=False)
    if task == "job_analysis":
        return json.dumps(analyze_job(_job_from(data, prompt)), ensure_ascii=False)
    if task == "job_matching":
        cv = _cv_from(data, "" if data.get("job_description") is None and data.get("jobs") else prompt)
        jobs = data.get("jobs")
        if isinstance(jobs, list):
            return json.dumps({"results": match_jobs(cv, [str(j) for j in jobs])}, ensure_ascii=False)
        return json.dumps(match(cv, _job_from(data, prompt)), ensure_ascii=False)
    if task == "cv_tailoring":
        return json.dumps(tailor(_cv_from(data, prompt), _job_from(data, prompt)), ensure_ascii=False)
    if task == "cover_letter":
        return cover_letter(
            _cv_from(data, prompt),
            _job_from(data, prompt),
            company=_str_or_none(data.get("company")),
            role=_str_or_none(data.get("role")),
            tone=str(data.get("tone") or "formal"),
            length=str(data.get("length") or "medium"),
        )
    if task == "email_drafting":
        email_cv = _cv_from(data, "") if (data.get("cv") or data.get("cv_text")) else None
        job = _str_or_none(data.get("job_description"))
        text = draft_email(
            email_cv,
            job,
            purpose=str(data.get("purpose") or "application"),
            company=_str_or_none(data.get("company")),
            recipient=_str_or_none(data.get("recipient")),
        )
        if not email_cv and not job and prompt.strip():
            gist = summarize(prompt, 2)
            text = text.replace("Best regards,", f"Regarding: {gist}\n\nBest regards,") if gist else text
        return text
    # fast_summary and anything unknown: summarise the text given
    source = _str_or_none(data.get("text")) or _str_or_none(data.get("cv_text")) or _job_from(data, prompt)
    return summarize(source, int(data.get("max_sentences") or 3))
