"""Export the tailored CV (a JSON Resume) and the cover letter as PDF or DOCX in ATS-safe templates, and a PNG
preview of a PDF's first page. Model text passes through `clean` (no images, links reduced to their words)."""

from core.export.docx import DOCX_MIME, cv_docx, letter_docx
from core.export.model import clean
from core.export.pdf import TEMPLATES, cv_pdf, letter_pdf
from core.export.preview import first_page_png

__all__ = ["DOCX_MIME", "TEMPLATES", "clean", "cv_docx", "cv_pdf", "first_page_png", "letter_docx", "letter_pdf"]
