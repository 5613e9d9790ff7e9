"""Per-call overhead of `router.generate` over a bare httpx POST to the same loopback server, and import time.

Run: python bench/router_overhead.py [--calls 2000]
Target: ≤ 0.3 ms median overhead for a 900-token prompt; `import core.router` ≤ 0.5 s.
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
sys.path.insert(0, str(ROOT))

from core.base import TaskType  # noqa: E402
from core.config import load_settings  # noqa: E402
from core.router import ModelRouter  # noqa: E402
from core.tokens import count_tokens  # noqa: E402
from tests.fakes import LoopbackServer  # noqa: E402

SENTENCE = "Senior data engineer with eight years of Python, SQL, Airflow and Kubernetes experience at Acme. "


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


async def measure(server: LoopbackServer, calls: int, cache: bool, tmp: Path) -> tuple[list[float], list[float]]:
    config = tmp / f"bench-{cache}.toml"
    config.write_text(f"[providers.openai]\nrpm = 0\n[cache]\nenabled = {str(cache).lower()}\n")
    env = {"OPENAI_API_KEY": "sk-bench-0000", "OPENAI_BASE_URL": server.url + "/v1", "CV_COPILOT_DB": str(tmp / "u.db")}
    router = ModelRouter(load_settings(env=env, config_path=config))
    prompts = [prompt_of(900, i) for i in range(calls)]
    body_of = router.provider("openai").build_body  # the same wire body the router sends
    from core.base import CompletionRequest

    bare_times: list[float] = []
    router_times: list[float] = []
    async with httpx.AsyncClient(headers={"authorization": "Bearer sk-bench-0000"}) as client:
        url = server.url + "/v1/chat/completions"
        for i in range(50):  # warm both paths: connections, encodings, prices, DB
            await client.post(url, json=body_of(CompletionRequest(prompts[i], "gpt-4o")))
            await router.generate(TaskType.CV_PARSING, prompts[i] + "warm")
        for i, prompt in enumerate(prompts):
            body = body_of(CompletionRequest(prompt, "gpt-4o", task_type=TaskType.CV_PARSING))
            t0 = time.perf_counter()
            response = await client.post(url, json=body)
            response.json()["choices"][0]["message"]["content"]
            t1 = time.perf_counter()
            answer = await router.generate(TaskType.CV_PARSING, prompt, user_id=f"u{i % 7}")
            t2 = time.perf_counter()
            assert answer.provider == "openai", answer.attempts
            bare_times.append(t1 - t0)
            router_times.append(t2 - t1)
    await router.aclose()
    router.tracker.get_usage_stats(hours=1)  # flush anything pending
    return bare_times, router_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"prompt: {count_tokens(prompt_of(900, 0), 'gpt-4o').tokens} tokens (o200k_base), {args.calls} calls")
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer() as server:
        for cache in (False, True):
            bare, routed = asyncio.run(measure(server, args.calls, cache, Path(tmp)))
            b, r = statistics.median(bare) * 1000, statistics.median(routed) * 1000
            p95 = statistics.quantiles([y - x for x, y in zip(bare, routed, strict=True)], n=20)[18] * 1000
            label = "cache on (every prompt new: lookup miss + store)" if cache else "cache off"
            print(
                f"{label}: bare httpx POST median {b:.3f} ms, router.generate median {r:.3f} ms, "
                f"overhead median {r - b:.3f} ms (p95 of paired differences {p95:.3f} ms)"
            )
    print(f"import core.router: {import_time() * 1000:.0f} ms (median of 5 fresh interpreters)")


if __name__ == "__main__":
    main()
