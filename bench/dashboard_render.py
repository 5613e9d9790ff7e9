"""Benchmark: the usage dashboard over a 1,000,000-row usage DB.

Builds the DB once (demo rows from `python -m core demo-db`, reused on later runs), then times
1. the SQL part alone (core.charts.load_dashboard: every tracker aggregate the page runs), per window;
2. the full page render with Streamlit's AppTest, per window: cold (cache cleared) and warm (cached aggregates).
Target: ≤ 2 s per render. Prints the figures and the machine.

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
from itertools import islice
from pathlib import Path

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
    print("\nSQL part alone (load_dashboard: 8 tracker aggregates, 4 threads), ms")
    print(f"{'window':<11}{'rows in window':>15}{'first':>9}{'median':>9}   slowest query")
    for label, hours in charts.WINDOWS.items():
        times = []
        for _ in range(repeat + 1):
            started = time.perf_counter()
            dash = charts.load_dashboard(tracker, hours, {})
            times.append((time.perf_counter() - started) * 1000)
        slowest = max(dash.timings_ms.items(), key=lambda kv: kv[1])
        print(
            f"{label:<11}{dash.stats['total_requests']:>15,}{times[0]:>9.0f}{statistics.median(times[1:]):>9.0f}"
            f"   {slowest[0]} {slowest[1]:.0f}"
        )
    tracker.close()


def time_page(path: Path, repeat: int) -> list[tuple[str, float, float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core import charts

    os.environ["CV_COPILOT_DB"] = str(path)
    page = str(REPO / "app_pages" / "usage.py")
    at = AppTest.from_file(page, default_timeout=120)
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    assert not at.exception, at.exception
    print(f"\nFull page render with AppTest (first run, incl. imports: {first:.2f} s)")
    print(f"{'window':<11}{'cold s':>8}{'warm s':>8}{'charts':>8}   (cold = cache cleared; warm = median of reruns)")
    results = []
    for label in charts.WINDOWS:
        at.selectbox(key="usage_window").set_value(label)
        st.cache_data.clear()
        started = time.perf_counter()
        at.run()
        cold = time.perf_counter() - started
        assert not at.exception, at.exception
        warm_times = []
        for _ in range(repeat):
            started = time.perf_counter()
            at.run()
            warm_times.append(time.perf_counter() - started)
        warm = statistics.median(warm_times)
        charts_drawn = len(at.get("plotly_chart"))
        flag = "" if cold <= TARGET_S else "  > target"
        print(f"{label:<11}{cold:>8.2f}{warm:>8.2f}{charts_drawn:>8}{flag}")
        results.append((label, cold, warm))
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
        default_cold = dict((label, cold) for label, cold, _ in results)["Last 24 h"]
        print(f"\ndefault view (last 24 h), cold: {default_cold:.2f} s (target ≤ {TARGET_S:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
