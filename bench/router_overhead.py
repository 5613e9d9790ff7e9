"""CPU cost of `router.generate` over a bare httpx POST to the same loopback server, per configuration and per tree.

Run: python bench/router_overhead.py [--calls 300] [--rounds 3] [--tree /path/to/other/checkout ...]
     PYTHONPATH=/path/to/other/checkout python bench/router_overhead.py --child   (one tree, one round, JSON out)
Target: ≤ 0.3 ms of CPU per call over the bare POST, for a 900-token prompt, with the usage journal and the shared
SQLite rate limiter on (the default); `import core.router` ≤ 0.5 s.

Why CPU time: on a shared VM wall-clock medians drift more than the quantity measured. The fake provider runs in
a child process, so only the client's work is counted. Bare and routed calls alternate in blocks of 20, so drift
hits both alike. The bare path is the calling thread's CPU time (`time.thread_time`) in its blocks; the router's is
the whole process's CPU time (`time.process_time`: the event loop, the tracker's writer, the cache's writer) over
the whole run, final flush included, minus the bare path's: work a background thread does for the router while a
bare block runs is charged to the router, where it belongs.

Each tree (this checkout, and every `--tree`) is measured in its own fresh process, once per round; the rounds
alternate the order of the trees, so a change in the machine's load hits them alike. With more than one tree, the
per-round differences against the first tree are summarised too (paired by round: less drift than the difference of
the medians when the load changes during the run). Configurations:
- off:     response cache off, no rate limit, no budget (the old bench's "cache off")
- cache:   response cache on (every prompt new: a lookup miss and a store), no rate limit, no budget
- limiter: cache on and a rate limit (1,000,000 rpm: checked and counted on every call, never refusing); on trees
           with the shared limiter, that is the SQLite one (one write transaction per call; on trees with leases, a
           burst like this one, 7 users calling many times a second, takes most slots from leases instead)
- budget:  as `limiter`, plus a global daily budget (every call reserves and settles)
- limiter-new-user: as `limiter`, but every call from a user not seen before, so no lease ever serves it: the
           limiter's cost for a call at a low rate (one write transaction each)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = 20  # calls per alternating block
WARM = 50
SCENARIOS: dict[str, str] = {
    "off": "[providers.openai]\nrpm = 0\n[cache]\nenabled = false\n",
    "cache": "[providers.openai]\nrpm = 0\n[cache]\nenabled = true\n",
    "limiter": "[providers.openai]\nrpm = 1000000\n[cache]\nenabled = true\n",
    "budget": '[providers.openai]\nrpm = 1000000\n[cache]\nenabled = true\n[budgets]\npolicy = "block"\n'
    "global_daily_usd = 1000000.0\n",
    "limiter-new-user": "[providers.openai]\nrpm = 1000000\n[cache]\nenabled = true\n",
}
#: Who makes measured call i, and warm-up call i (the default: 7 users in turn, for both).
USERS: dict[str, tuple[Callable[[int], str], Callable[[int], str]]] = {
    "limiter-new-user": (lambda i: f"new-user-{i}", lambda i: f"warm-user-{i}")
}
SENTENCE = "Senior data engineer with eight years of Python, SQL, Airflow and Kubernetes experience at Acme. "
SERVER = (
    "import sys; from tests.fakes import LoopbackServer; s = LoopbackServer(); s.start(); "
    "print(s.url, flush=True); sys.stdin.read(); s.stop()"
)


def _in_turn(i: int) -> str:
    return f"u{i % 7}"


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; load average {load}"
    )


# --- one tree, one round (the child process) ------------------------------------------------------------------


def _prompts(count: int) -> list[str]:
    from core.tokens import count_tokens

    base = ""
    while count_tokens(base, "gpt-4o").tokens < 900:
        base += SENTENCE
    return [f"[{i}] {base}" for i in range(count)]


async def _measure(
    url: str, calls: int, config_text: str, tmp: Path, name: str, prompts: list[str]
) -> dict[str, float]:
    import httpx

    from core.base import CompletionRequest, TaskType
    from core.config import load_settings
    from core.router import ModelRouter

    config = tmp / f"bench-{name}.toml"
    config.write_text(config_text)
    env = {"OPENAI_API_KEY": "sk-bench-0000", "OPENAI_BASE_URL": url + "/v1", "CV_COPILOT_DB": str(tmp / f"{name}.db")}
    router = ModelRouter(load_settings(env=env, config_path=config))
    body_of = router.provider("openai").build_body  # the same wire body the router sends
    bare_cpu = 0.0
    pairs: list[float] = []
    async with httpx.AsyncClient(headers={"authorization": "Bearer sk-bench-0000"}) as client:
        post_url = url + "/v1/chat/completions"

        async def bare(prompt: str) -> None:
            body = body_of(CompletionRequest(prompt, "gpt-4o", task_type=TaskType.CV_PARSING))
            response = await client.post(post_url, json=body)
            response.json()["choices"][0]["message"]["content"]

        user_of, warm_user_of = USERS.get(name, (_in_turn, _in_turn))

        async def routed(prompt: str, user: str) -> None:
            answer = await router.generate(TaskType.CV_PARSING, prompt, user_id=user)
            assert answer.provider == "openai", answer.attempts

        for i in range(WARM):  # warm both paths: connections, encodings, prices, DB
            await bare(prompts[calls + i])
            await routed(prompts[calls + i] + " warm", warm_user_of(i))
        router.tracker.get_usage_stats(hours=1)  # the warm-up's rows are written before the clock starts
        total0 = time.process_time()
        for start in range(0, calls, BLOCK):
            block = range(start, min(start + BLOCK, calls))
            t0 = time.thread_time()
            for i in block:
                await bare(prompts[i])
            t1, p1 = time.thread_time(), time.process_time()
            for i in block:
                await routed(prompts[i], user_of(i))
            p2 = time.process_time()
            bare_cpu += t1 - t0
            pairs.append(((p2 - p1) - (t1 - t0)) / len(block) * 1000)
        router.tracker.get_usage_stats(hours=1)  # flush what is pending: the writer's work is part of the cost
        total = time.process_time() - total0
    await router.aclose()
    bare_ms = bare_cpu / calls * 1000
    router_ms = (total - bare_cpu) / calls * 1000
    return {"bare": bare_ms, "router": router_ms, "overhead": router_ms - bare_ms, "pairs": statistics.median(pairs)}


def child(calls: int, scenarios: list[str]) -> None:
    url = sys.stdin.readline().strip()
    prompts = _prompts(calls + WARM)
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenarios:
            out[name] = asyncio.run(_measure(url, calls, SCENARIOS[name], Path(tmp), name, prompts))
    print(json.dumps(out))


# --- the driver ---------------------------------------------------------------------------------------------------


def run_child(tree: Path, url: str, calls: int, scenarios: list[str]) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(tree), "CV_COPILOT_NO_DOTENV": "1"}
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", "--calls", str(calls), "--only", *scenarios]
    done = subprocess.run(argv, input=url + "\n", capture_output=True, text=True, env=env, cwd=tree, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: bench child failed\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def import_time(tree: Path, modules: str = "core.router") -> float:
    code = f"import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    runs = [
        float(subprocess.check_output([sys.executable, "-c", code], cwd=tree, text=True, env=env)) for _ in range(5)
    ]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="measured calls per configuration (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per tree (default 3)")
    parser.add_argument("--tree", action="append", default=[], help="another checkout to measure beside this one")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.calls, args.only)
        return
    own = Path(os.environ.get("PYTHONPATH") or ROOT).resolve()
    trees = [own, *(Path(t).resolve() for t in args.tree)]
    print(f"machine: {machine()}")
    print(f"{args.calls} calls per configuration, 900-token prompts, {args.rounds} rounds; trees:")
    for i, tree in enumerate(trees):
        print(f"  [{i}] {tree}")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    results: dict[int, list[dict[str, dict[str, float]]]] = {i: [] for i in range(len(trees))}
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        for r in range(args.rounds):
            order = list(range(len(trees)))
            if r % 2:
                order.reverse()
            for i in order:
                results[i].append(run_child(trees[i], url, args.calls, args.only))
            print(f"  round {r + 1} done; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)
    print("\nCPU ms per call: overhead = router.generate - bare POST (median of rounds, [min-max]); bare POST median")
    for name in args.only:
        cells = []
        for i in range(len(trees)):
            over = [round_[name]["overhead"] for round_ in results[i]]
            bare = statistics.median(round_[name]["bare"] for round_ in results[i])
            cells.append(f"[{i}] {statistics.median(over):.3f} [{min(over):.3f}-{max(over):.3f}] (bare {bare:.3f})")
        print(f"  {name:16s} " + " | ".join(cells))
    if len(trees) > 1:
        # Each round runs the trees one right after the other, so a round's difference between two trees saw
        # (nearly) the same machine: the median of those differences drifts less than the difference of medians.
        print("\nPaired by round: tree [0] minus tree [i], CPU ms per call (median of rounds, [min-max])")
        for name in args.only:
            cells = []
            for i in range(1, len(trees)):
                diffs = [a[name]["overhead"] - b[name]["overhead"] for a, b in zip(results[0], results[i], strict=True)]
                cells.append(f"[0]-[{i}] {statistics.median(diffs):+.3f} [{min(diffs):+.3f} {max(diffs):+.3f}]")
            print(f"  {name:16s} " + " | ".join(cells))
    print(f"machine after: {machine()}")
    for i, tree in enumerate(trees):
        print(f"import core.router [{i}]: {import_time(tree) * 1000:.0f} ms (median of 5 fresh interpreters)")
    for i, tree in enumerate(trees):  # httpx is imported on the first call where core.router does not import it
        print(f"import core.router, httpx [{i}]: {import_time(tree, 'core.router, httpx') * 1000:.0f} ms")


if __name__ == "__main__":
    main()
