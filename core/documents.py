"""Documents in and out: PDF/DOCX/TXT/MD/JSON → text, and JSON Resume or plain text → DOCX."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from core.base import InputError
from core.local.render import resume_to_markdown

MAX_BYTES = 10 * 1024 * 1024
TEXT_TYPES = (".txt", ".md", ".markdown", ".text")
SUPPORTED = (".pdf", ".docx", *TEXT_TYPES, ".json")


def _suffix(filename: str) -> str:
    name = (filename or "").lower().strip()
    return name[name.rfind(".") :] if "." in name else ""


def extract_text(data: bytes, filename: str) -> str:
    """The text of an uploaded CV or job ad; InputError (with what to do) when there is none to read."""
    if not isinstance(data, bytes | bytearray):
        raise InputError("The upload is not a file.")
    if len(data) > MAX_BYTES:
        raise InputError(f"The file is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES // (1024 * 1024)} MB.")
    if not data.strip():
        raise InputError("The file is empty.")
    suffix = _suffix(filename)
    if suffix == ".pdf":
        text = _pdf_text(bytes(data))
    elif suffix == ".docx":
        text = _docx_text(bytes(data))
    elif suffix in TEXT_TYPES:
        text = decode_text(bytes(data))
    elif suffix == ".json":
        text = resume_to_markdown(load_json_resume(bytes(data)))
    else:
        raise InputError(f"Unsupported file type {suffix or '(none)'!r}: upload one of {', '.join(SUPPORTED)}.")
    if not text.strip():
        raise InputError("No text could be read from the file.")
    return text


def decode_text(data: bytes) -> str:
    """UTF-8 first, then UTF-8 with BOM, cp1252 and Latin-1; refuses binary data."""
    head = data[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("The file looks binary, not text: upload a PDF, DOCX or plain-text CV.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8", "utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.lstrip("\ufeff")
    text = data.decode("latin-1")
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > 0.05 * min(len(text), 8192):
        raise InputError("The file looks binary, not text: upload a PDF, DOCX or plain-text CV.")
    return text


def _pdf_text(data: bytes) -> str:
    if not data.lstrip().startswith(b"%PDF"):
        raise InputError("This is not a valid PDF file (it has no PDF header). Try exporting it again.")
    try:
        from pypdf import PdfReader

        logging.getLogger("pypdf").setLevel(logging.ERROR)
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:
                raise InputError("The PDF is password-protected: remove the password and upload it again.") from exc
        pages = [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise InputError(f"The PDF could not be read ({type(exc).__name__}); it may be damaged.") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise InputError(
            "The PDF has no text layer: this looks like a scanned PDF (an image of a page). "
            "Upload the original DOCX or a text PDF, or paste the text."
        )
    return text


def _docx_text(data: bytes) -> str:
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise InputError(f"The DOCX could not be read ({type(exc).__name__}); it may be damaged.") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append("  ".join(dict.fromkeys(cells)))
    return "\n".join(lines)


def load_json_resume(data: bytes) -> dict[str, Any]:
    """A JSON Resume document, checked for the basic shape; InputError otherwise."""
    try:
        obj = json.loads(decode_text(data) if isinstance(data, bytes | bytearray) else data)
    except (ValueError, InputError) as exc:
        raise InputError(f"The JSON could not be read: {exc}") from exc
    if not isinstance(obj, dict):
        raise InputError("A JSON Resume must be a JSON object with a 'basics' section.")
    if not isinstance(obj.get("basics", {}), dict):
        raise InputError("'basics' in a JSON Resume must be an object.")
    for key in ("work", "education", "skills", "certificates", "languages", "projects"):
        if key in obj and not (isinstance(obj[key], list) and all(isinstance(x, dict) for x in obj[key])):
            raise InputError(f"'{key}' in a JSON Resume must be a list of objects.")
    if not any(key in obj for key in ("basics", "work", "education", "skills")):
        raise InputError("This JSON does not look like a JSON Resume (no basics, work, education or skills).")
    obj.setdefault("basics", {})
    return obj


def _docx_bytes(document: Any) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def resume_to_docx(resume: dict[str, Any]) -> bytes:
    """A clean DOCX of a JSON Resume: headings per section, bullets for highlights."""
    import docx

    document = docx.Document()
    for line in resume_to_markdown(resume).splitlines():
        if line.startswith("# "):
            document.add_heading(line[2:], level=0)
        elif line.startswith("## "):
            document.add_heading(line[3:], level=1)
        elif line.startswith("### "):
            document.add_heading(line[4:], level=2)
        elif line.startswith("- "):
            document.add_paragraph(line[2:].replace("**", ""), style="List Bullet")
        elif line.strip():
            document.add_paragraph(line.replace("**", "").strip("*"))
    return _docx_bytes(document)


def text_to_docx(title: str, text: str) -> bytes:
    """A DOCX with a title and one paragraph per blank-line-separated block (cover letters, e-mails)."""
    import docx

    document = docx.Document()
    if title:
        document.add_heading(title, level=1)
    for block in (text or "").split("\n\n"):
        if block.strip():
            document.add_paragraph(block.strip())
    return _docx_bytes(document)
