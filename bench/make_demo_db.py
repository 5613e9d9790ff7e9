"""Make a realistic demo usage DB: providers, tasks, users, errors, fallbacks, cache hits and latencies.

    python bench/make_demo_db.py --rows 5000 --db data/demo.db
    CV_COPILOT_DB=data/demo.db streamlit run app.py

Rows are spread over `--days` days (most of them in the last 24 h unless --uniform). Only metadata is generated.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.usage_tracker import UsageTracker

# provider → (model, $ per 1K input, $ per 1K output, median latency ms)
PROVIDERS: dict[str, tuple[str, float, float, float]] = {
    "openai": ("gpt-4o", 0.0025, 0.01, 1400.0),
    "gemini": ("gemini-2.0-flash", 0.0001, 0.0004, 900.0),
    "groq": ("llama-3.1-8b-instant", 0.00005, 0.00008, 350.0),
    "grok": ("grok-3-mini", 0.0003, 0.0005, 1100.0),
    "local": ("local-extractive", 0.0, 0.0, 40.0),
}
# task → (default provider, typical input tokens, typical output tokens, share of traffic)
TASKS: dict[str, tuple[str, int, int, float]] = {
    "cv_parsing": ("openai", 1800, 700, 0.22),
    "cv_tailoring": ("openai", 2600, 1200, 0.15),
    "cover_letter": ("openai", 2200, 600, 0.14),
    "email_drafting": ("grok", 600, 300, 0.08),
    "fast_summary": ("groq", 900, 150, 0.18),
    "job_analysis": ("gemini", 1200, 400, 0.11),
    "job_matching": ("gemini", 2400, 300, 0.12),
}
ERROR_KINDS = (("rate_limited", 0.4), ("timeout", 0.25), ("server", 0.25), ("auth", 0.05), ("bad_response", 0.05))


def _cost(provider: str, tokens_in: int, tokens_out: int) -> float:
    _model, price_in, price_out, _lat = PROVIDERS[provider]
    return tokens_in / 1000 * price_in + tokens_out / 1000 * price_out


def demo_rows(
    n: int, *, now: float | None = None, days: float = 30, recent_share: float = 0.7, seed: int = 42
) -> Iterator[dict[str, Any]]:
    """`n` usage rows; `recent_share` of them in the last 24 h, the rest spread over `days` days."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    users = [f"user{i:03d}" for i in range(40)] + ["anonymous"]
    user_weights = [1 / (i + 1) for i in range(len(users))]  # a few heavy users, a long tail
    tasks = list(TASKS)
    task_weights = [TASKS[t][3] for t in tasks]
    kinds, kind_weights = zip(*ERROR_KINDS, strict=True)
    cheap_order = sorted((p for p in PROVIDERS if p != "local"), key=lambda p: _cost(p, 1000, 1000))
    for _ in range(n):
        age = rng.uniform(0, 86400) if rng.random() < recent_share else rng.uniform(0, days * 86400)
        task = rng.choices(tasks, task_weights)[0]
        default, typical_in, typical_out, _share = TASKS[task]
        optimize = rng.random() < 0.3
        provider = cheap_order[0] if optimize else default
        tokens_in = max(1, int(rng.lognormvariate(math.log(typical_in), 0.4)))
        tokens_out = max(1, int(rng.lognormvariate(math.log(typical_out), 0.5)))
        baseline = _cost(default, tokens_in, tokens_out)
        row: dict[str, Any] = {
            "ts": now - age,
            "user_id": rng.choices(users, user_weights)[0],
            "task_type": task,
            "input_tokens": tokens_in,
            "tokens_estimated": rng.random() < 0.02,
            "challenger": rng.random() < 0.03,
        }
        roll = rng.random()
        if roll < 0.08:  # cache hit
            row |= {"provider": provider, "cached": True, "output_tokens": tokens_out, "cost_usd": 0.0}
            row |= {"saved_cost_usd": _cost(provider, tokens_in, tokens_out), "baseline_cost_usd": 0.0}
            row |= {"latency_ms": rng.uniform(0.2, 1.0), "success": True, "fallback_chain": [provider]}
        elif roll < 0.13:  # a failed attempt (the router then falls back: the next row is often its retry)
            row |= {"provider": provider, "success": False, "output_tokens": 0, "cost_usd": 0.0}
            row |= {"error_kind": rng.choices(kinds, kind_weights)[0], "baseline_cost_usd": 0.0}
            row |= {"latency_ms": rng.uniform(50, 30000), "fallback_chain": [provider]}
        else:
            if rng.random() < 0.04:
                provider = "local"
            _model, _pi, _po, median_latency = PROVIDERS[provider]
            row |= {"provider": provider, "success": True, "output_tokens": tokens_out}
            row |= {"cost_usd": _cost(provider, tokens_in, tokens_out), "baseline_cost_usd": baseline}
            row |= {"latency_ms": rng.lognormvariate(math.log(median_latency), 0.5)}
            row |= {"fallback_chain": [default, provider] if provider != default and not optimize else [provider]}
        row["model"] = PROVIDERS[row["provider"]][0]
        yield row


def build(db: Path, rows: int, *, days: float = 30, recent_share: float = 0.7, seed: int = 42) -> float:
    """Append `rows` demo rows to `db` in chunks; returns seconds taken."""
    tracker = UsageTracker(db)
    start = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    for row in demo_rows(rows, days=days, recent_share=recent_share, seed=seed):
        chunk.append(row)
        if len(chunk) == 100_000:
            tracker.record_many(chunk)
            chunk = []
    tracker.record_many(chunk)
    tracker.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--db", type=Path, default=Path("data/demo.db"))
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--recent-share", type=float, default=0.7, help="share of rows in the last 24 h")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    seconds = build(args.db, args.rows, days=args.days, recent_share=args.recent_share, seed=args.seed)
    print(f"wrote {args.rows:,} rows to {args.db} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
