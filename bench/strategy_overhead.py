"""CPU per call of `router.generate` under `[router] strategy = "cost"`, `"balanced"` and balanced with A/B votes,
beside a bare httpx POST to the same loopback server, in one run.

Run: python bench/strategy_overhead.py [--calls 400] [--rows 200000]
What it shows: the balanced strategy's hot-path cost (a snapshot read and a cached ranking) against `cost`; the
stats refresh runs in a background thread every `stats_refresh_seconds` (here 1 s, 30x the default rate, so that
refreshes happen during the run) and its CPU is counted, since `time.process_time()` covers every thread.
`--rows` pre-fills the usage DB (spread over the last day) so a refresh reads a realistic file. In it groq
always fails and the votes favour openai, so every router answers on openai: the paths differ only in ordering.
Paths alternate in blocks, in a rotating order, so drift on a shared machine (and the writer thread flushing one
block's rows during the next block) hits each alike. Method as in bench/router_overhead.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT))

from bench.router_overhead import SERVER, machine, prompt_of  # noqa: E402
from core.ab import VoteStore  # noqa: E402
from core.base import CompletionRequest, TaskType  # noqa: E402
from core.config import load_settings  # noqa: E402
from core.router import ModelRouter  # noqa: E402
from core.usage_tracker import UsageTracker  # noqa: E402

BLOCK = 20
CONFIGS = {
    "cost": "",
    "balanced": "strategy = 'balanced'\nstats_refresh_seconds = 1\n",
    "balanced + A/B votes": "strategy = 'balanced'\nstats_refresh_seconds = 1\nprefer_ab_winner = true\n",
}


def prefill(db: Path, rows: int) -> None:
    tracker = UsageTracker(db, flush_interval=None)
    now = time.time()
    rng = random.Random(7)
    batch = []
    for i in range(rows):
        provider = ("openai", "groq", "gemini")[i % 3]
        ok = provider != "groq" and rng.random() > 0.05  # groq always fails: every router answers on openai
        batch.append(
            {
                "ts": now - rng.random() * 86400, "task_type": "cv_parsing", "provider": provider,
                "model": {"openai": "gpt-4o", "groq": "llama-3.1-8b-instant", "gemini": "gemini-2.0-flash"}[provider],
                "user_id": f"u{i % 50}", "latency_ms": rng.uniform(200, 3000), "success": ok,
                "outcome": "ok" if ok else "error", "error_kind": None if ok else "server",
            }
        )  # fmt: skip
        if len(batch) == 5000:
            tracker.record_many(batch)
            batch = []
    if batch:
        tracker.record_many(batch)
    tracker.close()
    votes = VoteStore(db)
    for i in range(40):
        votes.record_vote(
            task_type="cv_parsing", providers=["openai", "groq"], winner="openai" if i % 4 else "tie",
            costs={"openai": 0.004, "groq": 0.0002},
        )  # fmt: skip
    votes.close()


async def measure(url: str, calls: int, tmp: Path) -> tuple[dict[str, float], float]:
    db = tmp / "usage.db"
    env = {"OPENAI_API_KEY": "sk-bench-0000", "OPENAI_BASE_URL": url + "/v1", "CV_COPILOT_DB": str(db)}
    env |= {"GROQ_API_KEY": "gsk-bench-0000", "GROQ_BASE_URL": url + "/v1"}  # two to rank
    routers = {}
    for label, extra in CONFIGS.items():
        config = tmp / f"{len(routers)}.toml"
        config.write_text(
            f"[providers.openai]\nrpm = 0\n[providers.groq]\nrpm = 0\n[cache]\nenabled = false\n[router]\n{extra}"
        )
        routers[label] = ModelRouter(load_settings(env=env, config_path=config))
    prompts = [prompt_of(900, i) for i in range(calls + 50)]
    body_of = routers["cost"].provider("openai").build_body
    cpu = dict.fromkeys(["bare", *routers], 0.0)
    async with httpx.AsyncClient(headers={"authorization": "Bearer sk-bench-0000"}) as client:

        async def bare(prompt: str) -> None:
            body = body_of(CompletionRequest(prompt, "gpt-4o", task_type=TaskType.CV_PARSING))
            (await client.post(url + "/v1/chat/completions", json=body)).json()

        async def routed(router: ModelRouter, prompt: str, i: int) -> None:
            answer = await router.generate(TaskType.CV_PARSING, prompt, user_id=f"u{i % 7}")
            assert answer.provider == "openai", answer.attempts  # the same work on every path

        for router in routers.values():
            if router.strategy is not None:
                router.strategy.stats.refresh()  # start from the file's stats, as a long-running app would
        for i in range(50):
            await bare(prompts[calls + i])
            for router in routers.values():
                await routed(router, prompts[calls + i] + "warm", i)
        paths = list(cpu)
        for n, start in enumerate(range(0, calls, BLOCK)):
            block = range(start, min(start + BLOCK, calls))
            # rotate the order: the tracker's writer thread flushes the previous block's rows during the next one
            for path in paths[n % len(paths) :] + paths[: n % len(paths)]:
                cpu0 = time.process_time()
                for i in block:
                    await (bare(prompts[i]) if path == "bare" else routed(routers[path], prompts[i], i))
                cpu[path] += time.process_time() - cpu0
    for label, router in routers.items():
        cpu0 = time.process_time()
        router.tracker.flush()
        if router.strategy is not None:
            router.strategy.stats.wait()
        cpu[label] += time.process_time() - cpu0
        await router.aclose()
    refresh = routers["balanced"].strategy
    assert refresh is not None
    t0 = time.process_time()
    refresh.stats.refresh()
    one_refresh_ms = (time.process_time() - t0) * 1000
    return {k: v / calls * 1000 for k, v in cpu.items()}, one_refresh_ms


def plan_cost(tmp: Path, calls: int = 100_000) -> dict[str, float]:
    """µs of CPU per `plan()` + route-reason head, the strategy's whole hot-path work, per strategy (no I/O)."""
    env = {"OPENAI_API_KEY": "sk-bench-0000", "GROQ_API_KEY": "gsk-bench-0000", "CV_COPILOT_DB": str(tmp / "usage.db")}
    out = {}
    for label, extra in CONFIGS.items():
        config = tmp / "plan.toml"
        config.write_text(f"[router]\n{extra}")
        router = ModelRouter(load_settings(env=env, config_path=config))
        if router.strategy is not None:
            router.strategy.stats.refresh()
        t0 = time.process_time()
        for _ in range(calls):
            planned, ranking = router._plan(TaskType.CV_PARSING, False, None)
            if ranking is not None:
                ranking.reason(planned[0])
        out[label] = (time.process_time() - t0) / calls * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.calls} calls per path, 900-token prompts, usage DB pre-filled with {args.rows:,} rows")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            prefill(Path(tmp) / "usage.db", args.rows)
            ms, one = asyncio.run(measure(url, args.calls, Path(tmp)))
            plans = plan_cost(Path(tmp))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)
    bare = ms.pop("bare")
    print(f"bare httpx POST: {bare:.3f} ms CPU per call")
    for label, value in ms.items():
        print(f"router.generate, {label}: {value:.3f} ms CPU per call (overhead over bare {value - bare:.3f} ms)")
    print("plan + route-reason head alone: " + ", ".join(f"{k} {v:.2f} µs" for k, v in plans.items()))
    print(f"one stats refresh (2 providers, {args.rows:,}-row DB): {one:.2f} ms CPU, in the background thread")


if __name__ == "__main__":
    main()
