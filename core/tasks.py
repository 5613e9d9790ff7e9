"""The one task table: each task's default provider, output limits and label, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from core.base import TaskType


@dataclass(frozen=True)
class TaskSpec:
    """What the router, the service, the cost preview and the pages need to know about one task."""

    default_provider: str  # the seed's routing default
    max_output_tokens: int  # what the service asks for (the budget's worst case)
    expected_output_tokens: int  # a typical answer, for the cost preview
    label: str  # what a page calls it


TASKS: dict[TaskType, TaskSpec] = {
    TaskType.CV_PARSING: TaskSpec("openai", 2500, 900, "Parse the CV"),
    TaskType.CV_TAILORING: TaskSpec("openai", 3000, 1200, "Tailor the CV to the job"),
    TaskType.COVER_LETTER: TaskSpec("openai", 900, 500, "Cover letter"),
    TaskType.EMAIL_DRAFTING: TaskSpec("grok", 500, 250, "E-mail draft"),
    TaskType.FAST_SUMMARY: TaskSpec("groq", 300, 150, "CV summary"),
    TaskType.JOB_ANALYSIS: TaskSpec("gemini", 800, 400, "Job analysis"),
    TaskType.JOB_MATCHING: TaskSpec("gemini", 1500, 400, "Job match"),
}


def spec(task: TaskType | str) -> TaskSpec:
    return TASKS[TaskType(task)]
