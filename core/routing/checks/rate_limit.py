"""The (provider, user) rate limit: rpm always, tpm when set. It runs last of the checks, so the slot it takes is
only ever taken by a call that is really sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.routing.types import Call, Candidate, Skip, SkipKind
from core.tokens import count_message_tokens

if TYPE_CHECKING:
    from core.routing.checks import Parts


def check(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    tokens = 0
    if candidate.settings.tpm is not None:
        if candidate.input_tokens is None:
            candidate.input_tokens = count_message_tokens(call.prompt, call.system, candidate.model).tokens
        tokens = candidate.input_tokens + call.max_tokens
    wait = parts.limiter.acquire(candidate.name, call.user_id, tokens)
    if wait <= 0:
        return None
    return Skip(f"rate-limited; try again in {wait:.1f} s", SkipKind.RATE_LIMITED, retry_after=wait)
