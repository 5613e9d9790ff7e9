"""One-off benchmark: the usage page in Chromium over a 1,000,000-row DB, from a click until the charts are drawn.

Starts `streamlit run app.py` on the DB (build it first with bench/dashboard_render.py), opens /usage in Debian's
Chromium through Playwright and times, from the action to "the script has settled and every chart is drawn":
- a new session (a fresh browser context; the first one after the server start also pays the imports);
- each range preset, a granularity change, a provider filter, and a click on a provider bar (drill-down).
Prints the figures and the machine.

    python bench/dashboard_browser.py --db bench/usage_1m.db
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.dashboard_render import TARGET_S, machine  # noqa: E402
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_healthy  # noqa: E402

CHARTS = 8  # the usage page's charts without budgets or votes


def settled(page: Any, charts: int = CHARTS, timeout_s: float = 60.0) -> None:
    """The script run is over (no running status) and `charts` Plotly charts are drawn."""
    deadline = time.monotonic() + timeout_s
    page.wait_for_timeout(50)  # let the rerun request reach the server and the status widget appear
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count()
        drawn = page.locator(".js-plotly-plot .main-svg").count() // 2  # two SVG layers per chart
        stale = page.locator('[data-stale="true"]').count()
        if not running and drawn >= charts and not stale:
            return
        page.wait_for_timeout(20)
    raise TimeoutError("the page did not settle")


def choose(page: Any, label: str, option: str) -> None:
    """Open the select box labelled `label` and pick `option` (Streamlit's selectbox and multiselect)."""
    widget = page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]').filter(has_text=label).first
    widget.get_by_role("combobox").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def timed(page: Any, action: Callable[[], None], expect_text: str | None = None, name: str = "") -> float:
    started = time.perf_counter()
    action()
    if expect_text:
        page.get_by_text(expect_text).first.wait_for(timeout=60_000)
    settled(page)
    elapsed = time.perf_counter() - started
    print(f"  {name:<36}{elapsed:>7.2f}", flush=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=REPO / "bench" / "usage_1m.db")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument(
        "--repo", type=Path, default=REPO, help="the checkout to serve (an older one for a baseline in the same run)"
    )
    parser.add_argument("--range-label", default="Date range", help='the range select box ("Window" before v2)')
    args = parser.parse_args()
    if not args.db.exists():
        print(f"no DB at {args.db}: run bench/dashboard_render.py first")
        return 1
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        print("Chromium not found")
        return 1
    from playwright.sync_api import sync_playwright

    print(machine())
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-browser-"))
    env = dict(os.environ, CV_COPILOT_DB=str(args.db), CV_COPILOT_CONFIG=str(tmp / "none.toml"))
    env.update(CV_COPILOT_NO_DOTENV="1", PYTHONPATH=str(args.repo))
    log = (tmp / "streamlit.log").open("wb")
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    print(f"serving {args.repo}")
    proc = subprocess.Popen(command, cwd=args.repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, float]] = []
    try:
        _wait_healthy(url, proc, tmp / "streamlit.log")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for i in range(args.sessions):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                name = "first session after server start" if i == 0 else f"new session {i + 1}"
                rows.append((name, timed(page, lambda p=page: p.goto(f"{url}/usage"), "Recent calls", name)))
                if i < args.sessions - 1:
                    context.close()
            for preset, label in (
                ("Last 1 h", "Cost (last 1 h)"),
                ("Last 7 d", "Cost (last 7 d)"),
                ("Last 30 d", "Cost (last 30 d)"),
                *([("This month", "Cost (this month)")] if args.range_label == "Date range" else []),
                ("All time", "Cost (all time)"),
                ("Last 24 h", "Cost (last 24 h)"),
            ):
                name = f"range: {preset}"
                rows.append((name, timed(page, lambda o=preset: choose(page, args.range_label, o), label, name)))
            if args.range_label == "Date range":
                name = "granularity: day"
                rows.append((name, timed(page, lambda: choose(page, "Granularity", "day"), None, name)))
            name = "filter: provider openai"
            rows.append((name, timed(page, lambda: choose(page, "Provider", "openai"), None, name)))
            page.keyboard.press("Escape")
            if args.range_label == "Date range":
                bar = page.locator(".js-plotly-plot").first.locator("g.point path").first
                bar.scroll_into_view_if_needed()
                box = bar.bounding_box()  # Plotly's drag layer sits above the bars: click the spot, not the element
                name = "click: a provider bar"
                rows.append((name, timed(
                    page, lambda: page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2),
                    "Showing the calls of", name,
                )))  # fmt: skip
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    print("\nChromium: from the action until the script has settled and every chart is drawn, seconds")
    for name, seconds in rows:
        flag = "" if seconds <= TARGET_S else "  > target"
        print(f"{name:<36}{seconds:>7.2f}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
