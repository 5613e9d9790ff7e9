"""A PNG of a PDF's first page, for the page to show what the download looks like."""

from __future__ import annotations

import io

from core.base import InputError
from core.documents import PDFIUM_LOCK


def first_page_png(pdf: bytes, width: int = 900) -> bytes:
    """The first page rendered at `width` pixels wide, as PNG bytes."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    try:
        with PDFIUM_LOCK:
            document = pdfium.PdfDocument(pdf)
            try:
                page = document[0]
                scale = width / page.get_width()
                image = page.render(scale=scale).to_pil()
                page.close()
            finally:
                document.close()
    except Exception as exc:  # PDFium reports any unreadable PDF as PdfiumError
        raise InputError(f"The preview could not be drawn ({type(exc).__name__}).") from exc
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    return buf.getvalue()
