"""CPU cost per call of the rate limit and the budget hold: in-process memory vs the shared SQLite file.

Run: python bench/limits_overhead.py [--calls 2000] [--repeats 5]
(With `redis-server` installed, Redis configurations run too, against a throwaway server on loopback.)

Each configuration runs the router's admission steps for one paid call: `limiter.acquire`, `budget.reserve`, the
tracker's `record` (write-behind, as the router does) and `budget.settle`. CPU time of the whole process
(`time.process_time`: every thread, so the tracker's flusher counts) is divided by the number of calls. A fake
clock moves 1.01 s per call, so the 60 rpm window holds about 60 calls, as in real use. Configurations are
interleaved and repeated; the median of the repeats is printed, beside the baseline (`record` alone) of the same
run. Target: the router's whole overhead stays ≤ 0.3 ms CPU per call with the shared limiter on.

Calls here come back to back, so the baseline's write-behind batches many rows per transaction. The shared budget's
settle writes the call's row at once (so no other process misses it): in a burst that gives up the batching,
which "settle without flush" shows; with calls seconds apart, as in the app, every batch is one row anyway.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.budget import BudgetGuard  # noqa: E402
from core.config import BudgetSettings  # noqa: E402
from core.limits import SQLiteBudget, SQLiteRateLimiter  # noqa: E402
from core.rate_limit import InMemoryRateLimiter  # noqa: E402
from core.usage_tracker import UsageTracker  # noqa: E402

START = 1_773_835_200.0  # a noon, UTC: the run stays inside one budget day


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def config(name: str, folder: Path, redis_url: str = "") -> tuple[Callable[[], None], Callable[[], None]]:
    """(one call's admission steps, cleanup) for a named configuration, on a fresh DB file."""
    db = folder / f"{name}.db"
    clock = Clock()
    tracker = UsageTracker(db, clock=clock)
    limits = {"openai": (60, None), "local": (None, None)}
    budgets = BudgetSettings(user_daily_usd=1e6, global_daily_usd=1e6)
    limiter: Any
    budget: Any
    if name.startswith("memory"):
        limiter = InMemoryRateLimiter(limits, clock=clock)
        budget = BudgetGuard(budgets, tracker.spend_usd, clock=clock)
    elif name.startswith("redis"):
        from core.limits.redis_backend import RedisBudget, RedisConnection, RedisRateLimiter

        connection = RedisConnection(redis_url, prefix=f"bench-{folder.name}-{name}")
        limiter = RedisRateLimiter(connection, limits, clock=clock)
        budget = RedisBudget(budgets, connection, tracker.spend_usd, clock=clock, flush_usage=tracker.flush)
    else:
        limiter = SQLiteRateLimiter(db, limits, clock=clock)
        flush = None if name.endswith("grace") else tracker.flush
        budget = SQLiteBudget(budgets, db, clock=clock, flush_usage=flush)
    provider = "local" if name.endswith("unlimited") else "openai"

    def record() -> None:
        tracker.record_usage(
            task_type="cv_parsing", provider=provider, model="gpt-4o-mini", input_tokens=900, output_tokens=300,
            cost_usd=0.0003, success=True, user_id="ann", ts=clock.now,
        )  # fmt: skip

    def one_call() -> None:
        clock.now += 1.01
        if name == "baseline":
            record()
            return
        if limiter.acquire(provider, "ann", 1200) != 0.0:
            raise AssertionError("refused: the bench must only time admitted calls")
        if name.endswith(("limiter", "unlimited")):
            record()
            return
        held = budget.reserve("ann", 0.0005)
        record()
        budget.settle(held)

    def close() -> None:
        tracker.close()

    return one_call, close


NAMES = {
    "baseline": "record only (no limit, no budget)",
    "memory": "memory: acquire + reserve + record + settle",
    "sqlite": "sqlite: acquire + reserve + record + settle",
    "sqlite-grace": "sqlite, settle without flush (2 s grace)",
    "memory-limiter": "memory: acquire + record",
    "sqlite-limiter": "sqlite: acquire + record",
    "sqlite-unlimited": "sqlite, provider without rpm/tpm, no budget",
    "redis": "redis: acquire + reserve + record + settle",
    "redis-limiter": "redis: acquire + record",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.calls} calls per configuration, {args.repeats} interleaved repeats, median CPU µs per call\n")
    server = None
    if shutil.which("redis-server") and importlib.util.find_spec("redis"):
        from tests.test_limits_redis import RedisServer

        server = RedisServer().start()
    names = [n for n in NAMES if server or not n.startswith("redis")]
    results: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name in names:
                one_call, close = config(name, Path(tmp) / f"r{repeat}", server.url if server else "")
                for _ in range(50):  # warm up: statement caches, first connection
                    one_call()
                start = time.process_time()
                for _ in range(args.calls):
                    one_call()
                close()  # the last write-behind batch is part of the cost
                results[name].append((time.process_time() - start) / args.calls * 1e6)
    if server:
        server.stop()
    else:
        print("(redis-server not installed: Redis configurations skipped)")
    base = statistics.median(results["baseline"])
    for name in names:
        label = NAMES[name]
        cpu = statistics.median(results[name])
        extra = "" if name == "baseline" else f"   (+{cpu - base:7.1f} over baseline)"
        print(f"{label:<48} {cpu:8.1f} µs{extra}")


if __name__ == "__main__":
    main()
