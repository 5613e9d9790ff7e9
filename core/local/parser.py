"""CV text → JSON Resume (v1) dict, by headings, date anchors and word lists; works on flattened text too."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from core.local import gazetteers as gz
from core.local import text as tx
from core.local.render import MENTION_KEY, MENTIONED
from core.local.skills import vocabulary

# --- section headings ---------------------------------------------------------------------------------------

_HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary",
        "professional summary",
        "profile",
        "professional profile",
        "career profile",
        "profile summary",
        "career summary",
        "executive summary",
        "executive profile",
        "objective",
        "career objective",
        "professional objective",
        "job objective",
        "employment objective",
        "objectives",
        "about me",
        "about",
        "personal statement",
        "summary of qualifications",
        "summary of qualification",
        "qualifications summary",
        "overview",
        "professional overview",
        "introduction",
        "highlights",
        "career highlights",
        "synopsis",
    ),
    "experience": (
        "experience",
        "work experience",
        "professional experience",
        "relevant experience",
        "work history",
        "employment history",
        "employment",
        "employment details",
        "employment record",
        "career history",
        "career experience",
        "career experience/job history",
        "job history",
        "professional background",
        "professional history",
        "work experience details",
        "experience details",
        "internship",
        "internships",
        "internship experience",
        "academic and professional experience",
        "professional and academic experience",
        "positions held",
        "organizational experience",
        "industrial experience",
        "industry experience",
        "teaching experience",
        "research experience",
        "experiences",
        "work",
        "career",
        "employment experience",
        "company experience",
        "other experience",
        "additional experience",
        "previous experience",
        "relevant work experience",
        "professional work experience",
        "volunteer experience",
        "leadership experience",
        "student teaching",
        "practicum",
        "practicums",
        "practicum experience",
        "field experience",
    ),
    "education": (
        "education",
        "educational qualification",
        "educational qualifications",
        "education qualification",
        "academic qualification",
        "academic qualifications",
        "academic background",
        "educational background",
        "academic profile",
        "academic details",
        "academics",
        "academic credentials",
        "education and training",
        "education and qualifications",
        "education details",
        "educational details",
        "scholastic profile",
        "qualifications",
        "qualification",
        "academic record",
        "educational credentials",
        "education & training",
        "education and certifications",
        "education/certifications",
    ),
    "skills": (
        "skills",
        "technical skills",
        "key skills",
        "skill set",
        "skillset",
        "skill sets",
        "core competencies",
        "core competences",
        "competencies",
        "areas of expertise",
        "area of expertise",
        "expertise",
        "technical expertise",
        "skills and abilities",
        "skills & abilities",
        "technologies",
        "technical proficiency",
        "technical proficiencies",
        "it skills",
        "computer skills",
        "computer proficiency",
        "software skills",
        "software",
        "tools",
        "tools and technologies",
        "key strengths",
        "strengths",
        "skills summary",
        "summary of skills",
        "core skills",
        "professional skills",
        "relevant skills",
        "technical summary",
        "technical skill set",
        "technical knowledge",
        "skills and expertise",
        "skills/tools",
        "additional skills",
        "other skills",
        "key competencies",
        "abilities",
        "specialties",
        "specializations",
        "technical competencies",
    ),
    "projects": (
        "projects",
        "project",
        "academic projects",
        "academic project",
        "key projects",
        "personal projects",
        "major projects",
        "project details",
        "project experience",
        "projects undertaken",
        "projects handled",
        "selected projects",
        "project work",
    ),
    "certificates": (
        "certifications",
        "certification",
        "certificates",
        "certificate",
        "licenses",
        "licenses and certifications",
        "licences",
        "certifications and licenses",
        "courses",
        "trainings",
        "training",
        "training and certifications",
        "professional development",
        "courses and certifications",
        "certifications and trainings",
        "certifications/trainings",
    ),
    "languages": ("languages", "languages known", "language skills", "spoken languages", "language", "linguistic"),
    "awards": (
        "awards",
        "honors",
        "honours",
        "achievements",
        "accomplishments",
        "awards and achievements",
        "awards and honors",
        "honors and awards",
        "fellowships and awards",
        "awards and recognition",
        "recognition",
        "key achievements",
        "achievements and awards",
        "extra curricular activities",
        "extracurricular activities",
        "co-curricular activities",
    ),
    "other": (
        "additional information",
        "interests",
        "hobbies",
        "hobbies and interests",
        "personal details",
        "personal information",
        "personal profile",
        "personal data",
        "personal",
        "references",
        "reference",
        "links",
        "volunteer",
        "volunteering",
        "activities",
        "publications",
        "declaration",
        "contact",
        "contact information",
        "contact details",
        "affiliations",
        "memberships",
        "professional affiliations",
        "additional",
        "miscellaneous",
        "presentations",
        "conferences",
        "patents",
    ),
}
_HEADING_OF = {h: sec for sec, names in _HEADINGS.items() for h in names}
_HEADING_TOKENS = frozenset(w for names in _HEADINGS.values() for h in names for w in h.split() if len(w) > 3)
_HEADING_WORDS = {
    sec: frozenset(w for w in _HEADINGS[sec] if " " not in w)
    for sec in ("experience", "education", "skills", "projects", "certificates", "summary")
}

_TITLE_WORDS = frozenset(
    """engineer engineers developer developers manager analyst consultant intern internship trainee assistant
    associate executive director officer specialist lead architect administrator designer producer teacher
    professor lecturer coordinator co-ordinator supervisor head president vice vp ceo cto cfo coo cio founder
    co-founder cofounder owner partner programmer tester accountant auditor clerk representative agent advisor
    adviser nurse therapist worker technician scientist researcher fellow instructor trainer editor writer author
    journalist photographer artist chef cook driver operator mechanic electrician planner buyer merchandiser
    recruiter receptionist secretary cashier salesperson attorney lawyer paralegal physician doctor pharmacist
    counselor counsellor caseworker volunteer freelance freelancer contractor advertiser strategist controller
    treasurer banker broker underwriter inspector surveyor estimator foreman superintendent principal dean tutor
    mentor captain apprentice sde swe dba devops qa manager/lead leader admin expert incharge in-charge
    management-trainee chairman member staff employee graduate student aide guard host hostess waiter waitress
    bartender barista steward stewardess pilot attendant therapist psychologist dentist surgeon paramedic
    consultant/developer programmer/analyst hr marketer copywriter animator illustrator modeler modeller
    coordinator/manager ambassador evangelist owner/operator investigator scrum""".split()
)
_ORG_WORDS = frozenset(
    """ltd ltd. limited pvt pvt. private inc inc. incorporated corp corp. corporation co co. company llc llp plc
    gmbh ag s.a. sa bv technologies technology tech solutions services systems software consulting consultants
    consultancy infotech infosystems labs lab group bank hospital hospitals clinic agency associates enterprises
    enterprise industries international global partners foundation organisation organization center centre studio
    studios media networks communications pharma pharmaceuticals motors airlines airways holdings ventures capital
    healthcare stores store restaurant hotel hotels resort council department ministry government bureau
    authority society trust firm inc, llc, ltd, corp, solutions, technologies, telecom power energy logistics
    infrastructure constructions construction builders automation electronics electricals engineering consultancy
    marketing advertising publications publishing press news magazine insurance finance financial securities
    investments university college institute school academy elementary church commission court courts district
    association society club league camp shop laboratory laboratories library museum committee fraternity sorority
    advocates solicitors attorneys law lawyers chambers charity ymca ywca foods motors railways railway wireless
    cable broadcasting newspaper journal hospitality restaurants cafe bakery salon boutique clinics pharmacy
    infotech infotek softech softwares webtech datatech labs lp""".split()
)
_INSTITUTION = re.compile(
    r"\b(?:universit(?:y|ies|é|ät|at|ad|ario)|college|institute|institution|school|academy|vidyalaya|vidyapeeth|"
    r"vidyapith|polytechnic|iit|nit|iiit|iim|bits|mahavidyalaya|faculty|conservatory|seminary|campus|gymnasium|"
    r"lyceum|hochschule|école|ecole|escuela|universidade|board|cbse|icse|jntu|vtu|anna university)\b",
    re.I,
)
_DEGREE = re.compile(
    r"(?<![A-Za-z])(?:"
    r"b\.?\s?e\b\.?|b\.?\s?tech\b\.?|b\.?\s?sc\b\.?|b\.?\s?s\b\.?|b\.?\s?a\b\.?|b\.?\s?com\b\.?|b\.?\s?ed\b\.?|"
    r"bba\b|bca\b|bfa\b|bpharm\b|b\.?\s?pharm\b\.?|bds\b|mbbs\b|llb\b|ll\.?b\b\.?|llm\b|"
    r"m\.?\s?e\b\.?|m\.?\s?tech\b\.?|m\.?\s?sc\b\.?|m\.?\s?s\b\.?|m\.?\s?a\b\.?|m\.?\s?com\b\.?|m\.?\s?ed\b\.?|"
    r"mba\b|mca\b|mfa\b|m\.?\s?phil\b\.?|ph\.?\s?d\b\.?|d\.?\s?phil\b\.?|ed\.?\s?d\b\.?|m\.?\s?d\b\.?|j\.?\s?d\b\.?|"
    r"pgdm\b|pgdca\b|pgdba\b|pg\s?diploma|post\s?graduate(?:\s+diploma)?|"
    r"bachelor'?s?|masters?'?s?|master'?s|doctor(?:ate)?(?:\s+of)?|diploma|associate'?s?\s+(?:degree|of)|"
    r"high\s+school|secondary\s+school|higher\s+secondary|senior\s+secondary|hsc\b|ssc\b|intermediate\b|"
    r"12th|10th|xii\b|class\s+x\b|matriculation|a[\s-]levels?|gcse|certificate\s+in|ged\b|"
    r"undergraduate\s+degree|graduate\s+degree|degree\s+in|b\.?\s?arch\b\.?|m\.?\s?arch\b\.?|bsc\b|msc\b"
    r")",
    re.I,
)
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+'-]*@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}")
_PHONE = re.compile(
    r"(?<![\w/])(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,5}[\s.-])?\d{2,5}[\s.-]?\d{2,5}(?:[\s.-]\d{2,5})?"
)
_URL = re.compile(r"(?:https?://|www\.)[^\s,;)>\"']+|(?:linkedin\.com|github\.com)/[^\s,;)>\"']+", re.I)
_NAME_BLOCK = frozenset(
    """resume curriculum vitae cv bio-data biodata profile summary address phone mobile email e-mail contact street
    road avenue lane city state nagar colony apartment apartments floor sector dist district india usa page
    objective experience education skills template your name date birth personal details linkedin github
    portfolio career professional sample the of and for in at with my to is nationality male female""".split()
)
_HUMAN_LANGUAGES = frozenset(
    """english hindi spanish french german italian portuguese russian chinese mandarin cantonese japanese korean
    arabic bengali bangla urdu punjabi tamil telugu kannada malayalam marathi gujarati odia oriya assamese nepali
    sinhala dutch swedish norwegian danish finnish polish czech slovak hungarian romanian bulgarian greek turkish
    hebrew persian farsi swahili thai vietnamese indonesian malay tagalog filipino ukrainian serbian croatian
    bosnian slovenian albanian latin sanskrit catalan basque irish welsh afrikaans zulu amharic somali""".split()
)


_STRONG_HEADINGS = (
    "work experience",
    "professional experience",
    "employment history",
    "work history",
    "experience",
    "education",
    "technical skills",
    "skills",
    "projects",
    "certifications",
)
_GLUED_HEADING = re.compile(r"^(" + "|".join(_STRONG_HEADINGS) + r")\s*:?\s+(\S.*)$", re.I)


_WHITESPACE_RUN = re.compile(r"\s+")


def _heading_key(line: str) -> str:
    s = line.lower().replace("&", "and").strip(" :-|•*#=_.")
    s = _WHITESPACE_RUN.sub(" ", s)
    if "cont" not in s:  # every '(continued)' spelling has it; most lines are answered here
        return s
    return _CONTINUED.sub("", s) or s


#: 'Experience (continued)', 'Work History - Cont'd': a heading repeated on the next page.
_CONTINUED = re.compile(r"\s*[-(,]?\s*(?:continued|cont'?d|cont\.?)\s*\)?$")
_SQUASHED_HEADING = {h.replace(" ", ""): sec for h, sec in _HEADING_OF.items() if len(h) > 4}


_NOT_LOWER_LETTER = re.compile(r"[^a-z]")
_LONE_CAPITAL = re.compile(r"(?:^|\s)[A-Z](?:\s|$)")
_SQUASHED_CONTINUED_SUFFIX = re.compile(r"(?:continued|contd)$")


def _letter_spaced(line: str) -> str | None:
    """Section of a heading typed with spaced letters or broken small caps: 'E X P E R I E N C E', 'P ROFE SSI ONAL'."""
    if len(line) > 70 or not line.isupper() or not _LONE_CAPITAL.search(line):
        return None
    squashed = _NOT_LOWER_LETTER.sub("", line.lower())
    return _SQUASHED_HEADING.get(squashed) or _SQUASHED_HEADING.get(_SQUASHED_CONTINUED_SUFFIX.sub("", squashed))


_SOFT_HEAD = frozenset("soft personal interpersonal communication teamwork transferable people".split())
_SKILL_TAILS = frozenset("skills strengths proficiencies competencies competences expertise".split())


_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def _title_cased(line: str) -> bool:
    """Every word but the small ones starts with a capital: a heading, not a sentence."""
    words = _NAME_WORD.findall(line)
    return bool(words) and all(w[0].isupper() or w.lower() in ("and", "of", "in", "for", "the", "&") for w in words)


@lru_cache(maxsize=16384)
def heading_of(line: str) -> tuple[str, str] | None:
    """(section, rest of line) when the line is a section heading (alone, or 'Skills: Java, SQL').

    Cached: sections, names, skills and employers all ask about the same lines."""
    if len(line) > 80:
        return None
    key = _heading_key(line)
    if key in _HEADING_OF:
        return _HEADING_OF[key], ""
    if "/" in key and len(key) < 50:
        parts = [p.strip() for p in key.split("/")]
        if all(p in _HEADING_OF for p in parts):  # 'Internship/Experience', 'Awards/Honors'
            return _HEADING_OF[parts[0]], ""
    spaced = _letter_spaced(line)
    if spaced:
        return spaced, ""
    if ":" in line:
        head, rest = line.split(":", 1)
        hk = _heading_key(head)
        if hk in _HEADING_OF and rest.strip() and len(head) < 40:
            return _HEADING_OF[hk], rest.strip()
    m = _GLUED_HEADING.match(line)
    glued = m and m.group(2)[:1].isupper() and (m.group(1).isupper() or m.group(1).istitle())
    if glued and not (len(line.split()) <= 4 and _title_score(m.group(2)) and not _title_score(m.group(1))):
        # 'Education Administrator' and 'Project Manager' are job titles, not a heading glued to its text
        return _HEADING_OF[_heading_key(m.group(1))], m.group(2)
    words = key.split()
    if 1 < len(words) <= 4 and words[-1] in _SKILL_TAILS and _title_cased(line):
        # 'Applied Skills', 'Core Professional Strengths'; 'Personal Skills' lists traits, not skills
        return ("other" if _SOFT_HEAD & set(words) else "skills"), ""
    if 1 < len(words) <= 4 and words[-1] in ("experience", "employment") and _title_cased(line):
        return "experience", ""  # 'Legal Work Experience', 'Other Relevant Experience'
    if 1 < len(words) <= 5 and not _DIGIT.search(key) and (line.isupper() or line.rstrip().endswith(":")):
        for sec, tails in _HEADING_WORDS.items():
            if words[-1] in tails or words[0] in tails:
                return sec, ""
    return None


def _blank_resume() -> dict[str, Any]:
    return {
        "basics": {
            "name": "",
            "label": "",
            "email": "",
            "phone": "",
            "url": "",
            "summary": "",
            "location": {"address": "", "city": "", "region": "", "countryCode": ""},
            "profiles": [],
        },
        "work": [],
        "education": [],
        "skills": [],
        "certificates": [],
        "languages": [],
        "projects": [],
        "meta": {"parser": "local", "warnings": []},
    }


# --- entry point --------------------------------------------------------------------------------------------


def parse_cv(text: str) -> dict[str, Any]:
    """Parse CV text into JSON Resume; never raises, and says in meta.warnings what it could not do."""
    resume = _blank_resume()
    warnings: list[str] = resume["meta"]["warnings"]
    try:
        _parse_into(resume, text, warnings)
    except Exception as exc:  # noqa: BLE001 - the parser must never take the app down; report and return what we have
        warnings.append(f"The parser hit an unexpected problem ({type(exc).__name__}); the result may be partial.")
    return resume


_DIGIT = re.compile(r"\d")
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")


_NOT_ASCII_LETTERS = bytes(b for b in range(256) if not chr(b).isascii() or not chr(b).isalpha())
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ENGLISH_FUNCTION_WORD = re.compile(r"\b(?:the|and|of|in|with|for|to)\b", re.I)


def _parse_into(resume: dict[str, Any], text: Any, warnings: list[str]) -> None:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text.strip():
        warnings.append("The CV text is empty: paste a CV or upload a PDF, DOCX or TXT file.")
        return
    if len(text) > tx.MAX_CHARS:
        warnings.append(f"The text is {len(text):,} characters long; only the first {tx.MAX_CHARS:,} were read.")
        text = text[: tx.MAX_CHARS]
    sample = text[:20000]
    if len(_BINARY.findall(sample)) > 0.15 * len(sample):
        warnings.append("The text looks like binary data, not a CV; the result is a best guess.")
    text = tx.english_months(tx.clean(text))
    lines = tx.split_lines(text)
    if not lines:
        warnings.append("No readable text was found in the CV.")
        return

    sections = _split_sections(lines)
    basics = resume["basics"]
    _parse_contacts(basics, text)
    first_heading = sections["_first_heading"]
    header = lines[: max(first_heading, 1)][:25] if first_heading else lines[:12]
    basics["name"] = _find_name(header, basics["email"]) or _find_name(lines[:15], basics["email"])
    basics["label"] = _find_label(header, basics["name"])
    basics["summary"] = _summary(sections.get("summary", []))
    _location(basics, header)

    exp_lines = sections.get("experience", [])
    if not exp_lines and "education" not in sections:
        exp_lines = lines  # no headings at all: look for dated entries anywhere
    resume["work"] = _parse_work(exp_lines)
    if not resume["work"] and exp_lines is not lines:
        # headings in an unknown spelling ('Accomplishments', 'Employment Highlights'): look outside the
        # education, skills and projects sections for dated entries
        exp_lines = [ln for sec, ls in _section_items(sections) if sec not in _NOT_WORK for ln in ls]
        resume["work"] = _parse_work(exp_lines)
    if sections.get("experience"):
        _undated_entries(resume["work"], sections["experience"])
    else:
        # no experience section: an undated title with no employer may come from an objective, not a job
        for w in resume["work"]:
            if not any(w.get(k) for k in ("name", "startDate", "endDate", "highlights")):
                w[MENTION_KEY] = MENTIONED
    _employers_in_prose(resume["work"], exp_lines)
    _employers_in_sentences(resume["work"], lines)
    edu_lines_known = sections.get("education") or []
    edu_lines = edu_lines_known or [ln for ln in lines if _DEGREE.search(ln) or _INSTITUTION.search(ln)]
    resume["education"] = _parse_education(edu_lines)
    _tidy_work(resume["work"], resume["education"])
    _titles_named(resume["work"], lines)
    skill_lines = sections.get("skills", []) + _labelled_lists(sections) + _inline_lists(sections)
    resume["skills"] = _parse_skills(skill_lines, text, basics["name"])
    resume["languages"] = _parse_languages(sections.get("languages", []), text)
    resume["certificates"] = _parse_certificates(sections.get("certificates", []))
    resume["projects"] = _parse_projects(sections.get("projects", []))

    if not any(sections[k] for k in sections if not k.startswith("_")):
        warnings.append("No section headings were found; sections were guessed from dates and keywords.")
    if not basics["name"]:
        warnings.append("No name was found.")
    if not basics["email"]:
        warnings.append("No e-mail address was found.")
    if not resume["work"]:
        warnings.append("No work experience was found.")
    ascii_letters, letters = _letter_counts(text[:5000])
    common = len(_ENGLISH_FUNCTION_WORD.findall(text[:20000]))
    if letters and (ascii_letters < 0.6 * letters or common < max(3, len(text[:20000]) // 1500)):
        warnings.append("The CV does not look like English; the offline parser is tuned for English CVs.")


def _letter_counts(text: str) -> tuple[int, int]:
    """(ASCII letters, all letters) in text, as [A-Za-z] and [^\\W\\d_] count them, without a list per character."""
    ascii_letters = len(text.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTERS))
    others = sum(c.isalnum() and not c.isdecimal() for run in _NON_ASCII.findall(text) for c in run)
    return ascii_letters, ascii_letters + others


_NOT_WORK = frozenset({"education", "skills", "projects", "certificates", "languages", "_first_heading"})


def _section_items(sections: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(k, v) for k, v in sections.items() if isinstance(v, list)]


def _split_sections(lines: list[str]) -> dict[str, Any]:
    """Section name → its lines. Skill-category lines ('Languages: Java, C') stay inside the skills section."""
    sections: dict[str, Any] = {"_first_heading": 0}
    current = "_header"
    for idx, line in enumerate(lines):
        hit = heading_of(line)
        if hit:
            sec, rest = hit
            inline_skill = current == "skills" and sec in ("languages", "other", "skills", "projects")
            # 'Languages:' alone on a line inside a skills section labels the list that follows
            inline_skill = inline_skill and bool(rest or (line.rstrip().endswith(":") and sec == "languages"))
            lang_list = sec == "languages" and rest and not _mentions_language(rest)
            if inline_skill or lang_list:
                sections.setdefault(current, []).append(line)
                continue
            if not sections["_first_heading"]:
                sections["_first_heading"] = idx
            current = sec
            if rest:
                sections.setdefault(sec, []).append(rest)
            else:
                sections.setdefault(sec, [])
            continue
        sections.setdefault(current, []).append(line)
    return sections


_LETTER_RUN = re.compile(r"[a-z]+")


def _mentions_language(text: str) -> bool:
    return any(w in _HUMAN_LANGUAGES for w in _LETTER_RUN.findall(text.lower()))


# --- basics -------------------------------------------------------------------------------------------------


_NON_DIGIT = re.compile(r"\D")
# '2019 - 2021': a year range that the phone pattern also matches
_YEAR_SPAN = re.compile(r"(19|20)\d\d\D*(19|20)\d\d")


def _parse_contacts(basics: dict[str, Any], text: str) -> None:
    head = text[:50000]
    m = _EMAIL.search(head) if "@" in head else None
    if m:
        basics["email"] = m.group(0).rstrip(".")
    for m in _PHONE.finditer(head[:5000]):
        digits = _NON_DIGIT.sub("", m.group(0))
        if 7 <= len(digits) <= 15 and not _YEAR_SPAN.fullmatch(m.group(0).strip()):
            basics["phone"] = m.group(0).strip()
            break
    profiles = []
    seen: set[str] = set()
    span = _hint_span(_url_view(head), head, _URL_HINTS)
    for m in _URL.finditer(head, *span) if span else ():
        url = m.group(0).rstrip(".")
        low = url.lower()
        if low in seen:
            continue
        seen.add(low)
        for network, dom in (("LinkedIn", "linkedin.com"), ("GitHub", "github.com"), ("Twitter", "twitter.com")):
            if dom in low:
                user = low.split(dom, 1)[1].lstrip("/")
                user = user[3:] if user.startswith(("in/", "pub")) else user
                user = user.strip("/").split("/")[0]
                profiles.append({"network": network, "username": user, "url": url})
                break
        else:
            if not basics["url"] and "indeed.com" not in low:
                basics["url"] = url
    basics["profiles"] = profiles


_NAME_LABEL = re.compile(r"^(?:name|full name)\s*[:\-]\s*", re.I)
# what follows a name on its line: ' - Engineer', ' | Pune', ', MBA', '(Jr)'
_AFTER_NAME_SEPARATOR = re.compile(r"\s+[-|,]\s+|\s*[|,(]\s*")


def _find_name(lines: list[str], email: str) -> str:
    for raw in lines:
        line = _NAME_LABEL.sub("", raw)
        line = _AFTER_NAME_SEPARATOR.split(line)[0].strip(" .:")
        if _looks_like_name(line):
            return line if not line.isupper() else line.title()
    return ""


def _looks_like_name(line: str) -> bool:
    toks = line.split()
    if not 2 <= len(toks) <= 4 or len(line) > 40 or heading_of(line):
        return False
    if any(ch.isdigit() or ch in "@/&:" for ch in line):
        return False
    for tok in toks:
        low = tok.lower().strip(".")
        if not tok[0].isupper() or not all(ch.isalpha() or ch in ".'-" for ch in tok):
            return False
        if low in _NAME_BLOCK or low in _TITLE_WORDS or low in _ORG_WORDS or low in _HEADING_TOKENS:
            return False
    if gz.is_place(line):
        return False
    return not vocabulary().names(line)


_SPACED_HYPHEN = re.compile(r"\s+-\s+")


def _find_label(header: list[str], name: str) -> str:
    for line in header[:6]:
        if line == name or "@" in line:
            continue
        first = _SPACED_HYPHEN.split(line)[0]
        if _title_score(first) and len(first.split()) <= 6 and not _DIGIT.search(first):
            return first
    return ""


_CITY_REGION_POSTCODE = re.compile(r"^([A-Z][A-Za-z .]+),\s*([A-Z][A-Za-z .]+?)(?:\s+(\d{5,6}))?\s*(?:-|$)")


def _location(basics: dict[str, Any], header: list[str]) -> None:
    for line in header[:10]:
        m = _CITY_REGION_POSTCODE.match(line)
        if m and not _looks_like_name(line) and len(m.group(0)) < 50:
            basics["location"]["city"] = m.group(1).strip()
            basics["location"]["region"] = m.group(2).strip()
            return


def _summary(lines: list[str]) -> str:
    text = " ".join(lines)
    return text[:800].strip()


# --- work ---------------------------------------------------------------------------------------------------


_LOWER_WORD = re.compile(r"[a-z][a-z.\-/']*")


def _words_lower(text: str) -> list[str]:
    return _LOWER_WORD.findall(text.lower())


@lru_cache(maxsize=32768)
def _title_score(text: str) -> int:
    words = _words_lower(text)
    if not words or len(words) > 9 or text.rstrip().endswith("."):
        return 0
    return sum(w.strip(".") in _TITLE_WORDS for w in words)


_COMPANY_SUFFIX = re.compile(r"\b(?:pvt|ltd|inc|llc|limited|corp|corporation|gmbh|plc)\b", re.I)
_EUROPEAN_COMPANY_FORM = re.compile(
    r"[a-z]\s(?:AS|ASA|AB|Oy|Oyj|A/S|ApS|SA|SAS|SARL|S\.?r\.?l|S\.?p\.?A|N\.?V|B\.?V|AG|KG)\.?$"
)


@lru_cache(maxsize=32768)
def _org_score(text: str) -> int:
    words = _words_lower(text)
    if not words or len(words) > 9:
        return 0
    score = sum(w.strip(".,") in _ORG_WORDS for w in words)
    if _COMPANY_SUFFIX.search(text):
        score += 2
    elif _EUROPEAN_COMPANY_FORM.search(text):
        score += 2  # 'Linpro AS', 'Redpill Linpro AB', 'Nokia Oyj': European company forms
    return score


_JUNK = re.compile(
    r"^(?:responsibilities|roles?(?: and responsibilities)?|duration|location|client|team size|project|description|"
    r"environment|technologies|key result areas|details|summary|achievements|tools|reference)\b|^\W*\d",
    re.I,
)


_SENTENCE_STOP = re.compile(r"[.;!?]\s")


def _name_with_stop(line: str) -> bool:
    """'Trailer Park, Hollywood, California.' / 'Freelance Android Developer.': a name line that ends in a full stop."""
    body = line.rstrip()
    if not body.endswith(".") or body.endswith("..") or len(body.split()) > 7:
        return False
    return _title_cased(body) and not _SENTENCE_STOP.search(body)


_ENDS_WITH_ABBREVIATION = re.compile(r"\b(?:co|inc|ltd|corp|llc|plc|pvt|jr|sr|st)\.$", re.I)
_LOWER_INITIAL = re.compile(r"^[a-z]")


def _is_short(line: str) -> bool:
    ends_abbrev = bool(_ENDS_WITH_ABBREVIATION.search(line))
    ends_stop = line.rstrip().endswith(";") or (line.rstrip().endswith(".") and not _name_with_stop(line))
    if len(line.split()) > 9 or (ends_stop and not ends_abbrev) or _JUNK.match(line):
        return False
    return not _LOWER_INITIAL.match(line) or bool(_title_score(line))


_LABELLED = re.compile(
    r"^(designation|job title|position|company|organi[sz]ation|employer|company name|duration|period)"
    r"\s*[:\-]\s*(.+)$",
    re.I,
)


_WORD_THEN_TRAILING_HYPHEN = re.compile(r"\w\s*-\s*$")
_BULLET_PREFIX = re.compile(r"^[-*–•·▪►✓>]\s+")


def _parse_work(lines: list[str]) -> list[dict[str, Any]]:
    lines = [ln for ln in lines if not _URL.fullmatch(ln.strip())]
    anchors = []
    for i, ln in enumerate(lines):
        rng = tx.find_date_range(ln)
        if rng and (len(ln.split()) <= 16 or len(ln[: rng[3][0]].split()) <= 12):
            anchors.append(i)
    entries: list[dict[str, Any]] = []
    labelled = _labelled_entries(lines)
    if labelled:
        return labelled
    used: set[int] = set()
    prev_anchor = -1
    for k, idx in enumerate(anchors):
        next_anchor = anchors[k + 1] if k + 1 < len(anchors) else len(lines)
        start, end, _current, span = tx.find_date_range(lines[idx]) or ("", "", False, (0, 0))
        line = lines[idx]
        after = line[span[1] :] if len(line[span[1] :].split()) <= 8 else ""
        rest = (line[: span[0]] + " " + after).strip(" ,:-|().")
        if not after.strip(" ,:-|().") and _WORD_THEN_TRAILING_HYPHEN.search(line[: span[0]]):
            rest += " -"  # 'Company - City - June 2019 to Present' (Indeed): the text before the dates is the employer
        cands: list[tuple[int, str]] = []
        if rest and len(rest.split()) <= 10 and (_is_short(rest) or _title_score(rest) or _org_score(rest)):
            cands.append((idx, rest))
        back = idx - 1
        while back > prev_anchor and back >= idx - 3 and back not in used and _is_short(lines[back]):
            cands.insert(0, (back, lines[back]))
            back -= 1
        fwd = idx + 1
        has_header = any(_title_score(c) or _org_score(c) for _, c in cands)
        while not has_header and fwd + 1 < next_anchor and fwd <= idx + 2 and _is_short(lines[fwd]):
            if _title_score(lines[fwd]) or _org_score(lines[fwd]) or len(cands) < 2:
                cands.append((fwd, lines[fwd]))
                fwd += 1
            else:
                break
            if _title_score(lines[fwd - 1]) and any(_proper_name(c) for _, c in cands):
                break  # 'Rising Sun / City, ST | dates / Teacher': employer and title both found
        prev_anchor = idx
        entry = _entry_from(cands)
        if not entry:
            continue
        if not entry["position"] or not entry["name"]:
            fwd = _fill_forward(entry, lines, fwd, next_anchor)
        used.update(i for i, _ in cands)
        entry["startDate"] = start
        if end:
            entry["endDate"] = end
        highlights = [
            _BULLET_PREFIX.sub("", ln)
            for ln in lines[fwd:next_anchor]
            if len(ln.split()) >= 4 and _title_score(ln) == 0
        ][:8]
        entry["highlights"] = highlights
        entry["summary"] = ""
        entries.append(entry)
    if not entries:
        for i, line in enumerate(lines[:80]):
            if _is_short(line) and _title_score(line) and len(line.split()) <= 8:
                near = [(j, lines[j]) for j in (i - 1, i + 1) if 0 <= j < len(lines) and _is_short(lines[j])]
                entry = _entry_from([(i, line), *near]) or {"name": "", "position": line}
                entries.append({**entry, "startDate": "", "highlights": [], "summary": ""})
            if len(entries) >= 8:
                break
    return entries


_ORG_MENTION = re.compile(
    r"\b((?:[A-Z][A-Za-z&'-]*\.?\s){0,4}?[A-Z][A-Za-z&'-]*\s(?:Pvt\.?\s?Ltd|Private\sLimited|Ltd|Limited|Inc|"
    r"Corporation|Corp|LLC|LLP|PLC|GmbH|Technologies|Solutions|Consultancy\sServices|Infotech|Systems|"
    r"Public\sSchools|School\sDistrict|Elementary(?:\sSchool)?|Middle\sSchool))\b\.?"
)


def _fill_forward(entry: dict[str, Any], lines: list[str], fwd: int, stop: int) -> int:
    """'Company / City | dates / Title': the missing title (or employer) is on a short line right after the dates."""
    j = fwd
    while j < min(stop, fwd + 2):
        line = lines[j]
        if not _is_short(line) or tx.find_date_range(line) or gz.is_place(line):
            break
        if not entry["position"] and _title_score(line) and not _org_score(line):
            entry["position"] = line.strip(" ,-:")
        elif not entry["name"] and _org_score(line) and not _title_score(line):
            entry["name"] = _clean_company(gz.strip_place(line))
        else:
            break
        j += 1
    return j


_SEASON_OR_PRESENT = re.compile(r"\b(?:spring|summer|fall|autumn|winter|present|current)\b", re.I)
_TWO_LETTERS = re.compile(r"[A-Za-z]{2}")


def _undated_entries(work: list[dict[str, Any]], lines: list[str]) -> None:
    """Employer lines the date anchors missed: 'Teacher, Lane High School, Tucson, AZ, 1998' or 'Acme Corp'."""
    known = {tx.norm_key(w.get("name", "")) for w in work} | {tx.norm_key(w.get("position", "")) for w in work}
    for line in lines[:150]:
        if len(work) >= 12:
            break
        if len(line.split()) > 14 or line.rstrip().endswith((".", ";", ":")) or _JUNK.match(line):
            continue
        body = tx.SINGLE_DATE.sub(" ", line) if _DIGIT.search(line) else line  # every date has a digit
        body = _SEASON_OR_PRESENT.sub(" ", body)
        parts = [p for p in _split_parts(body) if not gz.is_place(p) and _TWO_LETTERS.search(p)]
        if not parts or len(parts) > 3:
            continue
        orgs = [p for p in parts if _org_score(p) and not _title_score(p) and _proper_name(p)]
        titles = [p for p in parts if _title_score(p) and not _org_score(p)]
        if len(orgs) != 1 or len(orgs) + len(titles) != len(parts) or len(titles) > 1:
            continue
        key = tx.norm_key(orgs[0])
        if key in known or any(key in k or k in key for k in known if k):
            continue
        known.add(key)
        work.append(
            {"name": orgs[0], "position": titles[0] if titles else "", "startDate": "", "highlights": [], "summary": ""}
        )


_LOWER_OK = frozenset({"and", "of", "the", "for", "in", "at", "de", "la", "du", "und", "&"})


_ORG_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'&.-]*")


def _tidy_work(work: list[dict[str, Any]], education: list[dict[str, Any]]) -> None:
    """Blank employer names that read like a sentence or that are the CV's own school; drop empty entries."""
    schools = {tx.norm_key(e.get("institution", "")) for e in education if e.get("institution")}
    for w in work:
        name = w.get("name", "")
        words = [x for x in _ORG_NAME_WORD.findall(name) if x.lower() not in _LOWER_OK]
        lower = sum(x[0].islower() for x in words)
        sentence_like = not (name[:1].isupper() or name[:1].isdigit()) or lower * 2 > len(words) or len(words) > 8
        own_school = _own_school(name, schools)
        position = w.get("position", "")
        if position and _date_like(position):  # 'Summer' left of 'Summer 20XX-20XX': a date, not a title
            w["position"] = position = ""
        if name and (
            sentence_like
            or own_school
            or _date_like(name)
            or _ORG_UNIT.search(name)
            or (not position and (_school_or_activity(name) or _MEMBERSHIP_BODY.search(name)))
            or ((_ACTIVITY.search(name) or _MEMBERSHIP_BODY.search(name)) and _MEMBERSHIP_ROLE.fullmatch(position))
        ):
            w["name"] = ""
    work[:] = [w for w in work if w.get("name") or w.get("position")]


_UNIVERSITY_OR_COLLEGE = re.compile(r"universit|college", re.I)


def _own_school(name: str, schools: set[str]) -> bool:
    """A university or college the education section names: an employer only in a dated entry with a title."""
    if not _UNIVERSITY_OR_COLLEGE.search(name):
        return False
    key = tx.norm_key(name)
    if key in schools:
        return True
    words = set(key.split()) - {"university", "college", "of", "the", "at"}
    for school in schools:
        other = set(school.split()) - {"university", "college", "of", "the", "at"}
        if (words and other and 2 * len(words & other) >= len(words | other)) or (school and school in key):
            return True
    return False


_SCHOOL_NAME = re.compile(r"\b(?:universit(?:y|ies)|college|high school|secondary school)\b", re.I)
_ACTIVITY = re.compile(
    r"\b(?:club|society|team|camp|committee|council|league|fraternity|sorority|chapter|scholarship|competition|"
    r"olympiad|fest|hackathon|workshop|seminar|conference|journal|magazine)\b",
    re.I,
)


#: 'Customer Service Team', 'Graduate Studies Committee (GSC)', 'Advisory Board', 'Towson University Chapter':
#: a unit or a body one sits on, not an employer; also a heading read as a name ('Professional Associations').
_ORG_UNIT = re.compile(
    r"\b(?:team|committee|sub-committee|board|chapter|trustees)\b(?:\s*\([^)]*\)?)?\s*$|^(?:professional\s+)?"
    r"(?:associations|affiliations|memberships|activities)\b|^associations?\s+\w+$",
    re.I,
)
#: Associations, churches and fraternities: employers only when one holds a job there, not a membership.
_MEMBERSHIP_BODY = re.compile(r"\b(?:association|church|fraternity|sorority|brothers/big)\b", re.I)
#: 'Member', 'Treasurer', 'Vice President', 'Volunteer Big Sister': the roles of a member, not of an employee.
_MEMBERSHIP_ROLE = re.compile(
    r"(?:[\w.-]+\s+){0,2}(?:member|treasurer|secretary|(?:vice\s+)?president|volunteer(?:\s+[\w.-]+){0,3})"
    r"(?:\s*/\s*(?:vice\s+)?(?:president|secretary|treasurer))?",
    re.I,
)


_DATE_WORD = re.compile(
    r"\b(?:summer|spring|fall|autumn|winter|since|from|till|until|present|current|20xx|19xx)\b", re.I
)
# 'Summer 2009', 'July 20XX': up to 12 word characters before a year
_SHORT_PREFIX_YEAR = re.compile(r"[\w\s]{0,12}\b(?:20|19)(?:\d\d|xx)\b", re.I)


def _date_like(name: str) -> bool:
    """'Summer 2009', 'Oct 2014', 'July 20XX', 'since 2013': a date read as an employer."""
    rest = tx.SINGLE_DATE.sub(" ", name)
    rest = _DATE_WORD.sub(" ", rest)
    return rest.strip(" ,.-") == "" or bool(_SHORT_PREFIX_YEAR.fullmatch(name.strip()))


def _school_or_activity(name: str) -> bool:
    """Universities, colleges, clubs and camps: employers only when the entry also names a job title."""
    return bool(_SCHOOL_NAME.search(name) or _ACTIVITY.search(name))


_LEADING_CAPITALISED_FUNCTION_WORD = re.compile(r"^(?:The|At|In|With|For|And|Of)\s+")


def _employers_in_prose(work: list[dict[str, Any]], lines: list[str]) -> None:
    """Employers named in sentences ('worked with Apple in Exilant Technologies Pvt. Ltd.') that no entry names."""
    known = {tx.norm_key(w.get("name", "")) for w in work}
    for line in lines[:200]:
        for m in _ORG_MENTION.finditer(line):
            org = _LEADING_CAPITALISED_FUNCTION_WORD.sub("", m.group(1)).strip()
            key = tx.norm_key(org)
            if len(org.split()) < 2 or key in known or any(key in k or k in key for k in known if k):
                continue
            known.add(key)
            blank = next((w for w in work if not w.get("name") and line in w.get("highlights", [])), None)
            if blank is not None:
                blank["name"] = org
            elif len(work) < 12:
                work.append({"name": org, "position": "", "startDate": "", "highlights": [], "summary": ""})


_WORKED_AT = re.compile(
    r"\b(?:work(?:ing|ed)?|employed|interned|internship|serv(?:ing|ed)|join(?:ed|ing)|consultant|controller|"
    r"engineer|developer|manager|analyst|director|officer|associate|intern)\s+(?:as\s+[\w/ -]{2,40}?\s+)?"
    r"(?:at|with|for|in)\s+((?:[A-Z][\w&'.-]*|[A-Z]{2,})(?:\s+(?:&\s+|and\s+|of\s+)?[A-Z][\w&'.-]*){0,4})"
)


def _employers_in_sentences(work: list[dict[str, Any]], lines: list[str]) -> None:
    """'Currently working as Team Lead at Hashe Computer Solutions', 'Corporate Controller for Caliber Bank'."""
    known = {tx.norm_key(w.get("name", "")) for w in work}
    for line in lines[:200]:
        for m in _WORKED_AT.finditer(line):
            org = gz.strip_place(m.group(1).rstrip(".,")) or m.group(1)
            key = tx.norm_key(org)
            if (
                not key
                or key in known
                or any(key in k or k in key for k in known if k)
                or gz.is_place(org)
                or _date_like(org)
                or _school_or_activity(org)
                or vocabulary().canonical(org)
                or heading_of(org)
                or len(work) >= 14
            ):
                continue
            known.add(key)
            work.append({"name": org, "position": "", "startDate": "", "highlights": [], "summary": ""})


def _labelled_entries(lines: list[str]) -> list[dict[str, Any]]:
    """'Designation: X / Organization: Y / Duration: Z' layouts."""
    entries: list[dict[str, Any]] = []
    cur: dict[str, Any] = {}
    for line in lines:
        m = _LABELLED.match(line)
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        field = "position" if key in ("designation", "job title", "position") else "name"
        if key in ("duration", "period"):
            rng = tx.find_date_range(value)
            if rng:
                cur["startDate"] = rng[0]
                if rng[1]:
                    cur["endDate"] = rng[1]
            continue
        if field in cur:
            entries.append(cur)
            cur = {}
        cur[field] = _clean_company(value) if field == "name" else value
    if cur:
        entries.append(cur)
    out = []
    for e in entries:
        if e.get("position") or e.get("name"):
            out.append({"name": "", "position": "", "startDate": "", "highlights": [], "summary": "", **e})
    return out if any(e["position"] and e["name"] for e in out) else []


_ENTRY_PART_SEPARATOR = re.compile(r"\s+[-|–@]\s+|,\s+|\s+at\s+|\s*\|\s*|\s+-$")


def _split_parts(text: str) -> list[str]:
    parts = _ENTRY_PART_SEPARATOR.split(text)
    return [p.strip(" ,-:()") for p in parts if p and p.strip(" ,-:()")]


_JOB_TITLE_LABEL = re.compile(r"^(?:designation|title|position|role)\s*[:\-]\s*", re.I)


def _entry_from(cands: list[tuple[int, str]]) -> dict[str, Any] | None:
    """Pick the job title and the employer among the short lines around a date."""
    texts: list[str] = []
    for _, c in cands:
        if _URL.search(c) or _DEGREE.match(c) or gz.is_place(c):
            continue
        if _name_with_stop(c) and not _ENDS_WITH_ABBREVIATION.search(c):
            c = c.rstrip()[:-1]
        dash = c.endswith(" -")
        c = gz.strip_place(c) or c
        c = c + " -" if dash and not c.endswith(" -") else c
        parts = _split_parts(c)
        if len(parts) > 1 and _title_score(c) and _org_score(c) and any(_org_score(p) for p in parts):
            texts.extend(parts)  # 'Project Manager at Fakeco Ltd': title and employer on one line
        elif len(parts) in (2, 3) and _title_and_name(parts):
            texts.extend(p for p in parts if not gz.is_place(p))  # 'Senior Engineer, Levelup' / 'Acme - Analyst'
        else:
            texts.append(c)
    if not texts:
        return None
    t_scores = [_title_score(c) for c in texts]
    o_scores = [_org_score(c) for c in texts]
    title, company = "", ""
    ti = max(range(len(texts)), key=lambda i: (t_scores[i] - o_scores[i], -i))
    if t_scores[ti] and t_scores[ti] >= o_scores[ti]:
        title = texts[ti]
    else:
        ti = -1
    rest = [i for i in range(len(texts)) if i != ti]
    ci = -1
    if rest:
        ci = max(rest, key=lambda i: (o_scores[i], texts[i].rstrip().endswith(" -") or " - " in texts[i], -i))
        if not o_scores[ci] and not (texts[ci].rstrip().endswith("-") or " - " in texts[ci]) and len(rest) > 1:
            ci = rest[-1] if ti >= 0 else ci
    if title:
        parts = _split_parts(title)
        if len(parts) > 1:
            t_parts = [p for p in parts if _title_score(p)]
            others = [p for p in parts if not _title_score(p)]
            title = ", ".join(t_parts[:2]) if t_parts else parts[0]
            if others and ci < 0:
                company = _department_of(others) or others[0]
    if ci >= 0:
        parts = _split_parts(texts[ci])
        company = parts[0] if parts else texts[ci]
        unit = _department_of(parts)
        company = unit or company
        if not title and len(rest) > 1:
            others = [i for i in rest if i != ci]
            if others and len(texts[others[0]].split()) <= 6:
                title = texts[others[0]]
    if not title and not company:
        return None
    title = _JOB_TITLE_LABEL.sub("", title)
    return {"name": _clean_company(company), "position": title.strip(" ,-:")}


def _proper_name(text: str) -> bool:
    """A capitalised name of a few words ('OTC Logic', 'Red Bug Computers'), not a place, date or sentence."""
    words = text.split()
    if not 1 <= len(words) <= 6 or gz.is_place(text) or tx.SINGLE_DATE.search(text) or _title_score(text):
        return False
    caps = sum(w[:1].isupper() or w[:1].isdigit() or w in ("&", "and", "of", "the", "for") for w in words)
    return caps == len(words) and words[0][:1].isupper() and not heading_of(text)


def _title_and_name(parts: list[str]) -> bool:
    """One part is a job title and another a proper name: the line names a role and its employer."""
    titles = [p for p in parts if _title_score(p) and not _org_score(p)]
    names = [p for p in parts if _proper_name(p)]
    return (
        len(titles) == 1 and len(names) >= 1 and len(titles) + len(names) + sum(map(gz.is_place, parts)) == len(parts)
    )


_COMPANY_LABEL = re.compile(r"^(?:company|organi[sz]ation|employer|client)\s*(?:name)?\s*[:\-]\s*", re.I)


#: 'Department of Statistics', 'Office of Admissions', 'Systems Engineering Department', 'IT Dept.': the unit of a
#: university or government one worked in, which a CV names as the employer.
_DEPARTMENT_UNIT = re.compile(
    r"(?:^|\s)(?P<unit>(?:Department|Dept\.?|Office|Division|Bureau|Ministry)\s+of\s+\S.*)$"
    r"|^(?P<named>(?:[A-Z][\w&.-]*\s+){1,4}(?:Department|Dept\.?))$"
)


def _department_of(parts: list[str]) -> str:
    """The department part of 'DePaul University, Office of Admissions' or 'University X Department of Y'."""
    for part in parts:
        m = _DEPARTMENT_UNIT.search(part)
        if m:
            return (m.group("unit") or m.group("named")).strip()
    return ""


def _clean_company(text: str) -> str:
    text = _COMPANY_LABEL.sub("", text)
    return text.strip(" ,-:|")


# --- education ----------------------------------------------------------------------------------------------


_GRADE_SCORE = re.compile(r"\b(?:gpa|cgpa|percentage|grade|score)\s*[:\-]?\s*([\d.]+\s*(?:/\s*[\d.]+|%)?)", re.I)
_YEAR = re.compile(r"\b(?:19[5-9]\d|20[0-4]\d)\b")
_SPACED_FROM_OR_AT = re.compile(r"\s+(?:from|at)\s+")


def _parse_education(lines: list[str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for i, line in enumerate(lines[:80]):
        m = _DEGREE.search(line)
        if not m or len(line.split()) > 25:
            continue
        if m.start() > 0 and len(line[: m.start()].split()) > 6:
            continue
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
        degree_part = tx.SINGLE_DATE.sub("", degree_part).strip(" ,-:()")
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


_DEGREE_IN_FIELD = re.compile(r"^(.*?)\s+in\s+(.+)$", re.I)
_DEGREE_LEVEL_PREFIX = re.compile(r"^(?:bachelor|master|doctor|associate)", re.I)


def _split_degree(text: str) -> tuple[str, str]:
    m = _DEGREE_IN_FIELD.match(text)
    if m:
        return m.group(1).strip(" ,-"), m.group(2).strip(" ,-")
    if _DEGREE_LEVEL_PREFIX.match(text):
        return text.strip(" ,-"), ""
    m = _DEGREE.match(text)
    if m:
        return m.group(0).strip(" ,-"), text[m.end() :].strip(" ,-:()")
    return text.strip(), ""


# --- skills and the rest ------------------------------------------------------------------------------------

_YEARS_NOTE = re.compile(
    r"\((?:[^()]*\b(?:year|years|yr|yrs|month|months)\b[^()]*)\)|\b\d+\+?\s*(?:years?|yrs?)\b", re.I
)


_CATEGORY_WORDS = frozenset(
    """languages language tools tool technologies technology databases database os ides ide frameworks framework
    platforms platform software skills others other web servers server scripting packages applications
    methodologies concepts""".split()
)
_NOT_SKILL = re.compile(r"https?:|www\.|@|\.com\b|^\d|^(?:and|or|in|of|the|than|to|with|for|a|an)$", re.I)


_VAGUE = frozenset(
    """design developing development project technical information software computer testing planning analysis client
    customer services reporting professional member role duties honors volunteer state intermediate advanced basic
    beginner expert certifications applications environments environment architect internet technology presentation
    initiative xp vista me nt office web mobile desktop server servers hardware network systems system support
    operations processes tools tool familiar proficient knowledge working exposure hands on good""".split()
)


#: Single words that head or pad a skills list but name no skill on their own.
_PLAIN_WORDS = frozenset(
    """programming engineering integration fundamentals travel social reading rules topic test associate reader
    description programme penetration proving rhythm grip exclusion installation sports music movies cooking
    writing singing dancing english fluent native level grade basic intermediate advanced excellent good""".split()
)

_NOT_NAMED = re.compile(
    r"\b(?:skills?|learner|attitude|player|worker|year|years|months?|less|resume|name|activities|activity|school|"
    r"college|university|institute|campus|coursework|degree|responsibilities|duties|experience|knowledge|"
    r"passionate|integrity|possess|demonstrated|summer|various|etc|including|wide|range|variety|exposure|basics?|"
    r"address|zip|code|grade|level|members?|club|interests?|hobbies|award|awards|licenses?|memberships?|"
    r"publications?|description|roles?|played|nationality|gender|marital|birth|email|phone|mobile)\b"
)


_ING_OR_ED_WORD = re.compile(r"[a-z]+(?:ing|ed)")
_THREE_LETTERS = re.compile(r"[A-Za-z]{3}")
# what marks 'c++', 'c#', '.net', 'python3' as technical despite lower case
_TECH_SYMBOL_OR_DIGIT = re.compile(r"[+#.\d]")


def _plausible_skill(item: str, labelled: bool = False) -> bool:
    """A listed item that is not in the vocabulary: keep it when it reads like a named skill, not a filler word.

    Phrases that start with a verb ('Coded unit tests', 'organizing') or carry a function word in the middle
    ('leadership where needed') are fragments of sentences, not skills.
    """
    key = tx.norm_key(item)
    words = key.split()
    if not words or len(words) > 3 or any(w in tx.STOPWORDS for w in words):
        return False
    if set(words) <= _VAGUE | _CATEGORY_WORDS or any(w in _HUMAN_LANGUAGES for w in words):
        return False
    if _NOT_NAMED.search(key) or gz.is_place(item) or heading_of(item) or _DEGREE.fullmatch(item):
        return False
    if len(words) == 1 and (_ING_OR_ED_WORD.fullmatch(key) or key in _PLAIN_WORDS):
        return False
    first = item.split()[0]
    if first.islower() and _ING_OR_ED_WORD.fullmatch(first):
        return False
    if tx.SINGLE_DATE.search(item) and _THREE_LETTERS.search(tx.SINGLE_DATE.sub("", item)) is None:
        return False  # 'April 2015', 'Since Feb 2008'
    if item.islower() and not labelled and not _TECH_SYMBOL_OR_DIGIT.search(item):
        # 'sales orders', 'best practices': lower-case phrases in a list are mostly descriptions, not named skills
        return len(words) == 1 and len(item) <= 3
    return not (len(words) >= 3 and item.isupper())


#: Words in a list's label that say the list names skills: 'Environment: Java, Spring', 'Other software: Jira, Git'.
_LIST_LABEL_WORDS = frozenset(
    """environment environments technologies technology tools tool languages language software platforms platform
    systems databases database skills frameworks framework applications packages ides ide os utilities servers
    methodologies protocols libraries scripting proficiency proficiencies expertise competencies competency
    concentration specialties specialization specializations stack""".split()
)
_LIST_LABEL = re.compile(
    r"(?:^|(?<=[.;] ))([A-Za-z][A-Za-z /&+\-]{1,40}?)\s*:\s*(.+?)(?=$|\.\s|\s[A-Z][A-Za-z /&+\-]{1,30}:\s)"
)


def _list_continued(lines: list[str], start: int) -> str:
    """The rest of a list that a flattened layout broke over lines ('securities, commodities;' / 'franchises')."""
    out = ""
    prev = lines[start - 1] if start else ""
    for line in lines[start : start + 6]:
        if ":" in line or heading_of(line) or not (prev.rstrip().endswith((",", ";")) or line[:1].islower()):
            break
        out += f", {line}"
        prev = line
    return out


_LABELLED_LIST_SEPARATOR = re.compile(r"\s*[,;|]\s*|\s+and\s+")


def _labelled_lists(sections: dict[str, Any]) -> list[str]:
    """'Environment: Java, Spring, Oracle' lines outside the skills section: lists of skills under a telling label."""
    out: list[str] = []
    for sec, lines in _section_items(sections):
        if sec == "skills":
            continue
        for idx, line in enumerate(lines):
            if ":" not in line:
                continue
            for m in _LIST_LABEL.finditer(line):
                label, rest = m.group(1).strip(), m.group(2)
                words = label.lower().replace("/", " ").split()
                if len(words) > 4 or not any(w in _LIST_LABEL_WORDS for w in words):
                    continue
                if m.end() == len(line):
                    rest += _list_continued(lines, idx + 1)
                items = [i for i in _LABELLED_LIST_SEPARATOR.split(rest) if i.strip(" .")]
                if len(items) >= 2 and sum(len(i.split()) <= 4 for i in items) >= 0.8 * len(items):
                    out.append(f"{label}: {rest}")
    return out


_CLAUSE = re.compile(r"[.;:()!?](?:\s|$)|\s[-–]\s|:")
_LIST_SEP = re.compile(r"\s*,\s*|\s+and\s+|\s*/\s*")
_LEAD_IN = re.compile(r"^(?:like|such as|including|includes?|using|with|in|of|on|and|or)\s+", re.I)


def _inline_lists(sections: dict[str, Any], share: float = 0.3) -> list[str]:
    """Comma lists in running text ('using C#, MFC, .Net mobile and ASP.NET') where enough items are known skills.

    A list of three or more short items, a good share of them in the vocabulary, is a list of skills; its other
    items are then trusted as skills too.
    """
    vocab = vocabulary()
    out: list[str] = []
    for sec, lines in _section_items(sections):
        if sec == "skills":
            continue
        for line in lines:
            if line.count(",") < 1:
                continue
            for clause in _CLAUSE.split(line):
                items = [i.strip() for i in _LIST_SEP.split(clause)]
                if len(items) < 3:
                    continue
                head = items[0].split()
                items[0] = _LEAD_IN.sub("", " ".join(head[-2:]) if len(head) > 3 else items[0])
                if any(not i or len(i.split()) > 3 for i in items):
                    continue
                if sum(bool(vocab.canonical(i)) for i in items) >= share * len(items):
                    out.append(", ".join(items))
    return out


_CATEGORY_AND_ITEMS = re.compile(r"^([A-Za-z][A-Za-z /&+\-]{1,40}?)\s*[:\-–]\s+(.+)$")
_EDGE_AND_OR_ETC = re.compile(r"^(?:and|or|etc)\s+|\s+(?:etc)\.?$", re.I)
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_SKILL_SEPARATOR = re.compile(r"\s*[,;|•]\s*|\s+and\s+|\s*\(\s*|\s*\)\s*|(?<=\w)/(?=[A-Z])")


def _parse_skills(lines: list[str], text: str, person: str = "") -> list[dict[str, Any]]:
    vocab = vocabulary()
    groups: list[dict[str, Any]] = []
    seen: set[str] = set()
    person_key = tx.norm_key(person)

    def add(item: str, listed: bool, labelled: bool = False) -> str | None:
        item = item.strip(" .,:;-*()[]\"'")
        item = _EDGE_AND_OR_ETC.sub("", item).strip()
        if not item or len(item) > 40 or len(item.split()) > 4 or not _ASCII_LETTER.search(item):
            return None
        if _NOT_SKILL.search(item) or tx.norm_key(item) == person_key:
            return None
        canon = vocab.canonical(item)
        if not canon and (not listed or not _plausible_skill(item, labelled)):
            return None
        if canon and vocab.category(canon) == "Soft Skills":
            return None
        name = canon or item
        key = tx.norm_key(name)
        if key in seen:
            return None
        seen.add(key)
        return name

    loose: list[str] = []
    for line in lines[:80]:
        if _URL.search(line) or _EMAIL.search(line):
            continue
        line = _YEARS_NOTE.sub("", line)
        cat = ""
        m = _CATEGORY_AND_ITEMS.match(line)
        if m and len(m.group(1).split()) <= 4:
            cat, line = m.group(1).strip(), m.group(2)
        items = [i for i in _SKILL_SEPARATOR.split(line) if i]
        short = sum(len(i.split()) <= 3 for i in items)
        listed = (len(items) >= 2 and short * 3 >= len(items) * 2) or len(line.split()) <= 3
        labelled = bool(_LIST_LABEL_WORDS.intersection(cat.lower().replace("/", " ").split()))
        names = [n for n in (add(i, listed, labelled) for i in items) if n]
        for f in vocab.find(line, include_generic=True, include_soft=False):
            key = tx.norm_key(f.skill.name)
            if key not in seen:
                seen.add(key)
                names.append(f.skill.name)
        if not names:
            continue
        cat_skill = vocab.canonical(cat) if cat else None
        if cat_skill and vocab.category(cat_skill) != "Soft Skills":
            # 'Java: Spring, Hibernate': the heading is itself a skill, so the group keeps it as its name
            groups.append({"name": cat_skill, "level": "", "keywords": [n for n in names if n != cat_skill]})
        else:
            # 'Languages: Java, C' or 'Tools: Git': the heading is not a skill; each skill stands on its own
            loose.extend(names)
    prose = _without_links(text)
    for f in vocab.find(prose, include_soft=False, prose=True):
        key = tx.norm_key(f.skill.name)
        if key not in seen:
            seen.add(key)
            loose.append(f.skill.name)
    groups.extend({"name": n, "level": "", "keywords": []} for n in loose)
    return groups


_ASCII_WORD = re.compile(r"[A-Za-z]+")
_LANGUAGES_KNOWN_LINE = re.compile(r"languages?\s*(?:known|spoken)?\s*[:\-]\s*([^\n]{3,120})", re.I)


def _without_links(text: str) -> str:
    """text with e-mail addresses and URLs blanked, as _URL.sub(" ", _EMAIL.sub(" ", text)) would."""
    text = _blank(_EMAIL, text, text, ("@",))
    return _blank(_URL, text, _url_view(text), _URL_HINTS)


#: Every URL _URL reads starts with one of these (compared in lower case).
_URL_HINTS = ("http", "www.", "linkedin.com/", "github.com/")
#: Letters that a case-blind pattern takes for ASCII ones ('İ', 'ı', 'ſ', the Kelvin sign): with one of them in
#: the text a lower-case substring test no longer decides whether _URL can match.
_CASE_TWINS = ("\u0130", "\u0131", "\u017f", "\u212a")


def _url_view(text: str) -> str | None:
    """text in lower case for finding _URL_HINTS, or None when that would not be exact (offsets or case drift)."""
    low = text.lower()
    if len(low) != len(text) or any(c in text for c in _CASE_TWINS):
        return None
    return low


def _hint_span(view: str | None, text: str, hints: tuple[str, ...]) -> tuple[int, int] | None:
    """The lines from the first to the last hint: where a pattern that needs a hint and never crosses a line break
    can match. (0, len(text)) when view is None; None when no hint occurs."""
    if view is None:
        return 0, len(text)
    found = [h for h in hints if h in view]
    if not found:
        return None
    first = min(view.find(h) for h in found)
    last = max(view.rfind(h) for h in found)
    end = text.find("\n", last)
    return text.rfind("\n", 0, first) + 1, len(text) if end < 0 else end


def _blank(pattern: re.Pattern[str], text: str, view: str | None, hints: tuple[str, ...]) -> str:
    """pattern.sub(" ", text) for a pattern that cannot cross a line break and whose matches hold a hint: only
    the lines between the first and the last hint are searched."""
    span = _hint_span(view, text, hints)
    if span is None:
        return text
    a, b = span
    return text[:a] + pattern.sub(" ", text[a:b]) + text[b:]


def _parse_languages(lines: list[str], text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    pool = " ".join(lines)
    if not pool:
        m = _LANGUAGES_KNOWN_LINE.search(text)
        pool = m.group(1) if m else ""
    seen: set[str] = set()
    for word in _ASCII_WORD.findall(pool):
        low = word.lower()
        if low in _HUMAN_LANGUAGES and low not in seen:
            seen.add(low)
            found.append({"language": word.capitalize(), "fluency": ""})
    levels = {m.group(1).lower(): m.group(2).capitalize() for m in _FLUENCY.finditer(pool)}
    for item in found:
        item["fluency"] = levels.get(item["language"].lower(), "")
    return found


_FLUENCY = re.compile(r"([A-Za-z]+)\s*[(:\-]\s*(native|fluent|professional|intermediate|basic|beginner)", re.I)


def _parse_certificates(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines[:20]:
        if len(line.split()) > 18 or len(line) < 4:
            continue
        date = tx.SINGLE_DATE.search(line)
        name = tx.SINGLE_DATE.sub("", line).strip(" ,-:()")
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


# --- job titles named anywhere ------------------------------------------------------------------------------

_CHUNK = re.compile(
    r"[,;:()|\[\]\"]|(?<=[a-z])/(?=[A-Z])|\s[-–/]\s|(?<=[a-z]{2})\.(?:\s|$)|\s(?:at|with|in|for|from|since|to)\s"
)
_TITLE_TAIL = frozenset({"of", "for"})
_TAIL_LOWER = frozenset({"and", "&", "of", "the"})
_ROMAN = frozenset({"i", "ii", "iii", "iv", "1", "2", "3"})


def _cap(word: str) -> bool:
    return word[:1].isupper() or word[:1].isdigit() or word[:1] == "."


_HYPHENED_RUN = re.compile(r"[a-z]+(?:-[a-z]+)+")


def _may_name_title(line: str) -> bool:
    """False only when no word of line can be a title head: a head is letters, perhaps joined by '-' or '/'
    ('in-charge', 'programmer/analyst', whose halves are heads too), set off by spaces or punctuation."""
    low = line.lower()
    heads = gz.TITLE_HEADS
    return not heads.isdisjoint(_LETTER_RUN.findall(low)) or (
        "-" in low and not heads.isdisjoint(_HYPHENED_RUN.findall(low))
    )


def title_phrases(line: str) -> list[str]:
    """Job titles named in a line: 'Senior Software Engineer', 'Director of Software Development', 'Sr. Web Developer'.

    A title is a head noun (engineer, manager, teacher …) with the modifiers in front of it that job titles use
    (seniority, field, function) and an optional 'of …' tail; a head that is also an everyday word ('lead',
    'member') needs a modifier. Written as a name (capitalised), or after 'as' in running text.
    """
    out: list[str] = []
    if not _may_name_title(line):
        return out
    for chunk in _CHUNK.split(line):
        words = chunk.split()
        n = len(words)
        i = 0
        while i < n:
            w = words[i]
            low = w.lower().strip(".'")
            if low not in gz.TITLE_HEADS:
                i += 1
                continue
            capital = _cap(w)
            j = i
            while j > 0 and i - j < 5:
                prev = words[j - 1]
                pl = prev.lower().strip(".'")
                if capital and not _cap(prev):
                    break
                if pl in gz.TITLE_MODIFIERS or pl in gz.TITLE_HEADS or (capital and vocabulary().canonical(prev)):
                    j -= 1
                    continue
                break
            sentence_case = j == 0 and j < i and _cap(words[0])
            if not capital and not sentence_case and not (j > 0 and words[j - 1].lower() in ("as", "an", "a")):
                i += 1
                continue
            k = i + 1
            while k < n and _cap(words[k]) and words[k].lower().strip(".'") in gz.TITLE_HEADS and k - i < 3:
                k += 1
            tail = False
            if k + 1 < n and words[k].lower() in _TITLE_TAIL and _cap(words[k + 1]):
                m = k + 1
                while m < n and m - k <= 4 and (_cap(words[m]) or words[m].lower() in _TAIL_LOWER):
                    m += 1
                while m > k + 1 and words[m - 1].lower() in _TAIL_LOWER:
                    m -= 1
                k, tail = m, True
            while k < n and words[k].lower().strip(".") in _ROMAN and words[k][:1].isupper():
                k += 1
            if low in gz.WEAK_HEADS and j == i and not tail:
                i = k
                continue
            phrase = " ".join(words[j:k]).strip(" .-'")
            if phrase and len(phrase) > 2:
                out.append(phrase)
            i = k
    return out


def _titles_named(work: list[dict[str, Any]], lines: list[str]) -> None:
    """Roles the CV names outside dated entries (header, objective, experience prose): position-only entries."""
    known = {tx.norm_key(w.get("position", "")) for w in work}
    for line in lines[:400]:
        phrases = title_phrases(line)
        if not phrases:
            continue
        line_key = tx.norm_key(line)
        # the position an entry already took from this very line covers a bare head noun inside it
        taken = [set(k.split()) for k in known if k and k in line_key]
        for phrase in phrases:
            key = tx.norm_key(phrase)
            if len(work) >= 30 or key in known or (" " not in key and any(key in t for t in taken)):
                continue
            known.add(key)
            work.append(_mention(phrase))


def _mention(title: str) -> dict[str, Any]:
    """A job title the CV names without showing it was held: kept for title search and fit, marked as a mention."""
    return {"name": "", "position": title, "startDate": "", "highlights": [], "summary": "", MENTION_KEY: MENTIONED}
