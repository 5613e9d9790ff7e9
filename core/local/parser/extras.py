"""The smaller sections: spoken languages, certificates and projects."""

from __future__ import annotations

import re
from typing import Any

from core.local import text as tx
from core.local.parser.common import _is_short, strip_keeping_pairs
from core.local.vocab.words import HUMAN_LANGUAGES

_ASCII_WORD = re.compile(r"[A-Za-z]+")
_LANGUAGES_KNOWN_LINE = re.compile(r"languages?\s*(?:known|spoken)?\s*[:\-]\s*([^\n]{3,120})", re.I)


def _parse_languages(lines: list[str], text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    pool = " ".join(lines)
    if not pool:
        m = _LANGUAGES_KNOWN_LINE.search(text)
        pool = m.group(1) if m else ""
    seen: set[str] = set()
    for word in _ASCII_WORD.findall(pool):
        low = word.lower()
        if low in HUMAN_LANGUAGES and low not in seen:
            seen.add(low)
            found.append({"language": word.capitalize(), "fluency": ""})
    levels = {m.group(1).lower(): m.group(2).capitalize() for m in _FLUENCY.finditer(pool)}
    for item in found:
        item["fluency"] = levels.get(item["language"].lower(), "")
    return found


_FLUENCY = re.compile(
    r"(?<![A-Za-z])([A-Za-z]+)\s*+[(:\-]\s*(native|fluent|professional|intermediate|basic|beginner)", re.I
)


def _parse_certificates(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines[:20]:
        if len(line.split()) > 18 or len(line) < 4:
            continue
        date = tx.SINGLE_DATE.search(line)
        name = strip_keeping_pairs(tx.SINGLE_DATE.sub("", line))
        if name:
            out.append({"name": name, "date": tx.parse_date(date.group(0)) if date else "", "issuer": ""})
    return out


_PROJECT_TITLE_LABEL = re.compile(r"^(?:project\s*(?:name|title)?|title)\s*[:\-]\s*(.+)$", re.I)


def _parse_projects(lines: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in lines[:60]:
        m = _PROJECT_TITLE_LABEL.match(line)
        if m or (
            (_is_short(line) and len(line.split()) <= 8 and not out) or (_is_short(line) and len(line.split()) <= 6)
        ):
            out.append({"name": (m.group(1) if m else line).strip(), "description": "", "highlights": []})
        elif out:
            proj = out[-1]
            if not proj["description"]:
                proj["description"] = line
            elif len(proj["highlights"]) < 6:
                proj["highlights"].append(line)
        if len(out) >= 10:
            break
    return out
