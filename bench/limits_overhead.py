"""CPU cost per call of the rate limit and the budget hold: in-process memory vs the shared SQLite file.

Run: python bench/limits_overhead.py [--calls 2000] [--repeats 5] [--tree /other/checkout ...] [--only name ...]
(With `redis-server` installed, Redis configurations run too, against a throwaway server on loopback.)

Each configuration runs the router's admission steps for one paid call: `limiter.acquire`, `budget.reserve`, the
tracker's `record` (write-behind, as the router does) and `budget.settle`. CPU time of the whole process
(`time.process_time`: every thread, so the tracker's flusher counts) is divided by the number of calls. A fake
clock moves 1.01 s per call, so the 60 rpm window holds about 60 calls, as in real use. Configurations are
interleaved and repeated; the median of the repeats is printed, beside the baseline (`record` alone) of the same
run. Target: the router's whole overhead stays ≤ 0.3 ms CPU per call with the shared limiter on.

Calls here come back to back, so the baseline's write-behind batches many rows per transaction. The shared budget's
settle hands the hold to the tracker's writer, which deletes it in the transaction that writes the call's row
(and journals the release, so a SIGKILL loses neither); "settle without flush" instead keeps the hold for a 2 s
grace. With calls seconds apart, as in the app, every batch is one row anyway.

Compare two trees in one run: `python bench/limits_overhead.py --tree /path/to/other/checkout` runs each
configuration of both, interleaved, each tree in its own fresh process per repeat.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# a child measuring another checkout imports that checkout's code (its PYTHONPATH), the driver this one's
CODE = os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] if "--child" in sys.argv else ""
sys.path.insert(0, CODE or str(ROOT))

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


def run_once(names: list[str], calls: int, redis_url: str) -> dict[str, float]:
    """One repeat of every configuration in `names`, in this process: CPU µs per call."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            one_call, close = config(name, Path(tmp), redis_url)
            for _ in range(50):  # warm up: statement caches, first connection
                one_call()
            start = time.process_time()
            for _ in range(calls):
                one_call()
            close()  # the last write-behind batch is part of the cost
            out[name] = (time.process_time() - start) / calls * 1e6
    return out


def run_child(tree: Path, names: list[str], calls: int, redis_url: str) -> dict[str, float]:
    """One repeat in a fresh process importing `tree`'s code (this file's configurations)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "CV_COPILOT_NO_DOTENV": "1"}
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", "--calls", str(calls), "--only", *names]
    argv += ["--redis-url", redis_url] if redis_url else []
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tree, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: bench child failed\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tree", action="append", default=[], help="another checkout to measure beside this one")
    parser.add_argument("--only", nargs="+", choices=list(NAMES), default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.only or list(NAMES), args.calls, args.redis_url)))
        return
    print(f"machine: {machine()}")
    server = None
    if shutil.which("redis-server") and importlib.util.find_spec("redis"):
        from tests.test_limits_redis import RedisServer

        server = RedisServer().start()
    names = [n for n in (args.only or NAMES) if server or not n.startswith("redis")]
    if "baseline" not in names:
        names.insert(0, "baseline")
    trees = [ROOT, *(Path(t).resolve() for t in args.tree)]
    print(f"{args.calls} calls per configuration, {args.repeats} interleaved repeats, median CPU µs per call; trees:")
    for i, tree in enumerate(trees):
        print(f"  [{i}] {tree}")
    results: dict[int, dict[str, list[float]]] = {i: {name: [] for name in names} for i in range(len(trees))}
    try:
        for repeat in range(args.repeats):
            order = list(range(len(trees)))[:: -1 if repeat % 2 else 1]
            for i in order:
                if len(trees) == 1:
                    got = run_once(names, args.calls, server.url if server else "")
                else:
                    got = run_child(trees[i], names, args.calls, server.url if server else "")
                for name, value in got.items():
                    results[i][name].append(value)
    finally:
        if server:
            server.stop()
    if not server:
        print("(redis-server not installed: Redis configurations skipped)")
    print(
        f"{'µs per call (+ over the same tree baseline)':<48} "
        + " | ".join(f"[{i}]".ljust(17) for i in range(len(trees)))
    )
    for name in names:
        cells = []
        for i in range(len(trees)):
            cpu = statistics.median(results[i][name])
            base = statistics.median(results[i]["baseline"])
            cells.append((f"{cpu:7.1f}" + ("" if name == "baseline" else f" (+{cpu - base:6.1f})")).ljust(17))
        print(f"{NAMES[name]:<48} " + " | ".join(cells))
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
