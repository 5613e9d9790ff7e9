"""CPU cost of the router's cooldown check (`HealthBook.cooling`) per call: in-process only vs shared through Redis.

Run: python bench/cooldown_shared.py [--calls 20000] [--repeats 5]
(The Redis rows need `redis-server` and the `redis` package; a throwaway server is started on loopback.)

Each call checks the 4 paid providers, as the router's plan does for a call with every key set. CPU time of this
process (`time.process_time`) per call; configurations interleaved and repeated, the median printed beside the
baseline (no Redis) of the same run. "redis" reads each provider's shared cooldown at most every 0.5 s (the
default); "redis, no cache" asks Redis on every check (what the cache saves). A healthy provider's success never
touches Redis.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import load_settings  # noqa: E402
from core.routing.health import HealthBook  # noqa: E402

PROVIDERS = ("openai", "gemini", "groq", "grok")


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def book(redis_url: str | None, refresh: float | None = None) -> HealthBook:
    env = {"CV_COPILOT_NO_DOTENV": "1", "OPENAI_API_KEY": "sk-bench", "GEMINI_API_KEY": "g-bench"}
    if redis_url:
        env["CV_COPILOT_REDIS_URL"] = redis_url
    health = HealthBook(load_settings(env), time.monotonic)
    if refresh is not None and health._shared is not None:
        health._shared._refresh = refresh
    return health


def per_call(health: HealthBook, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        for name in PROVIDERS:
            health.cooling(name)
    return (time.process_time() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    configs: dict[str, Any] = {"no redis (baseline)": book(None)}
    server = None
    if shutil.which("redis-server"):
        from tests.test_limits_redis import RedisServer

        server = RedisServer().start()
        configs["redis (0.5 s read cache)"] = book(server.url)
        configs["redis, no cache"] = book(server.url, refresh=0.0)
    try:
        results: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(args.repeats):
            for name, health in configs.items():
                calls = args.calls if "no cache" not in name else max(1, args.calls // 20)
                results[name].append(per_call(health, calls))
        for name, runs in results.items():
            print(f"{name:28s} {statistics.median(runs) * 1e6:9.2f} µs CPU per call (4 providers checked)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
