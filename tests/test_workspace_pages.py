"""Autosave and reload under AppTest, with no click on any save button: parse, tailor, a new session, delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core import local, services
from core.workspace import default_owner
from tests.apptest import open_page
from tests.fakes import LoopbackServer
from tests.page_steps import fresh_caches, parse_pasted
from tests.test_ai_service import CV_TEXT, JOB, JOB_2
from tests.test_export_pages import downloaded, keep_served_files, pdf_text  # noqa: F401 (the fixture is autouse)


@pytest.fixture(autouse=True)
def clear_caches() -> Iterator[None]:
    with fresh_caches():
        yield


def _parse_and_tailor() -> None:
    at = parse_pasted(CV_TEXT)
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


def _parse_then_rename(name: str) -> AppTest:
    """The CV page: the pasted CV parsed, then its name edited and "Save changes" pressed."""
    at = parse_pasted(CV_TEXT)
    at.text_input(key="cvf_name").input(name)
    at.button(key="FormSubmitter:cv_form-Save changes").click()
    at.run()
    assert not at.exception
    return at


def test_an_edit_on_the_cv_page_is_a_new_version() -> None:
    _parse_then_rename("Jane Q. Doe")
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


def test_a_result_saved_while_the_session_was_elsewhere_shows_on_the_next_run() -> None:
    """A parse goes on when the user leaves the CV page, and saves itself when it ends (ui.workspace): the page the
    user went to shows the CV on its next run, and the Tailor page offers its job box."""
    at = open_page("app_pages/tailor.py")
    assert any("There is no CV yet" in i.value for i in at.info)
    ws = services.get_services().workspace
    ws.save_cv(local.parse_cv(CV_TEXT), user_id=default_owner(), cv_text=CV_TEXT, source="parse")  # what it saves
    at.run()
    assert not at.exception
    assert "jane.doe@example.com" == at.session_state["cv"]["basics"]["email"]
    assert "Job description" == at.text_area(key="tailor_job").label


def test_a_call_left_running_saves_its_result_and_the_next_run_waits_for_it() -> None:
    """What happens when Streamlit stops the CV page's script mid-parse (the user clicked another page): the parse
    runs on, saves itself, and the next page run waits for it before drawing."""
    import streamlit.runtime.scriptrunner_utils.exceptions as sx

    from ui import waiting
    from ui import workspace as wsui

    at = open_page("app_pages/cv.py")
    calls: list[str] = []
    real_poll = waiting.poll

    def interrupted(future, show, interval=waiting.POLL_SECONDS, *, cancel=True):  # type: ignore[no-untyped-def]
        calls.append("poll")
        if len(calls) == 1:  # the page's own wait: stopped at once, as by a click on another page
            if cancel:
                future.cancel()
            raise sx.StopException()
        return real_poll(future, show, interval, cancel=cancel)

    from unittest import mock

    with mock.patch.object(waiting, "poll", interrupted):
        at.text_area(key="cv_paste").input(CV_TEXT)
        at.button(key="cv_parse").click()
        at.run()
        assert "cv" not in at.session_state  # the page never got the result back
        at.switch_page("app_pages/tailor.py")
        at.run()  # the sidebar waits for the parse left running, then shows its saved CV
    assert not at.exception
    assert "jane.doe@example.com" == at.session_state["cv"]["basics"]["email"]
    assert at.text_area(key="tailor_job") is not None
    assert 1 == len(services.get_services().workspace.cv_history(at.session_state[wsui._CV_ID]))


def _picker(at):  # type: ignore[no-untyped-def]
    [found] = [s for s in at.selectbox if s.label == "Open a version"]
    return found


def _diff(at) -> str:  # type: ignore[no-untyped-def]
    [found] = [c for c in at.code if c.language == "diff"]
    return str(found.value)


def test_cv_versions_open_diff_restore_and_delete_with_a_typed_confirmation() -> None:
    at = _parse_then_rename("Jane Q. Doe")
    assert ["v2", "v1"] == [o.split(" · ")[0] for o in _picker(at).options]
    assert [] == [c for c in at.code if c.language == "diff"]  # nothing opened yet
    _picker(at).select_index(0).run()
    assert '+  "name": "Jane Q. Doe"' in _diff(at)  # the newest version's diff against the one before
    assert at.button(key="cv_versions_restore").disabled  # it is the current one
    _picker(at).select_index(1).run()
    assert _diff(at).startswith("--- previous\n+++ this\n@@ -0,0 +1,")  # the first version: all of it added
    at.button(key="cv_versions_restore").click().run()
    assert not at.exception
    assert "Jane Doe" == at.session_state["cv"]["basics"]["name"]
    assert any("Version 1 is current again (saved as version 3)" in s.value for s in at.success)
    ws = services.get_services().workspace
    latest = ws.latest_cv(default_owner())
    assert (3, "restore of v1", "Jane Doe") == (latest.version, latest.source, latest.data["basics"]["name"])

    assert at.button(key="cv_delete").disabled  # nothing typed yet
    at.text_input(key="cv_delete_confirm").input("Jane").run()
    assert at.button(key="cv_delete").disabled  # not the CV's name
    at.text_input(key="cv_delete_confirm").input("Jane Doe").run()
    at.button(key="cv_delete").click().run()
    assert not at.exception
    assert any("Deleted: 1 CV, 3 versions" in s.value for s in at.success)
    assert ws.latest_cv(default_owner()) is None
    assert "cv" not in at.session_state or not at.session_state["cv"]


def test_delete_all_my_data_says_what_goes_and_takes_it_all() -> None:
    _parse_and_tailor()
    at = open_page("app_pages/match.py")
    at.text_area(key="match_jobs").input(JOB + "\n---\n" + JOB_2)
    at.button(key="match_run").click().run()
    at.switch_page("app_pages/applications.py").run()
    assert not at.exception
    owner = default_owner()
    ws = services.get_services().workspace
    text = " ".join(m.value for m in at.markdown)
    where = "the team's shared database" if ws.dialect == "postgresql" else "this computer's database"
    assert f"from {where}" in text  # this test runs again on PostgreSQL (tests/test_workspace_pg.py)
    assert "1 CV(s) with all 1 of their versions" in text
    assert "1 application(s) with their 1 document(s)" in text
    assert "1 saved job match list(s)" in text
    rows, _ = ws.usage_of(owner)
    assert rows >= 3  # parse, tailor, match
    assert at.button(key="wipe_run").disabled
    at.text_input(key="wipe_confirm").input(owner).run()
    at.button(key="wipe_run").click().run()
    assert not at.exception
    assert any(f"and {rows} usage record(s)" in s.value for s in at.success)
    assert {"cvs": 0, "versions": 0, "applications": 0, "documents": 0, "match_lists": 0, "cached_answers": 0,
            "usage_rows": 0} == vars(ws.counts(owner))  # fmt: skip
    assert any("No applications yet" in i.value for i in at.info)
    for key in ("cv", "tailor_result", "match_result", "cv_paste"):
        assert key not in at.session_state
    at.switch_page("app_pages/tailor.py").run()
    assert any("There is no CV yet" in i.value for i in at.info)  # nothing comes back from the workspace


def test_a_match_of_several_jobs_is_saved_and_back_after_a_reload() -> None:
    at = open_page("app_pages/cv.py")
    at.text_area(key="cv_paste").input(CV_TEXT)
    at.button(key="cv_parse").click().run()
    at.switch_page("app_pages/match.py").run()
    at.text_area(key="match_jobs").input(JOB + "\n---\n" + JOB_2)
    at.button(key="match_run").click().run()
    assert not at.exception
    shown = at.session_state["match_result"]["rows"]
    [saved] = services.get_services().workspace.match_lists(default_owner())
    assert ([r["index"] for r in shown], ["Pasted job 1", "Pasted job 2"]) == (
        [r["index"] for r in saved.rows],
        saved.labels,
    )
    reload = open_page("app_pages/match.py")  # a new session
    assert not reload.exception
    assert saved.rows == reload.session_state["match_result"]["rows"]
    assert 2 == len(reload.dataframe[0].value)


LETTER = (
    "Dear Hiring Manager at Globex Corporation,\n\nI am writing to apply for the Senior Python Developer role. "
    "At Acme Corp I built REST APIs in Python and Django serving two million requests a day, and I moved our "
    "PostgreSQL database to AWS with zero downtime. Before that, at Initech Ltd, I wrote Python services and tests. "
    "I would welcome the chance to bring this experience to your team.\n\nKind regards,\nJane Doe"
)


@pytest.fixture
def letter_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """OpenAI at a loopback server that streams a good letter (SSE, usage in the final chunk), priced as OpenAI."""
    with LoopbackServer() as srv:
        srv.configure("", text=LETTER, input_tokens=900, output_tokens=120, chunk_delay=0.01)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef0123")
        monkeypatch.setenv("OPENAI_BASE_URL", f"{srv.url}/v1")
        st.cache_resource.clear()
        yield srv


def test_every_usage_row_of_a_streamed_letter_carries_its_application(letter_server: LoopbackServer) -> None:
    at = open_page("app_pages/cv.py")
    at.text_area(key="cv_paste").input(CV_TEXT)
    at.button(key="cv_parse").click().run()
    at.switch_page("app_pages/cover_letter.py").run()
    at.text_area(key="letter_job").input(JOB)
    at.button(key="letter_run").click().run(timeout=60)
    assert not at.exception
    assert "Globex Corporation" in at.session_state["letter_edit"]
    assert any(r.path.endswith("/chat/completions") and (r.json or {}).get("stream") for r in letter_server.requests)

    ws = services.get_services().workspace
    [app] = ws.applications(default_owner())
    services.get_services().router.tracker.flush()
    with ws.storage.read() as conn:
        rows = conn.execute(
            "SELECT provider, application_id, cost_usd FROM usage WHERE task_type = 'cover_letter'"
        ).fetchall()
    assert rows and {("openai", app.id)} == {(p, a) for p, a, _ in rows}  # every letter call, tagged
    letter_cost = sum(c for _, _, c in rows)
    assert letter_cost > 0
    assert round(letter_cost, 8) == round(app.cost_usd, 8)  # the application's cost includes the letter

    at.switch_page("app_pages/applications.py").run()
    assert (
        f"${ws.application(app.id).cost_usd:.4f}"
        == next(m for m in at.metric if m.label == "Cost of this application").value
    )
