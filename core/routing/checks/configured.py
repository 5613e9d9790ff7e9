"""A provider with no key (or, for `custom`, no base URL) is never called."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.routing.types import Call, Candidate, Skip, SkipKind

if TYPE_CHECKING:
    from core.routing.checks import Parts

NOT_CONFIGURED = Skip("not configured (no API key)", SkipKind.NOT_CONFIGURED)


def check(parts: Parts, call: Call, candidate: Candidate) -> Skip | None:
    return None if candidate.settings.configured else NOT_CONFIGURED
