"""What crash-proof recording costs: CPU per `tracker.record()` before and after the journal, in one run.

    python bench/tracker_durability.py [--calls 20000] [--rounds 5] [--before REV]

"before" is the tracker as it was at REV (default 7546389: in-memory write-behind, a SIGKILL loses up to 50 ms of
rows), loaded from git into its own module; "after" is this tree (write-behind plus one journal `os.write` per row, a
unique request id, text sanitising, and the nine new columns). Both are measured as CPU time of the whole process
(`time.process_time`: all threads, so the background writer's inserts count) over `--calls` records plus the final
flush, divided by the number of calls; rounds alternate between variants and the median is shown. A synchronous
commit per row (flush_interval=None) is shown beside them: the other way to survive a kill.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.tracker.record import UsageRecord  # noqa: E402
from core.usage_tracker import UsageTracker  # noqa: E402

RECORD = UsageRecord(
    task_type="cv_parsing",
    provider="openai",
    model="gpt-4o",
    user_id="bench",
    input_tokens=900,
    output_tokens=300,
    cached_input_tokens=512,
    cost_usd=0.0052,
    latency_ms=850.0,
    fallback_chain=("openai",),
)


def load_before(rev: str) -> ModuleType | None:
    """core/usage_tracker.py as of `rev`, imported as a separate module (its own writer thread and buffers)."""
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:core/usage_tracker.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"(no 'before' variant: cannot read {rev} from git: {error})")
        return None
    path = Path(tempfile.mkdtemp(prefix="tracker_before_")) / "usage_tracker_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("usage_tracker_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["usage_tracker_before"] = module
    spec.loader.exec_module(module)
    return module


def cpu_per_call(make: Callable[[Path], Any], db: Path, calls: int, threads: int) -> tuple[float, float, float]:
    """(process CPU µs, caller-thread CPU µs, wall µs) per record, over `calls` records from `threads` threads plus
    the final flush. The caller-thread figure is what the call itself pays (the rest is the background writer)."""
    tracker = make(db)
    tracker.record(RECORD)
    tracker.flush()  # warm: connections open, tables cached
    per_thread = calls // threads
    caller: list[float] = []

    def work() -> None:
        started = time.thread_time()
        for _ in range(per_thread):
            tracker.record(RECORD)
        caller.append(time.thread_time() - started)

    cpu, wall = time.process_time(), time.perf_counter()
    if threads == 1:
        work()
    else:
        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    tracker.flush()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tracker.close()
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0]
    assert stored == per_thread * threads + 1, (stored, per_thread * threads + 1)
    n = per_thread * threads
    return cpu / n * 1e6, sum(caller) / n * 1e6, wall / n * 1e6


def hot_path(make: Callable[[Path], Any], db: Path, calls: int) -> float:
    """CPU µs per `record()` in the calling thread alone: batches of 500 (below the back-pressure threshold, with a
    long flush interval), each flushed outside the timed region. What a router call pays."""
    tracker = make(db)
    tracker.record(RECORD)
    tracker.flush()
    spent = 0.0
    for _ in range(calls // 500):
        started = time.thread_time()
        for _ in range(500):
            tracker.record(RECORD)
        spent += time.thread_time() - started
        tracker.flush()
    tracker.close()
    return spent / (calls // 500 * 500) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", default="7546389")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.platform()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; load {os.getloadavg()[0]:.2f}"
    )
    before = load_before(args.before)
    variants: dict[str, tuple[Callable[[Path], Any], int, int]] = {}
    if before is not None:
        variants[f"before ({args.before}), write-behind, 1 thread"] = (
            lambda db: before.UsageTracker(db),
            args.calls,
            1,
        )
        variants[f"before ({args.before}), write-behind, 4 threads"] = (
            lambda db: before.UsageTracker(db),
            args.calls,
            4,
        )
    variants["after, write-behind + journal, 1 thread"] = (lambda db: UsageTracker(db), args.calls, 1)
    variants["after, write-behind + journal, 4 threads"] = (lambda db: UsageTracker(db), args.calls, 4)
    if before is not None:
        variants[f"before ({args.before}), synchronous commit"] = (
            lambda db: before.UsageTracker(db, flush_interval=None),
            args.calls // 10,
            1,
        )
    variants["after, synchronous commit"] = (lambda db: UsageTracker(db, flush_interval=None), args.calls // 10, 1)

    workdir = Path(tempfile.mkdtemp(prefix="tracker_durability_"))
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for i, (name, (make, calls, threads)) in enumerate(variants.items()):
            results[name].append(cpu_per_call(make, workdir / f"r{round_}_{i}.db", calls, threads))
    hot: dict[str, list[float]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        if before is not None:
            hot["before"].append(
                hot_path(
                    lambda db: before.UsageTracker(db, flush_interval=3600), workdir / f"h{round_}b.db", args.calls
                )
            )
        hot["after"].append(
            hot_path(lambda db: UsageTracker(db, flush_interval=3600), workdir / f"h{round_}a.db", args.calls)
        )
    print(f"\nrecord() alone, in the calling thread (median of {args.rounds} rounds)")
    for name, runs in hot.items():
        if runs:
            print(f"  {name:<48} {statistics.median(runs):6.1f} µs CPU (range {min(runs):.1f}-{max(runs):.1f})")
    print(f"\nrecord(): CPU µs per call, all threads, incl. the background flush (median of {args.rounds} rounds)")
    for name, runs in results.items():
        cpu = statistics.median(r[0] for r in runs)
        in_caller = statistics.median(r[1] for r in runs)
        wall = statistics.median(r[2] for r in runs)
        spread = f"{min(r[0] for r in runs):.1f}-{max(r[0] for r in runs):.1f}"
        print(
            f"  {name:<48} {cpu:6.1f} µs CPU (range {spread}), of which {in_caller:5.1f} in the caller;"
            f" {wall:6.1f} µs wall"
        )


if __name__ == "__main__":
    main()
