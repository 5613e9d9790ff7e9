"""Task types, request/response types and the error hierarchy shared by every part of core."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class TaskType(str, enum.Enum):
    """The seed's seven tasks; values are the names used in stats JSON."""

    CV_PARSING = "cv_parsing"
    CV_TAILORING = "cv_tailoring"
    COVER_LETTER = "cover_letter"
    EMAIL_DRAFTING = "email_drafting"
    FAST_SUMMARY = "fast_summary"
    JOB_ANALYSIS = "job_analysis"
    JOB_MATCHING = "job_matching"

    def __str__(self) -> str:
        return self.value


#: Stats names of every provider; `local` (the offline engine) stays last. Each has an entry in
#: core/providers/catalog.py (key and base-URL variables, default model, wire-format family).
PROVIDER_NAMES: tuple[str, ...] = (
    "openai", "gemini", "groq", "grok", "custom", "anthropic", "openrouter", "mistral", "deepseek", "local",
)  # fmt: skip


class ErrorKind(str, enum.Enum):
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    QUOTA_EXHAUSTED = "quota_exhausted"
    TIMEOUT = "timeout"
    SERVER = "server"
    BAD_RESPONSE = "bad_response"
    CONTEXT_LENGTH = "context_length"

    def __str__(self) -> str:
        return self.value


class Outcome(str, enum.Enum):
    """How one provider request ended; every request gets exactly one usage row with one of these."""

    OK = "ok"  # answered (possibly cut short: see FinishReason)
    ERROR = "error"  # the provider or the network failed
    CANCELLED = "cancelled"  # the caller cancelled while the request was in flight
    ABANDONED = "abandoned"  # a stream the caller stopped reading before it finished
    DEADLINE = "deadline"  # the attempt's or the call's time ran out
    SKIPPED = "skipped"  # never sent (not configured, cooling down, over budget, rate-limited): no row

    def __str__(self) -> str:
        return self.value


class FinishReason(str, enum.Enum):
    """Why an answer ended, in one vocabulary for every provider."""

    STOP = "stop"
    LENGTH = "length"  # cut at max_tokens (reasoning may have used all of it)
    CONTENT_FILTER = "content_filter"  # refused or safety-stopped
    ERROR = "error"  # ended by an error mid-answer
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class TokenUsage:
    """One request's billed tokens, by kind, as the provider reported them (or as counted, when `estimated`).

    `input_tokens` includes cached input; `output_tokens` includes reasoning: both are what the provider bills.
    The other fields say how much of each is of a special kind, for pricing and for the dashboard.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # cache reads, billed at the cached-input rate
    cache_write_tokens: int = 0  # cache writes (Anthropic), billed at the cache-write rate
    reasoning_tokens: int = 0  # part of output_tokens that the user never sees
    tool_prompt_tokens: int = 0  # part of input_tokens added by tools (Gemini's toolUsePromptTokenCount)
    estimated: bool = False  # counted with tiktoken, not reported by the provider

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


#: Kinds worth trying again (after Retry-After) or on another provider.
RETRYABLE_KINDS = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.TIMEOUT, ErrorKind.SERVER})


@dataclass
class CompletionRequest:
    """What the router hands a provider. `payload` carries structured input for the offline engine."""

    prompt: str
    model: str
    task_type: TaskType = TaskType.FAST_SUMMARY
    system: str | None = None
    max_tokens: int = 1024
    temperature: float = 0.2
    json_mode: bool = False
    payload: dict[str, Any] | None = None


@dataclass
class ProviderResult:
    """One provider answer, billed whatever its text: an empty, refused or length-cut answer comes back too, with
    its `finish_reason` (a FinishReason) and `usage`, because the provider charges for it.

    `usage` is the provider-reported bill by token kind (None when the provider reported none). `input_tokens` and
    `output_tokens` mirror it for older callers; given alone, they fill `usage`.
    """

    content: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    raw_finish_reason: str | None = None  # the provider's own word ("MAX_TOKENS", "refusal", "SAFETY"...)
    refusal: str | None = None  # the model's refusal text, when it refused

    def __post_init__(self) -> None:
        self.usage = _sync_usage(self, self.usage)


@dataclass
class StreamDelta:
    """One streamed piece: text, and on the last piece(s) the finish reason and the provider-reported usage.

    A provider that repeats running totals sends `usage` on several deltas: the last one is the bill.
    """

    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    model: str | None = None
    usage: TokenUsage | None = None
    raw_finish_reason: str | None = None

    def __post_init__(self) -> None:
        self.usage = _sync_usage(self, self.usage)


def _sync_usage(target: ProviderResult | StreamDelta, usage: TokenUsage | None) -> TokenUsage | None:
    """Keep the plain counts and the typed usage in agreement, whichever the caller gave."""
    if usage is not None:
        target.input_tokens = usage.input_tokens
        target.output_tokens = usage.output_tokens
        return usage
    if target.input_tokens is not None and target.output_tokens is not None:
        return TokenUsage(input_tokens=target.input_tokens, output_tokens=target.output_tokens)
    return None


@dataclass
class Attempt:
    """One candidate the router considered: skipped (with reason), failed, or answered."""

    provider: str
    model: str
    outcome: str  # an Outcome value: "ok", "error", "skipped", "cancelled", "abandoned", "deadline"
    reason: str = ""
    error_kind: str | None = None
    latency_ms: float = 0.0
    retry_after: float | None = None  # seconds until this provider could be tried again, when known

    def describe(self) -> str:
        return f"{self.provider}: {self.reason or self.outcome}"


@dataclass
class AIResponse:
    """What `router.generate` returns."""

    content: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    cached: bool = False
    task_type: TaskType | None = None
    tokens_estimated: bool = False
    price_estimated: bool = False
    saved_cost_usd: float = 0.0
    challenger: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    finish_reason: str | None = None  # a FinishReason value: why the answer ended
    notice: str = ""  # a plain sentence for the user when the answer is usable but not whole (cut at the limit)
    route_reason: str = ""  # one line: why this provider answered, and why the others did not

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def fallback_chain(self) -> list[str]:
        return [a.provider for a in self.attempts if a.outcome != "skipped"]


# --- errors -------------------------------------------------------------------------------------------------


class CVCopilotError(Exception):
    """Base of every error core raises on purpose; its str() is safe to show a user."""


class ProviderError(CVCopilotError):
    def __init__(
        self,
        provider: str,
        kind: ErrorKind | str,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        usage: TokenUsage | None = None,
    ) -> None:
        self.provider = provider
        self.kind = ErrorKind(kind)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.usage = usage  # tokens the provider billed before failing (a stream cut mid-answer), when known
        super().__init__(self._text())

    def _text(self) -> str:
        status = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"{self.provider}: {self.kind.value}{status}: {self.message}"

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


class StreamInterrupted(ProviderError):
    """A stream the provider ended with an error after it had started answering (Groq's `x_groq.error`, an
    `error` event mid-stream). The tokens so far are billed: `usage` holds the provider's running count when it
    sent one (else None: count `partial_text` and the prompt), `partial_text` the text that arrived."""

    def __init__(
        self,
        provider: str,
        kind: ErrorKind | str,
        message: str,
        *,
        partial_text: str = "",
        usage: TokenUsage | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.partial_text = partial_text
        super().__init__(provider, kind, message, status_code=status_code, retry_after=retry_after, usage=usage)


class RateLimitExceeded(CVCopilotError):
    def __init__(self, provider: str, user_id: str, retry_after: float) -> None:
        self.provider = provider
        self.user_id = user_id
        self.retry_after = retry_after
        super().__init__(
            f"{provider} is rate-limited for user {user_id!r}; try again in {max(1, round(retry_after))} s"
        )


class BudgetExceeded(CVCopilotError):
    def __init__(self, scope: str, spent_usd: float, limit_usd: float, resets_at: str, estimate_usd: float = 0.0):
        self.scope = scope
        self.spent_usd = spent_usd
        self.limit_usd = limit_usd
        self.resets_at = resets_at
        self.estimate_usd = estimate_usd
        super().__init__(
            f"{scope} budget reached: ${spent_usd:.4f} spent of ${limit_usd:.2f}"
            f" (this call could cost up to ${estimate_usd:.4f}); resets at {resets_at}"
        )


class ContextLengthExceeded(CVCopilotError):
    def __init__(self, needed_tokens: int, window: int, provider: str = "") -> None:
        self.needed_tokens = needed_tokens
        self.window = window
        self.provider = provider
        cut = needed_tokens - window
        where = f" for {provider}" if provider else ""
        super().__init__(
            f"The input is too long{where}: it needs {needed_tokens:,} tokens but the largest context window "
            f"available is {window:,}. Cut about {cut:,} tokens (roughly {cut * 4:,} characters)."
        )


class NoProviderAvailable(CVCopilotError):
    def __init__(self, task_type: TaskType | str, attempts: list[Attempt], *, lead: str | None = None) -> None:
        self.task_type = task_type
        self.attempts = attempts
        tried = "; ".join(a.describe() for a in attempts) or "no provider is configured"
        waits = [a.retry_after for a in attempts if a.retry_after is not None]
        hint = ""
        if attempts and all(a.error_kind == ErrorKind.RATE_LIMITED.value for a in attempts) and waits:
            hint = f" All providers are rate-limited; try again in {max(1, round(min(waits)))} s."
        lead = lead or f"No provider could answer {TaskType(task_type).value}"
        super().__init__(f"{lead}: {tried}.{hint}")

    @property
    def retry_after(self) -> float | None:
        waits = [a.retry_after for a in self.attempts if a.retry_after is not None]
        return min(waits) if waits else None


class CallDeadlineExceeded(NoProviderAvailable):
    """The whole call (fallbacks included) ran past `[router] call_timeout`."""

    def __init__(self, task_type: TaskType | str, attempts: list[Attempt], seconds: float) -> None:
        self.seconds = seconds
        lead = f"No provider answered {TaskType(task_type).value} within {seconds:g} s (the call time limit)"
        super().__init__(task_type, attempts, lead=lead)


class InputError(CVCopilotError):
    """Bad user input (empty, binary, too large…): the message says what to do."""


class StorageError(CVCopilotError):
    """The local database could not be read or written (full disk, damaged file, permissions…)."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"The usage database {path} could not be used: {detail}")


class StorageBusy(StorageError):
    """Another process held the database's write lock for longer than we wait; nothing was lost, try again."""

    def __init__(self, path: str, waited_s: float) -> None:
        self.waited_s = waited_s
        CVCopilotError.__init__(
            self,
            f"The usage database {path} is busy: another process held it for more than {waited_s:g} s. "
            "Try again in a moment.",
        )
        self.path = path
        self.detail = "busy"


# --- the job seeker's vocabulary and what one service operation reports about itself -------------------------------


class Tone(str, enum.Enum):
    """Cover-letter tones the UI offers; each has its own offline letter."""

    FORMAL = "formal"
    FRIENDLY = "friendly"
    ENTHUSIASTIC = "enthusiastic"
    CONCISE = "concise"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, value: Tone | str | None) -> Tone:
        """A tone from its name; "warm" (the offline engine's old name) is friendly; anything else is formal."""
        if isinstance(value, Tone):
            return value
        name = str(value or "").strip().lower()
        if name == "warm":
            return cls.FRIENDLY
        try:
            return cls(name)
        except ValueError:
            return cls.FORMAL


class Length(str, enum.Enum):
    """Cover-letter lengths, with the word count asked of a model."""

    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"

    def __str__(self) -> str:
        return self.value

    @property
    def words(self) -> int:
        return {"short": 150, "medium": 250, "long": 400}[self.value]

    @classmethod
    def of(cls, value: Length | str | None) -> Length:
        if isinstance(value, Length):
            return value
        try:
            return cls(str(value or "").strip().lower())
        except ValueError:
            return cls.MEDIUM


@dataclass
class CallRecord:
    """What one service operation (one or more router calls) says about itself: who answered, tokens, cost, time,
    the providers tried, and what the user should know (a fallback notice, warnings, grounding findings)."""

    task: str = ""
    provider: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cached: bool = False
    attempts: list[str] = field(default_factory=list)  # providers that were asked, in order (the fallback chain)
    tokens_estimated: bool = False
    price_estimated: bool = False
    notice: str = ""  # set when the offline engine answered instead of the model, and why
    route_reason: str = ""  # why this provider answered, and why the others did not (from the router)
    warnings: list[str] = field(default_factory=list)
    grounding: list[dict[str, str]] = field(default_factory=list)
    repaired: bool = False
    calls: list[CallRecord] = field(default_factory=list)  # the router calls behind an operation of several

    @classmethod
    def of(cls, response: AIResponse) -> CallRecord:
        return cls(
            task=response.task_type.value if response.task_type else "",
            provider=response.provider,
            model=response.model,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost_usd=response.cost_usd,
            latency_ms=round(response.latency_ms, 1),
            cached=response.cached,
            attempts=list(response.fallback_chain),
            tokens_estimated=response.tokens_estimated,
            price_estimated=response.price_estimated,
            route_reason=response.route_reason,
            warnings=[response.notice] if response.notice else [],
        )

    @classmethod
    def combine(cls, calls: list[CallRecord]) -> CallRecord:
        """One record for several calls: the last names the provider; tokens, cost and time add up."""
        if not calls:
            return cls()
        last = calls[-1]
        chain: list[str] = []
        for call in calls:
            chain += [p for p in call.attempts if not chain or chain[-1] != p]
        return cls(
            task=last.task,
            provider=last.provider,
            model=last.model,
            input_tokens=sum(c.input_tokens for c in calls),
            output_tokens=sum(c.output_tokens for c in calls),
            cost_usd=sum(c.cost_usd for c in calls),
            latency_ms=round(sum(c.latency_ms for c in calls), 1),
            cached=all(c.cached for c in calls),
            attempts=chain,
            tokens_estimated=any(c.tokens_estimated for c in calls),
            price_estimated=any(c.price_estimated for c in calls),
            route_reason=last.route_reason,
            warnings=[w for c in calls for w in c.warnings],
            calls=list(calls) if len(calls) > 1 else [],
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def meta(self) -> dict[str, Any]:
        """The record as the plain dict earlier versions returned under "meta" (JSON-able)."""
        out: dict[str, Any] = {
            "task": self.task,
            "provider": self.provider,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "cached": self.cached,
            "fallback_chain": list(self.attempts),
            "tokens_estimated": self.tokens_estimated,
            "price_estimated": self.price_estimated,
            "warnings": list(self.warnings),
            "grounding": [dict(f) for f in self.grounding],
            "calls": [c.meta for c in self.calls],
        }
        if self.notice:
            out["fallback"] = self.notice
        if self.route_reason:
            out["route_reason"] = self.route_reason
        if self.repaired:
            out["repaired"] = True
        return out

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> CallRecord:
        """Back from the dict form (a result kept in a session from before, or an imported CV's meta)."""
        m = meta or {}
        return cls(
            task=str(m.get("task", "")),
            provider=str(m.get("provider", "")),
            model=str(m.get("model", "")),
            input_tokens=int(m.get("input_tokens", 0) or 0),
            output_tokens=int(m.get("output_tokens", 0) or 0),
            cost_usd=float(m.get("cost_usd", 0.0) or 0.0),
            latency_ms=float(m.get("latency_ms", 0.0) or 0.0),
            cached=bool(m.get("cached", False)),
            attempts=[str(p) for p in m.get("fallback_chain") or []],
            tokens_estimated=bool(m.get("tokens_estimated", False)),
            price_estimated=bool(m.get("price_estimated", False)),
            notice=str(m.get("fallback", "") or ""),
            route_reason=str(m.get("route_reason", "") or ""),
            warnings=[str(w) for w in m.get("warnings") or []],
            grounding=[dict(f) for f in m.get("grounding") or [] if isinstance(f, dict)],
            repaired=bool(m.get("repaired", False)),
        )
