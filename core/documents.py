"""Documents in and out: PDF/DOCX/TXT/MD/JSON → text, and JSON Resume or plain text → DOCX."""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Any

from core.base import InputError
from core.local.render import resume_to_markdown

MAX_BYTES = 10 * 1024 * 1024
#: A CV or job ad is a few pages; these limits keep a hostile upload from costing minutes or gigabytes.
MAX_PAGES = 50
MAX_CHARS = 200_000
MAX_DOCX_UNCOMPRESSED = 20 * 1024 * 1024
MAX_DOCX_PARTS = 1000
MAX_JSON_DEPTH = 32
TEXT_TYPES = (".txt", ".md", ".markdown", ".text")
SUPPORTED = (".pdf", ".docx", *TEXT_TYPES, ".json")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BULLETS = "•●▪■◦‣∙·-–*"
_PASTE = "Upload the original DOCX or a text PDF, or paste the text."


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
    _check_length(len(text))
    return text


def _check_length(count: int) -> None:
    if count > MAX_CHARS:
        raise InputError(
            f"The document holds {count:,} characters of text; the limit is {MAX_CHARS:,} "
            "(about 60 pages). Upload the CV or job ad on its own."
        )


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


# --- PDF -------------------------------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    if not data.lstrip().startswith(b"%PDF"):
        raise InputError("This is not a valid PDF file (it has no PDF header). Try exporting it again.")
    try:
        from pypdf import PdfReader
        from pypdf.errors import FileNotDecryptedError

        logging.getLogger("pypdf").setLevel(logging.ERROR)
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError("The PDF is password-protected: remove the password (print or export it without one).")
        _check_page_count(reader)
        pages: list[str] = []
        images = False
        total = 0
        for index, page in enumerate(reader.pages):
            if index >= MAX_PAGES:
                raise _too_many_pages(index + 1)
            text = page.extract_text() or ""
            total += len(text)
            _check_length(total)
            images = images or (not text.strip() and _has_images(page))
            pages.append(text)
    except InputError:
        raise
    except FileNotDecryptedError as exc:
        raise InputError(
            "The PDF is password-protected: remove the password (print or export it without one)."
        ) from exc
    except Exception as exc:  # pypdf raises many types on damaged files
        raise InputError(f"The PDF could not be read ({type(exc).__name__}); it may be damaged.") from exc
    if not "".join(pages).strip():
        if images:
            raise InputError(f"The PDF has no text layer: this looks like a scanned PDF (an image of a page). {_PASTE}")
        raise InputError(f"The PDF's pages are blank: there is no text to read. {_PASTE}")
    return "\n".join(_pages_in_reading_order(data, pages))


def _too_many_pages(count: int | str) -> InputError:
    return InputError(
        f"The PDF has {count} pages; the limit is {MAX_PAGES}. A CV or job ad is a few pages: upload that part alone."
    )


def _check_page_count(reader: Any) -> None:
    """The page tree's declared count, read before the tree is walked (walking 30,000 pages takes seconds)."""
    try:
        count = reader.trailer["/Root"]["/Pages"]["/Count"]
    except Exception:  # noqa: BLE001 - a damaged tree is reported when the pages are read
        return
    if isinstance(count, int) and count > MAX_PAGES:
        raise _too_many_pages(f"{count:,}")


def _has_images(page: Any) -> bool:
    try:
        xobjects = page["/Resources"]["/XObject"]
        return any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())
    except Exception:  # noqa: BLE001 - no readable resources: no images
        return False


def _pages_in_reading_order(data: bytes, plain: list[str]) -> list[str]:
    """Each page's text from PDFium's positioned text runs: columns one after the other, wrapped lines joined to
    their bullet or paragraph. pypdf has already read (and bounded) every page; a page PDFium reads worse, or not
    at all, keeps pypdf's text."""
    try:
        runs = _pdfium_runs(data, len(plain))
    except Exception:  # noqa: BLE001 - PDFium refuses some files pypdf reads; their text is still there
        return plain
    out = []
    for page_runs, fallback in zip(runs, plain, strict=True):
        text = "\n".join(_lines_of(block) for block in _column_blocks(page_runs)).strip("\n")
        if len("".join(text.split())) < 0.9 * len("".join(fallback.split())):
            text = fallback
        out.append(text)
    return out


PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe, and Streamlit serves each session from its own thread


@dataclass
class _Run:
    """A run of text on one line of a page, with its box in PDF points (y grows upwards)."""

    left: float
    bottom: float
    right: float
    top: float
    text: str
    body: float | None = None  # where a bullet's text starts, when the bullet is a run of its own

    @property
    def height(self) -> float:
        return max(self.top - self.bottom, 1.0)


def _pdfium_runs(data: bytes, pages: int) -> list[list[_Run]]:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    out: list[list[_Run]] = []
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(data)
        try:
            for index in range(pages):
                page = document[index]
                textpage = page.get_textpage()
                out.append(_runs_of(textpage))
                textpage.close()
                page.close()
        finally:
            document.close()
    return out


def _runs_of(textpage: Any) -> list[_Run]:
    """Runs of characters that sit side by side on one line: a line break, a change of line or a gap wider than
    the text is high ends a run (so two columns on one line are two runs)."""
    text = textpage.get_text_range()
    count = textpage.count_chars()
    if len(text) != count:
        raise ValueError("text and character boxes disagree")
    runs: list[_Run] = []
    run: _Run | None = None
    space = False
    for i, ch in enumerate(text):
        if ch in "\r\n":
            run, space = None, False
            continue
        if ch.isspace():
            space = run is not None
            continue
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        middle = (top + bottom) / 2
        if (
            run is not None
            and run.bottom <= middle <= run.top
            and -0.5 * run.height <= left - run.right <= 1.2 * run.height
        ):
            if run.body is None and run.text in _BULLETS:
                run.body = left  # where the bullet's text starts: its wrapped lines hang there
            run.text += (" " if space or left - run.right > 0.2 * run.height else "") + ch
            run.right, run.bottom, run.top = max(run.right, right), min(run.bottom, bottom), max(run.top, top)
        else:
            run = _Run(left, bottom, right, top, ch)
            runs.append(run)
        space = False
    return runs


def _column_blocks(runs: list[_Run]) -> list[list[_Run]]:
    """The page's runs in reading order, as blocks: a run that spans the page stays where it is, and side-by-side
    columns are read left column first."""
    gutter = _gutter(runs)
    ordered = sorted(runs, key=lambda r: (-r.top, r.left))
    if gutter is None:
        return [ordered]
    blocks: list[list[_Run]] = []
    left: list[_Run] = []
    right: list[_Run] = []
    for run in ordered:
        if run.left < gutter - 3 and run.right > gutter + 3:  # spans the gutter: ends the columns above it
            blocks += [b for b in (left, right) if b]
            left, right = [], []
            blocks.append([run])
        elif run.left >= gutter - 3:
            right.append(run)
        else:
            left.append(run)
    blocks += [b for b in (left, right) if b]
    return blocks


def _gutter(runs: list[_Run]) -> float | None:
    """Where a right-hand column starts, if the page has one. Many runs start at one x in the middle of the page,
    few runs cross it, the text on its left reaches close to it (so it is not a label and its value), and the runs
    starting there end at different places (right-aligned dates end at one x instead)."""
    if len(runs) < 6:
        return None
    lo, hi = min(r.left for r in runs), max(r.right for r in runs)
    width = hi - lo
    starts = Counter(round(r.left / 3) * 3 for r in runs if lo + 0.25 * width < r.left < lo + 0.8 * width)
    for x, count in starts.most_common(3):
        if count < 4:
            break
        at = [r for r in runs if abs(r.left - x) <= 3]
        crossing = [r for r in runs if r.left < x - 3 and r.right > x + 3]
        lefts = [r for r in runs if r.right <= x + 3 and r.left < x - 3]
        if len(crossing) > 0.25 * len(runs) or not lefts:
            continue
        if max(r.right for r in lefts) < lo + 0.6 * (x - lo):
            continue
        if Counter(round(r.right / 3) for r in at).most_common(1)[0][1] > 0.6 * len(at):
            continue
        return float(x)
    return None


def _lines_of(block: list[_Run]) -> str:
    """A column's runs as lines: runs whose vertical middles fall within each other's boxes share a line (a bullet
    glyph's box is smaller than its text's), read left to right; then wrapped lines are joined."""
    rows: list[list[_Run]] = []
    for run in sorted(block, key=lambda r: -(r.top + r.bottom) / 2):
        middle = (run.top + run.bottom) / 2
        row = rows[-1] if rows else None
        if row is not None and any(
            r.bottom - 1 <= middle <= r.top + 1 or run.bottom - 1 <= (r.top + r.bottom) / 2 <= run.top + 1 for r in row
        ):
            row.append(run)
        else:
            rows.append([run])
    lines = []
    for row in rows:
        row.sort(key=lambda r: r.left)
        first = row[0]
        text, body = first.text, first.body
        for before, run in itertools.pairwise(row):
            if body is None and text.strip() in _BULLETS:
                body = run.left
            spaced = text.endswith(" ") or run.left - before.right >= 0.15 * run.height
            text = text.rstrip() + (" " if spaced else "") + run.text
        bottom, top = min(r.bottom for r in row), max(r.top for r in row)
        lines.append(_Run(first.left, bottom, max(r.right for r in row), top, text.rstrip(), body))
    return _join_wrapped(lines)


def _join_wrapped(lines: list[_Run]) -> str:
    """Wrapped lines joined: a line set under a bullet's text (a hanging indent), or a lower-case line after a line
    that reached the column's right edge, continues the line above. A wider gap than a line's height is kept as a
    blank line, so paragraphs stay apart."""
    if not lines:
        return ""
    lo, hi = min(r.left for r in lines), max(r.right for r in lines)
    out: list[str] = []
    hang: float | None = None  # where the open bullet's text starts
    prev: _Run | None = None
    for line in lines:
        text = line.text
        gap = prev.bottom - line.top if prev is not None else 0.0
        height = max(line.height, prev.height) if prev is not None else line.height
        if prev is not None and gap > 1.0 * height:
            out.append("")
            hang, prev = None, None
        joined = False
        if prev is not None and not _is_bullet(text) and gap <= 0.8 * height:
            full = prev.right >= hi - 0.15 * (hi - lo) and hi - lo > 150
            under_bullet = hang is not None and abs(line.left - hang) <= 3
            lower = text[0].islower()
            joined = under_bullet or (full and abs(line.left - prev.left) <= 3 and lower)
        if joined:
            hyphen = out[-1].endswith("-") and text[0].islower()
            out[-1] = out[-1][:-1] + text if hyphen else out[-1] + " " + text
        else:
            out.append(text)
            hang = (line.body if line.body is not None else _text_start(line)) if _is_bullet(text) else None
        prev = line
    return "\n".join(out)


def _text_start(line: _Run) -> float:
    """Where a bullet's text starts when bullet and text are one run, estimated from the characters before it."""
    marker = len(line.text) - len(line.text[1:].lstrip())
    return line.left + (line.right - line.left) * marker / max(len(line.text), 1)


def _is_bullet(text: str) -> bool:
    return len(text) > 1 and text[0] in _BULLETS and text[1] == " "


# --- DOCX ------------------------------------------------------------------------------------------------------


def _docx_text(data: bytes) -> str:
    _check_docx_container(data)
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


def _check_docx_container(data: bytes) -> None:
    """Refuse what python-docx would choke on, before it inflates anything: encrypted or legacy Word files (OLE
    containers) and zips whose parts add up past the limit (zipfile never inflates past a part's declared size)."""
    if data.startswith(_OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data:
            raise InputError(
                "The DOCX is password-protected (encrypted): open it in Word, remove the password "
                "(File > Info > Protect Document) and upload it again, or upload a PDF."
            )
        raise InputError("This is an old Word .doc file, not a DOCX: save it as .docx or PDF and upload that.")
    if not data.startswith(b"PK"):
        raise InputError("The DOCX could not be read: it is not a Word document (it is not a zip package).")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            parts = package.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError("The DOCX could not be read (the zip package is damaged); it may be damaged.") from exc
    if len(parts) > MAX_DOCX_PARTS:
        raise InputError(f"The DOCX holds {len(parts):,} parts; a Word document has far fewer. It was refused.")
    size = sum(p.file_size for p in parts)
    if size > MAX_DOCX_UNCOMPRESSED:
        raise InputError(
            f"The DOCX unpacks to {size / 1e6:,.0f} MB; the limit is {MAX_DOCX_UNCOMPRESSED // (1024 * 1024)} MB. "
            "Save it again without embedded media, or upload a PDF."
        )
    if "word/document.xml" not in {p.filename for p in parts}:
        raise InputError("The DOCX could not be read: it has no Word document inside (word/document.xml).")


# --- JSON Resume -----------------------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted outside strings, without recursion."""
    brackets = _JSON_STRING.sub("", text).translate({c: None for c in range(256) if chr(c) not in "[]{}"})
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load_json_resume(data: bytes | str) -> dict[str, Any]:
    """A JSON Resume document, checked for the basic shape; InputError otherwise."""
    try:
        text = decode_text(data) if isinstance(data, bytes | bytearray) else str(data)
    except InputError as exc:
        raise InputError(f"The JSON could not be read: {exc}") from exc
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise InputError(f"The JSON is nested too deeply (more than {MAX_JSON_DEPTH} levels); a JSON Resume is not.")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
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
