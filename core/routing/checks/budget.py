"""Reserve the call's worst case (input + max output at the model's price) against every budget.

The input is first bounded by its UTF-8 size (no BPE token is shorter than a byte): a hold that large, when it fits,
is a true worst case and costs no tiktoken count (~0.1 ms for a page of text). Only when it does not fit is the
input counted with tiktoken and the exact worst case reserved, so a call that fits is never refused for the bound.

Under the `block` policy a refusal ends the call with BudgetExceeded; under `downgrade` the provider is skipped,
so a cheaper one (in the end the free offline engine) answers. Free providers need no reservation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.base import BudgetExceeded
from core.routing.types import Call, Candidate, Skip, SkipKind
from core.tokens import count_message_tokens, upper_bound_message_tokens

if TYPE_CHECKING:
    from core.routing.checks import Parts


def check(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    settings = parts.settings
    if candidate.price.free or not settings.budgets.any_set:
        return None
    if candidate.input_tokens is None:
        bound = upper_bound_message_tokens(call.prompt, call.system)
        try:
            candidate.reservation = parts.budget.reserve(call.user_id, candidate.price.cost(bound, call.max_tokens))
            return None
        except BudgetExceeded:
            candidate.input_tokens = count_message_tokens(call.prompt, call.system, candidate.model).tokens
    estimate = candidate.price.cost(candidate.input_tokens, call.max_tokens)
    try:
        candidate.reservation = parts.budget.reserve(call.user_id, estimate)
    except BudgetExceeded as exc:
        if settings.budgets.policy == "block":
            raise
        return Skip(f"over budget ({exc.scope}); downgrading", SkipKind.OVER_BUDGET)
    return None
