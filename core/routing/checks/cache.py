"""An answer already in the response cache is served from it (the offline engine's answers are not cached)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.routing.types import Call, Candidate, Skip

if TYPE_CHECKING:
    from core.routing.checks import Parts

log = logging.getLogger("cv_copilot.router")


def key_for(call: Call, candidate: Candidate) -> str:
    from core.cache import ResponseCache

    return ResponseCache.make_key(
        candidate.name, candidate.model, call.prompt, system=call.system, max_tokens=call.max_tokens,
        temperature=call.temperature, json_mode=call.json_mode, extra={"task": call.task._value_},
    )  # fmt: skip


def check(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    if not call.use_cache or candidate.name == "local" or not parts.settings.cache_enabled:
        return None
    candidate.cache_key = key_for(call, candidate)
    candidate.hit = parts.cache.get(candidate.cache_key)
    return None
