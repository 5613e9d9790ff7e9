"""One call through its candidates: admission, attempts under deadlines, retries, and the error when none answers.

`Dispatcher` is the small API both paths share: `ModelRouter.generate` uses `complete`, and `RouterStream`
uses `begin`, `candidates`, `settle`, `ledger` and `unanswered`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from core.base import (
    AIResponse,
    Attempt,
    CallDeadlineExceeded,
    ContextLengthExceeded,
    CVCopilotError,
    ErrorKind,
    NoProviderAvailable,
    Outcome,
    ProviderError,
)
from core.pricing import ModelPrice
from core.routing import checks
from core.routing.deadline import Deadline
from core.routing.ledger import Ledger, Received
from core.routing.types import Call, Candidate, SkipKind, Trail
from core.tokens import count_message_tokens

if TYPE_CHECKING:
    from core.providers.base import Provider


class DispatchParts(checks.Parts, Protocol):
    """What the dispatcher reads from the router (all public)."""

    def provider(self, name: str) -> Provider: ...
    def price(self, name: str) -> ModelPrice: ...


def _only_too_long(attempts: list[Attempt]) -> bool:
    """True when the input was too long for every provider that could have answered."""
    too_long = [a for a in attempts if a.error_kind == ErrorKind.CONTEXT_LENGTH.value]
    others = [a for a in attempts if a.error_kind not in (None, ErrorKind.CONTEXT_LENGTH.value)]
    return bool(too_long) and not others


class Dispatcher:
    def __init__(self, parts: DispatchParts, ledger: Ledger, sleep: Callable[[float], Any]) -> None:
        self._parts = parts
        self.ledger = ledger
        self._sleep = sleep

    # --- the shared steps ---------------------------------------------------------------------------------------

    def begin(self) -> Trail:
        """A trail for a new call; its deadline starts now (call inside the running loop)."""
        return Trail(Deadline(self._parts.settings.call_timeout_seconds))

    def candidates(self, call: Call, plan: list[str], trail: Trail) -> Iterator[Candidate]:
        """The plan's providers that pass their checks, in order; skips are kept on the trail."""
        parts = self._parts
        providers = parts.settings.providers
        for name in plan:
            if trail.deadline.expired:
                raise self.timed_out(call, trail)
            ps = providers.get(name)
            if ps is None:
                trail.skipped(name, "", checks.configured.NOT_CONFIGURED)
                continue
            candidate = Candidate(name, ps, parts.price(name), challenger=name == call.challenger)
            skip = checks.admit(parts, call, candidate)
            if skip is None:
                yield candidate
            else:
                trail.skipped(name, candidate.model, skip)

    def provider(self, name: str) -> Provider:
        return self._parts.provider(name)

    def settle(self, candidate: Candidate) -> None:
        """Release the candidate's budget hold (after its row is written: the row then counts as spend)."""
        if candidate.reservation is not None:
            self._parts.budget.settle(candidate.reservation)
            candidate.reservation = None

    def unanswered(self, call: Call, plan: list[str], trail: Trail) -> CVCopilotError:
        """The error for a call no provider answered: too long everywhere, or each provider's reason."""
        if _only_too_long(trail.attempts):
            parts = self._parts
            needs = [s.tokens_needed for _, s in trail.skips if s.kind == SkipKind.CONTEXT_LENGTH and s.tokens_needed]
            model = parts.settings.providers[plan[-1]].model
            counted = count_message_tokens(call.prompt, call.system, model).tokens + call.max_tokens
            window = max(parts.context_window(n) for n in plan if n in parts.settings.providers)
            return ContextLengthExceeded(max([*needs, counted]), window)
        return NoProviderAvailable(call.task, trail.attempts)

    def timed_out(self, call: Call, trail: Trail) -> CallDeadlineExceeded:
        return CallDeadlineExceeded(call.task, trail.attempts, trail.deadline.seconds)

    # --- the non-streaming path ---------------------------------------------------------------------------------

    async def run(self, call: Call, plan: list[str], payload: dict[str, Any] | None) -> AIResponse:
        trail = self.begin()
        for candidate in self.candidates(call, plan, trail):
            if candidate.hit is not None:
                return self.ledger.cached(call, candidate, candidate.hit, trail)
            try:
                response = await self.complete(call, candidate, payload, trail)
            finally:
                self.settle(candidate)
            if response is not None:
                return response
        raise self.unanswered(call, plan, trail)

    async def complete(
        self, call: Call, candidate: Candidate, payload: dict[str, Any] | None, trail: Trail
    ) -> AIResponse | None:
        """Ask one provider, retrying a short rate limit; None to fall back. Each request gets exactly one row."""
        provider = self._parts.provider(candidate.name)
        request = call.request(candidate.model, payload)
        settings = self._parts.settings
        for retry in range(settings.max_retries + 1):
            started = time.perf_counter()
            limit = asyncio.timeout_at(trail.deadline.for_attempt(candidate.settings.timeout))
            try:
                async with limit:
                    result = await provider.complete(request)
            except ProviderError as error:
                self.ledger.failed(call, candidate, error, _ms(started), trail)
                wait = self._retry_wait(error, retry)
                if wait is None or wait >= trail.deadline.remaining():
                    return None
                await self._sleep(wait)
                continue
            except TimeoutError:
                if not limit.expired():
                    raise
                self.out_of_time(call, candidate, started, trail, Received(candidate.model))
                return None
            except asyncio.CancelledError:
                self.ledger.interrupted(
                    call, candidate, Outcome.CANCELLED, "cancelled by the caller", _ms(started), trail,
                    Received(candidate.model),
                )  # fmt: skip
                raise
            return self.ledger.answered(call, candidate, result, _ms(started), trail)
        return None

    def out_of_time(self, call: Call, candidate: Candidate, started: float, trail: Trail, received: Received) -> None:
        """Record an attempt that ran out of time; raise if it was the whole call's time."""
        whole_call = trail.deadline.expired
        seconds = trail.deadline.seconds if whole_call else candidate.settings.timeout
        which = "the call time limit" if whole_call else f"{candidate.name}'s timeout"
        reason = f"no complete answer within {seconds:g} s ({which})"
        self.ledger.interrupted(call, candidate, Outcome.DEADLINE, reason, _ms(started), trail, received)
        if whole_call:
            raise self.timed_out(call, trail)

    def _retry_wait(self, error: ProviderError, retry: int) -> float | None:
        """Seconds to wait before retrying the same provider, or None to fall back now.

        Only a rate limit is worth waiting for: its Retry-After when short enough, else an exponential backoff
        (0.5 s, 1 s, …) within the same bound. Timeouts and 5xx fall back at once: another provider is the faster cure.
        """
        settings = self._parts.settings
        cap = settings.retry_after_cap_seconds
        if retry >= settings.max_retries or error.kind != ErrorKind.RATE_LIMITED:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= cap else None
        return float(min(0.5 * 2**retry, cap))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
