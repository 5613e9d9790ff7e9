"""The usage table's indexes serve the statements that would otherwise scan it whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.usage_tracker import UsageTracker


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        ("UPDATE usage SET application_id = NULL WHERE application_id IN (?, ?)", "idx_usage_application"),
        ("SELECT COUNT(*) FROM usage WHERE application_id = ?", "idx_usage_application"),
    ],
)
def test_deleting_an_application_does_not_scan_the_usage_table(tmp_path: Path, statement: str, index: str) -> None:
    tracker = UsageTracker(tmp_path / "usage.db")
    tracker.close()
    conn = sqlite3.connect(tmp_path / "usage.db")
    try:
        plan = " ".join(
            str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", ("a", "b")[: statement.count("?")])
        )
    finally:
        conn.close()
    assert index in plan
    assert "SCAN usage" not in plan.replace(f"USING INDEX {index}", "")
