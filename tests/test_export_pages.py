"""The Download PDF buttons on the Tailor, Cover letter and Applications pages (AppTest): each download is a real PDF
whose text holds the CV's name and e-mail, and a failed export says so while the page's other downloads still work."""

from __future__ import annotations

import asyncio

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from core.ai_service import AIService
from core.documents import extract_text
from tests.apptest import open_page
from tests.test_ai_service import CV_TEXT, JOB


@pytest.fixture
def parsed_cv() -> dict:
    """Parsed inside each test's clean environment, never on the repository's data/usage.db."""
    return asyncio.run(AIService().parse_cv(CV_TEXT))


SERVED: dict[str, bytes] = {}
#: The file name and type the browser would save each served file as, by its URL.
SERVED_AS: dict[str, tuple[str | None, str]] = {}


@pytest.fixture(autouse=True)
def keep_served_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest drops its media store after each run; keep what it stored, by the URL the browser would fetch."""
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        file_id = original(self, path_or_data, mimetype, kind, filename)
        SERVED[self.get_url(file_id)] = bytes(self.get_file(file_id).content)
        SERVED_AS[self.get_url(file_id)] = (filename, mimetype)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)


def downloaded(at: AppTest, label: str) -> bytes:
    """The bytes behind a download button, as the browser would fetch them from the media endpoint."""
    [button] = [b for b in at.get("download_button") if b.label == label]
    return SERVED[button.proto.url]


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return extract_text(data, "download.pdf")


def test_tailor_page_downloads_a_pdf_of_the_tailored_cv(parsed_cv: dict) -> None:
    at = open_page("app_pages/tailor.py", parsed_cv)
    at.text_area(key="tailor_job").input(JOB)
    at.button(key="tailor_run").click()
    at.run()
    assert not at.exception
    text = pdf_text(downloaded(at, "Download PDF"))
    assert parsed_cv["basics"]["name"] in text
    assert parsed_cv["basics"]["email"] in text
    at.selectbox(key="export_template").select("compact")
    at.run()
    assert not at.exception
    assert parsed_cv["basics"]["email"] in pdf_text(downloaded(at, "Download PDF"))
    docx_text = extract_text(downloaded(at, "Download DOCX"), "download.docx")  # the same template's DOCX
    assert parsed_cv["basics"]["email"] in docx_text
    assert "EXPERIENCE" in docx_text.splitlines()
    [preview] = [e for e in at.get("expander") if e.label == "PDF preview (first page)"]
    assert 1 == len(preview.get("image"))


def test_cover_letter_page_downloads_a_pdf_letter(parsed_cv: dict) -> None:
    at = open_page("app_pages/cover_letter.py", parsed_cv)
    at.text_area(key="letter_job").input(JOB)
    at.text_input(key="letter_company").input("Globex Corporation")
    at.button(key="letter_run").click()
    at.run()
    assert not at.exception
    text = pdf_text(downloaded(at, "Download PDF"))
    assert parsed_cv["basics"]["name"] in text
    assert parsed_cv["basics"]["email"] in text
    assert "Globex Corporation" in text
    assert parsed_cv["basics"]["email"] in extract_text(downloaded(at, "Download DOCX"), "letter.docx")


def _tailored(at: AppTest) -> None:
    at.text_area(key="tailor_job").input(JOB)
    at.button(key="tailor_run").click()


def _written(at: AppTest) -> None:
    at.text_area(key="letter_job").input(JOB)
    at.button(key="letter_run").click()


@pytest.mark.parametrize(
    ("page", "act", "broken", "message", "gone", "kept"),
    [
        ("tailor", _tailored, "cv_pdf", "The PDF export failed; DOCX works.", "Download PDF", "Download DOCX"),
        ("tailor", _tailored, "cv_docx", "The DOCX export failed; Markdown works.", "Download DOCX", "Download PDF"),
        (
            "cover_letter", _written, "letter_pdf", "The PDF export failed; the TXT one works.",
            "Download PDF", "Download DOCX",
        ),
        (
            "cover_letter", _written, "letter_docx", "The DOCX export failed; the TXT one works.",
            "Download DOCX", "Download PDF",
        ),
    ],
)  # fmt: skip
def test_a_failed_export_says_so_and_the_other_downloads_still_work(
    parsed_cv: dict, monkeypatch: pytest.MonkeyPatch, page: str, act, broken: str, message: str, gone: str, kept: str
) -> None:
    import core.export

    def boom(*_args: object) -> bytes:
        raise RuntimeError("renderer crashed at /home/someone/secret.ttf")

    monkeypatch.setattr(core.export, broken, boom)
    at = open_page(f"app_pages/{page}.py", parsed_cv)
    act(at)
    at.run()
    assert not at.exception
    assert [message] == [e.value for e in at.error]  # the plain message only, no raw library error
    labels = [b.label for b in at.get("download_button")]
    assert gone not in labels
    assert kept in labels
    assert downloaded(at, kept).startswith(b"%PDF-" if kept.endswith("PDF") else b"PK")  # a real file, still served


def _saved_application(cv: dict) -> None:
    """An application with a tailored CV and a letter in the workspace, as the Tailor and Cover letter pages save
    them, for the Applications page to open."""
    from core import services
    from core.local import resume_to_markdown
    from core.workspace import default_owner

    ws = services.get_services().workspace
    app_id = ws.create_application(user_id=default_owner(), job_text=JOB)
    ws.save_document(app_id, "tailored", {"markdown": resume_to_markdown(cv), "resume": cv})
    ws.save_document(app_id, "letter", f"Dear hiring manager,\n\nI am {cv['basics']['name']}.\n")


DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: Each export button of an opened application: its label, the file it saves and that file's type.
APPLICATION_FILES = {
    "DOCX": ("tailored_cv.docx", DOCX_MIME),
    "PDF": ("tailored_cv.pdf", "application/pdf"),
    "Letter (PDF)": ("cover_letter.pdf", "application/pdf"),
}


@pytest.mark.parametrize(
    ("broken", "message", "gone"),
    [
        (None, None, None),
        ("cv_docx", "The DOCX export failed; the Markdown download works.", "DOCX"),
        ("cv_pdf", "The PDF export failed; the Markdown download works.", "PDF"),
        ("letter_pdf", "The PDF export failed; the TXT one works.", "Letter (PDF)"),
    ],
)
def test_an_applications_exports_and_a_failed_one_says_so(
    parsed_cv: dict, monkeypatch: pytest.MonkeyPatch, broken: str | None, message: str | None, gone: str | None
) -> None:
    """The Applications page offers an application's tailored CV (Markdown, DOCX, PDF) and letter (TXT, PDF). One
    export failing shows its plain message only (no raw library error), and every other download is still served."""
    import core.export
    from tests.page_steps import fresh_caches

    def boom(*_args: object) -> bytes:
        raise RuntimeError("renderer crashed at /home/someone/secret.ttf")

    if broken is not None:
        monkeypatch.setattr(core.export, broken, boom)
    with fresh_caches():
        _saved_application(parsed_cv)
        at = open_page("app_pages/applications.py", parsed_cv)
    assert not at.exception
    assert ([message] if message else []) == [e.value for e in at.error]
    labels = [b.label for b in at.get("download_button")]
    expected = [label for label in ["Markdown", "DOCX", "PDF", "Letter (TXT)", "Letter (PDF)"] if label != gone]
    assert expected == labels[: len(expected)]
    for label, (name, mime) in APPLICATION_FILES.items():
        if label != gone:
            [button] = [b for b in at.get("download_button") if b.label == label]
            assert (name, mime) == SERVED_AS[button.proto.url]
            assert downloaded(at, label).startswith(b"%PDF-" if name.endswith(".pdf") else b"PK")
    if gone != "PDF":
        assert parsed_cv["basics"]["email"] in pdf_text(downloaded(at, "PDF"))
