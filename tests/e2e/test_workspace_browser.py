"""The workspace in a real browser, with no click on any save button: parse a CV, tailor it for a job (which makes an
application), reload the page (everything is still there), download the PDF (a real PDF holding the CV's name and
e-mail), delete the application (gone from the page and from the database).

Needs Debian's chromium; skipped with a reason when it is missing (see tests/e2e/test_browser.py).
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, streamlit_app
from tests.test_ai_service import CV_TEXT, JOB

pytestmark = pytest.mark.e2e

NAME, EMAIL = "Jane Doe", "jane.doe@example.com"


def _no_exception(page) -> None:  # type: ignore[no-untyped-def]
    assert 0 == page.locator('[data-testid="stException"]').count()


def _applications(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT id, role FROM ws_applications")]


def _documents(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM ws_documents").fetchone()[0])


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _go(page, title: str, heading: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def test_parse_tailor_reload_download_delete_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    db = tmp_path / "usage.db"
    with streamlit_app(tmp_path) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            expect(page.get_by_role("heading", name="Your CV")).to_be_visible()

            # 1. parse a CV
            page.get_by_label("Paste your CV").fill(CV_TEXT)
            page.get_by_role("button", name="Parse CV").click()
            # not the e-mail alone: the text box holds it too, before any parse
            expect(page.get_by_role("heading", name=f"Parsed CV: {NAME}")).to_be_visible()
            expect(page.get_by_text(f"E-mail: {EMAIL}")).to_be_visible()
            _no_exception(page)

            # 2. tailor it for a job: this makes an application
            _go(page, "Tailor", "Tailor your CV")
            page.get_by_label("Job description").fill(JOB)
            page.get_by_role("button", name="Tailor my CV").click()
            expect(page.get_by_text("ATS keyword coverage before")).to_be_visible()
            _no_exception(page)
            [(app_id, role)] = _applications(db)
            assert "Senior Python Developer" == role
            assert 1 == _documents(db)

            # 3. reload: a new browser session; the CV, the application and its documents are back
            page.reload()  # still on the Tailor page, in a brand-new session
            expect(page.get_by_role("heading", name="Tailor your CV")).to_be_visible()
            expect(page.get_by_text("ATS keyword coverage before")).to_be_visible()
            expect(page.get_by_label("Job description")).to_have_value(JOB)
            _go(page, "CV", "Your CV")
            expect(page.get_by_role("heading", name=f"Parsed CV: {NAME}")).to_be_visible()
            expect(page.get_by_label("Paste your CV")).to_have_value("")  # only the workspace kept the CV
            _go(page, "Applications", "Applications")
            expect(page.get_by_role("heading", name="Senior Python Developer at")).to_be_visible()
            expect(page.get_by_role("heading", name="Tailored CV")).to_be_visible()
            _no_exception(page)

            # 4. download the PDF: a real PDF whose text holds the CV's name and e-mail
            with page.expect_download() as info:
                page.get_by_role("button", name="PDF", exact=True).click()
            data = Path(info.value.path()).read_bytes()
            assert data.startswith(b"%PDF-")
            text = _pdf_text(data)
            assert NAME in text
            assert EMAIL in text

            # 5. delete the application: gone from the page and from the database
            page.get_by_role("button", name="Delete this application").click()
            expect(page.get_by_text("No applications yet")).to_be_visible()
            expect(page.get_by_role("heading", name="Senior Python Developer at")).to_have_count(0)
            _no_exception(page)
            assert [] == _applications(db)
            assert 0 == _documents(db)
            assert app_id
        finally:
            browser.close()
