"""How fast is the cost preview? `router.estimate` on a two-page CV prompt, with every cloud provider configured.

The preview redraws as the user types, so a warm call should take a few milliseconds at most. Each timed call
uses a slightly different prompt (as typing does), so nothing is served from a cache.

    python bench/preview_speed.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import ab
from core.base import TaskType
from core.config import load_settings
from core.router import ModelRouter
from core.tokens import count_tokens

ROLE = (
    "Senior Python developer, Example Systems Ltd, London, 2019 - present\n"
    "- Led a team of five building Django and FastAPI services on PostgreSQL, serving 2M requests a day.\n"
    "- Cut cloud costs by 35% by moving batch jobs to spot instances and tuning Celery concurrency.\n"
    "- Introduced property-based testing with Hypothesis; escaped defects fell by half in a year.\n"
    "- Mentored juniors, ran the architecture review, and wrote the on-call runbooks.\n"
    "- Designed the event pipeline (Kafka, Debezium) that replaced nightly exports, cutting report lag to minutes.\n"
    "- Worked with product and support to turn customer complaints into a quarterly reliability roadmap.\n"
)


def two_page_cv() -> str:
    """About 950 words: a realistic two-page CV."""
    parts = [
        "Jane Doe\njane.doe@example.com | +44 20 7946 0000 | London, UK | github.com/janedoe\n\n",
        "Summary\nBackend engineer with eleven years of Python, from scientific computing to high-traffic web "
        "services. I like measurable results, boring technology and clear writing.\n\nExperience\n",
    ]
    for year in range(8):
        parts.append(ROLE.replace("2019", str(2019 - 2 * year)).replace("Example Systems", f"Company {year + 1}"))
        parts.append("\n")
    parts.append(
        "Education\nMSc Computer Science, University of Example, 2012\nBSc Mathematics, Example College, 2010\n\n"
        "Skills\nPython, Django, FastAPI, Flask, PostgreSQL, Redis, Celery, Docker, Kubernetes, AWS, GCP, "
        "Terraform, GitHub Actions, pytest, Hypothesis, pandas, NumPy, SQLAlchemy, REST, GraphQL, gRPC\n\n"
        "Projects\n- cv-tools: open-source CV parser, 1.2k stars.\n- talks at PyCon UK 2022 and EuroPython 2023.\n"
    )
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "CV_COPILOT_NO_DOTENV": "1",
            "CV_COPILOT_DB": os.path.join(tmp, "usage.db"),
            "OPENAI_API_KEY": "sk-bench",
            "GEMINI_API_KEY": "g-bench",
            "GROQ_API_KEY": "gsk-bench",
            "GROK_API_KEY": "xai-bench",
        }
        router = ModelRouter(load_settings(env=env, config_path=Path(tmp) / "none.toml"))
        cv = two_page_cv()
        job = "Backend engineer: Python, Django, PostgreSQL, Kubernetes. " * 8
        t0 = time.perf_counter()
        request = ab.task_request(TaskType.CV_TAILORING, cv=None, cv_text=cv, job_description=job)
        build_ms = (time.perf_counter() - t0) * 1000
        prompt, system = request["prompt"], request["system"]
        t0 = time.perf_counter()
        ab.task_request(TaskType.CV_TAILORING, cv=None, cv_text=cv + " ", job_description=job)
        rebuild_ms = (time.perf_counter() - t0) * 1000

        started = time.perf_counter()
        rows = router.estimate(TaskType.CV_TAILORING, prompt, max_tokens=3000, system=system)
        cold_ms = (time.perf_counter() - started) * 1000

        timings = []
        for i in range(args.runs):
            typed = prompt + "x" * (i % 7)  # a keystroke changes the text
            t0 = time.perf_counter()
            router.estimate(TaskType.CV_TAILORING, typed, max_tokens=3000, system=system)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()

    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()} ({platform.machine()})")
    print(f"CV: {len(cv.split())} words, {len(cv):,} chars, {count_tokens(cv).tokens:,} tokens (o200k_base)")
    print(f"prompt sent for tailoring: {len(prompt):,} chars; providers in the preview: {len(rows)}")
    for row in rows:
        tokens = f"in {row['input_tokens']:>6,}  out {row['expected_output_tokens']:>5,}"
        costs = f"est ${row['estimated_cost_usd']:.5f}  worst ${row['worst_case_cost_usd']:.5f}"
        print(f"  {row['provider']:<7} {row['model']:<24} {tokens}  {costs}")
    print(f"building the prompt (offline CV parse + template): first {build_ms:.1f} ms, again {rebuild_ms:.1f} ms")
    print(f"router.estimate, first call (loads tokenizers): {cold_ms:.1f} ms")
    print(
        f"router.estimate, warm, {args.runs} runs: median {statistics.median(timings):.2f} ms, "
        f"p95 {timings[int(0.95 * (len(timings) - 1))]:.2f} ms, max {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
