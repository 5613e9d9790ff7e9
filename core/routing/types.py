"""The values one routed call passes between its checks, its attempts and its usage rows."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.base import Attempt, CompletionRequest, ErrorKind, TaskType
from core.config import ProviderSettings
from core.pricing import ModelPrice
from core.routing.deadline import Deadline

if TYPE_CHECKING:
    from core.budget import Reservation
    from core.routing.strategy import Ranking


@dataclass(slots=True)
class Call:
    """The parameters of one generate/stream call that every check and attempt needs; read-only by convention.

    Not `frozen`: a frozen dataclass sets each field through `object.__setattr__`, ~5 µs per call on the hot path.
    """

    task: TaskType
    prompt: str
    system: str | None
    max_tokens: int
    temperature: float
    json_mode: bool
    user_id: str
    use_cache: bool
    challenger: str | None = None  # the provider name, when this call was picked for the challenger
    optimize_cost: bool = False
    pinned: bool = False  # the caller named the provider
    application_id: str | None = None  # the workspace application it is for, taken when the call is made
    ranking: Ranking | None = None  # the strategy's ordering (core.routing.strategy), when it reordered the plan

    def request(self, model: str, payload: dict[str, Any] | None) -> CompletionRequest:
        return CompletionRequest(
            prompt=self.prompt, model=model, task_type=self.task, system=self.system, max_tokens=self.max_tokens,
            temperature=self.temperature, json_mode=self.json_mode, payload=payload,
        )  # fmt: skip


@dataclass(slots=True)
class Candidate:
    """A provider under consideration; the checks fill in what they learn (token count, cache key, reservation)."""

    name: str
    settings: ProviderSettings
    price: ModelPrice
    challenger: bool = False
    input_tokens: int | None = None  # tiktoken count of the request, once some check needed it
    cache_key: str | None = None
    hit: Mapping[str, Any] | None = None  # a cache hit: served without rate limit or budget, it costs nothing
    reservation: Reservation | None = None

    @property
    def model(self) -> str:
        return self.settings.model


class SkipKind(str, enum.Enum):
    NOT_CONFIGURED = "not_configured"
    COOLING_DOWN = "cooling_down"
    CONTEXT_LENGTH = "context_length"
    OVER_BUDGET = "over_budget"
    RATE_LIMITED = "rate_limited"

    def __str__(self) -> str:
        return self.value


#: The error kind an attempt reports for each skip (the vocabulary NoProviderAvailable and the pages read).
_SKIP_ERROR_KIND: dict[SkipKind, str | None] = {
    SkipKind.CONTEXT_LENGTH: ErrorKind.CONTEXT_LENGTH.value,
    SkipKind.RATE_LIMITED: ErrorKind.RATE_LIMITED.value,
}


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a check did not admit a provider: a sentence for people, a kind for code, and when to try again."""

    reason: str
    kind: SkipKind
    retry_after: float | None = None
    tokens_needed: int | None = None

    def attempt(self, provider: str, model: str) -> Attempt:
        return Attempt(
            provider, model, "skipped", self.reason, _SKIP_ERROR_KIND.get(self.kind), retry_after=self.retry_after
        )


@dataclass(slots=True)
class Trail:
    """What happened so far in one call: attempts (the user's story), skips (typed), and its deadline."""

    deadline: Deadline
    attempts: list[Attempt] = field(default_factory=list)
    skips: list[tuple[str, Skip]] = field(default_factory=list)

    def skipped(self, name: str, model: str, skip: Skip) -> None:
        self.attempts.append(skip.attempt(name, model))
        self.skips.append((name, skip))
