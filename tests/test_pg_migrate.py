"""`python -m core migrate-db --to URL`: a SQLite usage DB copied into PostgreSQL, idempotently, stats unchanged.

Skipped, with the reason, when the PostgreSQL binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.usage_tracker import UsageTracker
from tests.pg import PASSWORD, needs_pg, pg_url  # noqa: F401 - fixtures
from tests.test_usage_tracker import NOW, Clock, load, random_rows, rec

pytestmark = needs_pg

ROOT = Path(__file__).resolve().parent.parent


def sqlite_file(path: Path) -> UsageTracker:
    tracker = UsageTracker(path, clock=Clock())
    load(tracker)
    tracker.record_many(random_rows(300))
    tracker.flush()
    return tracker


def test_migrate_db_copies_every_row_and_the_stats_are_unchanged(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = sqlite_file(tmp_path / "usage.db")
    assert main(["migrate-db", "--to", pg_url, "--from", str(source.db_path)]) == 0
    out = capsys.readouterr().out
    assert "310 rows read" in out and "310 copied" in out and PASSWORD not in out
    target = UsageTracker(pg_url, clock=Clock(), local_path=tmp_path / "local.db")
    for hours in (1, 24, 1000, None):
        assert target.get_usage_stats(hours) == source.get_usage_stats(hours)
        assert target.breakdown("user_id", hours) == source.breakdown("user_id", hours)
        assert target.timeseries(hours, 86400) == source.timeseries(hours, 86400)


def test_migrate_db_twice_copies_only_what_is_new(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = sqlite_file(tmp_path / "usage.db")
    assert main(["migrate-db", "--to", pg_url, "--from", str(source.db_path)]) == 0
    assert main(["migrate-db", "--to", pg_url, "--from", str(source.db_path)]) == 0
    assert "0 copied" in capsys.readouterr().out.splitlines()[-1]
    source.record_usage(**rec(ts=NOW, user_id="late"))
    source.flush()
    assert main(["migrate-db", "--to", pg_url, "--from", str(source.db_path)]) == 0
    assert "311 rows read" in capsys.readouterr().out and True
    target = UsageTracker(pg_url, clock=Clock(), local_path=tmp_path / "local.db")
    assert target.get_usage_stats(None) == source.get_usage_stats(None)
    assert target.get_usage_stats(None)["total_requests"] == 311


def test_rows_from_before_request_ids_are_copied_once(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    source = sqlite_file(tmp_path / "usage.db")
    with sqlite3.connect(source.db_path) as conn:  # as rows written before m008 look
        conn.execute("DROP INDEX idx_usage_request_id")
        conn.execute("UPDATE usage SET request_id = ''")
    for _ in range(2):
        assert main(["migrate-db", "--to", pg_url, "--from", str(source.db_path)]) == 0
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
    result = subprocess.run(
        [sys.executable, "-m", "core", "migrate-db", "--to", url], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "unavailable" in result.stderr and "pa55word" not in result.stderr and "Traceback" not in result.stderr
