"""The workspace of a team's deployment on PostgreSQL: the composition root builds it there, replicas (each with its
own local file) share it, deletes on one replica race saves on another without leaving rows behind, and the pages
(AppTest) autosave, reload and delete on it.

Skipped, with the reason, when the PostgreSQL binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import services
from core.config import load_settings
from core.services import Services, build_services
from core.workspace import Workspace, default_owner
from tests.pg import needs_pg, pg_url  # noqa: F401 - fixtures
from tests.test_ai_service import JOB, JOB_2
from tests.test_export_pages import keep_served_files  # noqa: F401 - autouse, as in the page tests
from tests.test_workspace import CV
from tests.test_workspace_pages import (  # noqa: F401 - the page tests, run again on PostgreSQL
    clear_caches,
    letter_server,
    test_delete_all_my_data_says_what_goes_and_takes_it_all,
    test_every_usage_row_of_a_streamed_letter_carries_its_application,
    test_parse_tailor_reload_then_delete_the_application,
)

pytestmark = needs_pg


@pytest.fixture(autouse=True)
def on_postgresql(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # noqa: F811
    """The app's environment of a team deployment: the DB is a PostgreSQL URL, this machine's file is its own."""
    monkeypatch.setenv("CV_COPILOT_DB", pg_url)
    monkeypatch.setenv("CV_COPILOT_LOCAL_DB", str(tmp_path / "local.db"))
    services.reset()
    yield
    services.reset()


def replica(pg_url: str, local: Path) -> Services:  # noqa: F811
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": pg_url, "CV_COPILOT_LOCAL_DB": str(local)}
    return build_services(load_settings(env=env))


def local_tables(path: Path) -> set[str]:
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_composition_root_builds_the_workspace_on_postgresql(tmp_path: Path) -> None:
    ws = services.get_services().workspace
    assert "postgresql" == ws.dialect
    ws.save_cv(CV, user_id="ann")
    assert not {t for t in local_tables(tmp_path / "local.db") if t.startswith("ws_")}  # nothing in the local file


def test_two_replicas_see_the_same_applications_and_a_delete_on_one_is_gone_on_both(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    a, b = replica(pg_url, tmp_path / "a.db"), replica(pg_url, tmp_path / "b.db")
    try:
        app = a.workspace.create_application(user_id="ann", job_text=JOB)
        a.workspace.save_document(app, "letter", "Dear Globex", calls=[("cover_letter", "openai", "m", 0.02)])
        assert [app] == [r.id for r in b.workspace.applications("ann")]
        seen = b.workspace.application(app)
        assert seen is not None
        assert ("Dear Globex", 0.02) == (seen.documents["letter"].content, seen.cost_usd)
        cv = b.workspace.save_cv(CV, user_id="ann", source="parse")
        assert (cv.cv_id, 1) == a.workspace.latest_cv_version("ann")
        other = b.workspace.create_application(user_id="ann", job_text=JOB_2)
        assert 1 == a.workspace.delete_application(other).applications
        assert [app] == [r.id for r in b.workspace.applications("ann")]
        gone = b.workspace.delete_everything("ann")
        assert (1, 1, 1, 1) == (gone.cvs, gone.versions, gone.applications, gone.documents)
        assert ([], None) == (a.workspace.applications("ann"), a.workspace.latest_cv("ann"))
        with a.workspace.storage.read() as conn:
            for table in ("ws_cvs", "ws_cv_versions", "ws_applications", "ws_documents", "ws_calls", "ws_profiles"):
                assert 0 == conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0], table
        for local in ("a.db", "b.db"):
            assert not {t for t in local_tables(tmp_path / local) if t.startswith("ws_")}
    finally:
        a.close()
        b.close()


def test_a_delete_racing_a_save_on_another_replica_leaves_nothing_behind(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A result saved on one replica while the user deletes its application on another: either the delete comes
    first and the save stores nothing, or the save comes first and the delete takes all of it. Never a cache key,
    a call or a document left pointing at an application that is gone."""
    from core.tracker.pg_storage import PgStorage

    saver = Workspace(PgStorage(pg_url, local_path=tmp_path / "a.db"))
    deleter = Workspace(PgStorage(pg_url, local_path=tmp_path / "b.db"))
    try:
        for round_ in range(30):
            app = saver.create_application(user_id="ann", job_text=JOB)
            barrier = threading.Barrier(2)

            def save(app: str = app, round_: int = round_, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                saver.save_document(
                    app, "letter", "Dear Globex", calls=[("cover_letter", "openai", "m", 0.01)],
                    cache_keys=[f"k{round_}"],
                )  # fmt: skip

            def delete(app: str = app, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                deleter.delete_application(app)

            threads = [threading.Thread(target=save), threading.Thread(target=delete)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        with saver.storage.read() as conn:
            orphans = {
                table: conn.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE {column} NOT IN (SELECT id FROM ws_applications)"
                ).fetchone()[0]
                for table, column in (
                    ("ws_documents", "application_id"),
                    ("ws_calls", "application_id"),
                    ("ws_cache_keys", "owner"),
                )
            }
            left = conn.execute("SELECT COUNT(*) FROM ws_applications").fetchone()[0]
        assert ({"ws_documents": 0, "ws_calls": 0, "ws_cache_keys": 0}, 0) == (orphans, left)
    finally:
        saver.close()
        deleter.close()


def test_the_applications_page_lists_what_another_replica_saved(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    from tests.apptest import open_page

    other = replica(pg_url, tmp_path / "other.db")
    try:
        app = other.workspace.create_application(user_id=default_owner(), job_text=JOB)
        other.workspace.save_document(app, "tailored", {"markdown": "# Jane Doe"})
        at = open_page("app_pages/applications.py")
        assert app == at.selectbox(key="app_open").value
        assert any("Senior Python Developer" in s.value for s in at.subheader)
        at.button(key="app_delete").click().run()
        assert not at.exception
        assert [] == other.workspace.applications(default_owner())  # deleted in PostgreSQL, for every replica
    finally:
        other.close()
