"""The shipped skills vocabulary and a fast token n-gram matcher over it (JS = JavaScript, k8s = Kubernetes)."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, compress
from pathlib import Path

VOCAB_PATH = Path(__file__).resolve().parents[2] / "data" / "skills" / "skills.txt"

# Case rules: a spelling that is also an everyday word only counts when written like a name.
ANY_CASE, CAPITALISED, EXACT, UPPER = 0, 1, 2, 3

#: Single words that name a skill but are also ordinary English; they must start with a capital letter.
_ENGLISH = frozenset(
    """lean less sage epic storm beam pig hive ant unity spring rally avid dash chef puppet salt ruby swift scheme
    crystal elm ada boost buffer nexus sketch maya mule tally sonar lambda tax retail training research editing audit
    operations express node rails react angular ember backbone flask pyramid tornado celery jest mocha chai jasmine
    karma cypress velocity mustache redux canvas creo play premiere final logic zoom slack notion access sales
    marketing teaching translation interpretation consulting banking insurance compliance accounting bookkeeping
    budgeting forecasting payroll logistics procurement purchasing negotiation negotiations advertising copywriting
    journalism communications recruitment recruiting hiring onboarding scheduling merchandising photography animation
    illustration typography electronics manufacturing nursing tutoring counseling counselling litigation leadership
    teamwork creativity collaboration mentoring coaching adaptability multitasking analytical organizational
    interpersonal communication statistics regression routing switching firewall firewalls encryption cryptography
    debugging troubleshooting refactoring documentation scalability virtualization embedded firmware networking
    valuation underwriting auditing taxation administration prototyping wireframes wireframing algorithms hospitality
    operations branding proofreading prototyping security design testing development programming management
    automation retail storm dart julia go""".split()
)


@dataclass(frozen=True)
class Skill:
    name: str
    category: str
    generic: bool = False


@dataclass(frozen=True)
class Found:
    """One skill found in a text: its canonical name, where, and the words the text used."""

    skill: Skill
    start: int
    end: int
    surface: str


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9]*[+#]*|\.[A-Za-z][A-Za-z0-9]*")


_TOKEN_SPLIT = re.compile(f"({_TOKEN.pattern})")
#: A dot right after a letter or digit ('node.js'), as str.isalnum() counts them, that starts a '.word' token.
_DOT_IN_WORD = re.compile(r"(?<=[^\W_])\.(?=[A-Za-z])")


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) tokens; '.net' keeps its dot only when it starts a word, so 'node.js' = 'node js'."""
    keys, starts, ends = _scan(text)
    return list(zip(keys, starts, ends, strict=True))


def _scan(text: str) -> tuple[list[str], list[int], list[int]]:
    """tokenize() as three parallel lists (keys, starts, ends), built without a Python step per token."""
    low = text.lower()
    if len(low) != len(text) or "\u212a" in text:
        # 'İ' lower-cases to two characters and the Kelvin sign to 'k': offsets or tokens would drift
        toks = _tokenize_slow(text)
        return [t[0] for t in toks], [t[1] for t in toks], [t[2] for t in toks]
    parts = _TOKEN_SPLIT.split(low)  # separator, token, separator, …, separator
    offsets = list(accumulate(map(len, parts), initial=0))
    keys = parts[1::2]
    starts = offsets[1 : 2 * len(keys) : 2]
    ends = offsets[2::2]
    if "." in text:
        for m in _DOT_IN_WORD.finditer(text):  # every such dot starts a token: drop the dot from it
            start = m.start()
            k = bisect_left(starts, start)
            keys[k] = keys[k][1:]
            starts[k] = start + 1
    return keys, starts, ends


def _tokenize_slow(text: str) -> list[tuple[str, int, int]]:
    """tokenize() one match at a time: for the rare texts whose lower-case form shifts offsets."""
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        start = m.start()
        if tok[0] == "." and start > 0 and text[start - 1].isalnum():
            tok = tok[1:]
            start += 1
        out.append((tok.lower(), start, m.end()))
    return out


@lru_cache(maxsize=65536)
def _key(text: str) -> str:
    """Token key of a spelling; cached because lists and titles look up the same few words again and again."""
    return " ".join(_scan(text)[0])


class Vocabulary:
    """All skills and their spellings, indexed by token n-gram for a single left-to-right scan."""

    def __init__(self, lines: list[str]) -> None:
        self.entries: dict[str, tuple[Skill, int, frozenset[str]]] = {}
        self.skills: dict[str, Skill] = {}
        self.first_tokens: set[str] = set()
        self.prefixes: set[str] = set()
        self.max_len = 1
        category = "Other"
        for raw in lines:
            line = raw.strip()
            if line.startswith("## "):
                category = line[3:].strip()
                continue
            if not line or line.startswith("#"):
                continue
            self._add_line(line, category)

    def _add_line(self, line: str, category: str) -> None:
        parts = [p.strip() for p in line.split("|") if p.strip()]
        head = parts[0]
        flags = head[: len(head) - len(head.lstrip("=?"))]
        exact = "=" in flags
        generic = "?" in flags
        name = head.lstrip("=?")
        skill = self.skills.get(name.lower()) or Skill(name=name, category=category, generic=generic)
        self.skills.setdefault(name.lower(), skill)
        for i, spelling in enumerate([name, *parts[1:]]):
            spelling = spelling.lstrip("=?")
            key = _key(spelling)
            if not key or key in self.entries:
                continue
            tokens = key.split()
            letters = re.sub(r"[^a-z]", "", key)
            if exact and i == 0:
                rule = EXACT
            elif len(tokens) == 1 and letters == key and len(key) <= 3 and (i > 0 or key in _ENGLISH):
                rule = UPPER
            elif len(tokens) == 1 and key in _ENGLISH:
                rule = CAPITALISED
            else:
                rule = ANY_CASE
            self.entries[key] = (skill, rule, frozenset({spelling}))
            self.first_tokens.add(tokens[0])
            for k in range(2, len(tokens) + 1):
                self.prefixes.add(" ".join(tokens[:k]))
            self.max_len = max(self.max_len, len(tokens))

    def canonical(self, text: str) -> str | None:
        """The canonical name of a skill spelled any known way, ignoring case; None when unknown."""
        hit = self.entries.get(_key(text))
        return hit[0].name if hit else None

    def category(self, name: str) -> str:
        """The category of a skill spelled any known way; '' when unknown."""
        hit = self.entries.get(_key(name))
        return hit[0].category if hit else ""

    def find(
        self, text: str, *, include_generic: bool = False, include_soft: bool = True, prose: bool = False
    ) -> list[Found]:
        """Every vocabulary skill in text, longest spelling first, left to right, honouring the case rules.

        prose=True is for running text (not a skills list): one-word business terms ('Sales', 'Insurance') there
        name the domain more often than a skill, so they are skipped.
        """
        keys, starts, ends = _scan(text)
        found: list[Found] = []
        n = len(keys)
        entries, first = self.entries, self.first_tokens
        prefixes = self.prefixes
        nxt = 0  # the first token not yet read (a hit of several tokens skips the rest of them)
        for i in compress(range(n), map(first.__contains__, keys)):
            if i < nxt:
                continue
            nxt = i + 1
            sizes = [1]
            key = keys[i]
            for size in range(2, min(self.max_len, n - i) + 1):
                key = f"{key} {keys[i + size - 1]}"
                if key not in prefixes:
                    break
                sizes.append(size)
            for size in reversed(sizes):
                key = keys[i] if size == 1 else " ".join(keys[i : i + size])
                hit = entries.get(key)
                if hit is None:
                    continue
                skill, rule, spellings = hit
                start, end = starts[i], ends[i + size - 1]
                surface = text[start:end]
                if not _case_ok(surface, rule, spellings) and not (
                    rule == CAPITALISED and skill.category == "Soft Skills"  # 'excellent communication'
                ):
                    continue
                if len(surface) == 1 and _glued(text, start, end):
                    continue
                if rule == CAPITALISED and _YEAR_AFTER.match(text, end):
                    continue
                if prose and size == 1 and skill.category in _DOMAIN_CATEGORIES:
                    break
                if prose and skill.category in _LIST_ONLY_CATEGORIES:
                    break
                if (skill.generic and not include_generic) or (skill.category == "Soft Skills" and not include_soft):
                    break
                found.append(Found(skill, start, end, surface))
                nxt = i + size
                break
        if all(len(f.surface) > 1 for f in found):
            return found
        languages = [f.start for f in found if f.skill.category == "Programming Languages"]
        return [f for f in found if len(f.surface) > 1 or _has_neighbour(f, languages)]

    def names(self, text: str, **kwargs: bool) -> list[str]:
        """Distinct canonical skill names in order of first appearance."""
        seen: dict[str, None] = {}
        for f in self.find(text, **kwargs):
            seen.setdefault(f.skill.name, None)
        return list(seen)


_DOMAIN_CATEGORIES = frozenset({"Business and Management", "Soft Skills", "Job-specific Skills (extended)"})


#: Protocols and platform versions ('HTTP', 'VPN', 'Windows XP') in running text describe the job's setting
#: more often than a skill the CV claims; they count only in a list.
_LIST_ONLY_CATEGORIES = frozenset({"Networking and Security", "Tools and Platforms (extended)"})


_YEAR_AFTER = re.compile(r"(?<!\s)\s*+,?\s*+(?:'?(?:19|20)?\d\d\b|20XX|semester|term|quarter|break|season)", re.I)


def _glued(text: str, start: int, end: int) -> bool:
    """'R&D', 'R.', "C's", 'C-level', '(C)': a lone letter that is part of something else."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return before in "&.'-(" or after in "&'-.)"


def _has_neighbour(hit: Found, languages: list[int]) -> bool:
    """A one-letter language (C, R) counts only next to another programming language, as in 'C, C++, Java'.

    languages: the sorted starts of the programming languages found; two bisections keep this linear overall."""
    lo = bisect_left(languages, hit.start - 79)
    hi = bisect_left(languages, hit.start + 80)
    itself = hit.skill.category == "Programming Languages"
    return hi - lo > int(itself)


def _case_ok(surface: str, rule: int, spellings: frozenset[str]) -> bool:
    if rule == ANY_CASE:
        return True
    if rule == EXACT:
        return surface in spellings or (surface.upper() == surface and len(surface) > 1)
    if rule == UPPER:
        return surface.isupper()
    return surface[:1].isupper()


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, loaded once per process."""
    try:
        lines = VOCAB_PATH.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    return Vocabulary(lines)
