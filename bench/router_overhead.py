"""CPU cost of `router.generate` over a bare httpx POST to the same loopback server, and import time.

Run: python bench/router_overhead.py [--calls 600]
     PYTHONPATH=/path/to/other/checkout python bench/router_overhead.py   (measure another tree with this script)
Target: ≤ 0.3 ms of CPU per call over the bare POST, for a 900-token prompt; `import core.router` ≤ 0.5 s.

Why CPU time: on a shared VM wall-clock medians drift more than the quantity measured. The fake provider runs in
a child process, so `time.process_time()` (every thread of this process: the event loop and the tracker's
writer) counts only the client's work. Bare and routed calls alternate in blocks, so drift hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT))

from core.base import CompletionRequest, TaskType  # noqa: E402
from core.config import load_settings  # noqa: E402
from core.router import ModelRouter  # noqa: E402
from core.tokens import count_tokens  # noqa: E402

SENTENCE = "Senior data engineer with eight years of Python, SQL, Airflow and Kubernetes experience at Acme. "
SERVER = (
    "import sys, threading; from tests.fakes import LoopbackServer; s = LoopbackServer(); s.start(); "
    "print(s.url, flush=True); sys.stdin.read(); s.stop()"
)
BLOCK = 20  # calls per alternating block


def prompt_of(tokens: int, salt: int) -> str:
    text = f"[{salt}] "
    while count_tokens(text, "gpt-4o").tokens < tokens:
        text += SENTENCE
    return text


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import core.router; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, text=True)) for _ in range(5)]
    return statistics.median(runs)


class Figures:
    def __init__(self) -> None:
        self.cpu = {"bare": 0.0, "router": 0.0}
        self.wall: dict[str, list[float]] = {"bare": [], "router": []}
        self.calls = {"bare": 0, "router": 0}
        self.block_overheads: list[float] = []  # ms per call, router minus bare, one per pair of blocks

    def per_call_ms(self, path: str) -> float:
        return self.cpu[path] / self.calls[path] * 1000


async def measure(url: str, calls: int, cache: bool, tmp: Path) -> Figures:
    config = tmp / f"bench-{cache}.toml"
    config.write_text(f"[providers.openai]\nrpm = 0\n[cache]\nenabled = {str(cache).lower()}\n")
    db = tmp / f"u-{cache}.db"
    env = {"OPENAI_API_KEY": "sk-bench-0000", "OPENAI_BASE_URL": url + "/v1", "CV_COPILOT_DB": str(db)}
    router = ModelRouter(load_settings(env=env, config_path=config))
    prompts = [prompt_of(900, i) for i in range(calls + 50)]
    body_of = router.provider("openai").build_body  # the same wire body the router sends
    figures = Figures()
    async with httpx.AsyncClient(headers={"authorization": "Bearer sk-bench-0000"}) as client:
        post_url = url + "/v1/chat/completions"

        async def bare(prompt: str) -> None:
            body = body_of(CompletionRequest(prompt, "gpt-4o", task_type=TaskType.CV_PARSING))
            response = await client.post(post_url, json=body)
            response.json()["choices"][0]["message"]["content"]

        async def routed(prompt: str, i: int) -> None:
            answer = await router.generate(TaskType.CV_PARSING, prompt, user_id=f"u{i % 7}")
            assert answer.provider == "openai", answer.attempts

        for i in range(50):  # warm both paths: connections, encodings, prices, DB
            await bare(prompts[calls + i])
            await routed(prompts[calls + i] + "warm", i)
        for start in range(0, calls, BLOCK):
            block = range(start, min(start + BLOCK, calls))
            spent = {}
            for path in ("bare", "router"):
                cpu0 = time.process_time()
                for i in block:
                    t0 = time.perf_counter()
                    if path == "bare":
                        await bare(prompts[i])
                    else:
                        await routed(prompts[i], i)
                    figures.wall[path].append(time.perf_counter() - t0)
                spent[path] = time.process_time() - cpu0
                figures.cpu[path] += spent[path]
                figures.calls[path] += len(block)
            figures.block_overheads.append((spent["router"] - spent["bare"]) / len(block) * 1000)
    cpu0 = time.process_time()
    router.tracker.get_usage_stats(hours=1)  # flush anything pending: the writer's work is part of the cost
    figures.cpu["router"] += time.process_time() - cpu0
    await router.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=600)
    args = parser.parse_args()
    import core.router as routed_module

    print(f"machine: {machine()}")
    print(f"code under test: {Path(routed_module.__file__).resolve().parent.parent}")
    print(f"prompt: {count_tokens(prompt_of(900, 0), 'gpt-4o').tokens} tokens (o200k_base), {args.calls} calls each")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            for cache in (False, True):
                f = asyncio.run(measure(url, args.calls, cache, Path(tmp)))
                bare, routed = f.per_call_ms("bare"), f.per_call_ms("router")
                wb, wr = statistics.median(f.wall["bare"]) * 1000, statistics.median(f.wall["router"]) * 1000
                label = "cache on (every prompt new: lookup miss + store)" if cache else "cache off"
                median = statistics.median(f.block_overheads)
                print(
                    f"{label}: CPU per call: bare httpx POST {bare:.3f} ms, router.generate {routed:.3f} ms, "
                    f"overhead {routed - bare:.3f} ms (median of {len(f.block_overheads)} block pairs "
                    f"{median:.3f} ms) | wall medians {wb:.3f} / {wr:.3f} ms"
                )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)
    print(f"import core.router: {import_time() * 1000:.0f} ms (median of 5 fresh interpreters)")


if __name__ == "__main__":
    main()
