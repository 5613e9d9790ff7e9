"""Benchmark: the usage dashboard over a 1,000,000-row usage DB.

Builds the DB once (demo rows from `python -m core demo-db`, reused on later runs), then times
1. the SQL part alone (core.charts.load_dashboard: every tracker aggregate the page runs), per range preset;
2. the full page with Streamlit's AppTest (the page's own code path: app_pages/usage.py):
   - a new session (a fresh AppTest, Streamlit's caches cleared), the first one also paying the imports;
   - then in that session, each range preset, each granularity, a custom range, filters and chart clicks: cold
     (the first visit of a view since the caches were cleared, the services warm as in a running server) and
     warm (a rerun of the same view, the figures kept with the cached aggregates).
Target: ≤ 2 s per render, cold. Prints the figures and the machine.

    python bench/dashboard_render.py [--db bench/usage_1m.db] [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_S = 2.0


def build_db(path: Path, rows: int, days: float) -> None:
    """Fill `path` with demo rows up to `rows` (reuses an existing DB that already has them)."""
    from tqdm import tqdm

    from core.cli import demo_rows
    from core.usage_tracker import UsageTracker

    tracker = UsageTracker(path)
    have = tracker.get_usage_stats(hours=None)["total_requests"]
    if have >= rows:
        print(f"reusing {path} ({have:,} rows)")
        return
    if have:
        tracker.clear()
    started = time.perf_counter()
    source = demo_rows(rows, days=days)
    with tqdm(total=rows, desc="building demo DB", unit="row", unit_scale=True, file=sys.stderr) as bar:
        while chunk := list(islice(source, 50_000)):
            tracker.record_many(chunk)
            bar.update(len(chunk))
    print(f"built {path} with {rows:,} rows in {time.perf_counter() - started:.1f} s")


def time_sql(path: Path, repeat: int) -> None:
    from core import charts
    from core.usage_tracker import UsageTracker

    tracker = UsageTracker(path)
    print("\nSQL part alone (load_dashboard: 8 aggregates, 4 threads), ms")
    print(f"{'range':<14}{'rows in range':>14}{'first':>9}{'median':>9}   slowest query")
    for label in charts.RANGE_PRESETS:
        if label == "Custom range":
            continue
        times = []
        for _ in range(repeat + 1):
            rng = charts.resolve_range(label, time.time())
            span = rng.span_seconds(time.time(), tracker.dashboard.first_ts())
            started = time.perf_counter()
            dash = charts.load_dashboard(tracker, rng, {}, granularity=charts.default_granularity(span))
            times.append((time.perf_counter() - started) * 1000)
        slowest = max(dash.timings_ms.items(), key=lambda kv: kv[1])
        print(
            f"{label:<14}{dash.stats['total_requests']:>14,}{times[0]:>9.0f}{statistics.median(times[1:]):>9.0f}"
            f"   {slowest[0]} {slowest[1]:.0f}"
        )
    tracker.close()


def _timed_run(at: Any) -> float:
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    assert not at.exception, at.exception
    return elapsed


def time_page(path: Path, repeat: int) -> list[tuple[str, float, float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core import charts
    from tests.usage_page import page_charts, press
    from ui.usage_data import SECTIONS

    os.environ["CV_COPILOT_DB"] = str(path)
    page = str(REPO / "app_pages" / "usage.py")

    def new_session() -> tuple[Any, float]:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(page, default_timeout=120)
        return at, _timed_run(at)

    at, first = new_session()
    sessions = [new_session()[1] for _ in range(repeat)]
    print("\nFull page with AppTest (app_pages/usage.py), seconds")
    print(f"first session after start (imports included): {first:.2f}")
    print(f"new session, caches cleared (median of {repeat}): {statistics.median(sessions):.2f}")
    print(f"{'change':<40}{'cold s':>8}{'warm s':>8}{'charts':>8}   (cold = first visit of the view; warm = a rerun)")
    results: list[tuple[str, float, float]] = [("new session", statistics.median(sessions), 0.0)]

    def measure(name: str, change: Any) -> None:
        change()  # every change below opens a view not seen since the caches were cleared: cold
        cold = _timed_run(at)
        warm = statistics.median(_timed_run(at) for _ in range(repeat))
        flag = "" if cold <= TARGET_S else "  > target"
        print(f"{name:<40}{cold:>8.2f}{warm:>8.2f}{len(page_charts(at)):>8}{flag}")
        results.append((name, cold, warm))

    for label in charts.RANGE_PRESETS:
        if label == "Custom range":
            continue
        measure(f"range: {label}", lambda label=label: at.selectbox(key="usage_window").set_value(label))
    for grain in ("day", "week", "month"):
        measure(f"range: All time, per {grain}", lambda g=grain: at.selectbox(key="usage_granularity").set_value(g))
    today = datetime.now(UTC).date()
    measure("range: Custom (90 days, ended 30 d ago)", lambda: (
        at.selectbox(key="usage_window").set_value("Custom range").run(),
        at.date_input(key="usage_custom_range").set_value((today - timedelta(days=120), today - timedelta(days=30))),
    ))  # fmt: skip
    measure("filter: provider openai", lambda: at.multiselect(key="usage_provider").set_value(["openai"]))
    measure("filter: + one user", lambda: at.multiselect(key="usage_user_id").set_value(
        at.multiselect(key="usage_user_id").options[:1]))  # fmt: skip
    measure("filter: cleared", lambda: (
        at.multiselect(key="usage_provider").set_value([]), at.multiselect(key="usage_user_id").set_value([])
    ))  # fmt: skip
    # a new session shows the headline and the cost over time; the rest opens on a click (ui/usage_data.SECTIONS)
    measure("open: Cost by provider and task", lambda: at.session_state.__setitem__("usage_open_breakdown", True))
    measure("click: provider bar (gemini)", lambda: press(
        at, "Cost by provider", {"customdata": ["provider", "gemini"]}))  # fmt: skip
    bucket = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    measure("click: a day on cost over time", lambda: press(
        at, "Cost over time", {"customdata": ["time", bucket.isoformat(), ""]}))  # fmt: skip
    measure("open: every section", lambda: [at.session_state.__setitem__(key, True) for key, _, _ in SECTIONS])
    return results


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "?"
    return (
        f"machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=REPO / "bench" / "usage_1m.db")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=365.0, help="spread of the demo rows (10%% in the last day)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-page", action="store_true", help="only the SQL part")
    args = parser.parse_args()

    print(machine())
    build_db(args.db, args.rows, args.days)
    size_mb = sum(p.stat().st_size for p in args.db.parent.glob(args.db.name + "*")) / 1e6
    print(f"database: {args.db} ({size_mb:,.0f} MB)")
    time_sql(args.db, args.repeat)
    if not args.skip_page:
        results = time_page(args.db, args.repeat)
        worst = max(results, key=lambda r: r[1])
        print(f"\nslowest cold render: {worst[0]} {worst[1]:.2f} s (target ≤ {TARGET_S:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
