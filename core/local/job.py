"""Job description → title, company, location, required vs preferred skills, years and seniority."""

from __future__ import annotations

import bisect
import re
from typing import Any

from core.local import gazetteers as gz
from core.local import text as tx
from core.local.skills import vocabulary
from core.local.vocab.stopwords import AD_FRAMING, INJECTION_WORDS, STOPWORDS_OTHER_LANGUAGES

_PREFERRED = re.compile(
    r"\b(?:nice to have|nice-to-have|preferred|preferably|a plus|is a plus|bonus|desirable|desired|advantage|"
    r"advantageous|good to have|ideally|optional|would be great|not required)\b",
    re.I,
)
_PREFERRED_HEAD = re.compile(r"^(?:nice to have|preferred|bonus|desirable|good to have|pluses|extras?)\b", re.I)
_REQUIRED_HEAD = re.compile(
    r"^(?:requirements|required|must have|must-have|qualifications|what you(?:'ll)? (?:need|bring)|"
    r"you have|skills|essential|minimum qualifications|who you are|about you)\b",
    re.I,
)
_YEARS = re.compile(r"(\d{1,2})\s*(?:\+|plus)?\s*(?:-|to|–)?\s*(?:\d{1,2}\s*)?\+?\s*(?:years?|yrs?)", re.I)
_TITLE_LINE = re.compile(r"^(?:job\s+title|title|position|role)\s*[:\-]\s*(.+)$", re.I)
_COMPANY_LINE = re.compile(r"^(?:company|employer|organi[sz]ation|client)\s*[:\-]\s*(.+)$", re.I)
_LOCATION_LINE = re.compile(r"^(?:location|based in|office|city)\s*[:\-]\s*(.+)$", re.I)
_AT_COMPANY = re.compile(r"\b(?:at|join|joining)\s+([A-Z][\w&.\-]*(?:\s+[A-Z][\w&.\-]*){0,3})")
_REMOTE = re.compile(r"\b(remote|hybrid|on-?site)\b", re.I)
_SENIORITY = (
    ("lead", re.compile(r"\b(?:lead|principal|staff|head of|director|architect|manager of)\b", re.I)),
    ("senior", re.compile(r"\b(?:senior|sr\.?|experienced)\b", re.I)),
    ("junior", re.compile(r"\b(?:junior|jr\.?|graduate|entry[- ]level|intern(?:ship)?|trainee|apprentice)\b", re.I)),
    ("mid", re.compile(r"\b(?:mid[- ]level|intermediate|mid-senior)\b", re.I)),
)


def analyze_job(text: str) -> dict[str, Any]:
    """Read a job ad; never raises. Skills on 'nice to have' lines or under such headings count as preferred."""
    result: dict[str, Any] = {
        "title": "",
        "company": "",
        "location": "",
        "required_skills": [],
        "preferred_skills": [],
        "years_experience": None,
        "seniority": None,
        "keywords": [],
        "keyword_groups": {"hard_skills": [], "soft_skills": [], "title": [], "education": []},
        "warnings": [],
    }
    try:
        _analyze_into(result, text)
    except Exception as exc:  # noqa: BLE001 - a bad ad must not break a match run; report and return what we have
        result["warnings"].append(f"The job analysis hit an unexpected problem ({type(exc).__name__}).")
    return result


def _analyze_into(result: dict[str, Any], text: Any) -> None:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text.strip():
        result["warnings"].append("The job description is empty.")
        return
    if len(text) > tx.MAX_CHARS:
        result["warnings"].append(f"The job description is long; only the first {tx.MAX_CHARS:,} characters were read.")
        text = text[: tx.MAX_CHARS]
    raw = text
    text = tx.clean(text)
    lines = tx.split_lines(text)
    vocab = vocabulary()

    for line in lines[:15]:
        m = _TITLE_LINE.match(line)
        if m and not result["title"]:
            result["title"] = m.group(1).strip()
        m = _COMPANY_LINE.match(line)
        if m and not result["company"]:
            result["company"] = m.group(1).strip()
        m = _LOCATION_LINE.match(line)
        if m and not result["location"]:
            result["location"] = m.group(1).strip()
    if not result["title"] and lines:
        first = re.split(r"(?<!\s)\s+(?:-|–|\||at|@)\s+", lines[0])
        if len(lines[0].split()) <= 12:
            result["title"] = first[0].strip(" :")
            if len(first) > 1 and not result["company"]:
                result["company"] = first[1].strip(" :")
    if not result["company"]:
        m = _AT_COMPANY.search(text[:2000])
        if m and m.group(1).split()[0] not in ("The", "Our", "A", "An", "We"):
            result["company"] = m.group(1).strip(" .,")
    if not result["location"]:
        m = _REMOTE.search(text[:3000])
        if m:
            result["location"] = m.group(1).capitalize()

    required: dict[str, None] = {}
    preferred: dict[str, None] = {}
    mode = "required"
    starts, is_pref = [], []
    pos = 0
    for line in lines:
        if _PREFERRED_HEAD.match(line):
            mode = "preferred"
        elif _REQUIRED_HEAD.match(line):
            mode = "required"
        starts.append(pos)
        is_pref.append(mode == "preferred" or bool(_PREFERRED.search(line)))
        pos += len(line) + 1
    for hit in vocab.find(_mask(("\n".join(lines)), result["company"]), include_soft=True):
        target = preferred if is_pref[bisect.bisect_right(starts, hit.start) - 1] else required
        target.setdefault(hit.skill.name, None)
    for name in required:
        preferred.pop(name, None)
    result["required_skills"] = list(required)
    result["preferred_skills"] = list(preferred)
    if not required and not preferred:
        result["warnings"].append("No known skills were found in the job description; matching uses its words only.")

    years = [int(m.group(1)) for m in _YEARS.finditer(text[:20000]) if 0 < int(m.group(1)) <= 30]
    result["years_experience"] = min(years) if years else None
    result["seniority"] = _seniority(result["title"], text, result["years_experience"])
    result["keywords"] = _keywords(raw, list(required) + list(preferred), result["company"], result["title"])
    result["keyword_groups"] = keyword_groups(result, raw)


def _seniority(title: str, text: str, years: int | None) -> str | None:
    for level, pattern in _SENIORITY:
        if pattern.search(title):
            return level
    if years is not None:
        return "junior" if years < 2 else "mid" if years < 5 else "senior" if years < 9 else "lead"
    for level, pattern in _SENIORITY:
        if pattern.search(text[:1500]):
            return level
    return None


def _mask(text: str, company: str) -> str:
    """Blank the employer's name, keeping offsets: 'Sample Retail Co' names a company, not a 'Retail' skill."""
    name = company.strip()
    if len(name) < 2:
        return text
    return re.sub(re.escape(name), lambda m: " " * len(m.group(0)), text, flags=re.I)


#: Words an ad repeats that no applicant could add to a CV: role nouns, seniority, and the ad's own framing.
_GENERIC = frozenset(gz.TITLE_HEADS | gz.WEAK_HEADS) | frozenset(
    """senior junior lead principal mid level entry graduate staff remote hybrid onsite office team teams
    business commercial stakeholders stakeholder customers customer clients client help helping build building
    create creating support supporting deliver delivering drive driving make making decisions decision day
    days week weeks month months salary benefits opportunity opportunities applicants application apply
    hiring hire role roles people culture mission value values growth grow growing need needs needed want
    ideal successful based full time part permanent contract location tools""".split()
)


_SURFACE_WORD = re.compile(r"[^\W\d_]{3,}")
_NEVER_KEYWORDS = tx.STOPWORDS | STOPWORDS_OTHER_LANGUAGES | INJECTION_WORDS | AD_FRAMING


def _keywords(text: str, skills: list[str], company: str = "", title: str = "", limit: int = 25) -> list[str]:
    """Skills first, then frequent content words an applicant-tracking system would look for.

    Only whole words of the ad as written (no stems such as 'previou'); never a function word of any language
    the app reads ('und', 'mit'), the ad's own framing, prompt-injection vocabulary, or words of the employer's
    name or the job title. Role nouns and words already inside a listed skill say nothing the applicant could
    add, so they are left out too.
    """
    skip = set(_SURFACE_WORD.findall(company.lower())) | set(_SURFACE_WORD.findall(title.lower())) | _GENERIC
    skip |= _NEVER_KEYWORDS
    for s in skills:
        skip.update(_SURFACE_WORD.findall(s.lower()))
    counts: dict[str, int] = {}
    for w in _SURFACE_WORD.findall(text.lower()):
        if w not in skip:
            counts[w] = counts.get(w, 0) + 1
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    skill_keys = {tx.norm_key(s) for s in skills}
    out = list(dict.fromkeys(skills))
    out.extend(w for w in ranked if w not in skill_keys and counts[w] > 1)
    return out[:limit]


_EDUCATION_TERM = re.compile(
    r"\b(?:(?:bachelor|master)'?s?(?:\s+degree)?|degree|diploma|phd|doctorate|mba|bsc|msc|ba|ma|gcse|a-levels?|"
    r"nmc\s+registration|registered\s+nurse|chartered|acca|cima|cpa|cipd|qualified\s+teacher\s+status|qts)\b",
    re.I,
)


def keyword_groups(analysed: dict[str, Any], text: str) -> dict[str, list[str]]:
    """The ad's keywords apart, as Jobscan reports them: hard skills, soft skills, title words and education."""
    vocab = vocabulary()
    skills = [str(s) for s in (analysed.get("required_skills") or []) + (analysed.get("preferred_skills") or [])]
    soft = [s for s in skills if vocab.category(s) == "Soft Skills"]
    hard = [s for s in skills if s not in soft]
    title_words = [
        w for w in _SURFACE_WORD.findall(str(analysed.get("title") or "")) if w.lower() not in _NEVER_KEYWORDS
    ]
    education = list(dict.fromkeys(m.group(0).strip() for m in _EDUCATION_TERM.finditer(text[:20000])))
    return {"hard_skills": hard, "soft_skills": soft, "title": title_words, "education": education}
