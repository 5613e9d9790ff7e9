"""Nothing poisons the tracker: invalid text is made valid, a bad row never stops the writer, a locked file is a
clear error."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import core.tracker.storage as storage_module
from core.base import CVCopilotError, StorageBusy
from core.tracker import schema
from core.tracker.record import UsageRecord
from core.usage_tracker import UsageTracker

NOW = 1_700_000_000.0


def rec(**overrides: object) -> UsageRecord:
    fields: dict[str, object] = {"task_type": "cv_parsing", "provider": "openai", "model": "gpt-4o"}
    fields.update(overrides)
    return UsageRecord(**fields)  # type: ignore[arg-type]


def stored(db: Path, column: str) -> list[object]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute(f"SELECT {column} FROM usage ORDER BY id")]


@pytest.mark.parametrize("flush_interval", [0.05, None])
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("model", "gpt-4o\ud800", "gpt-4o\ufffd"),
        ("user_id", "jane\udfff", "jane\ufffd"),
        ("user_id", "\ud83d", "\ufffd"),
        ("provider", "custom\udc80x", "custom\ufffdx"),
        ("finish_reason", "stop\ud800", "stop\ufffd"),
        ("route_reason", "cheapest \udc00", "cheapest \ufffd"),
        ("model", "modèle-😀", "modèle-😀"),  # valid text is kept as it is
    ],
)
def test_lone_surrogates_are_replaced_and_tracking_goes_on(
    tmp_path: Path, flush_interval: float | None, field: str, value: str, expected: str
) -> None:
    tracker = UsageTracker(tmp_path / "u.db", flush_interval=flush_interval)
    for _ in range(21):
        tracker.record(rec(**{field: value}, cost_usd=0.01))
    tracker.record(rec(model="after", cost_usd=0.01))
    stats = tracker.get_usage_stats(None)
    assert (22, 0.22) == (stats["total_requests"], stats["cost_usd"])
    assert [expected] * 21 == stored(tracker.db_path, field)[:21]
    assert tracker.spend_usd(0) == pytest.approx(0.22)
    tracker.close()


def test_the_seed_keyword_form_is_sanitised_too(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "u.db")
    tracker.record_usage(task_type="cv_parsing", provider="openai", model="gpt\ud800", user_id="u\udfff", success=True)
    tracker.record_many([{"task_type": "cv_parsing", "provider": "openai", "model": "m\ud800"}])
    assert ["gpt\ufffd", "m\ufffd"] == stored(tracker.db_path, "model")
    assert ["u\ufffd", "anonymous"] == stored(tracker.db_path, "user_id")


def test_a_row_that_fails_is_stored_sanitised_and_an_unstorable_one_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows that reach the writer without `row_of` (a future bug): the batch fails, each row is tried alone."""
    tracker = UsageTracker(tmp_path / "u.db", flush_interval=3600)
    good = schema.row_of(rec(request_id="good", cost_usd=0.5), NOW)
    raw_surrogate = (*good[:4], "gpt\ud800", *good[5:-1], "poison")
    too_short = good[:10]
    huge = (*good[:5], 2**70, *good[6:-1], "huge")
    writer = tracker._writer
    with caplog.at_level(logging.WARNING, logger="core.usage_tracker"):
        for row in (good, raw_surrogate, too_short, huge):
            writer.add(row, 3600)
        tracker.flush()
    assert ["good", "poison", "huge"] == stored(tracker.db_path, "request_id")
    assert ["gpt-4o", "gpt\ufffd", "gpt-4o"] == stored(tracker.db_path, "model")
    assert any("dropped a usage row" in r.message for r in caplog.records)
    assert 0 == writer._unwritten  # nothing is left to retry forever
    tracker.record(rec(request_id="later"))
    assert 4 == tracker.get_usage_stats(None)["total_requests"]


def test_the_background_thread_survives_a_poisoned_batch(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "u.db", flush_interval=0.0)
    good = schema.row_of(rec(request_id="a"), NOW)
    tracker._writer.add((*good[:4], "m\udfff", *good[5:-1], "b"), 0.0)
    tracker.record(rec(request_id="c"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(stored(tracker.db_path, "request_id")) < 2:
        time.sleep(0.02)
    assert ["b", "c"] == stored(tracker.db_path, "request_id")  # written by the flusher thread, not by a read


# --- a database locked by another process ---------------------------------------------------------------------------


def hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import sqlite3, time
        conn = sqlite3.connect({str(db)!r}, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep({seconds})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(storage_module, "BUSY_TIMEOUT_S", 0.4)
    return 0.4


def test_a_lock_held_past_the_timeout_is_a_clear_error_for_every_reader(
    tmp_path: Path, short_busy_timeout: float
) -> None:
    tracker = UsageTracker(tmp_path / "u.db", flush_interval=3600)
    tracker.record(rec(cost_usd=0.25))  # pending: a read must write it first, and the lock stops that
    holder = hold_write_lock(tracker.db_path, 30)
    try:
        calls = {
            "get_usage_stats": lambda: tracker.get_usage_stats(),
            "get_provider_stats": lambda: tracker.get_provider_stats("openai"),
            "spend_usd": lambda: tracker.spend_usd(0),
            "breakdown": lambda: tracker.breakdown("provider"),
            "recent_calls": lambda: tracker.recent_calls(),
            "savings": lambda: tracker.savings(),
            "clear": lambda: tracker.clear(),
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StorageBusy) as caught:
                call()
            assert time.monotonic() - started >= short_busy_timeout * 0.9, name  # it waited first
            assert isinstance(caught.value, CVCopilotError)
            assert "busy" in str(caught.value) and "sqlite3" not in str(caught.value)
        tracker.record(rec(cost_usd=0.25))  # recording never waits: it is journaled
    finally:
        holder.kill()
        holder.wait()
    assert 0.5 == tracker.spend_usd(0)  # nothing was lost meanwhile


def test_a_synchronous_tracker_reports_a_held_lock_as_storage_busy(tmp_path: Path, short_busy_timeout: float) -> None:
    tracker = UsageTracker(tmp_path / "u.db", flush_interval=None)
    holder = hold_write_lock(tracker.db_path, 30)
    try:
        with pytest.raises(StorageBusy):
            tracker.record(rec())
        assert 0.0 == tracker.spend_usd(0)  # nothing pending: WAL readers are not blocked by the writer
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_shorter_than_the_timeout_is_waited_for(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "u.db", flush_interval=3600)
    tracker.record(rec(cost_usd=0.25))
    holder = hold_write_lock(tracker.db_path, 0.5)
    try:
        assert 0.25 == tracker.spend_usd(0)
    finally:
        holder.wait()


# --- private files -------------------------------------------------------------------------------------------------


def test_every_file_of_the_tracker_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        tracker = UsageTracker(tmp_path / "data" / "usage.db", flush_interval=3600)
        tracker.record(rec())
        tracker.flush()
        tracker.record(rec())
    finally:
        os.umask(old)
    files = sorted((tmp_path / "data").iterdir())
    names = {p.name.split(".rows-")[0] + (".rows" if ".rows-" in p.name else "") for p in files}
    assert {"usage.db", "usage.db-wal", "usage.db-shm", "usage.db.rows"} == names
    assert {p.name: 0o600 for p in files} == {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in files}
    assert 0o700 == stat.S_IMODE(os.stat(tmp_path / "data").st_mode)
