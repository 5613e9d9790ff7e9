"""The CV and letter as typed blocks that every template (PDF and DOCX) draws the same way.

The lines are chosen so that an ATS, and our own offline parser, read back the same facts: the contact line keeps
e-mail and phone apart, each job is "Position / Employer / Period" on labelled lines (unambiguous even for titles
that look like employers), and skills are listed one item at a time, separated by semicolons."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.local.render import held_roles

#: Markdown images and links, and HTML tags, in model output: exports carry text only (see core/sanitize.py once it
#: lands; until then this is the one place exports clean model text).
_MD_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\([^)\n]{0,2000}\)")
_MD_LINK = re.compile(r"\[([^\]\n]{0,500})\]\([^)\n]{0,2000}\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,500}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: Any) -> str:
    """Model text as plain text: images dropped, links reduced to their words, tags and control characters gone."""
    value = str(text or "")
    value = _MD_IMAGE.sub("", value)
    value = _MD_LINK.sub(r"\1", value)
    value = _HTML_TAG.sub("", value)
    return _CONTROL.sub("", value).strip()


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


def _dates(item: dict[str, Any]) -> str:
    start, end = clean(item.get("startDate")), clean(item.get("endDate"))
    if start and end:
        return f"{start} – {end}"
    if start:
        return f"{start} – Present"
    return end


def header_of(resume: dict[str, Any]) -> Header:
    basics = _dict(resume.get("basics"))
    loc = _dict(basics.get("location"))
    where = ", ".join(clean(loc.get(k)) for k in ("city", "region") if clean(loc.get(k)))
    contact = [where] if where else []
    contact += [clean(basics.get(k)) for k in ("email", "phone", "url") if clean(basics.get(k))]
    for profile in basics.get("profiles") or []:
        if isinstance(profile, dict) and clean(profile.get("url") or profile.get("username")):
            contact.append(clean(profile.get("url") or profile.get("username")))
    return Header(clean(basics.get("name")) or "Curriculum Vitae", clean(basics.get("label")), contact)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def cv_document(resume: dict[str, Any]) -> CVDocument:
    """A JSON Resume as the blocks every template draws; empty sections are left out."""
    resume = _dict(resume)
    basics = _dict(resume.get("basics"))
    sections: list[Section] = []
    if clean(basics.get("summary")):
        sections.append(Section("Summary", [Entry(text=clean(basics.get("summary")))]))
    roles = [r for r in held_roles(resume) if isinstance(r, dict)]
    if roles:
        # Labels make title and employer unambiguous; a CV whose roles never name both stays unlabelled, as the
        # parser reads labels only as a set.
        labelled = any(clean(r.get("position")) and clean(r.get("name")) for r in roles)
        entries = []
        for role in roles:
            position, employer, when = clean(role.get("position")), clean(role.get("name")), _dates(role)
            fields = []
            if position:
                fields.append(Field("Position" if labelled else "", position))
            if employer:
                fields.append(Field("Employer" if labelled else "", employer))
            if when:
                fields.append(Field("Period" if labelled and (position or employer) else "", when))
            bullets = [clean(h) for h in role.get("highlights") or [] if clean(h)]
            entries.append(Entry(fields, bullets, clean(role.get("summary"))))
        sections.append(Section("Experience", entries))
    education = _dicts(resume.get("education"))
    if education:
        entries = []
        for item in education:
            degree = " in ".join(x for x in (clean(item.get("studyType")), clean(item.get("area"))) if x)
            fields = [Field("", v) for v in (degree, clean(item.get("institution")), _dates(item)) if v]
            if clean(item.get("score")):
                fields.append(Field("Grade", clean(item.get("score"))))
            entries.append(Entry(fields))
        sections.append(Section("Education", entries))
    skills = _dicts(resume.get("skills"))
    if skills:
        entries = []
        loose = [clean(s.get("name")) for s in skills if not s.get("keywords") and clean(s.get("name"))]
        for s in skills:
            words = [clean(k) for k in s.get("keywords") or [] if clean(k)]
            if words:
                entries.append(Entry([Field(clean(s.get("name")) or "Skills", "")], items=words))
        if loose:
            entries.append(Entry(items=loose))
        sections.append(Section("Skills", entries))
    projects = _dicts(resume.get("projects"))
    if projects:
        entries = [
            Entry([Field("", clean(p.get("name")) or "Project")], text=clean(p.get("description"))) for p in projects
        ]
        sections.append(Section("Projects", entries))
    certificates = _dicts(resume.get("certificates"))
    if certificates:
        lines = [
            clean(c.get("name")) + (f" ({clean(c.get('date'))})" if clean(c.get("date")) else "") for c in certificates
        ]
        sections.append(Section("Certifications", [Entry(bullets=[x for x in lines if x.strip()])]))
    languages = _dicts(resume.get("languages"))
    if languages:
        words = [
            clean(x.get("language")) + (f" ({clean(x.get('fluency'))})" if clean(x.get("fluency")) else "")
            for x in languages
            if clean(x.get("language"))
        ]
        sections.append(Section("Languages", [Entry(items=words)]))
    return CVDocument(header_of(resume), sections)


def letter_document(text: str, resume: dict[str, Any] | None = None) -> LetterDocument:
    """A letter's paragraphs (blank-line separated) under the sender's name and contact line."""
    header = header_of(resume or {})
    if not resume:
        header = Header("", "", [])
    blocks = re.split(r"\n\s*\n", clean(text))
    paragraphs = ["\n".join(" ".join(ln.split()) for ln in b.strip().splitlines() if ln.strip()) for b in blocks]
    paragraphs = [p for p in paragraphs if p]
    return LetterDocument(header, paragraphs)
