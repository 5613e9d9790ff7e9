"""The command line, through `python -m core` subprocesses (and in-process for the many bad-input cases)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import cli
from core.base import PROVIDER_NAMES
from core.usage_tracker import UsageTracker

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m core ARGS` with this test's environment (its own DB and config, no keys)."""
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def seeded(db_path: Path) -> UsageTracker:
    tracker = UsageTracker(db_path)
    now = time.time()
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=200,
        cost_usd=0.3, success=True, user_id="alice", ts=now - 60,
    )  # fmt: skip
    tracker.record_usage(
        task_type="cover_letter", provider="gemini", model="gemini-2.0-flash", input_tokens=400, output_tokens=0,
        cost_usd=0.0, success=False, error_kind="timeout", user_id="bob", ts=now - 120,
    )  # fmt: skip
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=10, output_tokens=10,
        cost_usd=1.0, success=True, ts=now - 50 * 3600,
    )  # fmt: skip
    return tracker


def test_usage_json_is_the_seed_json(seeded: UsageTracker) -> None:
    result = run("usage", "--hours", "24", "--json")
    assert (result.returncode, result.stderr) == (0, "")
    body = json.loads(result.stdout)
    assert body == {
        "period_hours": 24,
        "total_requests": 2,
        "successful_requests": 1,
        "failed_requests": 1,
        "total_input_tokens": 1400,
        "total_output_tokens": 200,
        "total_tokens": 1600,
        "cost_usd": 0.3,
        "cost_by_provider": {"openai": 0.3, "gemini": 0.0},
        "cost_by_task": {"cv_parsing": 0.3, "cover_letter": 0.0},
        "total_cost_all_time": 1.3,
    }


def test_usage_text_report(seeded: UsageTracker, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["usage", "--hours", "all"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Usage, all time"
    assert "requests  3 (2 ok, 1 failed)" in out
    assert "cost      $1.30 (avg $0.4333 per call)" in out
    assert "  openai          $1.30" in lines


def test_usage_filters_in_process(seeded: UsageTracker, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["usage", "--hours", "24", "--user", "bob", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["total_requests"], body["failed_requests"]) == (1, 1)


def test_usage_on_an_empty_db(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["usage"]) == 0
    out = capsys.readouterr().out
    assert "requests  0 (0 ok, 0 failed)" in out
    assert "avg $0.00 per call" in out


@pytest.mark.parametrize("hours", ["-1", "0", "abc", "nan", "inf", "-inf"])
def test_bad_hours_is_a_usage_error(hours: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["usage", "--hours", hours])
    assert exit_info.value.code == 2
    assert "--hours" in capsys.readouterr().err


def test_bad_hours_through_the_process() -> None:
    result = run("usage", "--hours=-5")
    assert result.returncode == 2
    assert "hours must be a finite number > 0" in result.stderr


def test_providers_lists_all_six_without_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["providers", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(PROVIDER_NAMES)  # every provider of the catalogue, local last
    assert {r["name"]: r["configured"] for r in rows}["local"] is True
    assert not any(r["configured"] for r in rows if r["name"] != "local")


def test_providers_table_masks_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-abcdefghijklmnop-WXYZ"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    result = run("providers")
    assert result.returncode == 0
    assert secret not in result.stdout
    openai_line = next(line for line in result.stdout.splitlines() if line.startswith("openai"))
    assert "…WXYZ" in openai_line
    assert " yes " in openai_line


@pytest.mark.parametrize(
    "command",
    [
        ["parse", "{missing}"],
        ["match", "{missing}", "{job}"],
        ["match", "{cv}", "{job}", "{missing}"],
        ["letter", "{cv}", "{missing}", "--company", "Acme"],
        ["letter", "{missing}", "{job}", "--company", "Acme"],
    ],
)
def test_missing_file_is_one_line_and_exit_1(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cv.txt").write_text("Jane Doe\nPython developer", encoding="utf-8")
    (tmp_path / "job.txt").write_text("Python developer wanted", encoding="utf-8")
    names = {"missing": str(tmp_path / "nope.pdf"), "cv": str(tmp_path / "cv.txt"), "job": str(tmp_path / "job.txt")}
    assert cli.main([part.format(**names) for part in command]) == 1
    err = capsys.readouterr().err
    assert err == f"error: file not found: {names['missing']}\n"


def test_directory_instead_of_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["parse", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: not a file: {tmp_path}\n"


def test_missing_file_through_the_process(tmp_path: Path) -> None:
    result = run("parse", str(tmp_path / "absent.pdf"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: file not found: {tmp_path / 'absent.pdf'}"]
    assert result.stdout == ""


def test_letter_needs_a_company(tmp_path: Path) -> None:
    result = run("letter", "cv.txt", "job.txt")
    assert result.returncode == 2
    assert "--company" in result.stderr


def test_empty_company_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["letter", "cv.txt", "job.txt", "--company", "  "]) == 1
    assert capsys.readouterr().err == "error: --company must not be empty\n"


def test_no_command_is_a_usage_error() -> None:
    result = run()
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


@pytest.mark.parametrize(("rows", "ok"), [("0", False), ("-3", False), ("x", False), ("1_000", True)])
def test_positive_int(rows: str, ok: bool) -> None:
    if ok:
        assert cli._positive_int(rows) == 1000
    else:
        with pytest.raises(Exception, match=r"must be > 0|not a whole number"):
            cli._positive_int(rows)


def test_demo_db_writes_rows_every_chart_can_use(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run("demo-db", "--rows", "2000", "--days", "10", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote 2,000 demo rows to {db.resolve()}"
    tracker = UsageTracker(db)
    stats = tracker.get_usage_stats(hours=None)
    assert stats["total_requests"] == 2000
    assert 0 < stats["failed_requests"] < 200
    assert {"openai", "gemini", "groq", "local"} <= set(stats["cost_by_provider"])
    assert set(stats["cost_by_task"]) == {t for t in cli._DEMO_TASK_WEIGHTS}
    assert tracker.get_usage_stats(hours=1)["total_requests"] > 0  # recent windows are not empty
    savings = tracker.savings(hours=None)
    assert savings["baseline_cost_usd"] > savings["actual_cost_usd"] > 0
    assert savings["saved_by_cache_usd"] > 0


def test_demo_rows_are_deterministic_and_valid() -> None:
    first = list(cli.demo_rows(500, days=1, seed=3, now=1_700_000_000.0))
    second = list(cli.demo_rows(500, days=1, seed=3, now=1_700_000_000.0))
    assert first == second
    assert all(1_700_000_000.0 - 86_400 <= r["ts"] <= 1_700_000_000.0 for r in first)
    assert all(r["cost_usd"] == 0 for r in first if not r["success"] or r["cached"])
    assert all(r["error_kind"] is None for r in first if r["success"])


# --- the AI commands, once core.documents and core.ai_service are present --------------------------------------


def _write_cv_and_jobs(tmp_path: Path) -> tuple[Path, list[Path]]:
    cv = tmp_path / "cv.txt"
    cv.write_text(
        "Jane Doe\njane@example.com\n\nExperience\nSenior Python Developer, Acme (2019 - present)\n"
        "Built APIs with FastAPI and PostgreSQL.\n\nSkills\nPython, FastAPI, PostgreSQL, Docker\n",
        encoding="utf-8",
    )
    jobs = []
    for i, text in enumerate(["Python developer with FastAPI and PostgreSQL", "Pastry chef, French cuisine"]):
        job = tmp_path / f"job{i}.txt"
        job.write_text(text, encoding="utf-8")
        jobs.append(job)
    return cv, jobs


def test_parse_prints_json(tmp_path: Path) -> None:
    pytest.importorskip("core.ai_service")
    pytest.importorskip("core.documents")
    cv, _jobs = _write_cv_and_jobs(tmp_path)
    result = run("parse", str(cv))
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), dict)
    assert UsageTracker(os.environ["CV_COPILOT_DB"]).get_usage_stats(hours=1)["cost_by_task"].get("cv_parsing") == 0


def test_match_scores_every_job(tmp_path: Path) -> None:
    pytest.importorskip("core.ai_service")
    pytest.importorskip("core.documents")
    cv, jobs = _write_cv_and_jobs(tmp_path)
    result = run("match", str(cv), *map(str, jobs), "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert sorted(r["job_file"] for r in body) == sorted(map(str, jobs))


def test_letter_writes_text(tmp_path: Path) -> None:
    pytest.importorskip("core.ai_service")
    pytest.importorskip("core.documents")
    cv, jobs = _write_cv_and_jobs(tmp_path)
    out = tmp_path / "letter.md"
    result = run("letter", str(cv), str(jobs[0]), "--company", "Acme", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Acme" in out.read_text(encoding="utf-8")


def test_unreadable_pdf_is_one_line_and_exit_1(tmp_path: Path) -> None:
    pytest.importorskip("core.documents")
    bad = tmp_path / "cv.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf \x00\x01\x02")
    result = run("parse", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {bad}: ")
