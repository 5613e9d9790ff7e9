"""Documents: PDF/DOCX/TXT/JSON in, DOCX out, and clear errors for what cannot be read."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import docx
import pytest
import typst
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

from core.base import InputError
from core.documents import (
    MAX_BYTES,
    MAX_CHARS,
    MAX_DOCX_PARTS,
    MAX_PAGES,
    decode_text,
    extract_text,
    load_json_resume,
    resume_to_docx,
    text_to_docx,
)
from core.local import parse_cv


def _pdf_string(text: str) -> str:
    """`text` as a PDF literal string: backslashes and parentheses escaped."""
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def text_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a Helvetica text stream, byte offsets computed for a valid xref table."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL", *(f"{_pdf_string(line)} Tj T*" for line in lines), "ET"]
    return text_pdf_from_stream("\n".join(ops).encode("latin-1"), font="")


def text_pdf_from_stream(stream: bytes, font: str = " /Encoding /WinAnsiEncoding") -> bytes:
    """A one-page PDF drawing `stream` in Helvetica (`font`: more of the font's dictionary), with a valid xref."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica" + font.encode() + b" >>",
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


def scanned_pdf() -> bytes:
    """A page that is only a picture, as a scanner or a phone app makes it (Pillow writes the image as a PDF)."""
    image = Image.new("RGB", (400, 560), "white")
    ImageDraw.Draw(image).text((40, 40), "Casey Scan  casey@example.com", fill="black")
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=72)
    return buf.getvalue()


def test_scanned_pdf_says_so() -> None:
    with pytest.raises(InputError, match="no text layer: this looks like a scanned PDF"):
        extract_text(scanned_pdf(), "scan.PDF")


def test_blank_pdf_is_not_called_scanned() -> None:
    with pytest.raises(InputError, match="pages are blank") as info:
        extract_text(blank_pdf(), "blank.pdf")
    assert "scanned" not in str(info.value)


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


# --- limits and true errors -----------------------------------------------------------------------------------


def pdf_bytes(writer: PdfWriter) -> bytes:
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def encrypted_pdf(user_password: str, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf(["Casey Locked", "casey@example.com"])))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    return pdf_bytes(writer)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_password_protected_pdf_says_so(algorithm: str) -> None:
    with pytest.raises(InputError, match="password-protected") as info:
        extract_text(encrypted_pdf("secret", algorithm), "locked.pdf")
    assert "damaged" not in str(info.value)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_pdf_with_only_an_owner_password_is_read(algorithm: str) -> None:
    assert "casey@example.com" in extract_text(encrypted_pdf("", algorithm), "restricted.pdf")


def test_thirty_thousand_page_pdf_is_refused_before_its_pages_are_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    writer = PdfWriter()
    for _ in range(30_000):
        writer.add_blank_page(width=612, height=792)
    data = pdf_bytes(writer)

    def walked(*args: object, **kwargs: object) -> None:
        raise AssertionError("the page tree was walked (seconds for 30,000 pages) before the count was checked")

    monkeypatch.setattr(PdfReader, "_flatten", walked)
    with pytest.raises(InputError, match=r"The PDF has 30,000 pages; the limit is 50"):
        extract_text(data, "huge.pdf")


def test_one_page_over_the_limit_is_refused() -> None:
    writer = PdfWriter()
    page = PdfWriter(clone_from=io.BytesIO(text_pdf(["Page text"]))).pages[0]
    for _ in range(MAX_PAGES + 1):
        writer.add_page(page)
    with pytest.raises(InputError, match=f"has {MAX_PAGES + 1} pages; the limit is {MAX_PAGES}"):
        extract_text(pdf_bytes(writer), "long.pdf")


def test_text_over_the_character_limit_is_refused() -> None:
    data = ("A line of a very long document. " * (MAX_CHARS // 30)).encode()
    with pytest.raises(InputError, match="characters of text; the limit is 200,000"):
        extract_text(data, "long.txt")


def docx_bomb(xml_megabytes: int) -> bytes:
    """A real DOCX whose document.xml is inflated with empty paragraphs: tiny on disk, huge unpacked."""
    buf = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Bo Mb")
    document.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            if item.filename != "word/document.xml":
                dst.writestr(item, src.read(item))
                continue
            body = src.read(item).decode()
            head, tail = body.split("<w:body>")
            para = b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>" * 4096
            with dst.open("word/document.xml", "w") as stream:
                stream.write(f"{head}<w:body>".encode())
                for _ in range(xml_megabytes * 1024 * 1024 // len(para)):
                    stream.write(para)
                stream.write(tail.encode())
    return out.getvalue()


def test_docx_decompression_bomb_is_refused_without_inflating_it() -> None:
    data = docx_bomb(200)
    assert len(data) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"unpacks to 2\d\d MB; the limit is 20 MB"):
            extract_text(data, "bomb.docx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024  # nothing was inflated (the time it takes is in bench/export_speed.py)


def test_docx_of_ordinary_size_is_read() -> None:
    assert "Bo Mb" in extract_text(docx_bomb(1), "big-but-fine.docx")


def ole_file(*streams: str) -> bytes:
    """A compound-file (OLE/CFB) container: the header and one directory sector naming its streams. Word saves a
    password-protected .docx this way (EncryptionInfo + EncryptedPackage); a legacy .doc has a WordDocument stream."""
    header = bytearray(512)
    header[0:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    header[24:26] = (0x003E).to_bytes(2, "little")  # minor version
    header[26:28] = (3).to_bytes(2, "little")  # major version 3: 512-byte sectors
    header[28:30] = (0xFFFE).to_bytes(2, "little")  # little-endian
    header[30:32] = (9).to_bytes(2, "little")
    header[32:34] = (6).to_bytes(2, "little")
    header[48:52] = (0).to_bytes(4, "little")  # first directory sector
    directory = bytearray()
    for name in ("Root Entry", *streams):
        entry = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        entry[: len(encoded)] = encoded
        entry[64:66] = len(encoded).to_bytes(2, "little")
        entry[66] = 5 if name == "Root Entry" else 2
        directory += entry
    directory += bytes(512 - len(directory) % 512)
    return bytes(header + directory)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ole_file("EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"), "DOCX is password-protected"),
        (ole_file("WordDocument", "1Table", "\x05SummaryInformation"), "old Word .doc file, not a DOCX"),
        (b"PK\x03\x04not really a docx", "DOCX could not be read"),
        (b"%PDF-1.4 a pdf named .docx", "not a Word document"),
    ],
)
def test_docx_true_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        extract_text(data, "cv.docx")
    assert "BadZipFile" not in str(info.value)


def test_docx_with_too_many_parts_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as package:
        package.writestr("word/document.xml", "<w:document/>")
        for i in range(MAX_DOCX_PARTS):
            package.writestr(f"word/media/p{i}.xml", "")
    with pytest.raises(InputError, match=f"holds {MAX_DOCX_PARTS + 1:,} parts"):
        extract_text(buf.getvalue(), "parts.docx")


def test_zip_that_is_not_a_word_document() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as package:
        package.writestr("hello.txt", "not word")
    with pytest.raises(InputError, match="no Word document inside"):
        extract_text(buf.getvalue(), "cv.docx")


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"basics": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001,
        b'{"basics": {}, "work": [' + b"[" * 40 + b"]" * 40 + b"]}",
    ],
)
def test_deep_json_is_refused(data: bytes) -> None:
    with pytest.raises(InputError, match="nested too deeply"):
        load_json_resume(data)
    with pytest.raises(InputError, match="nested too deeply"):
        extract_text(data, "resume.json")


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    resume = {"basics": {"name": "Br Acket", "summary": "[" * 500 + '{"\\"' * 100}}
    assert resume == load_json_resume(json.dumps(resume).encode())


# --- text kept in reading order -------------------------------------------------------------------------------


def typst_pdf(source: str) -> bytes:
    """A PDF typeset by Typst (the export renderer), with its bundled fonts only."""
    return bytes(typst.compile(source.encode(), format="pdf", ignore_system_fonts=True))


BULLET = "Cut weekly reporting time by 12 hours by automating the Tableau dashboards of three regional sales teams."
WRAPPED_CV = f"""#set page(paper: "a4", margin: 2.2cm)
#set text(font: "Libertinus Serif", size: 11pt)
Ada Wrap \\
ada\\@example.com · +44 7700 900123

*EXPERIENCE*

Data Analyst \\
Acme Analytics Ltd \\
2019 – Present
- {BULLET}
- Built a churn model in Python that the retention team uses every week to choose whom to call first.

*EDUCATION*

BSc Mathematics, University of Leeds (2015 – 2019)
"""


def test_wrapped_bullet_is_joined_to_its_bullet() -> None:
    data = typst_pdf(WRAPPED_CV)
    plain = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert f"• {BULLET}" not in plain.splitlines()  # the PDF really wraps the bullet
    lines = extract_text(data, "wrapped.pdf").splitlines()
    assert f"• {BULLET}" in lines
    assert (
        "• Built a churn model in Python that the retention team uses every week to choose whom to call first." in lines
    )


def test_offline_parser_gets_the_whole_wrapped_bullet() -> None:
    resume = parse_cv(extract_text(typst_pdf(WRAPPED_CV), "wrapped.pdf"))
    assert ("Acme Analytics Ltd", "Data Analyst") == (resume["work"][0]["name"], resume["work"][0]["position"])
    assert BULLET in resume["work"][0]["highlights"]


def positioned_pdf(items: list[tuple[float, float, str]]) -> bytes:
    """A one-page PDF whose text is drawn at (x, y) in the order given: the drawing order of the content stream is
    not the reading order, as with PDFs made from tables or text boxes."""
    ops = ["BT", "/F1 10 Tf", *(f"1 0 0 1 {x} {y} Tm {_pdf_string(text)} Tj" for x, y, text in items), "ET"]
    return text_pdf_from_stream("\n".join(ops).encode("latin-1"))


LEFT = [
    "EXPERIENCE",
    "Staff Nurse",
    "Royal Infirmary Trust",
    "2019 - Present",
    "Led a ward team of twelve nurses on nights.",
    "Ran IV therapy and NEWS2 audits each month.",
    "Healthcare Assistant",
    "Northgate Care Home",
    "2016 - 2019",
]
RIGHT = ["SKILLS", "IV therapy", "BLS, ILS", "NEWS2", "EDUCATION", "BSc Nursing", "University of Salford", "2016"]


def two_column_pdf() -> bytes:
    """Header across the page, then two columns drawn row by row (left, right, left, right...)."""
    items = [(72.0, 740.0, "Nia Columns"), (72.0, 726.0, "nia@example.com +44 7700 900456 Manchester")]
    for row in range(max(len(LEFT), len(RIGHT))):
        y = 690.0 - 14 * row
        if row < len(LEFT):
            items.append((72.0, y, LEFT[row]))
        if row < len(RIGHT):
            items.append((380.0, y, RIGHT[row]))
    return positioned_pdf(items)


def test_two_column_pdf_is_read_column_by_column() -> None:
    data = two_column_pdf()
    plain = [ln.strip() for ln in PdfReader(io.BytesIO(data)).pages[0].extract_text().splitlines()]
    assert LEFT + RIGHT != [ln for ln in plain if ln][2:]  # drawn row by row: plain extraction interleaves
    lines = [ln.strip() for ln in extract_text(data, "columns.pdf").splitlines() if ln.strip()]
    assert ["Nia Columns", "nia@example.com +44 7700 900456 Manchester", *LEFT, *RIGHT] == lines


def test_two_column_pdf_parses_into_the_right_sections() -> None:
    resume = parse_cv(extract_text(two_column_pdf(), "columns.pdf"))
    assert "University of Salford" in [e.get("institution") for e in resume["education"]]
    assert "Royal Infirmary Trust" in [w.get("name") for w in resume["work"]]


def test_typeset_two_column_pdf_keeps_columns_apart() -> None:
    source = """#set page(paper: "a4", margin: 2cm)
#set text(font: "Libertinus Serif", size: 10.5pt)
Ada Column \\
ada\\@example.com
#columns(2)[
*EXPERIENCE* \\
Data Analyst \\
Acme Analytics Ltd \\
2019 – Present
- Cut weekly reporting time by 12 hours by automating the Tableau dashboards for three regional teams.
#colbreak()
*SKILLS* \\
Python, SQL, Tableau \\
*EDUCATION* \\
BSc Mathematics \\
University of Leeds
]
"""
    lines = [ln.strip() for ln in extract_text(typst_pdf(source), "cols.pdf").splitlines() if ln.strip()]
    assert [
        "Ada Column",
        "ada@example.com",
        "EXPERIENCE",
        "Data Analyst",
        "Acme Analytics Ltd",
        "2019 – Present",
        "• Cut weekly reporting time by 12 hours by automating the Tableau dashboards for three regional teams.",
        "SKILLS",
        "Python, SQL, Tableau",
        "EDUCATION",
        "BSc Mathematics",
        "University of Leeds",
    ] == lines


def test_right_aligned_dates_stay_on_their_line() -> None:
    rows = [("Data Analyst", "2019 - Present"), ("Acme Analytics Ltd", "Leeds"), ("Junior Analyst", "2016 - 2019")]
    rows += [("Betamax Data Ltd", "York"), ("Intern", "Summer 2015"), ("Gamma Co", "Hull"), ("Tutor", "2014")]
    items: list[tuple[float, float, str]] = [(72.0, 740.0, "Dee Dates")]
    for i, (left, right) in enumerate(rows):
        items.append((72.0, 700.0 - 14 * i, left))
        items.append((540.0 - 5.0 * len(right), 700.0 - 14 * i, right))  # right-aligned at x = 540
    lines = [" ".join(ln.split()) for ln in extract_text(positioned_pdf(items), "dates.pdf").splitlines()]
    assert [f"{a} {b}" for a, b in rows] == [ln for ln in lines if ln][1:]
