"""The Applications page's data load with 1,000 applications and 10,000 CV versions: must settle in <= 1 s.

Measures the page's own code path (app_pages/applications.py `load()` plus opening one application, as the page
does on every rerun) on a real SQLite file, cold (a new process-level Workspace) and warm, and prints the machine.

    python bench/workspace_page.py [--apps 1000] [--versions 10000]
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.workspace import STATUSES, Workspace

JOB = "Senior Python Developer at Globex {i}\nWe need Python, SQL, Docker and Kubernetes.\n" + "Details. " * 200


def _page_load():  # type: ignore[no-untyped-def]
    """The `load` function of app_pages/applications.py, without running the page's Streamlit code."""
    path = Path(__file__).resolve().parent.parent / "app_pages" / "applications.py"
    tree = ast.parse(path.read_text())
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "load")
    namespace: dict[str, object] = {}
    code = compile(ast.Module(body=[func], type_ignores=[]), str(path), "exec")
    exec(code, {"__name__": "bench", "__builtins__": __builtins__}, namespace)  # compile inherits `annotations`
    return namespace["load"]


def build(db: Path, apps: int, versions: int) -> float:
    start = time.perf_counter()
    ws = Workspace(db)
    rng = random.Random(7)
    cv = {"basics": {"name": "Jane Doe", "email": "jane@example.com"}, "work": [], "skills": []}
    cv_id = None
    for v in range(versions):
        cv["skills"] = [{"name": f"skill {v}"}, {"name": "Python"}]
        cv_id = ws.save_cv(cv, user_id="jane", cv_text="Jane Doe\n" * 50, cv_id=cv_id).cv_id
    for i in range(apps):
        app = ws.create_application(user_id="jane", job_text=JOB.format(i=i), cv_id=cv_id)
        ws.update_application(app, status=rng.choice(STATUSES))
        ws.save_document(
            app, "tailored", {"markdown": "# Jane Doe\n" + "- did things\n" * 80, "resume": cv},
            calls=[("cv_tailoring", "openai", "gpt-4o-mini", 0.0012)],
        )  # fmt: skip
        ws.save_document(app, "letter", "Dear team,\n" + "I write. " * 300, calls=[("cover_letter", "groq", "m", 0.0)])
    ws.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"python {platform.python_version()}, sqlite {__import__('sqlite3').sqlite_version}")
    load = _page_load()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "usage.db"
        built = build(db, args.apps, args.versions)
        print(f"built {args.apps} applications and {args.versions} CV versions in {built:.1f} s "
              f"({db.stat().st_size / 1e6:.1f} MB)")  # fmt: skip

        def settle(ws: Workspace, status: str | None) -> float:
            t = time.perf_counter()
            rows, total = load(ws, "jane", status, "")
            ws.application(rows[0].id)  # the page opens the first application
            ws.latest_cv("jane")  # the sidebar's restore in a fresh session
            assert len(rows) >= 1 and total > 0
            return time.perf_counter() - t

        t0 = time.perf_counter()
        cold_ws = Workspace(db)
        cold = settle(cold_ws, None)
        opened = time.perf_counter() - t0
        warm = [settle(cold_ws, None) for _ in range(args.repeat)]
        filtered = [settle(cold_ws, "interview") for _ in range(args.repeat)]
        cpu0 = time.process_time()
        for _ in range(args.repeat):
            settle(cold_ws, None)
        cpu = (time.process_time() - cpu0) / args.repeat
        print(f"cold (open the file + first load): {opened * 1000:.0f} ms (load alone {cold * 1000:.0f} ms)")
        print(f"warm load, all statuses: median {statistics.median(warm) * 1000:.0f} ms, max {max(warm) * 1000:.0f} ms")
        print(f"warm load, one status:   median {statistics.median(filtered) * 1000:.0f} ms")
        print(f"CPU per load (process, all threads): {cpu * 1000:.0f} ms")
        verdict = "OK" if max(opened, max(warm)) <= 1.0 else "OVER"
        print(f"target <= 1000 ms: {verdict}")


if __name__ == "__main__":
    main()
