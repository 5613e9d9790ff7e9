"""What the parser did not capture: the source lines that went into no field, so nothing vanishes silently."""

from __future__ import annotations

import re
from typing import Any

from core.local import text as tx
from core.local.parser.sections import heading_of

#: Words too common to show that a line went into a field.
_FILLER = frozenset("a an the and or of in at to for with on by as is are was be".split())
_WORD = re.compile(r"[^\W_]+(?:[+#.][^\W_]+)*[+#]*")


def _strings(value: Any) -> list[str]:
    """Every string value in a JSON Resume, at any depth, except the parser's own notes."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "meta" for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _FILLER]


def uncaptured_lines(text: str, resume: dict[str, Any]) -> list[str]:
    """Source lines (as the parser split them) whose words mostly appear in no field of resume.

    Headings and dates count as captured: they shape the result without being a value. A line counts as
    captured when at least half of its content words (dates removed) are words of some parsed value.
    """
    if not isinstance(text, str) or not text.strip():
        return []
    captured: set[str] = set()
    for value in _strings(resume):
        captured.update(_words(value))
    out: list[str] = []
    for line in tx.split_lines(tx.clean(text[: tx.MAX_CHARS])):
        if heading_of(line) and not heading_of(line)[1]:  # type: ignore[index]
            continue
        body = tx.SINGLE_DATE.sub(" ", line) if any(c.isdigit() for c in line) else line
        words = _words(body)
        words = [w for w in words if not w.isdigit()]
        if not words:
            continue
        if sum(w in captured for w in words) * 2 < len(words):
            out.append(line)
    return out
