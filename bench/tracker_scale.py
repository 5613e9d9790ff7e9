"""Usage tracker at scale: every dashboard query over 1,000,000 rows, and the cost of one record_usage.

    python bench/tracker_scale.py [--rows 1000000] [--keep DIR]

Two layouts: 70 % of the rows in the last 24 h (the rest over 30 days), and all rows inside the last 24 h.
Targets: get_usage_stats(24) <= 100 ms; a dashboard page running all the queries below <= 2 s; record <= 50 µs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cli import demo_rows
from core.usage_tracker import UsageTracker


def build(db: Path, rows: int, *, days: float = 30, recent_share: float = 0.7) -> float:
    """Write `rows` demo rows (the CLI's demo-db generator) in chunks; returns seconds taken."""
    tracker = UsageTracker(db)
    start = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    for row in demo_rows(rows, days=days, recent_share=recent_share):
        chunk.append(row)
        if len(chunk) == 100_000:
            tracker.record_many(chunk)
            chunk = []
    tracker.record_many(chunk)
    tracker.close()
    return time.perf_counter() - start


def timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Median wall time in ms over `repeat` runs, after one warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def dashboard_queries(t: UsageTracker) -> dict[str, Callable[[], Any]]:
    today = time.time() // 86400 * 86400
    return {
        "get_usage_stats(24)": lambda: t.get_usage_stats(24),
        "get_usage_stats(None)": lambda: t.get_usage_stats(None),
        "get_usage_stats(24, provider=openai)": lambda: t.get_usage_stats(24, provider="openai"),
        "get_provider_stats(openai, 24)": lambda: t.get_provider_stats("openai", 24),
        "get_user_stats(24)": lambda: t.get_user_stats(24),
        "breakdown(provider, 24)": lambda: t.breakdown("provider", 24),
        "breakdown(task_type, 24)": lambda: t.breakdown("task_type", 24),
        "breakdown(user_id, 24)": lambda: t.breakdown("user_id", 24),
        "breakdown(model, 24 * 30)": lambda: t.breakdown("model", 24 * 30),
        "timeseries(1) [5 min, raw]": lambda: t.timeseries(1),
        "timeseries(24) [1 h]": lambda: t.timeseries(24),
        "timeseries(24 * 7) [6 h]": lambda: t.timeseries(24 * 7),
        "timeseries(24 * 30) [1 d]": lambda: t.timeseries(24 * 30),
        "errors_by_provider(24)": lambda: t.errors_by_provider(24),
        "latency_by_provider(24)": lambda: t.latency_by_provider(24),
        "savings(24)": lambda: t.savings(24),
        "recent_calls(200)": lambda: t.recent_calls(200),
        "spend_usd(today)": lambda: t.spend_usd(today),
        "spend_usd(today, user)": lambda: t.spend_usd(today, "user001"),
        "distinct_values x3": lambda: [t.distinct_values(c) for c in ("provider", "task_type", "user_id")],
    }


def record_cost_us(db: Path, n: int = 20_000) -> tuple[float, float]:
    """(write-behind µs per call, synchronous µs per call) for record_usage."""
    row = {
        "task_type": "cv_parsing",
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 900,
        "output_tokens": 300,
        "cost_usd": 0.0052,
        "success": True,
        "latency_ms": 850.0,
        "fallback_chain": ["openai"],
        "user_id": "bench",
    }
    out = []
    for interval in (0.05, None):
        tracker = UsageTracker(db, flush_interval=interval)
        start = time.perf_counter()
        for _ in range(n if interval else n // 5):
            tracker.record_usage(**row)
        out.append((time.perf_counter() - start) / (n if interval else n // 5) * 1e6)
        tracker.close()
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="directory to keep (and reuse) the built DBs")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
          f"SQLite {__import__('sqlite3').sqlite_version}")  # fmt: skip
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="tracker_scale_"))
    workdir.mkdir(parents=True, exist_ok=True)
    for label, share in (("70% in last 24 h, rest over 30 d", 0.7), ("all rows in last 24 h", 1.0)):
        db = workdir / f"scale_{args.rows}_{int(share * 100)}.db"
        if not db.exists():
            seconds = build(db, args.rows, recent_share=share)
            print(f"\nbuilt {args.rows:,} rows ({label}) in {seconds:.1f} s, {db.stat().st_size / 1e6:.0f} MB")
        tracker = UsageTracker(db)
        print(f"\n== {args.rows:,} rows, {label} (median of 5, ms) ==")
        total = 0.0
        for name, fn in dashboard_queries(tracker).items():
            ms = timed(fn)
            total += ms
            print(f"  {name:<40} {ms:8.1f}")
        print(f"  {'all of the above (one dashboard page)':<40} {total:8.1f}")
        tracker.close()
    behind, sync = record_cost_us(workdir / "record.db")
    print(f"\nrecord_usage: {behind:.1f} µs/call write-behind (default), {sync:.1f} µs/call synchronous")


if __name__ == "__main__":
    main()
