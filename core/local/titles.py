"""Job-title similarity that knows roles: "Staff Nurse" ~ "RN", "Bookkeeper" ~ "Accounts Assistant".

A title is normalised (accents folded, abbreviations expanded, seniority words set aside) and looked up in the
title families of `core.local.vocab.titles`. Two titles of one family are the same role (1.0); neighbouring
families are partly similar; families of one sector a little; families of different sectors not at all, whatever
words they share ("Accounts Assistant" / "Teaching Assistant"). Titles the vocabulary does not know fall back to
word overlap in which generic head words ("assistant", "manager") count for little.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from core.local.vocab import titles as vocab

SAME_FAMILY, RELATED, SAME_SECTOR = 1.0, 0.6, 0.3
_GENERIC_WEIGHT = 0.25
_HEAD_CUT = re.compile(r"\s+[-–—|/:]\s+|\s*[(\[,;]")


@dataclass(frozen=True)
class Title:
    """A title as the matcher compares it: its role words (seniority aside) and the families it names."""

    words: frozenset[str]
    families: frozenset[str]


def _parse_families() -> tuple[dict[str, str], dict[str, list[tuple[str, ...]]], dict[str, str]]:
    """(family → sector, first word → phrases longest first, phrase → family) from vocab.FAMILIES."""
    sectors: dict[str, str] = {}
    by_first: dict[str, list[tuple[str, ...]]] = {}
    family_of: dict[str, str] = {}
    sector = ""
    for block in re.split(r"\n(?=\S)", vocab.FAMILIES.strip()):
        block = " ".join(block.split())
        if block.startswith("## "):
            sector = block[3:].strip()
            continue
        family, _, spellings = block.partition(":")
        sectors[family.strip()] = sector
        for spelling in spellings.split("|"):
            phrase = tuple(normalise(spelling))
            if phrase and " ".join(phrase) not in family_of:
                family_of[" ".join(phrase)] = family.strip()
                by_first.setdefault(phrase[0], []).append(phrase)
    for phrases in by_first.values():
        phrases.sort(key=len, reverse=True)
    return sectors, by_first, family_of


def normalise(title: str) -> list[str]:
    """Lower-case words with accents folded, "&" and "/" resolved and abbreviations expanded:
    "Sr. RN (Band 5)" → ["senior", "registered", "nurse", "band", "5"]."""
    text = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode().lower()
    text = re.sub(r"(?<=\w)&(?=\w)", "", text).replace("&", " and ")
    text = re.sub(r"['’`]", "", text)
    out: list[str] = []
    for word in re.findall(r"[a-z0-9+#]+", text):
        out.extend(vocab.ABBREVIATIONS.get(word, word).split())
    return out


_SECTORS: dict[str, str] = {}
_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
_FAMILY_OF: dict[str, str] = {}
_RELATED: frozenset[frozenset[str]] = frozenset(frozenset(pair) for pair in vocab.RELATED)


def _load() -> None:
    if not _FAMILY_OF:
        sectors, by_first, family_of = _parse_families()
        _SECTORS.update(sectors)
        _BY_FIRST.update(by_first)
        _FAMILY_OF.update(family_of)


def _scan(words: list[str]) -> set[str]:
    """Families named in `words`: whole-word phrases, longest first, left to right, not overlapping."""
    found: set[str] = set()
    i = 0
    while i < len(words):
        for phrase in _BY_FIRST.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                found.add(_FAMILY_OF[" ".join(phrase)])
                i += len(phrase)
                break
        else:
            i += 1
    return found


def _fold(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


@lru_cache(maxsize=16384)
def analyse(title: str) -> Title:
    """The role words and families of a title. The part before " - ", "|", "(" or "," is the role; the rest
    (ward, team, place) is used only when the role part names no family."""
    _load()
    head = _HEAD_CUT.split(title or "", maxsplit=1)[0]
    head_words = normalise(head) or normalise(title)
    families = _scan(head_words) or _scan([w for w in head_words if w not in vocab.SENIORITY])
    if not families:
        families = _scan(normalise(title))
    words = frozenset(_fold(w) for w in head_words if w not in vocab.SENIORITY)
    return Title(words=words, families=frozenset(families))


def _overlap(want: frozenset[str], have: frozenset[str]) -> float:
    """Share of the wanted title's words the other title has, generic head words counting a quarter."""
    if not want:
        return 0.0

    def weight(word: str) -> float:
        return _GENERIC_WEIGHT if word in vocab.GENERIC_HEADS else 1.0

    total = sum(weight(w) for w in want)
    return sum(weight(w) for w in want & have) / total


def similarity(wanted: str | Title, held: str | Title) -> float:
    """How far a held title (from a CV) fits a wanted one (a job's), 0..1. Not symmetric in the fallback:
    it is the share of the wanted title's role words that the held title has."""
    want = wanted if isinstance(wanted, Title) else analyse(wanted)
    have = held if isinstance(held, Title) else analyse(held)
    if want.families and have.families:
        if want.families & have.families:
            return SAME_FAMILY
        pairs = {frozenset((a, b)) for a in want.families for b in have.families}
        if pairs & _RELATED:
            return RELATED
        if {_SECTORS.get(f) for f in want.families} & {_SECTORS.get(f) for f in have.families}:
            return SAME_SECTOR
        return 0.0
    return _overlap(want.words, have.words)


def families(title: str) -> frozenset[str]:
    """The role families a title names (empty when the vocabulary does not know it)."""
    return analyse(title).families


def sector(family: str) -> str:
    _load()
    return _SECTORS.get(family, "")
