"""Autosave and reload under AppTest, with no click on any save button: parse, tailor, a new session, delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st

from core import services
from core.workspace import default_owner
from tests.apptest import open_page
from tests.test_ai_service import CV_TEXT, JOB
from tests.test_export_pages import downloaded, keep_served_files, pdf_text  # noqa: F401 (the fixture is autouse)


@pytest.fixture(autouse=True)
def clear_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _parse_and_tailor() -> None:
    at = open_page("app_pages/cv.py")
    at.text_area(key="cv_paste").input(CV_TEXT)
    at.button(key="cv_parse").click()
    at.run()
    assert not at.exception
    at.switch_page("app_pages/tailor.py")
    at.run()
    at.text_area(key="tailor_job").input(JOB)
    at.button(key="tailor_run").click()
    at.run()
    assert not at.exception
    assert "jane.doe@example.com" in at.session_state["tailor_result"]["markdown"]


def test_parse_tailor_reload_then_delete_the_application() -> None:
    _parse_and_tailor()
    ws = services.get_services().workspace
    owner = default_owner()
    [row] = ws.applications(owner)
    assert ("Senior Python Developer", ("tailored",)) == (row.role, row.documents)

    # a reload: a brand-new session on the same DB, nothing in its session state
    at = open_page("app_pages/applications.py")
    assert "jane.doe@example.com" == at.session_state["cv"]["basics"]["email"]
    assert row.id == at.selectbox(key="app_open").value
    assert ["Markdown", "DOCX", "PDF"] == [b.label for b in at.get("download_button")][:3]
    text = pdf_text(downloaded(at, "PDF"))  # a real PDF of the tailored CV, read back
    assert "jane.doe@example.com" in text
    assert at.session_state["cv"]["basics"]["name"] in text
    assert any("Senior Python Developer" in s.value for s in at.subheader)
    at.switch_page("app_pages/tailor.py")
    at.run()
    assert not at.exception
    assert "jane.doe@example.com" in at.session_state["tailor_result"]["markdown"]  # the tailored CV is back
    assert JOB == at.text_area(key="tailor_job").value

    at.switch_page("app_pages/applications.py")
    at.run()
    at.button(key="app_delete").click()
    at.run()
    assert not at.exception
    assert [] == ws.applications(owner)
    assert any("No applications yet" in i.value for i in at.info)
    assert any("Deleted" in s.value for s in at.success)


def test_an_edit_on_the_cv_page_is_a_new_version() -> None:
    at = open_page("app_pages/cv.py")
    at.text_area(key="cv_paste").input(CV_TEXT)
    at.button(key="cv_parse").click()
    at.run()
    at.text_input(key="cvf_name").input("Jane Q. Doe")
    at.button(key="FormSubmitter:cv_form-Save changes").click()
    at.run()
    assert not at.exception
    ws = services.get_services().workspace
    latest = ws.latest_cv(default_owner())
    assert (2, "Jane Q. Doe") == (latest.version, latest.data["basics"]["name"])
    assert '+  "name": "Jane Q. Doe"' in latest.diff


def test_profiles_keep_separate_workspaces() -> None:
    _parse_and_tailor()
    at = open_page("app_pages/applications.py")
    at.sidebar.text_input(key="user_id").input("guest")
    at.run()
    assert not at.exception
    assert any("No applications yet" in i.value for i in at.info)
    assert "guest" in services.get_services().workspace.profiles()
