"""Opening a page of the app under Streamlit's AppTest, shared by the page tests."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.test_ai_service import CV_TEXT

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str, cv: dict | None = None) -> AppTest:
    """Run app.py (so the sidebar is drawn), optionally with a parsed CV in the session, then switch to `page`."""
    at = AppTest.from_file(APP, default_timeout=30)
    if cv is not None:
        at.session_state["cv"] = cv
        at.session_state["cv_text"] = CV_TEXT
    at.switch_page(page)
    at.run()
    assert not at.exception
    return at
