"""The job seeker's operations (parse, tailor, cover letter, match…) on top of the model router.

Every method goes through the router, so it works on any provider and on no key at all (the offline engine).
LLM replies are validated; a broken structured reply gets one repair attempt, then the offline engine's result,
marked in meta["fallback"]. Tailored CVs and letters are grounded against the CV (core.grounding), and job-description
text is fenced as data in every prompt (core.prompts). Each result carries a "meta" dict (or `.meta`) saying which
provider and model produced it, with tokens, cost, latency, cache and fallback chain, so a page can show it.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from pydantic import BaseModel

from core import grounding, prompts
from core.base import AIResponse, CVCopilotError, InputError, TaskType
from core.tasks import TASKS

log = logging.getLogger("cv_copilot.ai_service")

MAX_CV_CHARS = 60_000
MAX_JOB_CHARS = 30_000
MAX_JOBS = 20
TONES = ("formal", "friendly", "enthusiastic", "concise")
LENGTHS = ("short", "medium", "long")

MAX_OUTPUT_TOKENS: dict[TaskType, int] = {task: s.max_output_tokens for task, s in TASKS.items()}
_CONTACT_FIELDS = ("name", "email", "phone", "url", "location", "profiles")
_NOT_JSON = "offline engine: the model's reply was not valid JSON"


class AIText(str):
    """Generated text that also carries where it came from: `.meta` (provider, model, tokens, cost, grounding…)."""

    meta: dict[str, Any]

    def __new__(cls, text: str, meta: dict[str, Any] | None = None) -> AIText:
        obj = super().__new__(cls, text)
        obj.meta = meta or {}
        return obj


class AIList(list):  # type: ignore[type-arg]
    """A list of result rows with the call's `.meta`."""

    meta: dict[str, Any]

    def __init__(self, rows: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> None:
        super().__init__(rows)
        self.meta = meta or {}


# --- metadata ----------------------------------------------------------------------------------------------------


def call_meta(response: AIResponse) -> dict[str, Any]:
    """What one router answer says about itself, as plain JSON-able values."""
    return {
        "task": response.task_type.value if response.task_type else "",
        "provider": response.provider,
        "model": response.model,
        "input_tokens": response.input_tokens,
        "output_tokens": response.output_tokens,
        "cost_usd": response.cost_usd,
        "latency_ms": round(response.latency_ms, 1),
        "cached": response.cached,
        "fallback_chain": list(response.fallback_chain),
        "tokens_estimated": response.tokens_estimated,
        "price_estimated": response.price_estimated,
    }


def combine(calls: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """One meta for an operation of several calls: the last names the provider; tokens, cost and time add up."""
    last = calls[-1]
    chain: list[str] = []
    for c in calls:
        chain += [p for p in c["fallback_chain"] if not chain or chain[-1] != p]
    meta = {
        **last,
        "input_tokens": sum(c["input_tokens"] for c in calls),
        "output_tokens": sum(c["output_tokens"] for c in calls),
        "cost_usd": sum(c["cost_usd"] for c in calls),
        "latency_ms": round(sum(c["latency_ms"] for c in calls), 1),
        "cached": all(c["cached"] for c in calls),
        "fallback_chain": chain,
        "calls": calls,
        "warnings": [],
    }
    meta.update(extra)
    return meta


# --- input checks ------------------------------------------------------------------------------------------------


def check_text(text: Any, what: str, *, max_chars: int) -> str:
    """Clean user text, or raise InputError saying what is wrong and what to do."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise InputError(f"The {what} must be text.")
    text = text.replace("\x00", "").replace("\r\n", "\n").strip()
    if not text:
        raise InputError(f"The {what} is empty. Paste its text or upload a PDF, DOCX or TXT file.")
    junk = sum(1 for ch in text if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\n\t\r\f"))
    if junk > max(3, len(text) // 50):
        raise InputError(
            f"The {what} looks like binary data, not text. Paste the text, or upload it as a PDF, DOCX or TXT file."
        )
    if not re.search(r"[^\W\d_]{2,}", text):
        raise InputError(f"The {what} has no words in it. Paste the text itself.")
    if len(text) > max_chars:
        raise InputError(
            f"The {what} is {len(text):,} characters long; the limit is {max_chars:,}. Remove what is not needed."
        )
    return text


def checked_jobs(jobs: str | Sequence[str]) -> list[str]:
    """The job descriptions to match: blanks dropped, at least one, at most MAX_JOBS, each a readable text."""
    kept = [jobs] if isinstance(jobs, str) else list(jobs)
    kept = [j for j in kept if isinstance(j, str) and j.strip()]
    if not kept:
        raise InputError("Add at least one job description.")
    if len(kept) > MAX_JOBS:
        raise InputError(f"{len(kept)} jobs is too many at once; match at most {MAX_JOBS}.")
    return [check_text(j, f"job description #{i}", max_chars=MAX_JOB_CHARS) for i, j in enumerate(kept, 1)]


# The (system, prompt) each operation sends, with its input checks: the service sends them, and the cost preview
# counts exactly them. Each raises InputError on input the service would refuse.


def parse_request(cv_text: str) -> tuple[str, str]:
    return prompts.cv_parsing(check_text(cv_text, "CV", max_chars=MAX_CV_CHARS))


def tailor_request(cv: dict[str, Any], job_description: str) -> tuple[str, str]:
    return prompts.cv_tailoring(cv, check_text(job_description, "job description", max_chars=MAX_JOB_CHARS))


def letter_request(
    cv: dict[str, Any],
    job_description: str,
    *,
    company: str | None,
    role: str | None,
    tone: str = "formal",
    length: str = "medium",
) -> tuple[str, str]:
    job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
    return prompts.cover_letter(cv, job, company=company, role=role, tone=tone, length=length)


def match_request(cv: dict[str, Any], jobs: str | Sequence[str]) -> tuple[str, str]:
    return prompts.job_matching(cv, checked_jobs(jobs))


def _check_cv(cv: Any) -> dict[str, Any]:
    if not isinstance(cv, dict) or not any(cv.get(k) for k in ("basics", "work", "education", "skills")):
        raise InputError("There is no CV yet. Parse or import a CV first.")
    return cv


def _injection_warning(job_texts: list[str]) -> list[str]:
    phrases: dict[str, None] = {}
    for text in job_texts:
        for phrase in prompts.find_injection(text):
            phrases.setdefault(phrase, None)
    if not phrases:
        return []
    quoted = ", ".join(f"“{p}”" for p in list(phrases)[:3])
    return [
        f"The job description contains text that reads like instructions to an AI ({quoted}); it was treated as data."
    ]


def _plain(text: str) -> str:
    """A model's text answer without Markdown fences or a leading 'Here is…' line."""
    text = (text or "").strip()
    fenced = re.fullmatch(r"```[a-zA-Z]*\n(.*?)\n?```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    return re.sub(r"^(?:sure[,!.]?\s*)?here(?:'s| is) (?:a|the|your) [^\n]{0,60}:\s*\n+", "", text, flags=re.I).strip()


def _cv_text_for(cv: dict[str, Any]) -> str:
    from core import local

    try:
        return local.resume_to_markdown(cv)
    except Exception:  # noqa: BLE001 - a best-effort rendering; JSON is a fine substitute
        return json.dumps({k: v for k, v in cv.items() if k != "meta"}, ensure_ascii=False)


def _local_data(raw: str, offline: Callable[[], Any], task: TaskType) -> Any:
    """The offline engine's JSON reply; if it reports a failure, compute directly once more, and if that fails too
    say so in words rather than with a traceback."""
    try:
        data = json.loads(raw)
        if not (isinstance(data, dict) and "error" in data and len(data) <= 2):
            return data
    except ValueError:
        pass
    log.error("offline engine reply for %s was unusable; computing directly", task.value)
    try:
        return offline()
    except Exception:
        log.exception("offline engine failed for %s", task.value)
        raise CVCopilotError(
            "The offline engine could not process this input. Check that it is a CV or job description in plain text."
        ) from None


# --- the service -------------------------------------------------------------------------------------------------


class AIService:
    """The seed's service layer: one method per job-seeker operation, all through one router."""

    def __init__(self, router: Any | None = None) -> None:
        self._router = router

    @property
    def router(self) -> Any:
        if self._router is None:
            from core.router import get_model_router

            return get_model_router()
        return self._router

    # --- plumbing ------------------------------------------------------------------------------------------

    async def _generate(
        self, task: TaskType, system: str, prompt: str, payload: dict[str, Any], opts: dict[str, Any], **kw: Any
    ) -> AIResponse:
        return await self.router.generate(
            task, prompt, system=system, payload=payload, max_tokens=MAX_OUTPUT_TOKENS[task], **opts, **kw
        )

    async def _offline(
        self, task: TaskType, prompt: str, payload: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The offline engine's answer, through the router (so it is recorded)."""
        response = await self.router.generate(
            task, prompt, payload=payload, provider="local", use_cache=False, max_tokens=MAX_OUTPUT_TOKENS[task], **opts
        )
        return response.content, call_meta(response)

    async def _structured(
        self,
        task: TaskType,
        messages: tuple[str, str],
        model: type[BaseModel],
        shape: str,
        payload: dict[str, Any],
        opts: dict[str, Any],
        offline: Callable[[], Any],
    ) -> tuple[Any, bool, dict[str, Any]]:
        """(data, from_llm, meta). An LLM reply is validated against `model`, repaired once, else replaced by the
        offline engine's result. The offline engine's own JSON is used as is (it has its own richer shape)."""
        system, prompt = messages
        response = await self._generate(task, system, prompt, payload, opts, json_mode=True)
        calls = [call_meta(response)]
        if response.provider == "local":
            return _local_data(response.content, offline, task), False, combine(calls)
        try:
            return prompts.dump(prompts.validate(model, response.content)), True, combine(calls)
        except ValueError as problem:
            reason = str(problem)
            log.info("%s reply from %s invalid (%s); asking for a repair", task.value, response.provider, reason)
        try:
            repair_system, repair_prompt = prompts.repair(response.content, shape, reason)
            fixed = await self._generate(
                task, repair_system, repair_prompt, payload, opts, json_mode=True, provider=response.provider,
                use_cache=False,
            )  # fmt: skip
            calls.append(call_meta(fixed))
            if fixed.provider != "local":
                return prompts.dump(prompts.validate(model, fixed.content)), True, combine(calls, repaired=True)
        except (ValueError, CVCopilotError) as exc:
            log.info("repair of %s failed: %s", task.value, exc)
        try:
            raw, offline_meta = await self._offline(task, prompt, payload, opts)
            calls.append(offline_meta)
        except CVCopilotError:
            raw = ""
        data = _local_data(raw, offline, task)
        meta = combine(calls, fallback=_NOT_JSON)
        meta["warnings"].append(f"The {calls[0]['provider']} reply could not be read, so the offline engine answered.")
        return data, False, meta

    async def _text(
        self,
        task: TaskType,
        messages: tuple[str, str],
        payload: dict[str, Any],
        opts: dict[str, Any],
        looks_right: Callable[[str], bool] = bool,
    ) -> tuple[str, dict[str, Any]]:
        """A plain-text answer; an empty or off-task one is replaced by the offline engine's."""
        system, prompt = messages
        response = await self._generate(task, system, prompt, payload, opts)
        calls = [call_meta(response)]
        text = _plain(response.content)
        if response.provider == "local" or looks_right(text):
            return text, combine(calls)
        log.info("%s reply from %s looked wrong; using the offline engine", task.value, response.provider)
        fallback = await self.router.generate(
            task, prompt, payload=payload, provider="local", use_cache=False, max_tokens=MAX_OUTPUT_TOKENS[task], **opts
        )
        calls.append(call_meta(fallback))
        meta = combine(calls, fallback="offline engine: the model's reply did not look like the requested text")
        meta["warnings"].append(f"The {response.provider} reply was off task, so the offline engine answered.")
        return _plain(fallback.content), meta

    # --- operations ----------------------------------------------------------------------------------------

    async def parse_cv(self, cv_text: str, *, user_id: str = "anonymous", optimize_cost: bool = False) -> dict:
        """CV text → JSON Resume dict with "meta" (provider, cost…, and the parser's warnings)."""
        from core import local

        text = check_text(cv_text, "CV", max_chars=MAX_CV_CHARS)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        data, from_llm, meta = await self._structured(
            TaskType.CV_PARSING, parse_request(text), prompts.Resume, prompts.RESUME_SHAPE,
            {"cv_text": text}, opts, lambda: local.parse_cv(text),
        )  # fmt: skip
        if not isinstance(data, dict):
            data = local.parse_cv(text)
        own = data.pop("meta", {}) if isinstance(data.get("meta"), dict) else {}
        warnings = [*own.get("warnings", []), *meta["warnings"]]
        data["meta"] = {**own, **meta, "parser": meta["provider"] if from_llm else own.get("parser", "local")}
        data["meta"]["warnings"] = warnings
        return data

    async def analyze_job(
        self, job_description: str, *, user_id: str = "anonymous", optimize_cost: bool = False
    ) -> dict:
        """Job text → {title, company, location, required_skills, preferred_skills, years_experience, seniority,
        keywords, warnings, meta}."""
        from core import local

        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        data, _, meta = await self._structured(
            TaskType.JOB_ANALYSIS, prompts.job_analysis(job), prompts.JobAnalysis, prompts.JOB_SHAPE,
            {"job_description": job}, opts, lambda: local.analyze_job(job),
        )  # fmt: skip
        data = dict(data) if isinstance(data, dict) else local.analyze_job(job)
        data.setdefault("warnings", [])
        meta["warnings"] += _injection_warning([job])
        data["meta"] = meta
        return data

    async def tailor_cv(
        self,
        cv: dict,
        job_description: str,
        *,
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> dict:
        """CV + job → {resume, markdown, changes, coverage_before, coverage_after, missing_keywords, meta}.
        The tailored resume is grounded: invented employers, schools, degrees and skills are removed."""
        from core import local

        cv = _check_cv(cv)
        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        payload = {"cv": cv, "cv_text": cv_text, "job_description": job}
        data, from_llm, meta = await self._structured(
            TaskType.CV_TAILORING, tailor_request(cv, job), prompts.TailorReply, prompts.TAILOR_SHAPE,
            payload, opts, lambda: local.tailor(cv, job),
        )  # fmt: skip
        if not isinstance(data, dict) or not isinstance(data.get("resume"), dict):
            data = local.tailor(cv, job)
        if from_llm:  # contact details are facts, not style: keep the CV's own
            source_basics = cv.get("basics") or {}
            keep = {k: source_basics[k] for k in _CONTACT_FIELDS if source_basics.get(k)}
            data["resume"]["basics"] = {**(data["resume"].get("basics") or {}), **keep}
        resume, findings = grounding.ground_resume(data["resume"], cv, cv_text)
        resume.pop("meta", None)
        result = dict(data)
        result["resume"] = resume
        if from_llm or findings:
            result["markdown"] = local.resume_to_markdown(resume)
        if from_llm:
            before, after, missing = _coverage(cv, resume, job)
            result.update(coverage_before=before, coverage_after=after, missing_keywords=missing)
        result.setdefault("changes", [])
        meta["grounding"] = findings
        meta["warnings"] += _injection_warning([job]) + grounding.describe(findings)
        result["meta"] = meta
        return result

    def _letter_messages(
        self, cv: dict, job: str, company: str | None, role: str | None, tone: str, length: str, cv_text: str
    ) -> tuple[tuple[str, str], dict[str, Any]]:
        messages = letter_request(cv, job, company=company, role=role, tone=tone, length=length)
        payload = {
            "cv": cv, "cv_text": cv_text, "job_description": job, "company": company, "role": role, "tone": tone,
            "length": length,
        }  # fmt: skip
        return messages, payload

    async def generate_cover_letter(
        self,
        cv_data: dict,
        job_description: str,
        company_name: str | None = None,
        *,
        role: str | None = None,
        tone: str = "formal",
        length: str = "medium",
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> AIText:
        """The letter as an AIText (a str); `.meta` has provider, cost and meta["grounding"] (claims not in the CV)."""
        cv = _check_cv(cv_data)
        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        messages, payload = self._letter_messages(cv, job, company_name, role, tone, length, cv_text)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        text, meta = await self._text(TaskType.COVER_LETTER, messages, payload, opts, _letter_check(cv))
        return AIText(text, _letter_meta(meta, text, cv, cv_text, job, company_name, role))

    def stream_cover_letter(
        self,
        cv_data: dict,
        job_description: str,
        company_name: str | None = None,
        *,
        role: str | None = None,
        tone: str = "formal",
        length: str = "medium",
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> LetterStream:
        """The letter as it is written: iterate for text; `.text` and `.meta` are set once it has finished.
        Bad input raises InputError here, before anything streams."""
        cv = _check_cv(cv_data)
        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        messages, payload = self._letter_messages(cv, job, company_name, role, tone, length, cv_text)
        return LetterStream(
            self, messages, payload, {"user_id": user_id, "optimize_cost": optimize_cost},
            lambda text, meta: _letter_meta(meta, text, cv, cv_text, job, company_name, role),
        )  # fmt: skip

    async def draft_email(
        self,
        cv: dict,
        job_description: str,
        *,
        purpose: str = "application",
        company: str | None = None,
        recipient: str | None = None,
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> AIText:
        """A short e-mail (application, follow_up, thank_you…) as an AIText, grounded like a letter."""
        cv = _check_cv(cv)
        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        messages = prompts.email_draft(cv, job, purpose=purpose, company=company, recipient=recipient)
        payload = {
            "cv": cv, "cv_text": cv_text, "job_description": job, "purpose": purpose, "company": company,
            "recipient": recipient,
        }  # fmt: skip
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        text, meta = await self._text(TaskType.EMAIL_DRAFTING, messages, payload, opts)
        return AIText(text, _letter_meta(meta, text, cv, cv_text, job, company, recipient))

    async def summarize(
        self, text: str, *, max_sentences: int = 3, user_id: str = "anonymous", optimize_cost: bool = False
    ) -> AIText:
        body = check_text(text, "text", max_chars=MAX_CV_CHARS)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        payload = {"text": body, "cv_text": body, "max_sentences": max_sentences}
        summary, meta = await self._text(TaskType.FAST_SUMMARY, prompts.summary(body, max_sentences), payload, opts)
        return AIText(summary, meta)

    async def match_jobs(
        self,
        cv: dict,
        jobs: list[str] | str,
        *,
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> AIList:
        """Rank jobs for a CV: rows {index (1-based, input order), title, score 0..100, matched_skills,
        missing_skills, explanation}, best first; `.meta` as elsewhere."""
        from core import local

        cv = _check_cv(cv)
        jobs = checked_jobs(jobs)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        payload = {"cv": cv, "cv_text": cv_text, "jobs": jobs, "job_description": jobs[0]}
        data, from_llm, meta = await self._structured(
            TaskType.JOB_MATCHING, prompts.job_matching(cv, jobs), prompts.MatchReply, prompts.MATCH_SHAPE,
            payload, opts, lambda: local.match_jobs(cv, jobs),
        )  # fmt: skip
        rows = _llm_rows(data, cv, cv_text, jobs) if from_llm else _local_rows(data, cv, jobs)
        meta["warnings"] += _injection_warning(jobs)
        rows.sort(key=lambda r: (-r["score"], r["index"]))
        return AIList(rows, meta)

    # --- stats ---------------------------------------------------------------------------------------------

    def get_usage_stats(self, hours: float | None = 24) -> dict:
        return self.router.tracker.get_usage_stats(hours)

    def get_provider_stats(self, provider: str, hours: float | None = 24) -> dict:
        return self.router.tracker.get_provider_stats(provider, hours)


class LetterStream:
    """An async iterable of letter text; after the end `.text` is the whole letter and `.meta` its metadata."""

    def __init__(
        self,
        service: AIService,
        messages: tuple[str, str],
        payload: dict[str, Any],
        opts: dict[str, Any],
        finish: Callable[[str, dict[str, Any]], dict[str, Any]],
    ) -> None:
        self._service = service
        self._messages = messages
        self._payload = payload
        self._opts = opts
        self._finish = finish
        self.text = ""
        self.meta: dict[str, Any] = {}

    def __aiter__(self) -> AsyncIterator[str]:
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        system, prompt = self._messages
        router = self._service.router
        stream = router.stream(
            TaskType.COVER_LETTER, prompt, system=system, payload=self._payload,
            max_tokens=MAX_OUTPUT_TOKENS[TaskType.COVER_LETTER], **self._opts,
        )  # fmt: skip
        parts: list[str] = []
        async for piece in stream:
            parts.append(piece)
            yield piece
        calls = [call_meta(stream.response)] if stream.response is not None else []
        text = "".join(parts)
        if not text.strip():
            fallback = await router.generate(
                TaskType.COVER_LETTER, prompt, payload=self._payload, provider="local", use_cache=False, **self._opts
            )
            calls.append(call_meta(fallback))
            text = fallback.content
            yield text
        meta = combine(calls)
        self.text = _plain(text)
        self.meta = self._finish(self.text, meta)


def get_ai_service() -> AIService:
    """The process's service on the shared router (from the composition root, core.services)."""
    from core.services import get_services

    return get_services().ai


# --- helpers for results -----------------------------------------------------------------------------------------


def _letter_check(cv: dict[str, Any]) -> Callable[[str], bool]:
    """A letter is on task when it is long enough and mentions something of the candidate's (name, employer, skill)."""
    basics = cv.get("basics") or {}
    marks = [str(basics.get("name", "")).split(" ")[0]]
    marks += [str(w.get("name", "")) for w in cv.get("work") or [] if isinstance(w, dict)]
    marks += [str(k) for g in cv.get("skills") or [] if isinstance(g, dict) for k in g.get("keywords") or []]
    marks = [grounding.norm(m) for m in marks if m and len(m) > 1]

    def check(text: str) -> bool:
        if len(text.split()) < 40 or text.lstrip().startswith(("{", "[")):
            return False
        said = grounding.norm(text)
        return not marks or any(f" {m} " in f" {said} " for m in marks)

    return check


def _letter_meta(
    meta: dict[str, Any], text: str, cv: dict, cv_text: str, job: str, company: str | None, role: str | None
) -> dict[str, Any]:
    from core import local

    extra = f"{company or ''}\n{role or ''}"
    try:
        info = local.analyze_job(job)
    except Exception:  # noqa: BLE001 - the job's own names only reduce false alarms
        info = {}
    targets = [company or "", role or "", str(info.get("title") or ""), str(info.get("company") or "")]
    findings = grounding.check_letter(text, cv, cv_text=cv_text, job_description=job, extra=extra, target_names=targets)
    meta = dict(meta)
    meta["grounding"] = findings
    meta["warnings"] = [*meta.get("warnings", []), *_injection_warning([job]), *grounding.describe(findings)]
    return meta


def _coverage(cv: dict, resume: dict, job: str) -> tuple[float, float, list[str]]:
    """ATS keyword coverage (0..1) of the job's skills and keywords, before and after, and what is still missing."""
    from core import local

    info = local.analyze_job(job)
    wanted: dict[str, None] = {}
    for key in ("required_skills", "preferred_skills", "keywords"):
        for word in info.get(key) or []:
            wanted.setdefault(str(word), None)
    if not wanted:
        return 1.0, 1.0, []
    before_facts = grounding.cv_facts(cv)
    after_facts = grounding.cv_facts(resume)
    before = [w for w in wanted if before_facts.has_skill(w)]
    after = [w for w in wanted if after_facts.has_skill(w)]
    missing = [w for w in wanted if w not in after]
    return round(len(before) / len(wanted), 3), round(len(after) / len(wanted), 3), missing


def _row(result: dict[str, Any], index: int) -> dict[str, Any]:
    """One ranking row in the service's shape (index is 1-based, in input order)."""
    return {
        "index": index, "title": str(result.get("title") or "") or f"Job {index}",
        "score": float(result.get("score", 0.0)), "matched_skills": list(result.get("matched_skills") or []),
        "missing_skills": list(result.get("missing_skills") or []),
        "explanation": str(result.get("explanation", "")), "parts": dict(result.get("parts") or {}),
    }  # fmt: skip


def _offline_rows(cv: dict, jobs: list[str]) -> dict[int, dict[str, Any]]:
    """The offline engine's match per job, keyed by 1-based input position."""
    from core import local

    return {int(r["index"]) + 1: _row(r, int(r["index"]) + 1) for r in local.match_jobs(cv, jobs)}


def _local_rows(data: Any, cv: dict, jobs: list[str]) -> list[dict[str, Any]]:
    """Rows from the offline engine's reply ({"results": [...]}, 0-based indexes); recomputed if it is odd."""
    results = data.get("results") if isinstance(data, dict) else data
    if (
        isinstance(results, list)
        and len(results) == len(jobs)
        and all(isinstance(r, dict) and isinstance(r.get("index"), int) for r in results)
    ):
        return [_row(r, r["index"] + 1) for r in results]
    return list(_offline_rows(cv, jobs).values())


def _llm_rows(data: dict[str, Any], cv: dict, cv_text: str, jobs: list[str]) -> list[dict[str, Any]]:
    """LLM matches, trusted only as far as the CV supports them: matched skills must be in the CV, a job that
    tries to instruct the model keeps the offline score, and a job the reply skipped gets the offline row."""
    facts = grounding.cv_facts(cv, cv_text)
    offline_rows = _offline_rows(cv, jobs)
    rows: dict[int, dict[str, Any]] = {}
    for match in data.get("matches", []):
        i = int(match.get("index", 0))
        if i not in offline_rows or i in rows:
            continue
        row = dict(offline_rows[i])
        matched = [s for s in match.get("matched_skills", []) if facts.has_skill(s)]
        row.update(
            score=round(float(match.get("score", 0.0)), 1),
            matched_skills=matched,
            missing_skills=list(match.get("missing_skills", [])),
            explanation=str(match.get("explanation", "")) or row["explanation"],
        )
        if prompts.find_injection(jobs[i - 1]):
            row["score"] = offline_rows[i]["score"]
            row["explanation"] = (
                f"{offline_rows[i]['explanation']} (Scored offline: the job text tries to instruct AI.)"
            )
        rows[i] = row
    for i, row in offline_rows.items():
        rows.setdefault(i, dict(row))
    return list(rows.values())
