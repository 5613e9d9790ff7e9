"""A request that cannot fit the model's context window (input + max output) is not sent.

A cheap upper bound on the token count decides first; tiktoken counts only when the bound does not fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.routing.types import Call, Candidate, Skip, SkipKind
from core.tokens import count_message_tokens, upper_bound_tokens

if TYPE_CHECKING:
    from core.routing.checks import Parts


def check(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    window = parts.context_window(candidate.name)
    if upper_bound_tokens(call.prompt) + upper_bound_tokens(call.system or "") + call.max_tokens <= window:
        return None
    candidate.input_tokens = count_message_tokens(call.prompt, call.system, candidate.model).tokens
    needed = candidate.input_tokens + call.max_tokens
    if needed <= window:
        return None
    reason = f"too long: needs {needed:,} tokens, context window is {window:,}"
    return Skip(reason, SkipKind.CONTEXT_LENGTH, tokens_needed=needed)
