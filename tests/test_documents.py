"""Documents: PDF/DOCX/TXT/JSON in, DOCX out, and clear errors for what cannot be read."""

from __future__ import annotations

import io
import json

import docx
import pytest
from pypdf import PdfWriter

from core.base import InputError
from core.documents import (
    MAX_BYTES,
    decode_text,
    extract_text,
    load_json_resume,
    resume_to_docx,
    text_to_docx,
)
from core.local import parse_cv


def text_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a Helvetica text stream, byte offsets computed for a valid xref table."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"]
    for line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({safe}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_pdf_with_text_layer() -> None:
    text = extract_text(text_pdf(["Casey Pdf", "casey@example.com", "Experience"]), "cv.pdf")
    assert ["Casey Pdf", "casey@example.com", "Experience"] == [ln.strip() for ln in text.splitlines() if ln.strip()]
    assert "casey@example.com" == parse_cv(text)["basics"]["email"]


def test_scanned_pdf_says_so() -> None:
    with pytest.raises(InputError, match="no text layer: this looks like a scanned PDF"):
        extract_text(blank_pdf(), "scan.PDF")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.4\n1 0 obj garbage garbage", "could not be read"),
        (b"hello, not a pdf at all", "not a valid PDF"),
    ],
)
def test_broken_pdf(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        extract_text(data, "broken.pdf")


def test_docx_round_trip() -> None:
    resume = parse_cv("Dana Docx\ndana@example.com\n\nExperience\nAnalyst\nDocco Ltd - Leeds\n2019 - Present\n")
    data = resume_to_docx(resume)
    text = extract_text(data, "cv.docx")
    again = parse_cv(text)
    assert ("Dana Docx", "dana@example.com") == (again["basics"]["name"], again["basics"]["email"])
    assert "Docco Ltd" in text


def test_docx_tables_are_read() -> None:
    document = docx.Document()
    document.add_paragraph("Tab Le")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Skills"
    table.cell(0, 1).text = "Python, SQL"
    buf = io.BytesIO()
    document.save(buf)
    assert "Skills  Python, SQL" in extract_text(buf.getvalue(), "t.docx")


def test_text_to_docx() -> None:
    data = text_to_docx("Cover letter", "Dear team,\n\nHello there.\n\nRegards")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    assert ["Cover letter", "Dear team,", "Hello there.", "Regards"] == paragraphs


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Zoë café".encode(), "Zoë café"),
        ("\ufeffBOM text".encode(), "BOM text"),
        ("naïve – dash".encode("cp1252"), "naïve – dash"),
        (b"\x81\x8d", "\x81\x8d"),
    ],
)
def test_decode_text_fallbacks(data: bytes, expected: str) -> None:
    assert expected == decode_text(data)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "cv.txt", "empty"),
        (b"   \n ", "cv.txt", "empty"),
        (b"\x00\x01\x02binary\x00junk" * 10, "cv.txt", "binary"),
        (b"some text", "cv.exe", "Unsupported file type '.exe'"),
        (b"some text", "noextension", "Unsupported file type"),
        (b"x" * (MAX_BYTES + 1), "cv.txt", "limit is 10 MB"),
        (b"PK\x03\x04not really a docx", "cv.docx", "DOCX could not be read"),
    ],
)
def test_extract_text_errors(data: bytes, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        extract_text(data, name)


def test_markdown_and_text_files() -> None:
    assert "# Me\nhello" == extract_text(b"# Me\nhello", "cv.md")


def test_json_resume_to_text() -> None:
    resume = {"basics": {"name": "Jay Son", "email": "jay@example.com"}, "work": [{"name": "Jsonco Ltd"}]}
    text = extract_text(json.dumps(resume).encode(), "resume.json")
    assert text.startswith("# Jay Son\n")
    assert "Jsonco Ltd" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "could not be read"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"basics": "x"}', "'basics' in a JSON Resume must be an object"),
        (b'{"basics": {}, "work": {"a": 1}}', "'work' in a JSON Resume must be a list"),
        (b'{"hello": 1}', "does not look like a JSON Resume"),
    ],
)
def test_load_json_resume_rejects_bad_shapes(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_json_resume(data)


def test_load_json_resume_accepts_parser_output() -> None:
    resume = parse_cv("Pat Json\npat@example.com\n")
    assert resume == load_json_resume(json.dumps(resume).encode())
