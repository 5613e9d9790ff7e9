"""Pricing on the router's hot path: process CPU time per `ModelPrice.cost_of(usage)` call.

    python bench/pricing_cost.py

Beside its baselines, in the same run:
- cost_of: every call a new usage (cached input, output), across tiers for gemini-2.5-pro;
- a bare genai-prices `calc_price` call on the same usage (what cost_of would cost if it called it every time);
- the old per-1K formula (`input/1000 × rate + output/1000 × rate`), which got cached and tiered tokens wrong.
CPU time of the whole process (all threads), not wall time: this machine's wall clock drifts more than the
quantities measured.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_prices import Usage, calc_price

from core.base import TokenUsage
from core.pricing import price_for

CALLS = 3000
CASES = [
    ("openai", "gpt-4o"),
    ("gemini", "gemini-2.5-pro"),
    ("anthropic", "claude-sonnet-4-5"),
    ("grok", "grok-3-mini"),
]


def per_call_us(fn, n: int = CALLS) -> float:
    start = time.process_time()
    for i in range(n):
        fn(i)
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}")
    print(f"{CALLS} calls per figure; µs of process CPU per call\n")
    print(f"{'provider/model':32} {'cost_of':>9} {'calc_price':>11} {'old per-1K':>11}")
    for provider, model in CASES:
        figures = measure(provider, model)
        print(f"{provider + '/' + model:32} {figures[0]:9.2f} {figures[1]:11.2f} {figures[2]:11.2f}")


def measure(provider: str, model: str) -> tuple[float, float, float]:
    price = price_for(provider, model)
    provider_id = price.provider_id
    sizes = [4000 + 97 * i for i in range(CALLS)]  # up to ~295K input tokens: crosses gemini-2.5-pro's 200K tier
    price.cost_of(TokenUsage(1, 1))  # warm imports and the model lookup
    new_us = per_call_us(lambda i: price.cost_of(TokenUsage(sizes[i], 500 + i, cached_input_tokens=1000 + i)))

    def bare(i: int) -> object:
        usage = Usage(input_tokens=sizes[i], cache_read_tokens=1000 + i, output_tokens=500 + i)
        return calc_price(usage, model, provider_id=provider_id)

    bare_us = per_call_us(bare)
    inp, out = price.input_per_1k, price.output_per_1k
    old_us = per_call_us(lambda i: sizes[i] / 1000 * inp + (500 + i) / 1000 * out)
    return new_us, bare_us, old_us


if __name__ == "__main__":
    main()
