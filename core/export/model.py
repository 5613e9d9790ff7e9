"""The CV and letter as typed blocks that every template (PDF and DOCX) draws the same way.

The lines are chosen so that an ATS, and our own offline parser, read back the same facts: the contact line keeps
e-mail and phone apart, each job is "Position / Employer / Period" on labelled lines (unambiguous even for titles
that look like employers), and skills are listed one item at a time, separated by semicolons."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core import sanitize
from core.local.render import held_roles

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: Any, allowed: Iterable[str] = ()) -> str:
    """Model text as plain text, through the app's one sanitiser (core/sanitize.py): images and outside links
    removed, links to `allowed` URLs (the CV's own) kept; control characters dropped as well."""
    return _CONTROL.sub("", sanitize.clean_text(text, allowed)).strip()


def own_urls(resume: dict[str, Any]) -> frozenset[str]:
    """The URLs a JSON Resume holds where URLs belong (basics.url and the profiles), which exports keep."""
    basics = _dict(_dict(resume).get("basics"))
    urls = [basics.get("url")] + [_dict(p).get("url") for p in basics.get("profiles") or []]
    return frozenset(str(u) for u in urls if isinstance(u, str) and u.strip())


@dataclass(frozen=True)
class Field:
    """One line of an entry: an optional label ("Position") and its value."""

    label: str
    value: str


@dataclass
class Entry:
    fields: list[Field] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    text: str = ""
    items: list[str] = field(default_factory=list)  # a run-in list (skills): an item never breaks across lines


@dataclass
class Section:
    title: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Header:
    name: str
    label: str = ""
    contact: list[str] = field(default_factory=list)


@dataclass
class CVDocument:
    header: Header
    sections: list[Section]

    def as_json(self) -> dict[str, Any]:
        """The shape the Typst templates read from sys.inputs."""
        return {
            "name": self.header.name,
            "label": self.header.label,
            "contact": self.header.contact,
            "sections": [
                {
                    "title": s.title,
                    "entries": [
                        {
                            "fields": [{"label": f.label, "value": f.value} for f in e.fields],
                            "bullets": e.bullets,
                            "text": e.text,
                            "items": e.items,
                        }
                        for e in s.entries
                    ],
                }
                for s in self.sections
            ],
        }


@dataclass
class LetterDocument:
    header: Header
    paragraphs: list[str]

    def as_json(self) -> dict[str, Any]:
        h = self.header
        return {"name": h.name, "label": h.label, "contact": h.contact, "paragraphs": self.paragraphs}


def _dates(item: dict[str, Any], allowed: Iterable[str] = ()) -> str:
    start, end = clean(item.get("startDate"), allowed), clean(item.get("endDate"), allowed)
    if start and end:
        return f"{start} – {end}"
    if start:
        return f"{start} – Present"
    return end


def header_of(resume: dict[str, Any], allowed: Iterable[str] = ()) -> Header:
    basics = _dict(resume.get("basics"))
    loc = _dict(basics.get("location"))
    where = ", ".join(clean(loc.get(k), allowed) for k in ("city", "region") if clean(loc.get(k), allowed))
    contact = [where] if where else []
    contact += [clean(basics.get(k), allowed) for k in ("email", "phone", "url") if clean(basics.get(k), allowed)]
    for profile in basics.get("profiles") or []:
        if isinstance(profile, dict) and clean(profile.get("url") or profile.get("username"), allowed):
            contact.append(clean(profile.get("url") or profile.get("username"), allowed))
    return Header(
        clean(basics.get("name"), allowed) or "Curriculum Vitae", clean(basics.get("label"), allowed), contact
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _with_note(item: dict[str, Any], key: str, note: str, allowed: Iterable[str]) -> str:
    """`item[key]` with `item[note]` after it in brackets when there is one: "AWS SAA (2023)", "German (B2)"."""
    text, extra = clean(item.get(key), allowed), clean(item.get(note), allowed)
    return f"{text} ({extra})" if extra else text


def cv_document(resume: dict[str, Any], allowed: Iterable[str] | None = None) -> CVDocument:
    """A JSON Resume as the blocks every template draws; empty sections are left out. Every string is cleaned;
    URLs survive only if they are among `allowed` (by default the resume's own url and profile fields)."""
    resume = _dict(resume)
    allowed = own_urls(resume) if allowed is None else frozenset(allowed)
    basics = _dict(resume.get("basics"))
    sections: list[Section] = []
    if clean(basics.get("summary"), allowed):
        sections.append(Section("Summary", [Entry(text=clean(basics.get("summary"), allowed))]))
    roles = [r for r in held_roles(resume) if isinstance(r, dict)]
    if roles:
        # Labels make title and employer unambiguous; a CV whose roles never name both stays unlabelled, as the
        # parser reads labels only as a set.
        labelled = any(clean(r.get("position"), allowed) and clean(r.get("name"), allowed) for r in roles)
        entries = []
        for role in roles:
            position, employer, when = (
                clean(role.get("position"), allowed),
                clean(role.get("name"), allowed),
                _dates(role, allowed),
            )
            fields = []
            if position:
                fields.append(Field("Position" if labelled else "", position))
            if employer:
                fields.append(Field("Employer" if labelled else "", employer))
            if when:
                fields.append(Field("Period" if labelled and (position or employer) else "", when))
            bullets = [clean(h, allowed) for h in role.get("highlights") or [] if clean(h, allowed)]
            entries.append(Entry(fields, bullets, clean(role.get("summary"), allowed)))
        sections.append(Section("Experience", entries))
    education = _dicts(resume.get("education"))
    if education:
        entries = []
        for item in education:
            degree = " in ".join(
                x for x in (clean(item.get("studyType"), allowed), clean(item.get("area"), allowed)) if x
            )
            fields = [
                Field("", v) for v in (degree, clean(item.get("institution"), allowed), _dates(item, allowed)) if v
            ]
            if clean(item.get("score"), allowed):
                fields.append(Field("Grade", clean(item.get("score"), allowed)))
            entries.append(Entry(fields))
        sections.append(Section("Education", entries))
    skills = _dicts(resume.get("skills"))
    if skills:
        entries = []
        loose = [
            clean(s.get("name"), allowed) for s in skills if not s.get("keywords") and clean(s.get("name"), allowed)
        ]
        for s in skills:
            words = [clean(k, allowed) for k in s.get("keywords") or [] if clean(k, allowed)]
            if words:
                entries.append(Entry([Field(clean(s.get("name"), allowed) or "Skills", "")], items=words))
        if loose:
            entries.append(Entry(items=loose))
        sections.append(Section("Skills", entries))
    projects = _dicts(resume.get("projects"))
    if projects:
        entries = [
            Entry([Field("", clean(p.get("name"), allowed) or "Project")], text=clean(p.get("description"), allowed))
            for p in projects
        ]
        sections.append(Section("Projects", entries))
    certificates = _dicts(resume.get("certificates"))
    if certificates:
        lines = [_with_note(c, "name", "date", allowed) for c in certificates]
        sections.append(Section("Certifications", [Entry(bullets=[x for x in lines if x.strip()])]))
    languages = _dicts(resume.get("languages"))
    if languages:
        words = [_with_note(x, "language", "fluency", allowed) for x in languages if clean(x.get("language"), allowed)]
        sections.append(Section("Languages", [Entry(items=words)]))
    return CVDocument(header_of(resume, allowed), sections)


def letter_document(
    text: str, resume: dict[str, Any] | None = None, allowed: Iterable[str] | None = None
) -> LetterDocument:
    """A letter's paragraphs (blank-line separated) under the sender's name and contact line."""
    allowed = own_urls(resume or {}) if allowed is None else frozenset(allowed)
    header = header_of(resume or {}, allowed)
    if not resume:
        header = Header("", "", [])
    blocks = re.split(r"\n\s*\n", clean(text, allowed))
    paragraphs = ["\n".join(" ".join(ln.split()) for ln in b.strip().splitlines() if ln.strip()) for b in blocks]
    paragraphs = [p for p in paragraphs if p]
    return LetterDocument(header, paragraphs)
