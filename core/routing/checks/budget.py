"""Reserve the call's worst case (tiktoken input + max output at the model's price) against every budget.

Under the `block` policy a refusal ends the call with BudgetExceeded; under `downgrade` the provider is skipped,
so a cheaper one (in the end the free offline engine) answers. Free providers need no reservation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.base import BudgetExceeded
from core.routing.types import Call, Candidate, Skip, SkipKind
from core.tokens import count_message_tokens

if TYPE_CHECKING:
    from core.routing.checks import Parts


def check(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    settings = parts.settings
    if candidate.price.free or not settings.budgets.any_set:
        return None
    if candidate.input_tokens is None:
        candidate.input_tokens = count_message_tokens(call.prompt, call.system, candidate.model).tokens
    estimate = candidate.price.cost(candidate.input_tokens, call.max_tokens)
    try:
        candidate.reservation = parts.budget.reserve(call.user_id, estimate)
    except BudgetExceeded as exc:
        if settings.budgets.policy == "block":
            raise
        return Skip(f"over budget ({exc.scope}); downgrading", SkipKind.OVER_BUDGET)
    return None
