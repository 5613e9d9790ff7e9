"""The workspace on both backends, a real SQLite file and a real PostgreSQL (`db` runs each test on both): versions
and diffs, applications, costs, deletes that reach the cache and the usage rows, owners, a process killed mid-save.

The PostgreSQL runs are skipped, with the reason, when its binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import services
from core.ai_service import AIService
from core.aio import run_sync
from core.base import InputError
from core.config import load_settings
from core.router import ModelRouter
from core.workspace import STATUSES, Workspace, default_owner
from core.workspace_context import Attribution, attributed
from tests.backends import Db, db_fixture  # noqa: F401 - the fixture `db`
from tests.pg import pg_url  # noqa: F401 - the fixture `db` asks for on PostgreSQL
from tests.processes import spawned
from tests.test_ai_service import CV_TEXT, JOB, JOB_2, FakeLLM

CV = {"basics": {"name": "Jane Doe", "email": "jane@example.com"}, "skills": [{"name": "Python"}]}


@pytest.fixture
def ws(db: Db) -> Workspace:
    return db.workspace()


def count(ws: Workspace, sql: str, params: tuple[Any, ...] = ()) -> int:
    with ws.storage.read() as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def test_every_parse_or_edit_is_a_version_with_a_diff(ws: Workspace) -> None:
    first = ws.save_cv(CV, user_id="ann", cv_text=CV_TEXT, source="parse")
    edited = {**CV, "basics": {**CV["basics"], "email": "jane@new.example"}}
    second = ws.save_cv(edited, user_id="ann", cv_id=first.cv_id)
    again = ws.save_cv(edited, user_id="ann", cv_id=first.cv_id)  # a page rerun: no new version
    versions = ws.cv_versions(first.cv_id)
    assert [1, 2, 2] == [first.version, second.version, again.version]
    assert [("parse", 1), ("edit", 2)] == [(v.source, v.version) for v in versions]
    assert '-  "email": "jane@example.com"' in versions[1].diff
    assert '+  "email": "jane@new.example"' in versions[1].diff
    assert CV_TEXT == versions[1].cv_text  # the source text carries over to an edit
    assert edited == ws.latest_cv("ann").data


def test_the_file_is_private_and_shared_with_the_usage_db(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    Workspace(path).save_cv(CV, user_id="ann")
    assert 0o600 == stat.S_IMODE(os.stat(path).st_mode)
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM migrations WHERE migration_set = 'workspace'")}
    assert {"m001_create_workspace", "m002_match_lists"} == names


def test_the_migrations_are_recorded_under_the_same_names_on_both_backends(ws: Workspace) -> None:
    with ws.storage.read() as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM migrations WHERE migration_set = 'workspace'")}
    assert {"m001_create_workspace", "m002_match_lists"} == names


def test_a_reopened_file_has_everything(db: Db) -> None:
    first = db.workspace()
    cv = first.save_cv(CV, user_id="ann", source="parse")
    app = first.create_application(user_id="ann", job_text=JOB, cv_id=cv.cv_id)
    first.save_document(app, "tailored", {"markdown": "# Jane"}, calls=[("cv_tailoring", "openai", "m", 0.01)])
    first.close()
    second = db.workspace()
    assert CV == second.latest_cv("ann").data
    found = second.application(app)
    assert ("Senior Python Developer", "Globex Corporation (London)") == (found.role, found.company)
    assert {"markdown": "# Jane"} == found.documents["tailored"].content
    assert 0.01 == found.cost_usd


@pytest.mark.parametrize("status", STATUSES)
def test_status_filter_and_search(ws: Workspace, status: str) -> None:
    a = ws.create_application(user_id="ann", job_text=JOB)
    b = ws.create_application(user_id="ann", job_text=JOB_2)
    ws.update_application(b, status=status)
    ws.update_application(a, status="offer" if status != "offer" else "saved")
    assert [b] == [r.id for r in ws.applications("ann", status=status)]
    assert [a] == [r.id for r in ws.applications("ann", search="globex")]
    assert [] == ws.applications("ann", search="%")
    assert [a] == [r.id for r in ws.applications("ann", search="GLOBEX")]  # case does not matter on either backend
    assert [a, b] == [r.id for r in ws.applications("ann")]  # the most recently changed first


def test_unknown_status_is_a_clear_error(ws: Workspace) -> None:
    app = ws.create_application(user_id="ann", job_text=JOB)
    with pytest.raises(InputError, match="Unknown status"):
        ws.update_application(app, status="ghosted")


def test_profiles_keep_their_own_workspace(ws: Workspace) -> None:
    ws.save_cv(CV, user_id="ann")
    ws.create_application(user_id="ann", job_text=JOB)
    ws.add_profile("bob")
    assert ws.latest_cv("bob") is None
    assert [] == ws.applications("bob")
    assert [default_owner(), "bob"] == ws.profiles()


def test_the_default_owner_is_the_os_user_not_anonymous(ws: Workspace) -> None:
    import getpass

    assert getpass.getuser() == default_owner()
    ws.save_cv(CV)  # no user given
    assert CV == ws.latest_cv(default_owner()).data


def test_delete_application_removes_rows_and_its_cache_entries(db: Db, ws: Workspace) -> None:
    cache = db.cache()
    for key in ("k-app", "k-other"):
        cache.put(key, content="quotes the CV", input_tokens=1, output_tokens=1, cost_usd=0.0, model="m")
    cache.flush()
    keep = ws.create_application(user_id="ann", job_text=JOB_2)
    app = ws.create_application(user_id="ann", job_text=JOB)
    ws.save_document(app, "letter", "Dear Globex", calls=[("cover_letter", "openai", "m", 0.02)], cache_keys=["k-app"])
    ws.delete_application(app)
    assert ws.application(app) is None
    assert [keep] == [r.id for r in ws.applications("ann")]
    with ws.storage.read() as conn:
        assert [("k-other",)] == conn.execute("SELECT key FROM response_cache").fetchall()
        for table in ("ws_documents", "ws_calls", "ws_cache_keys"):
            assert 0 == conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_delete_cv_and_delete_everything(ws: Workspace) -> None:
    cv = ws.save_cv(CV, user_id="ann", cache_keys=["k1"])
    ws.save_cv({**CV, "skills": []}, user_id="ann", cv_id=cv.cv_id)
    other = ws.save_cv(CV, user_id="bob")
    ws.delete_cv(cv.cv_id)
    assert ws.latest_cv("ann") is None and [] == ws.cv_versions(cv.cv_id)
    ws.create_application(user_id="bob", job_text=JOB, cv_id=other.cv_id)
    ws.delete_everything("bob")
    assert ws.latest_cv("bob") is None and [] == ws.applications("bob")
    with ws.storage.read() as conn:
        for table in ("ws_cvs", "ws_cv_versions", "ws_applications", "ws_cache_keys"):
            assert 0 == conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0], table


def test_a_result_for_a_deleted_application_is_dropped(ws: Workspace) -> None:
    app = ws.create_application(user_id="ann", job_text=JOB)
    ws.delete_application(app)  # deleted while its letter was streaming
    ws.save_document(app, "letter", "late text")
    with ws.storage.read() as conn:
        assert 0 == conn.execute("SELECT COUNT(*) FROM ws_documents").fetchone()[0]


def llm_service(db: Db, tmp_path: Path, reply: Callable[[str, str], str]) -> AIService:
    """`tests.test_ai_service.llm_service` on this backend: a router on a fake OpenAI, its rows and cache in `db`."""
    env = {"OPENAI_API_KEY": "sk-test-0123456789abcdef", "CV_COPILOT_NO_DOTENV": "1", **db.env()}
    env["CV_COPILOT_CONFIG"] = str(tmp_path / "none.toml")
    router = ModelRouter(load_settings(env=env), transport=httpx.MockTransport(FakeLLM(reply)))
    db._keep(router.tracker)
    db._keep(router.cache)
    return AIService(router)


def test_calls_for_an_application_are_tagged_on_usage_rows_and_cache_keys(db: Db, tmp_path: Path) -> None:
    service = llm_service(db, tmp_path, lambda prompt, system: "Dear Globex team, I write about the role.")
    router = service.router
    ws = db.workspace()
    app = ws.create_application(user_id="ann", job_text=JOB)
    tag = Attribution(application_id=app)
    parsed = {"basics": {"name": "Jane Doe"}}
    letter = run_sync(attributed(tag, service.generate_cover_letter(parsed, JOB, "Globex", user_id="ann")))
    run_sync(service.generate_cover_letter(parsed, JOB, "Globex", user_id="ann"))  # untagged, same answer cached
    router.tracker.flush()
    router.cache.flush()
    assert tag.cache_keys, "the cache key written for the application was recorded"
    ws.save_document(app, "letter", str(letter), cache_keys=tag.cache_keys)
    with ws.storage.read() as conn:
        tagged = conn.execute("SELECT COUNT(*) FROM usage WHERE application_id = ?", (app,)).fetchone()[0]
        users = {r[0] for r in conn.execute("SELECT user_id FROM usage")}
    assert tagged >= 1 and {"ann"} == users
    ws.delete_application(app)
    with ws.storage.read() as conn:
        assert 0 == conn.execute("SELECT COUNT(*) FROM usage WHERE application_id = ?", (app,)).fetchone()[0]
        left = {r[0] for r in conn.execute("SELECT key FROM response_cache")}
    assert not (left & tag.cache_keys)


def test_the_services_root_builds_the_workspace_on_the_usage_db() -> None:
    root = services.get_services()
    assert Path(root.settings.db_path).resolve() == root.workspace.storage.path


def _save_then_hang(target: str, local: str, ready: Any) -> None:
    ws = Workspace(target, local_path=local)
    cv = ws.save_cv(CV, user_id="ann", source="parse")
    with ws.storage.write() as conn:  # the edit in flight: killed before COMMIT
        conn.execute(
            "INSERT INTO ws_cv_versions (cv_id, version, created, source, data, cv_text, diff)"
            " VALUES (?, 2, 0, 'edit', ?, '', '')",
            (cv.cv_id, json.dumps({"half": True})),
        )
        ready.set()
        signal.pause()


def test_a_process_killed_mid_save_loses_only_the_edit_in_flight(db: Db) -> None:
    with spawned(_save_then_hang, str(db.target), str(db.local), timeout=60):
        pass  # killed (SIGKILL) mid-write as the block ends
    ws = db.workspace()
    latest = ws.latest_cv("ann")
    assert (1, CV) == (latest.version, latest.data)
    assert 1 == len(ws.cv_versions(latest.cv_id))
    second = ws.save_cv({**CV, "skills": []}, user_id="ann", cv_id=latest.cv_id)  # the file takes writes again
    assert 2 == second.version
    if not db.postgresql:
        with ws.storage.read() as conn:
            assert "ok" == conn.execute("PRAGMA integrity_check").fetchone()[0]


# --- versions, match lists, counting and deleting everything -------------------------------------------------------


def test_an_old_version_is_made_current_as_the_newest_version(ws: Workspace) -> None:
    first = ws.save_cv(CV, user_id="ann", cv_text=CV_TEXT, source="parse")
    ws.save_cv({**CV, "skills": []}, user_id="ann", cv_id=first.cv_id)
    restored = ws.restore_version(first.cv_id, 1, user_id="ann")
    assert (3, "restore of v1", CV["skills"]) == (restored.version, restored.source, restored.data["skills"])
    assert [3, 2, 1] == [v for v, _, _ in ws.cv_history(first.cv_id)]
    assert ["restore of v1", "edit", "parse"] == [s for _, _, s in ws.cv_history(first.cv_id)]
    assert CV_TEXT == ws.latest_cv("ann").cv_text  # the text of the version brought back
    assert '+  {\n+   "name": "Python"' in ws.cv_version(first.cv_id, 3).diff
    with pytest.raises(InputError):
        ws.restore_version(first.cv_id, 9, user_id="ann")
    with pytest.raises(InputError):
        ws.restore_version(first.cv_id, 1, user_id="bob")  # not bob's CV


def test_match_lists_are_kept_per_profile_newest_first(ws: Workspace) -> None:
    rows = [{"index": 2, "score": 80.0, "matched_skills": ["Python"]}, {"index": 1, "score": 20.0}]
    older = ws.save_match_list(rows[1:], ["a.txt"], user_id="ann")
    newer = ws.save_match_list(rows, ["a.txt", "b.txt"], user_id="ann", cost_usd=0.002)
    ws.save_match_list(rows, user_id="bob")
    found = ws.match_lists("ann")
    assert [newer, older] == [m.id for m in found]
    assert (rows, ["a.txt", "b.txt"], 0.002) == (found[0].rows, found[0].labels, found[0].cost_usd)
    assert newer == ws.latest_match_list_id("ann")
    assert 1 == ws.delete_match_list(newer).match_lists
    assert older == ws.latest_match_list_id("ann")


def _usage(db: Db, rows: list[tuple[str, float, float]]) -> None:
    """Usage rows (user, ts, cost) written by the real tracker, so the rollups are the tracker's own."""
    from core.tracker.record import UsageRecord

    now = [0.0]
    tracker = db.tracker(clock=lambda: now[0])
    for user, ts, cost in rows:
        now[0] = ts
        row = UsageRecord(user_id=user, task_type="cv_parsing", provider="openai", model="gpt-4o-mini",
                          input_tokens=100, output_tokens=10, cost_usd=cost, latency_ms=5.0, success=True)  # fmt: skip
        tracker.record(row)
        tracker.flush()
    tracker.flush()
    tracker.close()


def _totals(ws: Workspace) -> dict[str, tuple[int, float]]:
    """Per table: (requests, cost) summed, raw rows and every rollup."""
    out: dict[str, tuple[int, float]] = {}
    with ws.storage.read() as conn:
        for table, requests in (("usage", "COUNT(*)"), *((t, "SUM(requests)") for t in ROLLUP_TABLES)):
            n, cost = conn.execute(f"SELECT {requests}, SUM(cost_usd) FROM {table}").fetchone()
            out[table] = (int(n), round(float(cost), 6))
    return out


ROLLUP_TABLES = (
    "usage_hourly", "usage_hourly_total", "usage_minutely", "usage_daily", "usage_daily_total", "usage_daily_user",
)  # fmt: skip


def test_delete_everything_counts_what_it_removes_and_can_take_the_usage_rows(db: Db) -> None:
    day = 86_400.0
    _usage(db, [("ann", 10 * day + 5, 0.01), ("bob", 10 * day + 7, 0.02), ("ann", 12 * day + 3600, 0.04)])
    ws = db.workspace()
    cv = ws.save_cv(CV, user_id="ann", cache_keys=["k-cv"])
    ws.save_cv({**CV, "skills": []}, user_id="ann", cv_id=cv.cv_id)
    app = ws.create_application(user_id="ann", job_text=JOB)
    ws.save_document(app, "tailored", {"markdown": "x"}, cache_keys=["k-app"])
    ws.save_document(app, "letter", "Dear Globex")
    ws.save_match_list([{"index": 1, "score": 50.0}], user_id="ann", cache_keys=["k-list"])
    bob = ws.save_cv(CV, user_id="bob", cache_keys=["k-bob"])
    cache = db.cache()
    for key in ("k-cv", "k-app", "k-list", "k-bob"):
        cache.put(key, content="quotes the CV", input_tokens=1, output_tokens=1, cost_usd=0.0, model="m")
    cache.flush()
    expected = {"cvs": 1, "versions": 2, "applications": 1, "documents": 2, "match_lists": 1, "cached_answers": 3}
    assert {**expected, "usage_rows": 2} == vars(ws.counts("ann"))
    assert (2, 0.05) == ws.usage_of("ann")

    gone = ws.delete_everything("ann", usage_rows=True)
    assert {**expected, "usage_rows": 2} == vars(gone)
    assert {"cvs": 0, "versions": 0, "applications": 0, "documents": 0, "match_lists": 0, "cached_answers": 0,
            "usage_rows": 0} == vars(ws.counts("ann"))  # fmt: skip
    assert [] == ws.match_lists("ann") and ws.latest_cv("ann") is None
    assert bob.cv_id == ws.latest_cv("bob").cv_id  # another profile keeps everything
    with ws.storage.read() as conn:
        assert [("k-bob",)] == [tuple(r) for r in conn.execute("SELECT key FROM response_cache").fetchall()]
        assert [("bob",)] == [tuple(r) for r in conn.execute("SELECT DISTINCT user_id FROM usage").fetchall()]
        assert [] == conn.execute("SELECT * FROM usage_daily_user WHERE user_id = 'ann'").fetchall()
    assert {t: (1, 0.02) for t in _totals(ws)} == _totals(ws)  # every rollup agrees with the raw rows


def test_delete_everything_keeps_usage_rows_unless_asked(db: Db) -> None:
    _usage(db, [("ann", 1000.0, 0.01)])
    ws = db.workspace()
    ws.save_cv(CV, user_id="ann")
    assert 0 == ws.delete_everything("ann").usage_rows
    assert (1, 0.01) == ws.usage_of("ann")


def test_a_workspace_on_a_postgresql_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    from core.base import StorageError

    with pytest.raises(StorageError, match="unavailable") as caught:
        Workspace("postgresql://ann:pa55word@127.0.0.1:9/usage", local_path=tmp_path / "local.db")
    assert "pa55word" not in str(caught.value)
