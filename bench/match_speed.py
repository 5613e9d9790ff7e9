"""Rank 1,000 job descriptions against one CV with the offline matcher and print the time.

Usage: python bench/match_speed.py [DATA_DIR] [--jobs N]
The CV is the first labelled CV in DATA_DIR (default ../shared/data/cv-ner-dev relative to the repo root), or the
shipped sample CV when that folder is missing. Job descriptions are built from the shipped samples with varied
skills, so each one differs.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.local import match_jobs, parse_cv  # noqa: E402
from core.local.skills import vocabulary  # noqa: E402


def make_jobs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    samples = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "samples").glob("job_*.txt"))]
    skills = sorted(s.name for s in vocabulary().skills.values())
    jobs = []
    for i in range(n):
        base = samples[i % len(samples)]
        extra = ", ".join(rng.sample(skills, 6))
        nice = ", ".join(rng.sample(skills, 3))
        jobs.append(
            f"{base}\nAlso required: {extra}.\nNice to have: {nice}.\nReference {i}: {rng.randint(1, 9)}+ years."
        )
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data" / "cv-ner-dev"))
    ap.add_argument("--jobs", type=int, default=1000)
    args = ap.parse_args()
    files = sorted(Path(args.data_dir).glob("*.xml"))
    if files:
        raw = files[0].read_text(encoding="utf-8")
        text = re.sub(r"</?label[^>]*>", "", raw.split("<cv>", 1)[-1].rsplit("</cv>", 1)[0])
    else:
        text = (ROOT / "data" / "samples" / "cv_software_engineer.txt").read_text(encoding="utf-8")
    cv = parse_cv(text)
    jobs = make_jobs(args.jobs)
    match_jobs(cv, jobs[:5])  # warm the vocabulary and regex caches
    t0, c0 = time.perf_counter(), time.process_time()
    ranked = match_jobs(cv, jobs)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    print(
        f"ranked {len(jobs)} job descriptions against one CV in {elapsed:.3f} s wall"
        f" ({elapsed / len(jobs) * 1000:.2f} ms each); CPU time {cpu:.3f} s"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (wall time grows when other work shares the CPUs)")
    print(f"top score {ranked[0]['score']} ({ranked[0]['title']!r}), bottom score {ranked[-1]['score']}")


if __name__ == "__main__":
    main()
