"""PDF export with Typst: one column, real text, fonts bundled in the wheel (Libertinus Serif, New Computer Modern:
accented Latin, Greek and Cyrillic) and embedded as subsets; the document text is passed as data, never markup."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.base import InputError
from core.export.model import cv_document, letter_document

TEMPLATES: dict[str, str] = {
    "classic": "Classic: serif, centred header, headings over a rule",
    "modern": "Modern: left-aligned header, blue headings",
    "compact": "Compact: smaller type, more on a page",
}
_DIR = Path(__file__).with_name("templates")


def _compile(template: str, kind: str, data: dict[str, Any]) -> bytes:
    import typst

    if template not in TEMPLATES:
        raise InputError(f"Unknown template {template!r}: choose one of {', '.join(TEMPLATES)}.")
    try:
        out = typst.compile(
            str(_DIR / f"{template}.typ"),
            root=str(_DIR),
            format="pdf",
            ignore_system_fonts=True,
            sys_inputs={"kind": kind, "data": json.dumps(data, ensure_ascii=False)},
        )
    except Exception as exc:  # typst reports layout errors as a plain Exception subclass
        raise InputError(f"The PDF could not be made ({type(exc).__name__}).") from exc
    return bytes(out)


def cv_pdf(resume: dict[str, Any], template: str = "classic", allowed: Iterable[str] | None = None) -> bytes:
    """The CV as a PDF in the given template; URLs other than `allowed` (default: the resume's own) are removed."""
    return _compile(template, "cv", cv_document(resume, allowed).as_json())


def letter_pdf(
    text: str, resume: dict[str, Any] | None = None, template: str = "classic", allowed: Iterable[str] | None = None
) -> bytes:
    """A cover letter (blank-line separated paragraphs) as a PDF, under the CV's name and contact line."""
    return _compile(template, "letter", letter_document(text, resume, allowed).as_json())
