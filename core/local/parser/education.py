"""Education: degrees, institutions, dates and grades."""

from __future__ import annotations

import re
from typing import Any

from core.local import text as tx
from core.local.parser.common import _DEGREE, _INSTITUTION, _split_parts, strip_keeping_pairs

_GRADE_SCORE = re.compile(r"\b(?:gpa|cgpa|percentage|grade|score)\s*[:\-]?\s*([\d.]+\s*(?:/\s*[\d.]+|%)?)", re.I)
_YEAR = re.compile(r"\b(?:19[5-9]\d|20[0-4]\d)\b")
_SPACED_FROM_OR_AT = re.compile(r"(?<!\s)\s+(?:from|at)\s+")


def _parse_education(lines: list[str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for i, line in enumerate(lines[:80]):
        m = _DEGREE.search(line)
        if not m or len(line.split()) > 25:
            continue
        if m.start() > 0 and (len(line[: m.start()].split()) > 6 or line[:1].islower()):
            continue  # 'their high school education, and …': a degree named in a sentence wrapped onto this line
        deg_text = line[m.start() :]
        inst = ""
        inst_m = _INSTITUTION.search(deg_text)
        parts = _split_parts(deg_text)
        degree_part = parts[0] if parts else deg_text
        if inst_m:
            for p in parts[1:]:
                if _INSTITUTION.search(p):
                    inst = p
                    break
            if _INSTITUTION.search(degree_part) and not inst:
                cut = _SPACED_FROM_OR_AT.split(degree_part, maxsplit=1)
                if len(cut) == 2:
                    degree_part, inst = cut
        if not inst:
            for j in range(i + 1, min(i + 4, len(lines))):
                if _INSTITUTION.search(lines[j]) and not _DEGREE.match(lines[j]):
                    inst = _split_parts(lines[j])[0] if _split_parts(lines[j]) else lines[j]
                    break
        if not inst:
            for j in range(i - 1, max(i - 3, -1), -1):
                if _INSTITUTION.search(lines[j]) and not _DEGREE.search(lines[j]):
                    inst = _split_parts(lines[j])[0] if _split_parts(lines[j]) else lines[j]
                    break
        degree_part = strip_keeping_pairs(tx.SINGLE_DATE.sub("", degree_part))
        study, area = _split_degree(degree_part)
        entry: dict[str, Any] = {"institution": inst.strip(" ,-:"), "studyType": study, "area": area}
        window = " ".join(lines[i : i + 3])
        rng = tx.find_date_range(window)
        if rng:
            entry["startDate"] = rng[0]
            if rng[1]:
                entry["endDate"] = rng[1]
        else:
            years = _YEAR.findall(window)
            if years:
                entry["endDate"] = years[0]
        score = _GRADE_SCORE.search(window)
        entry["score"] = score.group(1).strip() if score else ""
        if study and all(e["studyType"] != study or e["area"] != area for e in entries):
            entries.append(entry)
        if len(entries) >= 8:
            break
    if not entries:
        for line in lines[:40]:
            if _INSTITUTION.search(line) and len(line.split()) <= 12:
                entries.append({"institution": line, "studyType": "", "area": "", "score": ""})
                if len(entries) >= 4:
                    break
    return entries


_HONOURS = re.compile(r"\((?:hons?|honours|honors|first class|1st)\.?\)\s*", re.I)
_DEGREE_IN_FIELD = re.compile(r"^(.*?)(?<!\s)\s+(?:in|en|em)\s+(.+)$", re.I)  # en: es/fr, em: pt
_DEGREE_LEVEL_PREFIX = re.compile(r"^(?:bachelor|master|doctor|associate)", re.I)


def _split_degree(text: str) -> tuple[str, str]:
    m = _DEGREE_IN_FIELD.match(text)
    if m:
        return m.group(1).strip(" ,-"), m.group(2).strip(" ,-")
    if _DEGREE_LEVEL_PREFIX.match(text):
        return text.strip(" ,-"), ""
    m = _DEGREE.match(text)
    if m:
        study, rest = m.group(0).strip(" ,-"), strip_keeping_pairs(text[m.end() :])
        honours = _HONOURS.match(rest)
        if honours:  # 'BSc (Hons) General Nursing': the honours mark belongs to the degree
            study, rest = f"{study} {honours.group(0).strip()}", rest[honours.end() :].strip(" ,-:")
        return study, rest
    return text.strip(), ""
