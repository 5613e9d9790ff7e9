"""JSON Resume → Markdown, the format the app shows and exports."""

from __future__ import annotations

from typing import Any

#: Marks a work entry that only records a job title the CV names (an objective, a headline), not a job held.
MENTION_KEY = "x-source"
MENTIONED = "mentioned"


def is_mention(entry: Any) -> bool:
    """True for a title the CV merely names: marked as mentioned and still without employer, dates or bullets.

    Once someone fills in an employer or dates, the entry describes a job and is treated as one.
    """
    if not isinstance(entry, dict) or entry.get(MENTION_KEY) != MENTIONED:
        return False
    return not any(entry.get(k) for k in ("name", "startDate", "endDate", "highlights"))


def held_roles(resume: dict[str, Any]) -> list[dict[str, Any]]:
    """The work entries that describe jobs held, in order: mentioned titles left out."""
    work = resume.get("work") if isinstance(resume, dict) else None
    return [w for w in work or [] if isinstance(w, dict) and not is_mention(w)]


def _dates(item: dict[str, Any]) -> str:
    start, end = str(item.get("startDate") or ""), str(item.get("endDate") or "")
    if start and end:
        return f"{start} – {end}"
    if start:
        return f"{start} – Present"
    return end


def resume_to_markdown(resume: dict[str, Any]) -> str:
    """A plain Markdown CV; empty sections are left out."""
    resume = resume if isinstance(resume, dict) else {}
    basics = resume.get("basics") or {}
    out: list[str] = [f"# {basics.get('name') or 'Curriculum Vitae'}"]
    if basics.get("label"):
        out.append(f"**{basics['label']}**")
    loc = basics.get("location") or {}
    where = ", ".join(str(loc.get(k)) for k in ("city", "region") if loc.get(k))
    contact = [str(basics.get(k)) for k in ("email", "phone", "url") if basics.get(k)]
    contact += [str(p.get("url") or p.get("username")) for p in basics.get("profiles") or [] if isinstance(p, dict)]
    if where:
        contact.insert(0, where)
    if contact:
        out.append(" · ".join(contact))
    if basics.get("summary"):
        out += ["", "## Summary", "", str(basics["summary"])]
    roles = held_roles(resume)
    if roles:
        out += ["", "## Experience"]
        for w in roles:
            head = " — ".join(x for x in (str(w.get("position") or ""), str(w.get("name") or "")) if x)
            out += ["", f"### {head or 'Role'}"]
            if _dates(w):
                out.append(f"*{_dates(w)}*")
            if w.get("summary"):
                out += ["", str(w["summary"])]
            out += [f"- {h}" for h in w.get("highlights") or []]
    if resume.get("education"):
        out += ["", "## Education", ""]
        for e in resume["education"]:
            degree = " in ".join(x for x in (str(e.get("studyType") or ""), str(e.get("area") or "")) if x)
            line = ", ".join(x for x in (degree, str(e.get("institution") or "")) if x)
            when = _dates(e) if e.get("startDate") else str(e.get("endDate") or "")
            out.append(
                f"- {line}" + (f" ({when})" if when else "") + (f", score {e['score']}" if e.get("score") else "")
            )
    if resume.get("skills"):
        out += ["", "## Skills", ""]
        loose = [str(s.get("name")) for s in resume["skills"] if not s.get("keywords") and s.get("name")]
        for s in resume["skills"]:
            if s.get("keywords"):
                out.append(f"- **{s.get('name') or 'Skills'}**: {', '.join(map(str, s['keywords']))}")
        if loose:
            out.append(f"- {', '.join(loose)}")
    if resume.get("projects"):
        out += ["", "## Projects", ""]
        for p in resume["projects"]:
            desc = f": {p['description']}" if p.get("description") else ""
            out.append(f"- **{p.get('name') or 'Project'}**{desc}")
    if resume.get("certificates"):
        out += ["", "## Certificates", ""]
        out += [f"- {c.get('name')}" + (f" ({c['date']})" if c.get("date") else "") for c in resume["certificates"]]
    if resume.get("languages"):
        out += ["", "## Languages", ""]
        langs = [
            str(lang.get("language")) + (f" ({lang['fluency']})" if lang.get("fluency") else "")
            for lang in resume["languages"]
        ]
        out.append(", ".join(langs))
    return "\n".join(out).strip() + "\n"
