"""The app's own LLM calls, run the same way when recording a real server and when replaying what it said.

`tests/fixtures/llm_replies/record.py` runs each (case, task) below against a real OpenAI-compatible server through
a recording proxy; `tests/test_grounding_replies.py` runs the same calls against a loopback fake that replays the
recorded wire bodies. Both go through the real router (`custom` provider) and `AIService`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.ai_service import AIService
from core.base import CallRecord
from core.config import load_settings
from core.router import ModelRouter

HERE = Path(__file__).resolve().parent / "fixtures" / "llm_replies"
INPUTS = HERE / "inputs"
TASKS = ("parse", "tailor", "letter", "letter_stream", "email", "summary")


@dataclass(frozen=True)
class Case:
    cv: str
    job: str
    company: str
    role: str

    @property
    def cv_text(self) -> str:
        return (INPUTS / self.cv).read_text(encoding="utf-8")

    @property
    def job_text(self) -> str:
        return (INPUTS / self.job).read_text(encoding="utf-8")


CASES = {
    "nurse": Case("nurse_cv.txt", "nurse_job.txt", "Example Riverside Hospitals NHS Trust", "Staff Nurse"),
    "accountant": Case("accountant_cv.txt", "accountant_job.txt", "Example Freight Ltd", "Management Accountant"),
    "german_developer": Case(
        "german_developer_cv.txt", "german_developer_job.txt", "Beispiel Logistik GmbH", "Backend-Entwickler Python"
    ),
    "spanish_analyst": Case(
        "spanish_analyst_cv.txt", "spanish_analyst_job.txt", "Ejemplo Seguros S.A.", "Analista de Datos"
    ),
    "tech": Case("tech_cv.txt", "tech_job.txt", "Example Lending Ltd", "Senior Python Developer"),
    "teacher": Case("teacher_cv.txt", "teacher_job.txt", "Example Hill Academy", "Year 5 Teacher"),
    "chef": Case("chef_cv.txt", "chef_job.txt", "Example Kitchen Group Ltd", "Head Chef"),
}

CONFIG = """
[routing]
cv_parsing = "custom"
cv_tailoring = "custom"
cover_letter = "custom"
email_drafting = "custom"
fast_summary = "custom"
job_analysis = "custom"
job_matching = "custom"

[providers.custom]
timeout = {timeout}
context_window = 8192

[router]
call_timeout = {call_timeout}
"""


def service(base_url: str, model: str, workdir: Path, *, timeout: float = 30.0) -> AIService:
    """An AIService whose every task goes to the `custom` server at `base_url` (…/v1), with its own usage DB."""
    config = workdir / "cv_copilot.toml"
    config.write_text(CONFIG.format(timeout=timeout, call_timeout=timeout * 4), encoding="utf-8")
    env = {
        "OPENAI_COMPAT_BASE_URL": base_url,
        "OPENAI_COMPAT_MODEL": model,
        "CV_COPILOT_DB": str(workdir / "usage.db"),
        "CV_COPILOT_NO_DOTENV": "1",
    }
    return AIService(ModelRouter(load_settings(env=env, config_path=config)))


@dataclass
class Outcome:
    """What the app made of the model's replies: the text or data the user sees and the call's record."""

    value: Any
    record: CallRecord

    @property
    def text(self) -> str:
        return self.value if isinstance(self.value, str) else json.dumps(self.value, ensure_ascii=False)


async def run(svc: AIService, case: Case, task: str) -> Outcome:
    """One of the app's operations on one case, as the pages call it."""
    from core import local

    cv_text, job = case.cv_text, case.job_text
    if task == "parse":
        parsed = await svc.parse_cv(cv_text)
        return Outcome(dict(parsed), parsed.record)
    cv = {k: v for k, v in local.parse_cv(cv_text).items() if k != "meta"}
    if task == "tailor":
        tailored = await svc.tailor_cv(cv, job, cv_text=cv_text)
        return Outcome(dict(tailored), tailored.record)
    if task == "letter":
        letter = await svc.generate_cover_letter(cv, job, case.company, role=case.role, cv_text=cv_text)
        return Outcome(str(letter), letter.record)
    if task == "letter_stream":
        stream = svc.stream_cover_letter(cv, job, case.company, role=case.role, cv_text=cv_text)
        async for _ in stream:
            pass
        assert stream.record is not None
        return Outcome(str(stream.text), stream.record)
    if task == "email":
        email = await svc.draft_email(cv, job, company=case.company, cv_text=cv_text)
        return Outcome(str(email), email.record)
    if task == "summary":
        summary = await svc.summarize(cv_text)
        return Outcome(str(summary), summary.record)
    raise ValueError(f"unknown task {task!r}")


def fixture_path(model_dir: str, case: str, task: str, variant: str = "") -> Path:
    """`<case>__<task>.json`, or `<case>__<task>__<variant>.json` for a recording made another way (see README)."""
    return HERE / model_dir / f"{case}__{task}{'__' + variant if variant else ''}.json"


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def reply_of(exchange: dict[str, Any]) -> Any:
    """A recorded exchange as the loopback fake's Reply: the body byte for byte (an SSE body event by event)."""
    from tests.fakes import Reply

    body = exchange["body"].encode("utf-8")
    headers = {"content-type": exchange["content_type"]}
    if exchange["content_type"].startswith("text/event-stream"):
        events = re.findall(rb".*?(?:\r?\n\r?\n|$)", body, re.DOTALL)
        return Reply(exchange["status"], headers, [e for e in events if e], stream=True)
    return Reply(exchange["status"], headers, [body])


def serve(server: Any, fixture: dict[str, Any]) -> None:
    """Queue a recording's replies on a tests.fakes.LoopbackServer, in order; after them the server answers 500,
    so a call the recording did not have shows up as a fallback, never as a quiet success."""
    server.configure(replies=deque(reply_of(e) for e in fixture["exchanges"]), status=500)


def content_of(exchange: dict[str, Any]) -> str:
    """The text the model wrote in one recorded exchange (a chat.completion body, or an SSE stream's deltas)."""
    if not exchange["request"].get("stream"):
        return str(json.loads(exchange["body"])["choices"][0]["message"]["content"] or "")
    pieces = []
    for line in exchange["body"].splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices") or []:
                pieces.append((choice.get("delta") or {}).get("content") or "")
    return "".join(pieces)


@dataclass
class Replay:
    """One recording replayed through the app: what it made of the replies, and the requests it sent."""

    fixture: dict[str, Any]
    outcome: Outcome
    requests: list[dict[str, Any]]

    @property
    def case(self) -> Case:
        return CASES[self.fixture["case"]]

    @property
    def record(self) -> CallRecord:
        return self.outcome.record


def replay(fixture: dict[str, Any], workdir: Path) -> Replay:
    """Run the recording's operation through the real router (`custom`) and AIService against a loopback server
    that answers with the recorded bodies."""
    from tests.fakes import LoopbackServer

    with LoopbackServer() as server:
        serve(server, fixture)
        svc = service(f"{server.url}/v1", fixture["model"], workdir, timeout=10)
        outcome = asyncio.run(run(svc, CASES[fixture["case"]], fixture["task"]))
        requests = [r.json for r in server.requests_for("/v1/chat/completions")]
    return Replay(fixture, outcome, requests)
