"""JSON Resume (https://jsonresume.org/schema) as pydantic models, and the checks every CV passes on its way in.

One vocabulary for the parser's output, LLM replies, JSON imports, grounding, the service and the CV page's form.
The models are lenient the way real data needs (LLMs add fields and write null; imports carry extra sections), so
extra keys are kept and nulls become the default; what is structurally wrong (a `basics` that is text, a CV nested
thousands deep) is refused with an `InputError` a person can act on.

The form helpers (`form_values`, `apply_form`) turn a CV into the CV page's text fields and back, losslessly: a field
the user did not change keeps its original value exactly, and a changed one is parsed in a format that can say
everything the form shows (a skill group with no keywords is a line of its own, not "SEO:").
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.base import InputError

__all__ = [
    "MAX_DEPTH",
    "Award",
    "Basics",
    "Certificate",
    "Education",
    "Interest",
    "Language",
    "Location",
    "Profile",
    "Project",
    "Publication",
    "Resume",
    "Skill",
    "SkillGroup",
    "StrList",
    "Volunteer",
    "Work",
    "apply_form",
    "check_cv",
    "check_json_depth",
    "form_values",
    "json_depth",
]

#: Deepest nesting a CV may have. JSON Resume needs 4 (resume → basics → profiles → profile); 32 is generous.
MAX_DEPTH = 32
#: Most values (strings, numbers, list items) one CV may hold: a long CV has a few thousand.
MAX_NODES = 200_000

_NO_CV = "There is no CV yet. Parse or import a CV first."
_SECTIONS_OF_LISTS = (
    "work", "volunteer", "education", "awards", "certificates", "publications", "skills", "languages", "interests",
    "references", "projects",
)  # fmt: skip


class _Lenient(BaseModel):
    """LLMs add fields and write null for empty ones: keep the extras, turn None into the default."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def _str_list(value: Any) -> Any:
    """Accept "a, b" or a list with nulls where a list of strings is asked for."""
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in re.split(r"[,;\n]", value) if p.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return value


StrList = Annotated[list[str], BeforeValidator(_str_list)]


class Location(_Lenient):
    address: str = ""
    postalCode: str = ""  # JSON Resume field names are camelCase
    city: str = ""
    region: str = ""
    countryCode: str = ""


def _location(value: Any) -> Any:
    """'Manchester, UK' where an object is expected: keep it as the city line rather than refusing the CV."""
    if isinstance(value, str):
        return {"city": value}
    return value


class Profile(_Lenient):
    network: str = ""
    username: str = ""
    url: str = ""


class Basics(_Lenient):
    name: str = ""
    label: str = ""
    image: str = ""
    email: str = ""
    phone: str = ""
    url: str = ""
    summary: str = ""
    location: Annotated[Location, BeforeValidator(_location)] = Field(default_factory=Location)
    profiles: list[Profile] = Field(default_factory=list)


class Work(_Lenient):
    name: str = ""
    position: str = ""
    location: str = ""
    url: str = ""
    startDate: str = ""
    endDate: str = ""
    summary: str = ""
    highlights: StrList = Field(default_factory=list)


class Volunteer(_Lenient):
    organization: str = ""
    position: str = ""
    url: str = ""
    startDate: str = ""
    endDate: str = ""
    summary: str = ""
    highlights: StrList = Field(default_factory=list)


class Education(_Lenient):
    institution: str = ""
    url: str = ""
    area: str = ""
    studyType: str = ""
    startDate: str = ""
    endDate: str = ""
    score: str = ""
    courses: StrList = Field(default_factory=list)


class Award(_Lenient):
    title: str = ""
    date: str = ""
    awarder: str = ""
    summary: str = ""


class Certificate(_Lenient):
    name: str = ""
    date: str = ""
    issuer: str = ""
    url: str = ""


class Publication(_Lenient):
    name: str = ""
    publisher: str = ""
    releaseDate: str = ""
    url: str = ""
    summary: str = ""


class Skill(_Lenient):
    """A skill group ("Languages": Python, Go) or, as the offline parser writes them, one skill with no keywords."""

    name: str = ""
    level: str = ""
    keywords: StrList = Field(default_factory=list)


SkillGroup = Skill  # the name prompts.py used


class Language(_Lenient):
    language: str = ""
    fluency: str = ""


class Interest(_Lenient):
    name: str = ""
    keywords: StrList = Field(default_factory=list)


class Project(_Lenient):
    name: str = ""
    description: str = ""
    url: str = ""
    startDate: str = ""
    endDate: str = ""
    highlights: StrList = Field(default_factory=list)
    keywords: StrList = Field(default_factory=list)


class Resume(_Lenient):
    """JSON Resume v1. Extra sections and fields (references, "meta", "x-…") are kept as they are."""

    basics: Basics = Field(default_factory=Basics)
    work: list[Work] = Field(default_factory=list)
    volunteer: list[Volunteer] = Field(default_factory=list)
    education: list[Education] = Field(default_factory=list)
    awards: list[Award] = Field(default_factory=list)
    certificates: list[Certificate] = Field(default_factory=list)
    publications: list[Publication] = Field(default_factory=list)
    skills: list[Skill] = Field(default_factory=list)
    languages: list[Language] = Field(default_factory=list)
    interests: list[Interest] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)

    @field_validator("skills", mode="before")
    @classmethod
    def _skills_from_strings(cls, value: Any) -> Any:
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return [{"name": "Skills", "keywords": value}]
        return value

    @property
    def is_empty(self) -> bool:
        """Nothing a CV is made of: no name, e-mail, work, education or skills."""
        return not (self.basics.name or self.basics.email or self.work or self.education or self.skills)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON Resume (extras included, nulls left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def of(cls, cv: Resume | Mapping[str, Any] | None) -> Resume:
        """A Resume from a model or a dict that has already passed `check_cv` (lenient: bad parts become empty)."""
        if isinstance(cv, Resume):
            return cv
        try:
            return cls.model_validate(dict(cv or {}))
        except ValidationError:
            return cls()


# --- checks on the way in ------------------------------------------------------------------------------------------


def json_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of a JSON-like value, counted without recursion; stops counting just past `limit`.
    Raises InputError when the value holds more than MAX_NODES items (a CV is never that big)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InputError("The CV holds far more entries than any CV does. Check that it is the right file.")
        if isinstance(item, Mapping | list | tuple):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def check_json_depth(data: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON text nested deeper than `limit` before json.loads (which recurses, and raises RecursionError on
    very deep input). One linear scan over the text, skipping strings."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes | bytearray) else str(data)
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                raise InputError(
                    f"That JSON file is nested more than {limit} levels deep; a JSON Resume needs about 4. "
                    "Check that it is a JSON Resume file."
                )
        elif ch in "]}":
            depth -= 1


def check_cv(cv: Any, what: str = "CV") -> dict[str, Any]:
    """The CV as a JSON Resume dict, or InputError saying what is wrong with it. Checks type and depth first (without
    recursion), then the shape of each section; never lets RecursionError or AttributeError escape."""
    if isinstance(cv, Resume):
        return cv.to_dict()
    if cv is None:
        raise InputError(_NO_CV)
    if not isinstance(cv, Mapping):
        raise InputError(f"The {what} must be a JSON Resume object (with basics, work, education…), not {_kind(cv)}.")
    if json_depth(cv) > MAX_DEPTH:
        raise InputError(
            f"The {what} is nested more than {MAX_DEPTH} levels deep; a JSON Resume needs about 4. "
            "Re-parse the CV or import a proper JSON Resume file."
        )
    basics = cv.get("basics")
    if basics is not None and not isinstance(basics, Mapping):
        raise InputError(
            f"The {what}'s “basics” section must be an object (name, e-mail, phone…), not {_kind(basics)}."
        )
    for section in _SECTIONS_OF_LISTS:
        value = cv.get(section)
        if value is None:
            continue
        if not isinstance(value, list):
            raise InputError(f"The {what}'s “{section}” section must be a list, not {_kind(value)}.")
        if section != "skills" and any(not isinstance(item, Mapping) for item in value):
            raise InputError(f"Each entry of the {what}'s “{section}” section must be an object.")
    try:
        Resume.model_validate(dict(cv))
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        msg = errors[0]["msg"] if errors else "invalid"
        where = where or "CV"
        raise InputError(f"The {what} has a part CV Copilot cannot read ({where}: {msg}).") from None
    if not any(cv.get(k) for k in ("basics", "work", "education", "skills")):
        raise InputError(_NO_CV)
    return dict(cv)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, bool | int | float):
        return "a number"
    return f"a {type(value).__name__}"


# --- the CV page's form -------------------------------------------------------------------------------------------

BASICS_FIELDS = ("name", "label", "email", "phone", "url", "summary")
WORK_FIELDS = ("name", "position", "startDate", "endDate")
EDU_FIELDS = ("institution", "studyType", "area", "endDate")


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _entries(cv: Mapping[str, Any], section: str) -> list[dict[str, Any]]:
    return [dict(e) for e in cv.get(section) or [] if isinstance(e, Mapping)]


def _esc(text: str) -> str:
    """A skill or group name in the form's line format: ":" and "," inside it are written "\\:" and "\\,"."""
    return re.sub(r"([\\:,])", r"\\\1", text)


def skills_text(skills: Any) -> str:
    """Skill groups as lines: "Group: a, b" for a group with keywords, the bare name for one without
    (":" and "," inside a name are escaped with a backslash, so "CONNECT:DIRECT" survives)."""
    lines = []
    for group in skills or []:
        if isinstance(group, str):
            lines.append(_esc(group))
            continue
        if not isinstance(group, Mapping):
            continue
        name = _s(group.get("name")).strip()
        keywords = [_s(k).strip() for k in group.get("keywords") or [] if _s(k).strip()]
        if keywords:
            lines.append(f"{_esc(name or 'Skills')}: {', '.join(_esc(k) for k in keywords)}")
        elif name:
            lines.append(_esc(name))
    return "\n".join(lines)


def _unesc(text: str) -> str:
    return re.sub(r"\\([\\:,])", r"\1", text).strip()


def _keywords(text: str) -> list[str]:
    """The items of "a, b\\, c": split at commas that are not escaped, each unescaped, empty ones dropped."""
    return [_unesc(k) for k in re.split(r"(?<!\\),", text) if _unesc(k)]


def parse_skills(text: str, before: Any = None) -> list[dict[str, Any]]:
    """The inverse of `skills_text`. A line equal to one it wrote keeps that group exactly (level and extras too);
    "Group: a, b" is a group; "a, b" with no group goes under "Skills"; a single word is a skill of its own."""
    originals: dict[str, list[dict[str, Any]]] = {}
    for group in before or []:
        if isinstance(group, Mapping):
            originals.setdefault(skills_text([group]), []).append(dict(group))
    out: list[dict[str, Any]] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if originals.get(line):
            out.append(originals[line].pop(0))
            continue
        head = re.split(r"(?<!\\):", line, maxsplit=1)
        if len(head) == 2:
            out.append({"name": _unesc(head[0]) or "Skills", "keywords": _keywords(head[1])})
        elif re.search(r"(?<!\\),", line):
            out.append({"name": "Skills", "keywords": _keywords(line)})
        else:
            out.append({"name": _unesc(line), "level": "", "keywords": []})
    return out


def highlights_text(highlights: Any) -> str:
    return "\n".join(_s(h) for h in highlights or [])


def parse_highlights(text: str) -> list[str]:
    """One highlight per line; bullets typed by the user ("- ", "• ") are taken off."""
    out = []
    for line in (text or "").splitlines():
        item = re.sub(r"^\s*(?:[-•*·]\s+)", "", line).strip()
        if item:
            out.append(item)
    return out


def form_values(cv: Mapping[str, Any]) -> dict[str, str]:
    """The CV page's form fields (key → text) for `cv`: basics, one block per job and school, and the skills."""
    basics = cv.get("basics") if isinstance(cv.get("basics"), Mapping) else {}
    assert isinstance(basics, Mapping)
    location = basics.get("location") if isinstance(basics.get("location"), Mapping) else {}
    assert isinstance(location, Mapping)
    values = {field: _s(basics.get(field)) for field in BASICS_FIELDS}
    values["city"] = _s(location.get("city"))
    for i, job in enumerate(_entries(cv, "work")):
        for field in WORK_FIELDS:
            values[f"work_{i}_{field}"] = _s(job.get(field))
        values[f"work_{i}_highlights"] = highlights_text(job.get("highlights"))
    for i, school in enumerate(_entries(cv, "education")):
        for field in EDU_FIELDS:
            values[f"edu_{i}_{field}"] = _s(school.get(field))
    values["skills"] = skills_text(cv.get("skills"))
    return values


def apply_form(cv: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """`cv` with the form's `values` applied. A field whose text is what `form_values` showed keeps the CV's own
    value exactly; an emptied job or school (all its fields blank) is removed; new rows (`work_<n>_…` past the
    last job) are added when they have an employer or a position."""
    shown = form_values(cv)
    out: dict[str, Any] = copy.deepcopy(dict(cv))

    def changed(key: str) -> bool:
        return key in values and values[key] != shown.get(key, "")

    basics = dict(out.get("basics") or {}) if isinstance(out.get("basics"), Mapping) else {}
    for field in BASICS_FIELDS:
        if changed(field):
            basics[field] = values[field].strip()
    if changed("city"):
        location = basics.get("location") if isinstance(basics.get("location"), Mapping) else {}
        basics["location"] = {**dict(location or {}), "city": values["city"].strip()}
    if basics or "basics" in out:
        out["basics"] = basics

    out["work"] = _apply_rows(_entries(cv, "work"), values, "work", WORK_FIELDS, ("name", "position"), changed)
    out["education"] = _apply_rows(
        _entries(cv, "education"), values, "edu", EDU_FIELDS, ("institution", "studyType"), changed
    )
    if "work" not in cv and not out["work"]:
        del out["work"]
    if "education" not in cv and not out["education"]:
        del out["education"]
    if changed("skills"):
        out["skills"] = parse_skills(values["skills"], cv.get("skills"))
    return out


def _apply_rows(
    rows: list[dict[str, Any]],
    values: Mapping[str, str],
    prefix: str,
    fields: tuple[str, ...],
    required: tuple[str, ...],
    changed: Any,
) -> list[dict[str, Any]]:
    out = []
    n = len(rows)
    while any(f"{prefix}_{n}_{field}" in values for field in fields):
        n += 1
    for i in range(n):
        row = copy.deepcopy(rows[i]) if i < len(rows) else {}
        touched = False
        keys = [*fields, "highlights"] if prefix == "work" else list(fields)
        for field in keys:
            key = f"{prefix}_{i}_{field}"
            if not changed(key) and i < len(rows):
                continue
            text = values.get(key, "")
            if i >= len(rows) and not text.strip():
                continue
            touched = True
            row[field] = parse_highlights(text) if field == "highlights" else text.strip()
        if i >= len(rows):
            if any(_s(row.get(f)).strip() for f in required):
                out.append(row)
            continue
        if touched and not any(_s(row.get(f)).strip() for f in keys if f != "highlights") and not row.get("highlights"):
            continue  # the user blanked every field: the entry is deleted
        out.append(row)
    return out


def loads(data: bytes | str) -> Any:
    """json.loads with the depth checked first (a JSON upload nested 100,000 deep is an InputError, not a crash)."""
    check_json_depth(data)
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise InputError("That file is not valid JSON.") from None
