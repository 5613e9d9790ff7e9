"""DOCX export in the same templates as the PDF: the same blocks and lines, Word's own styles, and one common
font per template (Word does not embed fonts, so each template names one every Office install has)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.base import InputError
from core.export.model import Header, cv_document, letter_document
from core.export.pdf import TEMPLATES


@dataclass(frozen=True)
class _Style:
    font: str
    size: float
    name_size: float
    heading_size: float
    centred: bool
    upper: bool
    accent: str  # hex RGB


#: The media type a browser needs to offer a .docx download.
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

_STYLES = {
    "classic": _Style("Georgia", 10.5, 20, 11, True, True, "000000"),
    "modern": _Style("Calibri", 10.5, 22, 12.5, False, False, "1F3A5F"),
    "compact": _Style("Arial", 9.5, 16, 10, False, True, "000000"),
}


def _new(template: str) -> tuple[Any, _Style]:
    import docx
    from docx.shared import Cm, Pt

    if template not in TEMPLATES:
        raise InputError(f"Unknown template {template!r}: choose one of {', '.join(TEMPLATES)}.")
    style = _STYLES[template]
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = style.font
    normal.font.size = Pt(style.size)
    normal.paragraph_format.space_after = Pt(2)
    for section in document.sections:
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.left_margin = section.right_margin = Cm(2.0 if template != "compact" else 1.6)
        section.top_margin = section.bottom_margin = Cm(1.8 if template != "compact" else 1.4)
    return document, style


def _header(document: Any, header: Header, style: _Style) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    for text, size, bold in ((header.name, style.name_size, True), (header.label, style.size + 1, False)):
        if text:
            para = document.add_paragraph()
            run = para.add_run(text)
            run.bold, run.font.size = bold, Pt(size)
            if style.centred:
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if header.contact:
        para = document.add_paragraph("  |  ".join(header.contact))
        if style.centred:
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _heading(document: Any, title: str, style: _Style) -> None:
    from docx.shared import Pt, RGBColor

    para = document.add_heading(level=1)
    run = para.add_run(title.upper() if style.upper else title)
    run.font.name, run.font.size = style.font, Pt(style.heading_size)
    run.font.color.rgb = RGBColor.from_string(style.accent)
    para.paragraph_format.space_before, para.paragraph_format.space_after = Pt(10), Pt(4)


def _bytes(document: Any) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def cv_docx(resume: dict[str, Any], template: str = "classic", allowed: Iterable[str] | None = None) -> bytes:
    """The CV as a DOCX in the given template: the same lines as its PDF."""
    document, style = _new(template)
    cv = cv_document(resume, allowed)
    _header(document, cv.header, style)
    for section in cv.sections:
        _heading(document, section.title, style)
        for entry in section.entries:
            for f in entry.fields:
                para = document.add_paragraph()
                if f.label:
                    para.add_run(f"{f.label}: ")
                para.add_run(f.value).bold = True
            if entry.text:
                document.add_paragraph(entry.text)
            if entry.items:
                document.add_paragraph("; ".join(entry.items))
            for bullet in entry.bullets:
                document.add_paragraph(bullet, style="List Bullet")
    return _bytes(document)


def letter_docx(
    text: str, resume: dict[str, Any] | None = None, template: str = "classic", allowed: Iterable[str] | None = None
) -> bytes:
    """A cover letter as a DOCX in the given template, under the CV's name and contact line."""
    document, style = _new(template)
    letter = letter_document(text, resume, allowed)
    if letter.header.name or letter.header.contact:
        _header(document, letter.header, style)
        document.add_paragraph()
    for paragraph in letter.paragraphs:
        para = document.add_paragraph()
        for i, line in enumerate(paragraph.split("\n")):
            if i:
                para.add_run().add_break()
            para.add_run(line)
    return _bytes(document)
