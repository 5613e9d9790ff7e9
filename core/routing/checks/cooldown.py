"""A provider cooling down after failures (see core.routing.health) is skipped until its cooldown ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.routing.types import Call, Candidate, Skip, SkipKind

if TYPE_CHECKING:
    from core.routing.checks import Parts


def check(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    waiting = parts.health.cooling(candidate.name)
    if waiting <= 0:
        return None
    why = parts.health.last_error(candidate.name)
    return Skip(f"cooling down after {why}; try again in {waiting:.0f} s", SkipKind.COOLING_DOWN, retry_after=waiting)
