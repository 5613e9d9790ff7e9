"""Response cache: time of a hit (make_key + get), median and p99, with 10,000 entries in the table.

    python bench/cache_hit.py

Target: a hit in under 1 ms.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cache import ResponseCache

PROMPT = "Tailor this CV to the job below.\n" + "Experienced Python developer, FastAPI, PostgreSQL. " * 80
ANSWER = "A tailored CV. " * 300


def main() -> None:
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}")
    cache = ResponseCache(Path(tempfile.mkdtemp(prefix="cache_hit_")) / "usage.db")
    params = {"system": None, "max_tokens": 1024, "temperature": 0.2, "json_mode": False}
    keys = [ResponseCache.make_key("openai", "gpt-4o", f"{i} {PROMPT}", **params) for i in range(10_000)]
    for key in keys:
        cache.put(key, content=ANSWER, input_tokens=900, output_tokens=1200, cost_usd=0.0143, model="gpt-4o")
    hits, key_only, get_only = [], [], []
    for i in range(5000):
        prompt = f"{i * 2} {PROMPT}"
        start = time.perf_counter()
        key = ResponseCache.make_key("openai", "gpt-4o", prompt, **params)
        middle = time.perf_counter()
        assert cache.get(key) is not None
        end = time.perf_counter()
        hits.append((end - start) * 1000)
        key_only.append((middle - start) * 1000)
        get_only.append((end - middle) * 1000)
    miss_key = ResponseCache.make_key("openai", "gpt-4o", "never stored", **params)
    misses = []
    for _ in range(5000):
        start = time.perf_counter()
        cache.get(miss_key)
        misses.append((time.perf_counter() - start) * 1000)
    for label, values in (("hit (make_key + get)", hits), ("make_key", key_only), ("get (hit)", get_only),
                          ("get (miss)", misses)):  # fmt: skip
        values.sort()
        p99 = values[int(len(values) * 0.99)]
        print(f"{label:<22} median {statistics.median(values):.4f} ms   p99 {p99:.4f} ms")
    print(f"prompt {len(PROMPT):,} chars, answer {len(ANSWER):,} chars, {cache.stats()['entries']:,} entries")


if __name__ == "__main__":
    main()
