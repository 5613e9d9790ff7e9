"""Text clean-up shared by the offline engine: normalise pasted text, split it into lines, read dates, tokenise."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from functools import lru_cache

#: Work is capped so that a pasted 1 MB file cannot stall the app; CVs are a few KB.
MAX_CHARS = 100_000

_ESCAPED_BYTES = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BULLETS = "•◦▪▫●○■□►▶➢➤✓✔✗❖◆◇★☆·‣⁃∙⦁\uf0b7\uf0a7\uf076\uf0d8\uf0fc"
_BULLET_RUN = re.compile("[" + re.escape(_BULLETS) + "]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_MULTI_SPACE = re.compile(r" {2,}")
_DASHES = re.compile("[\u2010-\u2015\u2212]")
_QUOTE_PAIRS = (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u00b4", "'"))

BULLET = "\u2022"


def _decode_escapes(match: re.Match[str]) -> str:
    """Text copied from some PDF tools carries bytes as literal '\\xe2\\x80\\xa2' runs; turn them back into text."""
    raw = bytes(int(h, 16) for h in re.findall(r"\\x([0-9a-fA-F]{2})", match.group(0)))
    text = raw.decode("utf-8", errors="ignore")
    return f" {text} " if text.strip() else " "


def clean(text: str) -> str:
    """Normalise Unicode, bullets, dashes and control characters; keep line breaks."""
    if "\\x" in text:  # the pattern needs a literal '\x': most texts skip the scan
        text = _ESCAPED_BYTES.sub(_decode_escapes, text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "  ")
    for curly, plain in _QUOTE_PAIRS:  # str.replace per quote mark is far cheaper than str.translate
        if curly in text:
            text = text.replace(curly, plain)
    text = _DASHES.sub("-", text)
    text = _BULLET_RUN.sub(f" {BULLET} ", text)
    text = _CONTROL.sub(" ", text)
    return text


def is_flattened(text: str) -> bool:
    """A CV flattened onto one line (PDF copy-paste) has very few line breaks for its length."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    return len(text) > 300 and len(lines) * 200 < len(text)


def split_lines(text: str) -> list[str]:
    """Logical lines: real line breaks, plus runs of 2+ spaces and bullets, which mark breaks in flattened text."""
    flat = is_flattened(text)
    out: list[str] = []
    for raw in text.split("\n"):
        pieces = _MULTI_SPACE.split(raw) if flat or "   " in raw else [raw]
        for piece in pieces:
            for part in piece.split(BULLET):
                if "  " in part or "\t" in part or not part.isascii():  # else every run is one plain space
                    part = _SPACES.sub(" ", part)
                part = part.strip(" \"'")
                if part:
                    out.append(part)
    return _join_date_pieces(out)


def _join_date_pieces(lines: list[str]) -> list[str]:
    """Rejoin 'August 2014' / '-' / 'Present' that a flattened layout split into pieces."""
    out: list[str] = []
    for line in lines:
        if out and (line in ("-", "to", "–") or (out[-1].endswith((" -", " to")) and _DATE_HEAD.match(line[:30]))):
            out[-1] = f"{out[-1]} {line}"
            continue
        if (
            out
            and len(line) < 40
            and out[-1] != line
            and _DATE_ONLY.fullmatch(line)
            and _DATE_TAIL.search(out[-1][-30:])
        ):
            out[-1] = f"{out[-1]} - {line}"
            continue
        out.append(line)
    return out


def squash(text: str) -> str:
    """One-space, stripped."""
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


_NON_KEY = re.compile(r"[^a-z0-9+#]+")


@lru_cache(maxsize=65536)
def norm_key(text: str) -> str:
    """Lower-case, punctuation-light key for comparing names (companies, schools, skills)."""
    text = text.lower().replace(".", "")
    text = _NON_KEY.sub(" ", text)
    return text.strip()


# --- dates --------------------------------------------------------------------------------------------------

MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
#: Month names CVs write in French, German, Spanish, Dutch and the Nordic languages ('Mars 2012', 'Januar').
FOREIGN_MONTHS = {
    "janvier": 1,
    "januar": 1,
    "enero": 1,
    "januari": 1,
    "février": 2,
    "fevrier": 2,
    "februar": 2,
    "febrero": 2,
    "februari": 2,
    "mars": 3,
    "märz": 3,
    "maerz": 3,
    "marzo": 3,
    "maart": 3,
    "avril": 4,
    "abril": 4,
    "mai": 5,
    "mayo": 5,
    "mei": 5,
    "juin": 6,
    "juni": 6,
    "junio": 6,
    "juillet": 7,
    "juli": 7,
    "julio": 7,
    "août": 8,
    "aout": 8,
    "agosto": 8,
    "augustus": 8,
    "septembre": 9,
    "septiembre": 9,
    "setiembre": 9,
    "octobre": 10,
    "oktober": 10,
    "octubre": 10,
    "novembre": 11,
    "noviembre": 11,
    "décembre": 12,
    "decembre": 12,
    "dezember": 12,
    "diciembre": 12,
    "desember": 12,
}
_FOREIGN_BY_LENGTH = tuple(sorted(FOREIGN_MONTHS, key=len, reverse=True))
_ENGLISH_MONTHS = "January February March April May June July August September October November December".split()


@lru_cache(maxsize=256)
def _foreign_date(names: tuple[str, ...]) -> re.Pattern[str]:
    """The foreign-month pattern over only the names a text contains ('mai' sits in every 'email'): far fewer
    alternatives to try at each word."""
    return re.compile(r"\b(" + "|".join(names) + r")\b(?=\.?\s*+,?\s*+(?:19|20)\d\d)", re.I)


_FOREIGN_DATE = _foreign_date(_FOREIGN_BY_LENGTH)
_YEAR_NEXT = re.compile(r"(?<!\s)\.?\s*+,?\s*+(?:19|20)\d\d")
#: Letters that a case-blind pattern takes for ASCII ones ('İ', 'ı', 'ſ', the Kelvin sign).
_CASE_TWINS = ("\u0130", "\u0131", "\u017f", "\u212a")


def _year_follows(lowered: str, names: tuple[str, ...]) -> bool:
    """Whether some name in lowered is followed by a year, as _FOREIGN_DATE's look-ahead asks."""
    for name in names:
        at = lowered.find(name)
        while at >= 0:
            if _YEAR_NEXT.match(lowered, at + len(name)):
                return True
            at = lowered.find(name, at + 1)
    return False


_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)


def english_months(text: str) -> str:
    """'Mars 2012', 'Januar 2012', 'août 2010' → English month names, so that one date grammar reads them all."""
    lowered = text.lower()
    present = tuple(name for name in _FOREIGN_BY_LENGTH if name in lowered)
    if not present:  # substring checks are far cheaper than the regex
        return text
    if len(lowered) != len(text) or any(c in text for c in _CASE_TWINS):
        present = _FOREIGN_BY_LENGTH  # lower-case substrings are not exact here: try every name
    elif not _year_follows(lowered, present):
        return text  # 'mai' in 'email': no name is followed by a year, so the pattern cannot match
    return _foreign_date(present).sub(_to_english_month, text)


def _to_english_month(match: re.Match[str]) -> str:
    """The English name of a matched foreign month; the text unchanged when case folding makes it unknown."""
    number = FOREIGN_MONTHS.get(match.group(1).lower())
    return _ENGLISH_MONTHS[number - 1] if number else match.group(0)


#: A real year, or a template's placeholder ('20XX', '19xx'): a date marker that carries no value.
_YEAR_RE = r"(?:19[5-9]\d|20[0-4]\d|(?:19|20)[xX]{2}\b)"
_DATE_RE = (
    rf"(?:{_MONTH_RE}\s*,?\s*'?{_YEAR_RE}|{_MONTH_RE}\s*'\d\d|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/{_YEAR_RE}"
    rf"|(?:0?[1-9]|1[0-2])\s*[/.-]\s*{_YEAR_RE}"
    rf"|(?:0[1-9]|1[0-2])/\d\d(?![\d/])"
    rf"|{_YEAR_RE}\s*[/.-]\s*(?:0[1-9]|1[0-2])(?!\d)|{_YEAR_RE})"
)
#: English, then German, Spanish, French and Portuguese words for 'to this day'.
_PRESENT_RE = (
    r"(?:present|current(?:ly)?|now|today|till\s+date|to\s+date|till\s+now|ongoing|onwards|date|"
    r"heute|aktuell|actualidad|actualmente|presente|hoy|aujourd'hui|présent|atual|atualmente)"
)
DATE_RANGE = re.compile(
    rf"(?P<start>{_DATE_RE})\s*(?:-|–|to|until|till|through|thru|~|/|,|\s)?\s*(?:-\s*)?"
    rf"(?P<end>{_DATE_RE}|{_PRESENT_RE})",
    re.I,
)
SINGLE_DATE = re.compile(_DATE_RE, re.I)
_DATE_HEAD = re.compile(rf"(?:{_DATE_RE}|{_PRESENT_RE})", re.I)
_DATE_TAIL = re.compile(rf"(?:{_DATE_RE})\s*-?$", re.I)
_DATE_ONLY = re.compile(rf"(?:-\s*)?(?:{_DATE_RE}|{_PRESENT_RE})", re.I)
ONWARDS = re.compile(rf"(?P<start>{_DATE_RE})\s*(?:(?:-\s*)?(?:onwards|till\s+date|to\s+date|since)|-\s*$)", re.I)
PRESENT = re.compile(_PRESENT_RE, re.I)
#: 'January-June 2009', 'Sept - Dec 2007': two months of one year.
_MONTHS_ONE_YEAR = re.compile(rf"(?P<a>{_MONTH_RE})\s*(?:-|to)\s*(?P<b>{_MONTH_RE}),?\s+(?P<year>{_YEAR_RE})", re.I)


_PD_MONTH = re.compile(rf"({_MONTH_RE})\s*,?\s*'?(\d{{2,4}})")
_PD_MDY = re.compile(r"(\d{1,2})/\d{1,2}/(\d{4})$")
_PD_MY2 = re.compile(r"(\d{1,2})/(\d{2})$")
_PD_MY4 = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{4})")
_PD_YM = re.compile(r"(\d{4})\s*[/.-]\s*(\d{1,2})(?!\d)")
_PD_YEAR = re.compile(r"(19|20)\d\d")


def parse_date(text: str) -> str:
    """'Sep 2017' → '2017-09', '2017' → '2017', '03/2019' → '2019-03'; '' when it is not a date."""
    text = text.strip().lower().rstrip(".")
    m = _PD_MONTH.match(text)
    if m:
        mon = MONTHS.get(m.group(1).rstrip(".")[:3])
        year = m.group(2)
        if len(year) == 2:
            year = ("20" if int(year) < 50 else "19") + year
        return f"{year}-{mon:02d}" if mon else year
    m = _PD_MDY.match(text)  # US month/day/year
    if m and 1 <= int(m.group(1)) <= 12:
        return f"{m.group(2)}-{int(m.group(1)):02d}"
    m = _PD_MY2.match(text)
    if m and 1 <= int(m.group(1)) <= 12:
        return f"{2000 + int(m.group(2)) if int(m.group(2)) < 50 else 1900 + int(m.group(2))}-{int(m.group(1)):02d}"
    m = _PD_MY4.match(text)
    if m and 1 <= int(m.group(1)) <= 12:
        return f"{m.group(2)}-{int(m.group(1)):02d}"
    m = _PD_YM.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{m.group(1)}-{int(m.group(2)):02d}"
    m = _PD_YEAR.search(text)
    return m.group(0) if m else ""


#: What every date in _DATE_RE holds: a year of _YEAR_RE, a "'09" year or a '09/14' month and year.
_DATE_HINT = re.compile(r"19[5-9]\d|20[0-4]\d|'\d\d|\d/\d\d|(?:19|20)[xX]{2}")
#: A template's placeholder year: the range is a date marker, but its dates are left empty, never invented.
_PLACEHOLDER_YEAR = re.compile(r"(?:19|20)[xX]{2}")


@lru_cache(maxsize=16384)
def find_date_range(text: str) -> tuple[str, str, bool, tuple[int, int]] | None:
    """First date range in text: (start, end, is_current, span). A lone year counts as a one-point range.

    Cached: the work parser asks about the same lines several times (anchors, entries, the lines after them)."""
    if not _DATE_HINT.search(text):  # every date form has one of these: most lines are answered here, cheaply
        return None
    m = DATE_RANGE.search(text)
    if m and _PLACEHOLDER_YEAR.search(m.group(0)):
        end_raw = m.group("end")
        current = bool(PRESENT.fullmatch(end_raw.strip()))
        start, end = ("" if _PLACEHOLDER_YEAR.search(raw) else parse_date(raw) for raw in (m.group("start"), end_raw))
        return start, "" if current else end, current, m.span()
    if m:
        end_raw = m.group("end")
        current = bool(PRESENT.fullmatch(end_raw.strip()))
        start, end = parse_date(m.group("start")), "" if current else parse_date(end_raw)
        if start and (current or end) and (current or end[:4] >= start[:4]):
            return start, end, current, m.span()
    m = _MONTHS_ONE_YEAR.search(text)
    if m and _PLACEHOLDER_YEAR.fullmatch(m.group("year")):
        return "", "", False, m.span()
    if m:
        year = m.group("year")
        start, end = parse_date(f"{m.group('a')} {year}"), parse_date(f"{m.group('b')} {year}")
        if start and end and start <= end:
            return start, end, False, m.span()
    m = ONWARDS.search(text)
    if m:
        if _PLACEHOLDER_YEAR.search(m.group("start")):
            return "", "", True, m.span()
        return parse_date(m.group("start")), "", True, m.span()
    return None


def years_between(start: str, end: str | None, today: tuple[int, int] | None = None) -> float:
    """Years between two YYYY[-MM] dates; an empty end means today (this month, UTC, unless given)."""
    if today is None:
        now = datetime.now(UTC)
        today = (now.year, now.month)

    def to_months(date: str, default_month: int) -> int | None:
        m = re.match(r"(\d{4})(?:-(\d{2}))?", date or "")
        if not m:
            return None
        return int(m.group(1)) * 12 + (int(m.group(2)) if m.group(2) else default_month) - 1

    a = to_months(start, 1)
    b = to_months(end, 12) if end else today[0] * 12 + today[1] - 1
    if a is None or b is None or b < a:
        return 0.0
    return (b - a + 1) / 12


# --- tokens -------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*|\.[a-z][a-z0-9]*")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each etc few for from further had has have having
    he her here hers him his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours out over own same she should so some such than that the their theirs them then
    there these they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours per via using use used well able within across including include
    includes new work working worked job role candidate experience years year looking seeking strong good
    excellent knowledge ability skills skill team company position required preferred plus must nice have
    responsible responsibilities requirements apply environment etc join us our we'll you'll""".split()
)


def words(text: str) -> list[str]:
    """Lower-case content words for similarity scoring (no stopwords, crude plural folding)."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or len(w) < 2:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(text: str) -> list[str]:
    """Split prose into sentences; bullets and line breaks also end a sentence."""
    out: list[str] = []
    for line in split_lines(clean(text)):
        out.extend(s.strip() for s in _SENTENCE.split(line) if s.strip())
    return out


@lru_cache(maxsize=2048)
def word_list(text: str) -> tuple[str, ...]:
    """words(), cached: a job ad is read by analysis, similarity and tailoring."""
    return tuple(words(text))


@lru_cache(maxsize=2048)
def word_counts(text: str) -> Counter[str]:
    """Term frequencies of words(text), cached; callers must not mutate the result."""
    return Counter(word_list(text))
