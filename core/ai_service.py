"""The job seeker's operations (parse, tailor, cover letter, match…) on top of the model router.

Every method goes through the router, so it works on any provider and on no key at all (the offline engine).
Inputs are checked first (types, depth, size: `InputError` with a message a person can act on). LLM replies are
validated; a broken structured reply gets one repair attempt, then the offline engine's result. A parse is grounded
value by value in the CV text, a tailored CV in the CV, and generated text (letters, e-mails, summaries) that echoes
the prompt, is in the wrong language or names neither company nor role is asked for once more, then answered offline.
Everything a model wrote passes `core.sanitize` (no images, no outside links) before it leaves here.

Each result carries a typed `CallRecord` (`.record`): provider, model, tokens, cost, latency, attempts, cache,
notice, warnings and grounding findings. `.meta` is the same as a plain dict, for older callers and JSON.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from pydantic import BaseModel

from core import grounding, prompts, sanitize
from core.base import AIResponse, CallRecord, CVCopilotError, InputError, Length, TaskType, Tone
from core.resume import Resume, check_cv
from core.tasks import TASKS

log = logging.getLogger("cv_copilot.ai_service")

MAX_CV_CHARS = 60_000
MAX_JOB_CHARS = 30_000
MAX_JOBS = 20
MAX_NAME_CHARS = 300  # a company or role name
TONES: tuple[str, ...] = tuple(t.value for t in Tone)
LENGTHS: tuple[str, ...] = tuple(n.value for n in Length)

MAX_OUTPUT_TOKENS: dict[TaskType, int] = {task: s.max_output_tokens for task, s in TASKS.items()}
_CONTACT_FIELDS = ("name", "email", "phone", "url", "location", "profiles")
_NOT_JSON = "offline engine: the model's reply was not valid JSON"


# --- results -------------------------------------------------------------------------------------------------------


class AIText(str):
    """Generated text that also carries where it came from: `.record` (typed) and `.meta` (the same as a dict)."""

    record: CallRecord

    def __new__(cls, text: str, record: CallRecord | dict[str, Any] | None = None) -> AIText:
        obj = super().__new__(cls, text)
        obj.record = record if isinstance(record, CallRecord) else CallRecord.from_meta(record)
        return obj

    @property
    def meta(self) -> dict[str, Any]:
        return self.record.meta


class MatchRow(TypedDict):
    """One job in a ranking: `index` is its 1-based position in the input."""

    index: int
    title: str
    score: float
    matched_skills: list[str]
    missing_skills: list[str]
    explanation: str
    parts: dict[str, Any]


class MatchResult(list[MatchRow]):
    """Ranking rows, best first, with the call's `.record` (and `.meta`)."""

    record: CallRecord

    def __init__(self, rows: list[MatchRow], record: CallRecord | dict[str, Any] | None = None) -> None:
        super().__init__(rows)
        self.record = record if isinstance(record, CallRecord) else CallRecord.from_meta(record)

    @property
    def meta(self) -> dict[str, Any]:
        return self.record.meta


AIList = MatchResult  # the earlier name


class ParsedCV(dict[str, Any]):
    """A JSON Resume dict (what `parse_cv` has always returned, with its "meta"), plus the typed views `.resume`
    and `.record`."""

    record: CallRecord

    def __init__(self, data: dict[str, Any], record: CallRecord) -> None:
        super().__init__(data)
        self.record = record

    @property
    def resume(self) -> Resume:
        return Resume.of({k: v for k, v in self.items() if k != "meta"})

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.get("meta")
        return meta if isinstance(meta, dict) else {}


class TailoredCV(dict[str, Any]):
    """{resume, markdown, changes, coverage_before, coverage_after, missing_keywords, meta} as before, plus typed
    views: `.resume` (Resume), `.markdown`, `.changes`, `.record`."""

    record: CallRecord

    def __init__(self, data: dict[str, Any], record: CallRecord) -> None:
        super().__init__(data)
        self.record = record

    @property
    def resume(self) -> Resume:
        return Resume.of(self.get("resume") or {})

    @property
    def markdown(self) -> str:
        return str(self.get("markdown") or "")

    @property
    def changes(self) -> list[str]:
        return [str(c) for c in self.get("changes") or []]

    @property
    def meta(self) -> dict[str, Any]:
        return self.record.meta


def record_of(result: Any) -> CallRecord | None:
    """The typed record of any service result (or of a result kept as a dict with "meta" in a session)."""
    record = getattr(result, "record", None)
    if isinstance(record, CallRecord):
        return record
    meta = result.get("meta") if isinstance(result, dict) else getattr(result, "meta", None)
    return CallRecord.from_meta(meta) if isinstance(meta, dict) and meta else None


# --- metadata ----------------------------------------------------------------------------------------------------


def call_meta(response: AIResponse) -> dict[str, Any]:
    """What one router answer says about itself, as plain JSON-able values."""
    return CallRecord.of(response).meta


def combine(calls: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """One meta for an operation of several calls: the last names the provider; tokens, cost and time add up."""
    meta = CallRecord.combine([CallRecord.from_meta(c) for c in calls]).meta
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
    return str(text)


def _optional_text(value: Any, what: str, *, max_chars: int = MAX_CV_CHARS) -> str:
    """An optional text argument (cv_text, company, role): None or text, not too long."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if not isinstance(value, str):
        raise InputError(f"The {what} must be text.")
    if len(value) > max_chars:
        raise InputError(f"The {what} is {len(value):,} characters long; the limit is {max_chars:,}.")
    return value.replace("\x00", "")


def checked_jobs(jobs: str | Sequence[str]) -> list[str]:
    """The job descriptions to match: blanks dropped, at least one, at most MAX_JOBS, each a readable text."""
    if isinstance(jobs, str):
        kept: list[Any] = [jobs]
    elif isinstance(jobs, list | tuple):
        kept = list(jobs)
    else:
        raise InputError("The job descriptions must be a list of texts.")
    for i, job in enumerate(kept, 1):
        if not isinstance(job, str | bytes | bytearray):
            raise InputError(f"Job description #{i} must be text.")
    kept = [j for j in kept if j.strip()]
    if not kept:
        raise InputError("Add at least one job description.")
    if len(kept) > MAX_JOBS:
        raise InputError(f"{len(kept)} jobs is too many at once; match at most {MAX_JOBS}.")
    return [check_text(j, f"job description #{i}", max_chars=MAX_JOB_CHARS) for i, j in enumerate(kept, 1)]


def _check_choice(value: Any, what: str) -> str:
    if value is not None and not isinstance(value, str):
        raise InputError(f"The {what} must be text.")
    return value or ""


# The (system, prompt) each operation sends, with its input checks: the service sends them, and the cost preview
# counts exactly them. Each raises InputError on input the service would refuse.


def parse_request(cv_text: str) -> tuple[str, str]:
    return prompts.cv_parsing(check_text(cv_text, "CV", max_chars=MAX_CV_CHARS))


def tailor_request(cv: dict[str, Any], job_description: str) -> tuple[str, str]:
    return prompts.cv_tailoring(_check_cv(cv), check_text(job_description, "job description", max_chars=MAX_JOB_CHARS))


def letter_request(
    cv: dict[str, Any],
    job_description: str,
    *,
    company: str | None,
    role: str | None,
    tone: Tone | str = Tone.FORMAL,
    length: Length | str = Length.MEDIUM,
) -> tuple[str, str]:
    job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
    company = _optional_text(company, "company name", max_chars=MAX_NAME_CHARS) or None
    role = _optional_text(role, "role", max_chars=MAX_NAME_CHARS) or None
    tone = Tone.of(_check_choice(tone, "tone") if not isinstance(tone, Tone) else tone)
    length = Length.of(_check_choice(length, "length") if not isinstance(length, Length) else length)
    return prompts.cover_letter(_check_cv(cv), job, company=company, role=role, tone=tone.value, length=length.value)


def match_request(cv: dict[str, Any], jobs: str | Sequence[str]) -> tuple[str, str]:
    return prompts.job_matching(_check_cv(cv), checked_jobs(jobs))


def _check_cv(cv: Any) -> dict[str, Any]:
    """The CV checked for type, depth and shape (InputError otherwise); never RecursionError or AttributeError."""
    return check_cv(cv)


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


def _clean_record(record: CallRecord, allowed: frozenset[str]) -> CallRecord:
    """Warnings and findings quote model output: they pass the sanitiser like everything else."""
    record.warnings = [sanitize.clean_text(w, allowed) for w in record.warnings]
    record.grounding = [{k: sanitize.clean_text(v, allowed) for k, v in f.items()} for f in record.grounding]
    return record


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
        response: AIResponse = await self.router.generate(
            task, prompt, system=system, payload=payload, max_tokens=MAX_OUTPUT_TOKENS[task], **opts, **kw
        )
        return response

    async def _offline(
        self, task: TaskType, prompt: str, payload: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, CallRecord]:
        """The offline engine's answer, through the router (so it is recorded)."""
        response = await self.router.generate(
            task, prompt, payload=payload, provider="local", use_cache=False, max_tokens=MAX_OUTPUT_TOKENS[task], **opts
        )
        return response.content, CallRecord.of(response)

    async def _structured(
        self,
        task: TaskType,
        messages: tuple[str, str],
        model: type[BaseModel],
        shape: str,
        payload: dict[str, Any],
        opts: dict[str, Any],
        offline: Callable[[], Any],
    ) -> tuple[Any, bool, CallRecord]:
        """(data, from_llm, record). An LLM reply is validated against `model`, repaired once, else replaced by the
        offline engine's result. The offline engine's own JSON is used as is (it has its own richer shape)."""
        system, prompt = messages
        response = await self._generate(task, system, prompt, payload, opts, json_mode=True)
        calls = [CallRecord.of(response)]
        if response.provider == "local":
            return _local_data(response.content, offline, task), False, CallRecord.combine(calls)
        try:
            return prompts.dump(prompts.validate(model, response.content)), True, CallRecord.combine(calls)
        except ValueError as problem:
            reason = str(problem)
            log.info("%s reply from %s invalid (%s); asking for a repair", task.value, response.provider, reason)
        try:
            repair_system, repair_prompt = prompts.repair(response.content, shape, reason)
            fixed = await self._generate(
                task, repair_system, repair_prompt, payload, opts, json_mode=True, provider=response.provider,
                use_cache=False,
            )  # fmt: skip
            calls.append(CallRecord.of(fixed))
            if fixed.provider != "local":
                data = prompts.dump(prompts.validate(model, fixed.content))
                record = CallRecord.combine(calls)
                record.repaired = True
                return data, True, record
        except (ValueError, CVCopilotError) as exc:
            log.info("repair of %s failed: %s", task.value, exc)
        try:
            raw, offline_record = await self._offline(task, prompt, payload, opts)
            calls.append(offline_record)
        except CVCopilotError:
            raw = ""
        data = _local_data(raw, offline, task)
        record = CallRecord.combine(calls)
        record.notice = _NOT_JSON
        record.warnings.append(f"The {calls[0].provider} reply could not be read, so the offline engine answered.")
        return data, False, record

    async def _text(
        self,
        task: TaskType,
        messages: tuple[str, str],
        payload: dict[str, Any],
        opts: dict[str, Any],
        problems: Callable[[str], list[str]] = lambda text: [] if text else ["it is empty"],
        *,
        first: AIResponse | None = None,
    ) -> tuple[str, CallRecord]:
        """A plain-text answer. One that `problems` finds fault with is asked for once more (same provider, no
        cache, told why), and if the second is no better the offline engine answers. `first` is an answer already
        received (a finished stream)."""
        system, prompt = messages
        response = first or await self._generate(task, system, prompt, payload, opts)
        calls = [CallRecord.of(response)]
        text = _plain(response.content)
        if response.provider == "local":
            return text, CallRecord.combine(calls)
        found = problems(text)
        if not found:
            return text, CallRecord.combine(calls)
        provider = response.provider
        log.info("%s reply from %s rejected (%s); asking once more", task.value, provider, "; ".join(found))
        warnings = [f"The {provider} reply was rejected ({'; '.join(found)}), so it was asked once more."]
        retry_prompt = (
            f"{prompt}\n\nYour previous answer was rejected because {'; '.join(found)}. Answer again with the "
            "requested text only, as plain prose in the job's language, naming the company or the role."
        )
        try:
            again = await self._generate(task, system, retry_prompt, payload, opts, provider=provider, use_cache=False)
            calls.append(CallRecord.of(again))
            second = _plain(again.content)
            if again.provider == "local" or not problems(second):
                record = CallRecord.combine(calls)
                record.warnings += warnings
                return second, record
            found = problems(second)
        except CVCopilotError as exc:
            log.info("retry of %s failed: %s", task.value, exc)
        fallback = await self.router.generate(
            task, prompt, payload=payload, provider="local", use_cache=False, max_tokens=MAX_OUTPUT_TOKENS[task], **opts
        )
        calls.append(CallRecord.of(fallback))
        record = CallRecord.combine(calls)
        record.notice = "offline engine: the model's reply did not look like the requested text"
        record.warnings += [
            *warnings,
            f"The second {provider} reply was rejected too ({'; '.join(found)}), so the offline engine answered.",
        ]
        return _plain(fallback.content), record

    # --- operations ----------------------------------------------------------------------------------------

    async def parse_cv(self, cv_text: str, *, user_id: str = "anonymous", optimize_cost: bool = False) -> ParsedCV:
        """CV text → JSON Resume dict with "meta" (provider, cost…, and the parser's warnings). An LLM's values are
        kept only where the CV text has them (core.grounding.ground_parsed); the rest come from the offline parser
        or are left out, each with a warning."""
        from core import local

        text = check_text(cv_text, "CV", max_chars=MAX_CV_CHARS)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        data, from_llm, record = await self._structured(
            TaskType.CV_PARSING, parse_request(text), prompts.Resume, prompts.RESUME_SHAPE,
            {"cv_text": text}, opts, lambda: local.parse_cv(text),
        )  # fmt: skip
        if not isinstance(data, dict):
            data = local.parse_cv(text)
        own = data.pop("meta", {}) if isinstance(data.get("meta"), dict) else {}
        if from_llm:
            offline = local.parse_cv(text)
            own = {**(offline.get("meta") or {}), **own}
            data, findings = grounding.ground_parsed(data, offline, text)
            record.grounding = findings
            record.warnings += grounding.describe_parsed(findings)
        allowed = sanitize.cv_urls(None, text)
        data = sanitize.clean_data(data, allowed)
        _clean_record(record, allowed)
        warnings = [*[sanitize.clean_text(w, allowed) for w in own.get("warnings", [])], *record.warnings]
        meta = {**own, **record.meta, "parser": record.provider if from_llm else own.get("parser", "local")}
        meta["warnings"] = warnings
        data["meta"] = meta
        return ParsedCV(data, record)

    async def analyze_job(
        self, job_description: str, *, user_id: str = "anonymous", optimize_cost: bool = False
    ) -> dict[str, Any]:
        """Job text → {title, company, location, required_skills, preferred_skills, years_experience, seniority,
        keywords, warnings, meta}."""
        from core import local

        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        data, _, record = await self._structured(
            TaskType.JOB_ANALYSIS, prompts.job_analysis(job), prompts.JobAnalysis, prompts.JOB_SHAPE,
            {"job_description": job}, opts, lambda: local.analyze_job(job),
        )  # fmt: skip
        data = dict(data) if isinstance(data, dict) else local.analyze_job(job)
        data = sanitize.clean_data(data)
        data.setdefault("warnings", [])
        record.warnings += _injection_warning([job])
        data["meta"] = _clean_record(record, frozenset()).meta
        return dict(data)

    async def tailor_cv(
        self,
        cv: dict[str, Any],
        job_description: str,
        *,
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> TailoredCV:
        """CV + job → {resume, markdown, changes, coverage_before, coverage_after, missing_keywords, meta}.
        The tailored resume is grounded: invented employers, schools, degrees and skills are removed."""
        from core import local

        cv = _check_cv(cv)
        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        cv_text = _optional_text(cv_text, "CV text")
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        payload = {"cv": cv, "cv_text": cv_text, "job_description": job}
        data, from_llm, record = await self._structured(
            TaskType.CV_TAILORING, tailor_request(cv, job), prompts.TailorReply, prompts.TAILOR_SHAPE,
            payload, opts, lambda: local.tailor(cv, job),
        )  # fmt: skip
        if not isinstance(data, dict) or not isinstance(data.get("resume"), dict):
            data = local.tailor(cv, job)
        if from_llm:  # contact details are facts, not style: keep the CV's own
            source_basics = cv.get("basics") or {}
            keep = {k: source_basics[k] for k in _CONTACT_FIELDS if source_basics.get(k)}
            data["resume"]["basics"] = {**(data["resume"].get("basics") or {}), **keep}
        allowed = sanitize.cv_urls(cv, cv_text)
        resume, findings = grounding.ground_resume(sanitize.clean_data(data["resume"], allowed), cv, cv_text, job)
        resume.pop("meta", None)
        result = dict(data)
        result["resume"] = resume
        result["markdown"] = sanitize.clean_markdown(local.resume_to_markdown(resume), allowed)
        if from_llm:
            before, after, missing = _coverage(cv, resume, job)
            result.update(coverage_before=before, coverage_after=after, missing_keywords=missing)
        result["changes"] = [sanitize.clean_text(c, allowed) for c in result.get("changes") or []]
        result["missing_keywords"] = [sanitize.clean_text(k, allowed) for k in result.get("missing_keywords") or []]
        record.grounding = findings
        record.warnings += _injection_warning([job]) + grounding.describe(findings)
        _clean_record(record, allowed)
        result["meta"] = record.meta
        return TailoredCV(result, record)

    def _letter_call(
        self,
        cv_data: Any,
        job_description: Any,
        company_name: Any,
        role: Any,
        tone: Any,
        length: Any,
        cv_text: Any,
        opts: dict[str, Any],
    ) -> _LetterCall:
        """The letter's inputs checked (InputError before anything is sent), and what is sent, judged and kept."""
        cv = _check_cv(cv_data)
        job = check_text(job_description, "job description", max_chars=MAX_JOB_CHARS)
        company = _optional_text(company_name, "company name", max_chars=MAX_NAME_CHARS).strip() or None
        role_ = _optional_text(role, "role", max_chars=MAX_NAME_CHARS).strip() or None
        tone_ = tone if isinstance(tone, Tone) else Tone.of(_check_choice(tone, "tone"))
        length_ = length if isinstance(length, Length) else Length.of(_check_choice(length, "length"))
        text = _optional_text(cv_text, "CV text")
        messages = letter_request(cv, job, company=company, role=role_, tone=tone_, length=length_)
        payload = {
            "cv": cv, "cv_text": text, "job_description": job, "company": company, "role": role_,
            "tone": tone_.value, "length": length_.value,
        }  # fmt: skip
        return _LetterCall(
            messages, payload, opts, _letter_problems(cv, job, company, role_, messages[1]),
            lambda answer, record: _finished_letter(answer, record, cv, text, job, company, role_),
        )  # fmt: skip

    async def generate_cover_letter(
        self,
        cv_data: dict[str, Any],
        job_description: str,
        company_name: str | None = None,
        *,
        role: str | None = None,
        tone: Tone | str = Tone.FORMAL,
        length: Length | str = Length.MEDIUM,
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> AIText:
        """The letter as an AIText (a str); `.record` has provider, cost and grounding (claims not in the CV)."""
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        call = self._letter_call(cv_data, job_description, company_name, role, tone, length, cv_text, opts)
        text, record = await self._text(TaskType.COVER_LETTER, call.messages, call.payload, call.opts, call.problems)
        return call.finish(text, record)

    def stream_cover_letter(
        self,
        cv_data: dict[str, Any],
        job_description: str,
        company_name: str | None = None,
        *,
        role: str | None = None,
        tone: Tone | str = Tone.FORMAL,
        length: Length | str = Length.MEDIUM,
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> LetterStream:
        """The letter as it is written: iterate for text; `.text` and `.record` are set once it has finished.
        Bad input raises InputError here, before anything streams."""
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        return LetterStream(
            self, self._letter_call(cv_data, job_description, company_name, role, tone, length, cv_text, opts)
        )

    async def draft_email(
        self,
        cv: dict[str, Any],
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
        company = _optional_text(company, "company name", max_chars=MAX_NAME_CHARS).strip() or None
        recipient = _optional_text(recipient, "recipient", max_chars=MAX_NAME_CHARS).strip() or None
        purpose = _check_choice(purpose, "purpose") or "application"
        cv_text = _optional_text(cv_text, "CV text")
        messages = prompts.email_draft(cv, job, purpose=purpose, company=company, recipient=recipient)
        payload = {
            "cv": cv, "cv_text": cv_text, "job_description": job, "purpose": purpose, "company": company,
            "recipient": recipient,
        }  # fmt: skip
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        targets = _job_targets(job, company, None)

        def check(text: str) -> list[str]:
            return grounding.text_problems(
                text, prompt=messages[1], job_description=job, company=" / ".join(targets) or None, kind="e-mail"
            ) if text else ["it is empty"]  # fmt: skip

        text, record = await self._text(TaskType.EMAIL_DRAFTING, messages, payload, opts, _any_target(check, targets))
        return _finished_letter(text, record, cv, cv_text, job, company, recipient)

    async def summarize(
        self, text: str, *, max_sentences: int = 3, user_id: str = "anonymous", optimize_cost: bool = False
    ) -> AIText:
        body = check_text(text, "text", max_chars=MAX_CV_CHARS)
        if not isinstance(max_sentences, int) or isinstance(max_sentences, bool) or not 1 <= max_sentences <= 20:
            raise InputError("max_sentences must be a whole number from 1 to 20.")
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        payload = {"text": body, "cv_text": body, "max_sentences": max_sentences}
        messages = prompts.summary(body, max_sentences)

        def check(answer: str) -> list[str]:
            if not answer:
                return ["it is empty"]
            return grounding.text_problems(answer, prompt=messages[1], job_description=body, kind="summary")

        summary, record = await self._text(TaskType.FAST_SUMMARY, messages, payload, opts, check)
        allowed = sanitize.cv_urls(None, body)
        return AIText(sanitize.clean_text(summary, allowed), _clean_record(record, allowed))

    async def match_jobs(
        self,
        cv: dict[str, Any],
        jobs: list[str] | str,
        *,
        cv_text: str = "",
        user_id: str = "anonymous",
        optimize_cost: bool = False,
    ) -> MatchResult:
        """Rank jobs for a CV: rows {index (1-based, input order), title, score 0..100, matched_skills,
        missing_skills, explanation}, best first; `.record` / `.meta` as elsewhere."""
        from core import local

        cv = _check_cv(cv)
        jobs = checked_jobs(jobs)
        cv_text = _optional_text(cv_text, "CV text")
        opts = {"user_id": user_id, "optimize_cost": optimize_cost}
        payload = {"cv": cv, "cv_text": cv_text, "jobs": jobs, "job_description": jobs[0]}
        data, from_llm, record = await self._structured(
            TaskType.JOB_MATCHING, prompts.job_matching(cv, jobs), prompts.MatchReply, prompts.MATCH_SHAPE,
            payload, opts, lambda: local.match_jobs(cv, jobs),
        )  # fmt: skip
        rows = _llm_rows(data, cv, cv_text, jobs) if from_llm else _local_rows(data, cv, jobs)
        record.warnings += _injection_warning(jobs)
        allowed = sanitize.cv_urls(cv, cv_text)
        rows = [_clean_row(row, allowed) for row in rows]
        rows.sort(key=lambda r: (-r["score"], r["index"]))
        return MatchResult(rows, _clean_record(record, allowed))

    # --- stats ---------------------------------------------------------------------------------------------

    def get_usage_stats(self, hours: float | None = 24) -> dict[str, Any]:
        return dict(self.router.tracker.get_usage_stats(hours))

    def get_provider_stats(self, provider: str, hours: float | None = 24) -> dict[str, Any]:
        return dict(self.router.tracker.get_provider_stats(provider, hours))


@dataclass(frozen=True)
class _LetterCall:
    """One checked letter request: the (system, prompt) and payload sent, the call options, what makes an answer
    unusable, and how a usable one is finished (sanitised, grounded)."""

    messages: tuple[str, str]
    payload: dict[str, Any]
    opts: dict[str, Any]
    problems: Callable[[str], list[str]]
    finish: Callable[[str, CallRecord], AIText]


class LetterStream:
    """An async iterable of letter text; after the end `.text` is the whole letter (checked, and replaced when it
    had to be) and `.record` / `.meta` its metadata."""

    def __init__(self, service: AIService, call: _LetterCall) -> None:
        self._service = service
        self._call = call
        self.text = ""
        self.record = CallRecord()
        self.replaced = False  # the streamed text was rejected and `.text` is another answer

    @property
    def meta(self) -> dict[str, Any]:
        return self.record.meta

    def __aiter__(self) -> AsyncIterator[str]:
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        call = self._call
        system, prompt = call.messages
        router = self._service.router
        stream = router.stream(
            TaskType.COVER_LETTER, prompt, system=system, payload=call.payload,
            max_tokens=MAX_OUTPUT_TOKENS[TaskType.COVER_LETTER], **call.opts,
        )  # fmt: skip
        parts: list[str] = []
        async for piece in stream:
            parts.append(piece)
            yield piece
        streamed = "".join(parts)
        response = stream.response
        if response is None or not streamed.strip():
            fallback = await router.generate(
                TaskType.COVER_LETTER, prompt, payload=call.payload, provider="local", use_cache=False, **call.opts
            )
            calls = [CallRecord.of(stream.response)] if stream.response is not None else []
            calls.append(CallRecord.of(fallback))
            text, record = _plain(fallback.content), CallRecord.combine(calls)
            self.replaced = True
            yield fallback.content
        else:
            response.content = streamed
            text, record = await self._service._text(
                TaskType.COVER_LETTER, call.messages, call.payload, call.opts, call.problems, first=response
            )
            self.replaced = text != _plain(streamed)
        letter = call.finish(text, record)
        self.text = str(letter)
        self.record = letter.record


def get_ai_service() -> AIService:
    """The process's service on the shared router (from the composition root, core.services)."""
    from core.services import get_services

    return get_services().ai


# --- helpers for results -----------------------------------------------------------------------------------------


def _job_targets(job: str, company: str | None, role: str | None) -> list[str]:
    """Who the letter is for: the company and role given, else as the job text names them."""
    from core import local

    targets = [t for t in (company, role) if t]
    try:
        info = local.analyze_job(job)
    except Exception:  # noqa: BLE001 - the job's own names only widen what counts as naming the job
        info = {}
    for key in ("company", "title"):
        value = str(info.get(key) or "").strip()
        if value and value not in targets and len(value) <= MAX_NAME_CHARS:
            targets.append(value)
    return targets


def _any_target(check: Callable[[str], list[str]], targets: list[str]) -> Callable[[str], list[str]]:
    """`check`, with the company/role test passing when the text names any one of `targets`."""

    def run(text: str) -> list[str]:
        found = [p for p in check(text) if not p.startswith("it names neither")]
        said = grounding.norm(text)
        if targets and not any(grounding._names(t, said) for t in targets):
            found.append("it names neither " + " nor ".join(f"“{t}”" for t in targets[:3]))
        return found

    return run


def _letter_problems(
    cv: dict[str, Any], job: str, company: str | None, role: str | None, prompt: str
) -> Callable[[str], list[str]]:
    """What makes a letter unusable: empty or too short, not about the candidate, echoing the prompt or JSON,
    in another language than the job, or naming neither the company nor the role."""
    basics = cv.get("basics") or {}
    marks = [str(basics.get("name", "")).split(" ")[0]]
    marks += [str(w.get("name", "")) for w in cv.get("work") or [] if isinstance(w, dict)]
    marks += [str(k) for g in cv.get("skills") or [] if isinstance(g, dict) for k in g.get("keywords") or []]
    marks += [str(g.get("name", "")) for g in cv.get("skills") or [] if isinstance(g, dict)]
    marks = [grounding.norm(m) for m in marks if m and len(m) > 1]
    targets = _job_targets(job, company, role)

    def check(text: str) -> list[str]:
        if not text.strip():
            return ["it is empty"]
        found = grounding.text_problems(text, prompt=prompt, job_description=job, kind="letter")
        if len(text.split()) < 40:
            found.append("it is too short for a letter")
        said = grounding.norm(text)
        if marks and not any(f" {m} " in f" {said} " for m in marks):
            found.append("it says nothing from the CV")
        if targets and not any(grounding._names(t, said) for t in targets):
            found.append("it names neither " + " nor ".join(f"“{t}”" for t in targets[:3]))
        return found

    return check


def _finished_letter(
    text: str,
    record: CallRecord,
    cv: dict[str, Any],
    cv_text: str,
    job: str,
    company: str | None,
    role: str | None,
) -> AIText:
    """The letter sanitised, with grounding findings (claims not in the CV) and warnings on its record."""
    from core import local

    allowed = sanitize.cv_urls(cv, cv_text)
    text = sanitize.clean_text(text, allowed)
    extra = f"{company or ''}\n{role or ''}"
    try:
        info = local.analyze_job(job)
    except Exception:  # noqa: BLE001 - the job's own names only reduce false alarms
        info = {}
    targets = [company or "", role or "", str(info.get("title") or ""), str(info.get("company") or "")]
    findings = grounding.check_letter(text, cv, cv_text=cv_text, job_description=job, extra=extra, target_names=targets)
    record.grounding = findings
    record.warnings = [*record.warnings, *_injection_warning([job]), *grounding.describe(findings)]
    return AIText(text, _clean_record(record, allowed))


def _letter_meta(
    meta: dict[str, Any], text: str, cv: dict[str, Any], cv_text: str, job: str, company: str | None, role: str | None
) -> dict[str, Any]:
    """The earlier dict form of `_finished_letter`."""
    return _finished_letter(text, CallRecord.from_meta(meta), cv, cv_text, job, company, role).meta


def _coverage(cv: dict[str, Any], resume: dict[str, Any], job: str) -> tuple[float, float, list[str]]:
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


def _clean_row(row: MatchRow, allowed: frozenset[str]) -> MatchRow:
    return MatchRow(
        index=row["index"],
        title=sanitize.clean_text(row["title"], allowed),
        score=row["score"],
        matched_skills=[sanitize.clean_text(s, allowed) for s in row["matched_skills"]],
        missing_skills=[sanitize.clean_text(s, allowed) for s in row["missing_skills"]],
        explanation=sanitize.clean_text(row["explanation"], allowed),
        parts=row["parts"],
    )


def _row(result: dict[str, Any], index: int) -> MatchRow:
    """One ranking row in the service's shape (index is 1-based, in input order)."""
    return MatchRow(
        index=index, title=str(result.get("title") or "") or f"Job {index}",
        score=float(result.get("score", 0.0)), matched_skills=[str(s) for s in result.get("matched_skills") or []],
        missing_skills=[str(s) for s in result.get("missing_skills") or []],
        explanation=str(result.get("explanation", "")), parts=dict(result.get("parts") or {}),
    )  # fmt: skip


def _offline_rows(cv: dict[str, Any], jobs: list[str]) -> dict[int, MatchRow]:
    """The offline engine's match per job, keyed by 1-based input position."""
    from core import local

    return {int(r["index"]) + 1: _row(r, int(r["index"]) + 1) for r in local.match_jobs(cv, jobs)}


def _local_rows(data: Any, cv: dict[str, Any], jobs: list[str]) -> list[MatchRow]:
    """Rows from the offline engine's reply ({"results": [...]}, 0-based indexes); recomputed if it is odd."""
    results = data.get("results") if isinstance(data, dict) else data
    if (
        isinstance(results, list)
        and len(results) == len(jobs)
        and all(isinstance(r, dict) and isinstance(r.get("index"), int) for r in results)
    ):
        return [_row(r, r["index"] + 1) for r in results]
    return list(_offline_rows(cv, jobs).values())


def _llm_rows(data: dict[str, Any], cv: dict[str, Any], cv_text: str, jobs: list[str]) -> list[MatchRow]:
    """LLM matches, trusted only as far as the CV supports them: matched skills must be in the CV, a job that
    tries to instruct the model keeps the offline score, and a job the reply skipped gets the offline row."""
    facts = grounding.cv_facts(cv, cv_text)
    offline_rows = _offline_rows(cv, jobs)
    rows: dict[int, MatchRow] = {}
    for match in data.get("matches", []):
        i = int(match.get("index", 0))
        if i not in offline_rows or i in rows:
            continue
        row = MatchRow(**offline_rows[i])
        row["score"] = round(float(match.get("score", 0.0)), 1)
        row["matched_skills"] = [str(s) for s in match.get("matched_skills", []) if facts.has_skill(str(s))]
        row["missing_skills"] = [str(s) for s in match.get("missing_skills", [])]
        row["explanation"] = str(match.get("explanation", "")) or row["explanation"]
        if prompts.find_injection(jobs[i - 1]):
            row["score"] = offline_rows[i]["score"]
            row["explanation"] = (
                f"{offline_rows[i]['explanation']} (Scored offline: the job text tries to instruct AI.)"
            )
        rows[i] = row
    for i, offline_row in offline_rows.items():
        rows.setdefault(i, MatchRow(**offline_row))
    return list(rows.values())
