"""Every ending of a provider request becomes exactly one usage row and one `Attempt`.

Endings: answered, failed (HTTP or network error, also mid-stream), cancelled by the caller, abandoned (a stream
the reader stopped), and deadline. Tokens are the provider's where it reported them; otherwise the request as
sent and the text received are counted with tiktoken and the row is flagged `tokens_estimated`, so a call that
ends early is still billed for what the provider consumed.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from core.base import (
    AIResponse,
    Attempt,
    ErrorKind,
    FinishReason,
    Outcome,
    ProviderError,
    ProviderResult,
    StreamDelta,
    TokenUsage,
)
from core.pricing import ModelPrice
from core.routing.types import Call, Candidate, SkipKind, Trail
from core.tokens import count_message_tokens, count_tokens
from core.tracker.record import UsageRecord
from core.workspace_context import current_application_id

if TYPE_CHECKING:
    from core.cache import ResponseCache
    from core.config import Settings
    from core.routing.health import HealthBook
    from core.usage_tracker import UsageTracker

log = logging.getLogger("cv_copilot.router")

#: Request ids: random per process, then a counter (uuid4 reads the OS's random source per call: ~0.1 ms here).
_ID_PREFIX = os.urandom(6).hex()
_ids = itertools.count(1)
_pid_prefix = f"{_ID_PREFIX}{os.getpid():x}-"  # os.getpid() is a syscall: read once, and again after a fork


def _after_fork() -> None:
    global _pid_prefix
    _pid_prefix = f"{_ID_PREFIX}{os.getpid():x}-"


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def request_id() -> str:
    """An id unique per request across processes, for the tracker to store a replayed row once."""
    return f"{_pid_prefix}{next(_ids):x}"


#: Provider finish reasons (OpenAI-compatible, Gemini, Anthropic, llama.cpp) in one vocabulary.
_FINISH: dict[str, FinishReason] = {
    "stop": FinishReason.STOP,
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "eos": FinishReason.STOP,
    "tool_calls": FinishReason.STOP,
    "function_call": FinishReason.STOP,
    "tool_use": FinishReason.STOP,
    "finish_reason_unspecified": FinishReason.UNKNOWN,
    "length": FinishReason.LENGTH,
    "max_tokens": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
    "refusal": FinishReason.CONTENT_FILTER,
    "safety": FinishReason.CONTENT_FILTER,
    "recitation": FinishReason.CONTENT_FILTER,
    "blocklist": FinishReason.CONTENT_FILTER,
    "prohibited_content": FinishReason.CONTENT_FILTER,
    "spii": FinishReason.CONTENT_FILTER,
    "image_safety": FinishReason.CONTENT_FILTER,
    "error": FinishReason.ERROR,
}

_OK = Outcome.OK.value  # enum `.value` is a descriptor call: read once
_SKIPPED = Outcome.SKIPPED.value

_SKIP_WORDS = {
    SkipKind.NOT_CONFIGURED: "not configured",
    SkipKind.COOLING_DOWN: "cooling down",
    SkipKind.CONTEXT_LENGTH: "input too long",
    SkipKind.OVER_BUDGET: "over budget",
    SkipKind.RATE_LIMITED: "rate-limited",
}


def finish_reason(value: object) -> FinishReason | None:
    """A provider's finish reason in our vocabulary; None when the provider gave none."""
    if value is None or value == "":
        return None
    if isinstance(value, FinishReason):
        return value
    return _FINISH.get(str(value).lower(), FinishReason.UNKNOWN)


def cost_of(price: ModelPrice, usage: TokenUsage) -> float:
    """What `usage` costs at `price`, by token kind (cached input at its rate, tiers, provider rules)."""
    return price.cost_of(usage)


def cache_saving(price: ModelPrice, usage: TokenUsage) -> float:
    """What the provider's prompt caching saved: the same tokens at the full input rate, minus the bill."""
    return price.cache_saving(usage)


@dataclass
class Received:
    """What one attempt got back so far: text pieces, the latest provider usage, model and finish reason."""

    model: str
    parts: list[str] = field(default_factory=list)
    usage: TokenUsage | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish: str | None = None

    def add(self, delta: StreamDelta) -> None:
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.input_tokens is not None:
            self.input_tokens = delta.input_tokens
        if delta.output_tokens is not None:
            self.output_tokens = delta.output_tokens
        if delta.model:
            self.model = delta.model
        if delta.finish_reason:
            self.finish = delta.finish_reason
        if delta.text:
            self.parts.append(delta.text)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def result(self) -> ProviderResult:
        return ProviderResult(
            self.text, self.model, self.input_tokens, self.output_tokens, self.finish, usage=self.usage
        )


def usage_of(
    call: Call, model: str, text: str, reported: object, input_tokens: int | None, output_tokens: int | None
) -> TokenUsage:
    """The provider's usage when it reported it; else the request as sent and the text received, counted."""
    if isinstance(reported, TokenUsage):
        return reported
    estimated = input_tokens is None or output_tokens is None
    if input_tokens is None:
        input_tokens = count_message_tokens(call.prompt, call.system, model).tokens
    if output_tokens is None:
        output_tokens = count_tokens(text, model).tokens if text else 0
    return TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens, estimated=estimated)


def notice_for(finish: FinishReason | None, usage: TokenUsage, max_tokens: int) -> str:
    """A plain sentence when the answer is usable but not whole; empty when it is whole."""
    if finish == FinishReason.LENGTH:
        visible = usage.output_tokens - usage.reasoning_tokens
        if usage.reasoning_tokens and usage.reasoning_tokens >= visible:
            return (
                f"The answer was cut at the {max_tokens:,}-token limit: the model spent "
                f"{usage.reasoning_tokens:,} of them on reasoning. Raise the limit or pick another model."
            )
        return f"The answer was cut at the {max_tokens:,}-token limit."
    if finish == FinishReason.CONTENT_FILTER:
        return "The provider's safety filter stopped the answer early."
    return ""


def empty_reason(finish: FinishReason | None, usage: TokenUsage, max_tokens: int) -> str:
    """Why an answer with no text is useless, for the attempt list."""
    if finish == FinishReason.LENGTH:
        if usage.reasoning_tokens or usage.output_tokens >= max_tokens:
            return "the model used the whole limit on reasoning: raise it or pick another model"
        return f"the answer was cut at the {max_tokens:,}-token limit before any text"
    if finish == FinishReason.CONTENT_FILTER:
        return "the provider refused or its safety filter withheld the answer"
    return f"the answer has no text (finish {finish.value if finish else 'unknown'})"


class LedgerParts(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def tracker(self) -> UsageTracker: ...
    @property
    def cache(self) -> ResponseCache: ...
    @property
    def health(self) -> HealthBook: ...
    def price(self, name: str) -> ModelPrice: ...


class Ledger:
    """Writes the row and the attempt for each ending; the router's only writer of usage rows."""

    def __init__(self, parts: LedgerParts) -> None:
        self._parts = parts

    # --- answers ---------------------------------------------------------------------------------------------

    def answered(
        self, call: Call, candidate: Candidate, result: ProviderResult, latency_ms: float, trail: Trail
    ) -> AIResponse | None:
        """Record a billed answer. Returns the response, or None when it has no text (worth another provider)."""
        model = result.model or candidate.model
        usage = usage_of(
            call, candidate.model, result.content, result.usage, result.input_tokens,
            result.output_tokens,
        )  # fmt: skip
        finish = finish_reason(result.finish_reason)
        cost = cost_of(candidate.price, usage)
        if not result.content.strip():
            reason = empty_reason(finish, usage, call.max_tokens)
            refusal = result.refusal
            if refusal:
                reason = f"the model refused: {str(refusal)[:200]}"
            trail.attempts.append(
                Attempt(candidate.name, model, Outcome.ERROR.value, reason, ErrorKind.BAD_RESPONSE.value, latency_ms)
            )
            self._write(
                call, candidate, trail, model, usage, cost, latency_ms, Outcome.ERROR, ErrorKind.BAD_RESPONSE.value,
                finish,
            )  # fmt: skip
            return None
        trail.attempts.append(Attempt(candidate.name, model, _OK, latency_ms=latency_ms))
        response = AIResponse(
            content=result.content,
            provider=candidate.name,
            model=model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost,
            latency_ms=latency_ms,
            task_type=call.task,
            tokens_estimated=usage.estimated,
            price_estimated=candidate.price.estimated,
            challenger=candidate.challenger,
            attempts=trail.attempts,
            finish_reason=finish._value_ if finish else None,
            notice=notice_for(finish, usage, call.max_tokens),
            route_reason=route_reason(call, candidate, trail, self._parts.settings),
        )
        self._parts.health.succeeded(candidate.name)
        self._write(call, candidate, trail, model, usage, cost, latency_ms, Outcome.OK, None, finish, response)
        if candidate.cache_key is not None and finish in (None, FinishReason.STOP):
            try:
                self._parts.cache.put(
                    candidate.cache_key, content=result.content, input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens, cost_usd=cost, model=model,
                )  # fmt: skip
            except Exception:
                log.warning("response cache write failed", exc_info=True)
        return response

    def cached(self, call: Call, candidate: Candidate, hit: Mapping[str, Any], trail: Trail) -> AIResponse:
        """A response-cache hit: one row at $0 that remembers what it saved."""
        trail.attempts.append(Attempt(candidate.name, candidate.model, Outcome.OK.value, "cache hit"))
        model = hit.get("model") or candidate.model
        usage = TokenUsage(int(hit.get("input_tokens", 0)), int(hit.get("output_tokens", 0)))
        response = AIResponse(
            content=hit["content"],
            provider=candidate.name,
            model=model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=0.0,
            latency_ms=0.0,
            cached=True,
            task_type=call.task,
            saved_cost_usd=float(hit.get("cost_usd", 0.0)),
            price_estimated=candidate.price.estimated,
            challenger=candidate.challenger,
            attempts=trail.attempts,
            route_reason=route_reason(call, candidate, trail, self._parts.settings, cached=True),
        )
        self._write(call, candidate, trail, model, usage, 0.0, 0.0, Outcome.OK, None, None, response)
        return response

    # --- failures and interruptions --------------------------------------------------------------------------

    def failed(
        self,
        call: Call,
        candidate: Candidate,
        error: ProviderError,
        latency_ms: float,
        trail: Trail,
        received: Received | None = None,
    ) -> None:
        """A provider error; with `received` (mid-stream), what was consumed before it is billed."""
        log.info("provider %s failed for %s: %s", candidate.name, call.task.value, error.kind.value)
        reason = f"{error.kind.value}: {error.message}"[:300]
        if error.retry_after:
            reason += f"; try again in {error.retry_after:.1f} s"
        trail.attempts.append(
            Attempt(
                candidate.name, candidate.model, Outcome.ERROR.value, reason, error.kind.value, latency_ms,
                retry_after=error.retry_after,
            )
        )  # fmt: skip
        self._parts.health.failed(candidate.name, error.kind, error.retry_after)
        usage, cost, model, finish = TokenUsage(), 0.0, candidate.model, None
        billed = error.usage  # what the provider said it billed before failing
        if received is not None and received.parts:
            if isinstance(billed, TokenUsage) and billed.output_tokens:
                received.usage = billed
            usage, model, finish = self._partial_usage(call, candidate, received), received.model, FinishReason.ERROR
            cost = cost_of(candidate.price, usage)
        elif isinstance(billed, TokenUsage):
            usage, cost, finish = billed, cost_of(candidate.price, billed), FinishReason.ERROR
        self._write(call, candidate, trail, model, usage, cost, latency_ms, Outcome.ERROR, error.kind.value, finish)

    def interrupted(
        self,
        call: Call,
        candidate: Candidate,
        outcome: Outcome,
        reason: str,
        latency_ms: float,
        trail: Trail,
        received: Received,
    ) -> None:
        """Cancelled, abandoned or out of time: the request was sent, so its input and any output are billed."""
        kind = ErrorKind.TIMEOUT.value if outcome == Outcome.DEADLINE else None
        trail.attempts.append(Attempt(candidate.name, candidate.model, outcome.value, reason, kind, latency_ms))
        if outcome == Outcome.DEADLINE:
            self._parts.health.failed(candidate.name, ErrorKind.TIMEOUT)
        usage = self._partial_usage(call, candidate, received)
        finish = finish_reason(received.finish)
        cost = cost_of(candidate.price, usage)
        self._write(call, candidate, trail, received.model, usage, cost, latency_ms, outcome, kind, finish)

    def _partial_usage(self, call: Call, candidate: Candidate, received: Received) -> TokenUsage:
        usage = usage_of(
            call, candidate.model, received.text, received.usage, received.input_tokens, received.output_tokens
        )
        if not usage.estimated and received.parts and usage.output_tokens == 0:
            # usage sent before the text ended (Gemini's running totals): count what was received instead
            counted = count_tokens(received.text, candidate.model).tokens
            usage = replace(usage, output_tokens=counted, estimated=True)
        return usage

    # --- the row ------------------------------------------------------------------------------------------------

    def _write(
        self,
        call: Call,
        candidate: Candidate,
        trail: Trail,
        model: str,
        usage: TokenUsage,
        cost: float,
        latency_ms: float,
        outcome: Outcome,
        error_kind: str | None,
        finish: FinishReason | None,
        response: AIResponse | None = None,
    ) -> None:
        settings = self._parts.settings
        default = settings.task_routing.get(call.task)
        cached = response is not None and response.cached
        baseline: float | None = None  # not answered: no saving claimed
        if outcome == Outcome.OK:
            known = default is not None and default in settings.providers
            if default == candidate.name and not cached:
                baseline = cost  # answered by the default provider itself: no second pricing
            else:
                baseline = cost_of(self._parts.price(default), usage) if known else 0.0  # type: ignore[arg-type]
        attempts = trail.attempts
        if len(attempts) == 1:  # the common case: the first provider answered
            chain: tuple[str, ...] = () if attempts[0].outcome == _SKIPPED else (attempts[0].provider,)
        else:
            chain = tuple(a.provider for a in attempts if a.outcome != _SKIPPED)
        record = UsageRecord.of(
            task_type=call.task._value_,  # `_value_`: `.value` is a descriptor call (Python code) per read
            provider=candidate.name,
            model=model or candidate.model,
            user_id=call.user_id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost_usd=cost,
            baseline_cost_usd=baseline,
            saved_cost_usd=response.saved_cost_usd if response is not None else 0.0,
            cache_saved_usd=cache_saving(candidate.price, usage),
            latency_ms=latency_ms,
            success=outcome == Outcome.OK,
            outcome=outcome._value_,
            error_kind=error_kind,
            finish_reason=finish._value_ if finish else None,
            cached=cached,
            fallback_chain=chain,
            tokens_estimated=usage.estimated,
            price_estimated=candidate.price.estimated,
            challenger=candidate.challenger,
            route_reason=response.route_reason if response is not None else "",
            application_id=call.application_id or current_application_id(),
            request_id=request_id(),
        )
        try:
            self._parts.tracker.record(record)
        except Exception:
            log.error("usage tracker write failed", exc_info=True)


def route_reason(call: Call, chosen: Candidate, trail: Trail, settings: Settings, *, cached: bool = False) -> str:
    """One line: why `chosen` answered, then why each provider before it did not."""
    task = call.task._value_
    head: str | None = None  # a strategy's own sentence (core.routing.strategy), which names the provider
    if cached:
        why = "the same request's answer was in the response cache"
    elif call.pinned:
        why = "asked for by name"
    elif chosen.challenger:
        why = "challenger in the A/B split"
    elif call.ranking is not None and (head := call.ranking.reason(chosen.name)):
        why = ""
    elif chosen.name == "local":
        why = "the free offline engine" + ("" if trail.attempts[:-1] else f" (no provider configured for {task})")
    elif call.optimize_cost:
        why = f"cheapest configured for {task}"
    elif settings.task_routing.get(call.task) == chosen.name:
        why = f"default for {task}"
    else:
        why = f"cheapest available for {task}"
    if len(trail.attempts) <= 1:  # the common case: no provider before it
        return head or f"{chosen.name}: {why}"
    others = []
    skips = dict(trail.skips)
    for attempt in trail.attempts[:-1]:
        if attempt.outcome == _SKIPPED:
            skip = skips.get(attempt.provider)
            if skip is not None and skip.kind == SkipKind.NOT_CONFIGURED:
                continue
            words = _SKIP_WORDS[skip.kind] if skip is not None else attempt.reason
            others.append(f"{attempt.provider} skipped: {words}")
        else:
            others.append(f"{attempt.provider} {attempt.outcome}: {attempt.error_kind or attempt.reason}")
    return "; ".join([head or f"{chosen.name}: {why}", *others])
