"""Time PDF and DOCX export per document and template, the first-page PNG preview, and how fast hostile uploads
are refused (a 30,000-page PDF, a DOCX holding 200 MB of XML).

Usage: python bench/export_speed.py [N]  (N CVs from the dev set, default 50)

The goal is ≤ 2 s per document. Each CV is parsed first (not timed); the first export of a template is timed apart
(it loads Typst's bundled fonts), then the median and worst of the rest are printed, with CPU time beside wall time.
"""

from __future__ import annotations

import html
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.export import TEMPLATES, cv_docx, cv_pdf, first_page_png, letter_pdf  # noqa: E402
from core.local import parse_cv  # noqa: E402

_LABEL = re.compile(r'<label type="[^"]+">(.*?)</label>', re.S)


def dev_cvs(count: int) -> list[dict]:
    root = ROOT.parent / "shared" / "data" / "cv-ner-dev"
    root = root if root.is_dir() else Path("/work/shared/data/cv-ner-dev")
    files = sorted(root.glob("*.xml"), key=lambda p: int(p.stem))[:count]
    texts = [html.unescape(_LABEL.sub(r"\1", re.sub(r"<\?xml[^>]*\?>|</?cv>", "", f.read_text()))) for f in files]
    return [parse_cv(t) for t in texts]


def timed(fn, *args):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"python {platform.python_version()}; {count} dev CVs")
    resumes = dev_cvs(count)
    long_cv = {
        "basics": {"name": "Lon Gcv", "email": "long@example.com"},
        "work": [
            {
                "name": f"Employer {i} Ltd",
                "position": f"Analyst {i}",
                "startDate": "2001",
                "highlights": ["x " * 60] * 5,
            }
            for i in range(40)
        ],
    }
    letter = "Dear team,\n\n" + "\n\n".join(["I write about the analyst role. " * 8] * 5) + "\n\nKind regards,\nA"
    for template in TEMPLATES:
        _, first, _ = timed(cv_pdf, resumes[0], template)
        rows = {"cv pdf": [timed(cv_pdf, r, template) for r in resumes]}
        rows["cv docx"] = [timed(cv_docx, r, template) for r in resumes]
        rows["letter pdf"] = [timed(letter_pdf, letter, resumes[0], template) for _ in range(20)]
        rows["long cv pdf (40 jobs)"] = [timed(cv_pdf, long_cv, template) for _ in range(5)]
        pdf = cv_pdf(resumes[0], template)
        rows["preview png"] = [timed(first_page_png, pdf) for _ in range(10)]
        print(f"\n{template}: first PDF {first * 1000:.0f} ms")
        for name, samples in rows.items():
            walls = [s[1] * 1000 for s in samples]
            cpus = [s[2] * 1000 for s in samples]
            print(
                f"  {name:22} median {statistics.median(walls):7.1f} ms  worst {max(walls):7.1f} ms  "
                f"cpu median {statistics.median(cpus):7.1f} ms  ({len(samples)} runs)"
            )
        pages = sum(1 for _ in re.finditer(rb"/Type\s*/Page\b", cv_pdf(long_cv, template)))
        print(f"  long CV: {pages} pages")


def hostile() -> None:
    import io

    from pypdf import PdfWriter

    from core.base import InputError
    from core.documents import extract_text
    from tests.test_documents import docx_bomb

    writer = PdfWriter()
    for _ in range(30_000):
        writer.add_blank_page(width=612, height=792)
    buf = io.BytesIO()
    writer.write(buf)
    bomb = docx_bomb(200)
    print("\nhostile uploads (refusal time, wall and CPU):")
    for name, data, filename in (("30,000-page PDF", buf.getvalue(), "x.pdf"), ("200 MB-XML DOCX", bomb, "x.docx")):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            extract_text(data, filename)
            outcome = "NOT refused"
        except InputError as exc:
            outcome = str(exc)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  {name} ({len(data) / 1e6:.1f} MB file): {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")
        print(f"    {outcome}")


if __name__ == "__main__":
    main()
    hostile()
