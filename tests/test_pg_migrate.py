"""`python -m core migrate-db --to URL`: a SQLite usage DB copied into PostgreSQL, idempotently, stats unchanged.

Skipped, with the reason, when the PostgreSQL binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from pathlib import Path

import pytest

from core.alerts import Alert, AlertStore
from core.cli import main
from core.usage_tracker import UsageTracker
from core.workspace import Workspace
from tests.pg import PASSWORD, needs_pg, pg_url  # noqa: F401 - fixtures
from tests.processes import python
from tests.test_ai_service import CV_TEXT, JOB, JOB_2
from tests.test_usage_tracker import NOW, Clock, load, random_rows, rec
from tests.test_workspace import CV

pytestmark = needs_pg


def sqlite_file(path: Path) -> UsageTracker:
    tracker = UsageTracker(path, clock=Clock())
    load(tracker)
    tracker.record_many(random_rows(300))
    tracker.flush()
    return tracker


def migrate(pg_url: str, source: Path) -> str:  # noqa: F811
    """`python -m core migrate-db --to pg_url --from source`, in this process: what it printed (it must succeed)."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["migrate-db", "--to", pg_url, "--from", str(source)]) == 0
    return out.getvalue()


def test_migrate_db_copies_every_row_and_the_stats_are_unchanged(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    source = sqlite_file(tmp_path / "usage.db")
    out = migrate(pg_url, source.db_path)
    assert "310 rows read" in out and "310 copied" in out and PASSWORD not in out
    target = UsageTracker(pg_url, clock=Clock(), local_path=tmp_path / "local.db")
    for hours in (1, 24, 1000, None):
        assert target.get_usage_stats(hours) == source.get_usage_stats(hours)
        assert target.breakdown("user_id", hours) == source.breakdown("user_id", hours)
        assert target.timeseries(hours, 86400) == source.timeseries(hours, 86400)


def test_migrate_db_twice_copies_only_what_is_new(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    source = sqlite_file(tmp_path / "usage.db")
    migrate(pg_url, source.db_path)
    assert "0 copied" in migrate(pg_url, source.db_path).splitlines()[-3]  # the usage line (then workspace, alerts)
    source.record_usage(**rec(ts=NOW, user_id="late"))
    source.flush()
    assert "311 rows read" in migrate(pg_url, source.db_path) and True
    target = UsageTracker(pg_url, clock=Clock(), local_path=tmp_path / "local.db")
    assert target.get_usage_stats(None) == source.get_usage_stats(None)
    assert target.get_usage_stats(None)["total_requests"] == 311


def test_rows_from_before_request_ids_are_copied_once(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    source = sqlite_file(tmp_path / "usage.db")
    with sqlite3.connect(source.db_path) as conn:  # as rows written before m008 look
        conn.execute("DROP INDEX idx_usage_request_id")
        conn.execute("UPDATE usage SET request_id = ''")
    for _ in range(2):
        migrate(pg_url, source.db_path)
    target = UsageTracker(pg_url, clock=Clock(), local_path=tmp_path / "local.db")
    assert target.get_usage_stats(None)["total_requests"] == 310
    assert target.get_usage_stats(None) == source.get_usage_stats(None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to", "/tmp/x.db"], "--to must be a postgresql:// URL"),
        (["--to", "postgresql://ann:pa55word@/"], "names no host"),
        (["--to", "postgresql://ann:pa55word@127.0.0.1:1/db", "--from", "/nonexistent/usage.db"], "no such file"),
    ],
)
def test_migrate_db_bad_input_is_a_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate-db", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "pa55word" not in err and "Traceback" not in err


def test_migrate_db_to_a_server_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    source = sqlite_file(tmp_path / "usage.db")
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(source.db_path), "PATH": "/usr/bin:/bin"}
    url = "postgresql://ann:pa55word@127.0.0.1:9/usage"  # the discard port: nothing listens there
    result = python("-m", "core", "migrate-db", "--to", url, env=env)
    assert result.returncode == 1
    assert "unavailable" in result.stderr and "pa55word" not in result.stderr and "Traceback" not in result.stderr


# --- the workspace and the budget alerts ---------------------------------------------------------------------------


def _workspace_file(path: Path) -> tuple[Workspace, AlertStore]:
    """A SQLite file as a user leaves it: usage rows, two profiles' CVs, applications, documents, alerts."""
    sqlite_file(path).close()
    ws = Workspace(path)
    cv = ws.save_cv(CV, user_id="ann", cv_text=CV_TEXT, source="parse", cache_keys=["k-cv"])
    ws.save_cv({**CV, "skills": []}, user_id="ann", cv_id=cv.cv_id)
    app = ws.create_application(user_id="ann", job_text=JOB, cv_id=cv.cv_id, notes="called back")
    same_call = ("cover_letter", "openai", "gpt-4o", 0.02)
    ws.save_document(app, "letter", "Dear Globex", calls=[same_call, same_call], cache_keys=["k-app"])
    ws.save_document(app, "tailored", {"markdown": "# Jane"})
    ws.create_application(user_id="ann", job_text=JOB_2, status="applied")
    ws.save_match_list([{"index": 1, "score": 50.0}], ["a.txt"], user_id="ann", cost_usd=0.001)
    ws.add_profile("bob")
    ws.save_cv(CV, user_id="bob")
    alerts = AlertStore(path)
    first = alerts.claim(Alert("global daily", "global", "2024-03-15", "50%", 0.5, 1.0, 1.0, NOW))
    alerts.claim(Alert("user monthly", "user:ann", "2024-03", "80%", 0.8, 1.0, 1.2, NOW))
    assert first is not None
    alerts.webhook_result(first.id, "sent", 2, None)
    alerts.acknowledge(first.id, now=NOW + 60)
    return ws, alerts


def _everything(ws: Workspace, alerts: AlertStore) -> dict[str, object]:
    """All a user can see of the workspace and the alerts, comparable across backends (no row ids)."""
    out: dict[str, object] = {"profiles": ws.profiles(), "alerts": [a.__dict__ | {"id": 0} for a in alerts.alerts()]}
    for user in ("ann", "bob"):
        out[user] = {
            "cvs": ws.cvs(user),
            "versions": [ws.cv_versions(cv_id) for cv_id, _, _ in ws.cvs(user)],
            "applications": [ws.application(r.id) for r in ws.applications(user)],
            "rows": ws.applications(user),
            "lists": [m.__dict__ | {"id": ""} for m in ws.match_lists(user)],
            "counts": ws.counts(user),
        }
    return out


def test_migrate_db_copies_the_workspace_and_the_alerts_once(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    source = tmp_path / "usage.db"
    ws, alerts = _workspace_file(source)
    with sqlite3.connect(source) as conn:  # a version whose CV is gone (SQLite does not enforce foreign keys)
        conn.execute("INSERT INTO ws_cv_versions (cv_id, version, created, source, data, cv_text, diff)"
                     " VALUES ('gone', 1, 0, 'parse', '{}', '', '')")  # fmt: skip
    out = migrate(pg_url, source)
    assert "workspace: 15 rows read, 15 copied" in out and "budget alerts: 2 rows read, 2 copied" in out
    target_ws = Workspace(pg_url, local_path=tmp_path / "local.db")
    target_alerts = AlertStore(pg_url, local_path=tmp_path / "local.db")
    expected = _everything(ws, alerts)
    assert expected == _everything(target_ws, target_alerts)
    assert 2 == len(target_ws.application(ws.applications("ann")[-1].id).calls)  # two alike calls: both copied

    out = migrate(pg_url, source)  # again: nothing new
    assert "workspace: 15 rows read, 0 copied" in out and "budget alerts: 2 rows read, 0 copied" in out
    assert expected == _everything(target_ws, target_alerts)

    # more work in the file, then a third run copies just that
    [_, app] = [r.id for r in ws.applications("ann")]
    ws.update_application(app, status="interview")
    ws.save_document(app, "letter", "Dear Globex, again", calls=[("cover_letter", "openai", "gpt-4o", 0.02)])
    latest = ws.latest_cv("ann")
    ws.save_cv({**CV, "basics": {"name": "Jane Q. Doe"}}, user_id="ann", cv_id=latest.cv_id)
    out = migrate(pg_url, source)
    assert "workspace: 17 rows read, 5 copied" in out  # the CV, its new version, the application, letter, call
    assert _everything(ws, alerts) == _everything(target_ws, target_alerts)
    assert 3 == len(target_ws.application(app).calls)


def test_a_deleted_application_can_be_deleted_on_postgresql_after_the_copy(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    """The cache keys came along: a delete on PostgreSQL reaches the cached answers that quote the application."""
    from core.cache import ResponseCache

    source = tmp_path / "usage.db"
    ws, _ = _workspace_file(source)
    migrate(pg_url, source)
    target = Workspace(pg_url, local_path=tmp_path / "local.db")
    cache = ResponseCache(pg_url, local_path=tmp_path / "local.db")
    for key in ("k-app", "k-cv", "k-other"):
        cache.put(key, content="quotes the CV", input_tokens=1, output_tokens=1, cost_usd=0.0, model="m")
    cache.flush()
    app = ws.applications("ann")[-1].id
    gone = target.delete_application(app)
    assert (1, 2, 1) == (gone.applications, gone.documents, gone.cached_answers)
    assert 1 == target.delete_everything("ann").cached_answers
    with target.storage.read() as conn:
        assert [("k-other",)] == [tuple(r) for r in conn.execute("SELECT key FROM response_cache")]


def test_migrate_db_copies_the_ab_votes_once(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    from core.ab import VoteStore

    source = tmp_path / "usage.db"
    sqlite_file(source).close()
    votes = VoteStore(source)
    for i, winner in enumerate(("openai", "groq", "tie")):
        votes.record_vote(task_type="cover_letter", providers=["openai", "groq"], winner=winner, ts=NOW - 60 * i,
                          costs={"openai": 0.01, "groq": 0.001}, latencies={"openai": 900, "groq": 300})  # fmt: skip
    assert "A/B votes: 3 rows read, 3 copied" in migrate(pg_url, source)
    target = VoteStore(pg_url, local_path=tmp_path / "local.db")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "id"} for r in rows]  # noqa: E731
    assert strip(votes.votes()) == strip(target.votes())

    votes.record_vote(task_type="cv_tailoring", providers=["openai", "gemini"], winner="gemini", ts=NOW)
    assert "A/B votes: 4 rows read, 1 copied" in migrate(pg_url, source)  # again: only the new vote
    assert strip(votes.votes()) == strip(target.votes())
    assert {"cover_letter": 3, "cv_tailoring": 1} == target.vote_counts()
    votes.close()
    target.close()
