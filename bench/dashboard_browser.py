"""One-off benchmark: the usage page in Chromium over a 1,000,000-row DB, from a click until the charts are drawn.

Starts `streamlit run app.py` on the DB (build it first with bench/dashboard_render.py), opens /usage in Debian's
Chromium through Playwright and times, from the action to "the script has settled and every chart is drawn":
- a new session (a fresh browser context; the first one after the server start also pays the imports), split into
  phases read from the browser's own clock: the HTML, the front end's scripts up to the websocket, the script run on
  the server (from the rerun request to "script finished"), and the drawing after it;
- each range preset, a granularity change, a provider filter, a click on a provider bar and on a time bucket of the
  cost-over-time chart (drill-down), and opening the request detail view.

`--repo` may be given more than once (e.g. this tree and a baseline checkout): each checkout is served by its own
server, one after the other, for `--rounds` rounds, so that a loaded machine weighs on both alike. `--floor` adds
synthetic pages as floors: the same URL with only a title and a "Recent calls" line, then with 1 and 8 small Plotly
charts, and with 8 small Vega-Lite charts. Besides wall time it prints the CPU seconds of the browser and of the
server over each step (steadier than wall time on a loaded machine), the machine and its load.

A chart counts as drawn once its SVG is there, on the page (st.plotly_chart) or inside a frame of the page's own chart
component (ui/plotly_lite, plotly.js's basic bundle; `--floor` also serves 1 and 8 small charts through it).

A checkout whose page opens some sections only on demand shows fewer charts at first: give their number as
`--repo PATH:CHARTS` (the page of this tree: 1, the cost over time).
The range, filter and click steps wait for every chart then shown; the closed sections are then opened one by one.

`--repo .@serve.py` serves the checkout with `streamlit run serve.py` (warmed at start) instead of app.py.

    python bench/dashboard_browser.py --db bench/usage_1m.db [--repo . --repo .@serve.py --repo ../base] [--floor]
    python bench/dashboard_browser.py --db bench/usage_1m.db --floor-only --rounds 2
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.dashboard_render import TARGET_S, machine  # noqa: E402
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

CHARTS = 8  # the usage page's charts without budgets or votes

#: Records, on the page's own clock, when the websocket opens and each message goes either way (with its bytes),
#: and the long tasks of the main thread (script, layout, drawing).
_HOOK = r"""
(() => {
  const Orig = window.WebSocket;
  window.__ws = [];
  window.__longtasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
  function Hooked(url, protocols) {
    const ws = protocols === undefined ? new Orig(url) : new Orig(url, protocols);
    window.__ws.push({ t: performance.now(), kind: "create", data: null });
    ws.addEventListener("open", () => window.__ws.push({ t: performance.now(), kind: "open", data: null }));
    ws.addEventListener("message", (ev) => {
      const d = ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data.slice(0, 256)) : null;
      window.__ws.push({ t: performance.now(), kind: "recv", data: d });
    });
    const send = ws.send.bind(ws);
    ws.send = (d) => {
      const view = d instanceof ArrayBuffer ? new Uint8Array(d)
        : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
      window.__ws.push({ t: performance.now(), kind: "send", data: view ? view.slice(0, 256) : null });
      return send(d);
    };
    return ws;
  }
  Hooked.prototype = Orig.prototype;
  Object.assign(Hooked, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = Hooked;
})();
"""
_READ_HOOK = """() => ({
  ws: window.__ws.map(e => [e.t, e.kind, e.data ? btoa(String.fromCharCode.apply(null, e.data)) : null]),
  longtasks: window.__longtasks,
  nav: performance.getEntriesByType("navigation").map(n => [n.responseEnd, n.domContentLoadedEventEnd])[0],
  now: performance.now(),
})"""
#: ForwardMsg / BackMsg field numbers (streamlit/proto) of the messages the phases are cut at.
_NEW_SESSION, _DELTA, _SCRIPT_FINISHED, _RERUN = 4, 5, 6, 11
PHASES = ("html", "js+ws", "server run", "draw")
CPUS = ("cpu browser", "cpu server")


def _first_field(data: bytes) -> int | None:
    """The protobuf field that says what a Forward/BackMsg is: the first one after `hash` (1) and `metadata` (2)."""
    i = 0
    while i < len(data):
        tag, i = _varint(data, i)
        field, wire = tag >> 3, tag & 7
        if field not in (1, 2):
            return field
        if wire == 2:
            length, i = _varint(data, i)
            i += length
        elif wire == 0:
            _, i = _varint(data, i)
        else:
            return None
    return None


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(data):
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, i


def phases(record: dict[str, Any]) -> dict[str, float] | None:
    """Seconds per phase of a new session: the HTML; the front end's scripts until the websocket opens; the script
    run (from the rerun request until the server says it finished); the drawing until the page had settled."""
    events = [(t, kind, _first_field(base64.b64decode(b)) if b else None) for t, kind, b in record["ws"]]

    def first(kind: str, field: int | None = None, after: float = 0.0) -> float:
        return float(next(t for t, k, f in events if k == kind and (field is None or f == field) and t >= after))

    try:
        opened = first("open")
        rerun = first("send", _RERUN)
        finished = first("recv", _SCRIPT_FINISHED, rerun)
    except StopIteration:  # a reconnect or a message the hook missed: no phases for this session
        return None
    html = record["nav"][0] if record["nav"] else 0.0
    return {
        "html": html / 1000,
        "js+ws": (rerun - html) / 1000,
        "server run": (finished - rerun) / 1000,
        "draw": (record["now"] - finished) / 1000,
        "_ws_open": opened / 1000,
        "_longtasks_after_run": sum(d for s, d in record["longtasks"] if s >= finished) / 1000,
    }


_STATE = """() => {
  const charts = [...document.querySelectorAll(
      '[data-testid="stPlotlyChart"], [data-testid="stVegaLiteChart"], iframe[title="ui.plotly_lite.chart"]')]
    .filter(c => c.offsetParent !== null);  // the ones shown (not in a hidden container)
  const drawn = (c) => (c.tagName === "IFRAME" ? c.contentDocument : c)?.querySelector('.main-svg, canvas, svg');
  return [document.querySelectorAll('[data-testid="stStatusWidget"]').length, charts.length,
    charts.filter(drawn).length,
    document.querySelectorAll('[data-stale="true"]').length];
}"""


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree_cpu(root: int, exclude: int | None = None) -> float:
    """CPU seconds (user + system) of the live processes under `root` (not `root` itself), except `exclude`'s tree:
    a figure that a loaded machine barely changes, unlike wall time."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    total, stack = 0.0, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        if pid == exclude:
            continue
        total += cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


class Cpu:
    """CPU seconds of the browser (Chromium and Playwright's driver) and of the Streamlit server over a step."""

    server_pid: int | None = None

    def __init__(self) -> None:
        self.browser = _tree_cpu(os.getpid(), exclude=Cpu.server_pid)
        self.server = _tree_cpu(Cpu.server_pid, exclude=None) + _own_cpu(Cpu.server_pid) if Cpu.server_pid else 0.0

    def since(self) -> dict[str, float]:
        now = Cpu()
        return {"cpu browser": now.browser - self.browser, "cpu server": now.server - self.server}


def _own_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def settled(page: Any, charts: int = CHARTS, timeout_s: float = 60.0) -> None:
    """The script run is over (no running status, nothing stale), at least `charts` charts are on the page and every
    chart on it is drawn."""
    deadline = time.monotonic() + timeout_s
    page.wait_for_timeout(50)  # let the rerun request reach the server and the status widget appear
    while time.monotonic() < deadline:
        running, present, drawn, stale = page.evaluate(_STATE)
        if not running and present >= charts and drawn >= present and not stale:
            return
        page.wait_for_timeout(20)
    raise TimeoutError("the page did not settle")


def choose(page: Any, label: str, option: str) -> None:
    """Open the select box labelled `label` and pick `option` (Streamlit's selectbox and multiselect)."""
    widget = page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]').filter(has_text=label).first
    widget.get_by_role("combobox").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def plot(page: Any, title: str, point: int) -> Any:
    """Bar or point number `point` of the chart titled `title`: on the page (st.plotly_chart) or in a frame of the
    page's chart component (ui/plotly_lite)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # a frame just added may still be loading
        for frame in page.frames:
            found = frame.locator(".js-plotly-plot").filter(has_text=title)
            if found.count():
                return found.first.locator("g.point path").nth(point)
        page.wait_for_timeout(20)
    raise LookupError(f"no chart titled {title!r}")


def click_center(page: Any, locator: Any) -> None:
    """Plotly's drag layer sits above the bars and points: click the spot, not the element."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def timed(
    page: Any, action: Callable[[], None], expect_text: str | None = None, charts: int = CHARTS
) -> tuple[float, dict[str, float]]:
    """Wall seconds from the action until the page has settled, and the CPU seconds spent meanwhile."""
    cpu = Cpu()
    started = time.perf_counter()
    action()
    if expect_text:
        page.get_by_text(expect_text).first.wait_for(timeout=60_000)
    settled(page, charts)
    return time.perf_counter() - started, cpu.since()


@contextmanager
def served(repo: Path, db: Path, tmp: Path, script: str = "app.py") -> Iterator[str]:
    """`repo`'s app on `db`, started as the browser tests start it (tests/e2e/test_browser.py)."""
    env = dict(os.environ, CV_COPILOT_DB=str(db), CV_COPILOT_CONFIG=str(tmp / "none.toml"))
    env.update(CV_COPILOT_NO_DOTENV="1", PYTHONPATH=str(repo))
    log = tmp / f"streamlit-{repo.name}-{time.monotonic_ns()}.log"
    with streamlit_server(repo, env, log, script=script) as (url, proc):
        Cpu.server_pid = proc.pid
        yield url


_FLOOR_APP = """
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
CHARTS, KIND = {charts}, "{kind}"


def usage():
    st.title("Usage")
    if CHARTS and KIND == "plotly":
        import plotly.graph_objects as go

        for i in range(CHARTS):
            fig = go.Figure(go.Bar(x=["a", "b", "c"], y=[1, 2, 3]))
            fig.update_layout(title=f"chart {{i}}", height=360)
            st.plotly_chart(fig, key=f"c{{i}}")
    elif CHARTS and KIND == "lite":
        import plotly.graph_objects as go
        from ui import plotly_lite

        for i in range(CHARTS):
            fig = go.Figure(go.Bar(x=["a", "b", "c"], y=[1, 2, 3]))
            fig.update_layout(title=f"chart {{i}}", height=360)
            plotly_lite.chart(fig, key=f"c{{i}}")
    elif CHARTS:
        import altair as alt
        import pandas as pd

        data = pd.DataFrame({{"x": ["a", "b", "c"], "y": [1, 2, 3]}})
        for i in range(CHARTS):
            chart = alt.Chart(data).mark_bar().encode(x="x", y="y").properties(title=f"chart {{i}}", height=360)
            st.altair_chart(chart, key=f"c{{i}}")
    st.subheader("Recent calls")


st.navigation([st.Page(lambda: st.title("CV"), title="CV", default=True), st.Page(usage, title="Usage",
              url_path="usage")]).run()
"""


def floor_repo(tmp: Path, charts: int, kind: str = "plotly") -> Path:
    """A synthetic app with the same URL: the cost of Streamlit itself (and of `charts` small Plotly or Vega-Lite
    charts, the library of st.altair_chart and Streamlit's own charts)."""
    repo = tmp / f"floor-{kind}-{charts}"
    repo.mkdir(exist_ok=True)
    (repo / "app.py").write_text(_FLOOR_APP.format(charts=charts, kind=kind))
    if kind == "lite":  # the page's own light chart component
        shutil.copytree(REPO / "ui" / "plotly_lite", repo / "ui" / "plotly_lite", dirs_exist_ok=True)
        (repo / "ui" / "__init__.py").touch()
    return repo


def run_checkout(
    name: str,
    repo: Path,
    db: Path,
    tmp: Path,
    browser: Any,
    sessions: int,
    charts: int,
    full: bool,
    range_label: str,
    script: str = "app.py",
) -> list[tuple[str, float, dict[str, float] | None]]:
    """New sessions (with their phases), then, in the last one, every range, filter, click and the detail view."""
    rows: list[tuple[str, float, dict[str, float] | None]] = []
    started = time.perf_counter()
    with served(repo, db, tmp, script) as url:
        print(f"  server healthy after {time.perf_counter() - started:.2f} s (streamlit run {script})", flush=True)
        context = page = None
        for i in range(sessions):
            if context is not None:
                context.close()
                time.sleep(1)  # as above: the closed context's renderer exits before the next measure
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(_HOOK)
            page = context.new_page()
            label = "first session after server start" if i == 0 else f"new session {i + 1}"
            seconds, cpu = timed(page, partial(page.goto, f"{url}/usage"), "Recent calls", charts)
            rows.append((label, seconds, {**(phases(page.evaluate(_READ_HOOK)) or {}), **cpu}))
        assert page is not None and context is not None
        # a new session in the same browser: a new tab, with the browser's cache of the front end's scripts
        tab = context.new_page()
        seconds, cpu = timed(tab, lambda: tab.goto(f"{url}/usage"), "Recent calls", charts)
        rows.append(("new tab, same browser", seconds, {**(phases(tab.evaluate(_READ_HOOK)) or {}), **cpu}))
        tab.close()
        page.wait_for_timeout(1000)  # its renderer exits before the next step: a dead process's CPU drops out of sums
        if full:
            rows.extend(interactions(page, range_label))
        context.close()
    return rows


def interactions(page: Any, range_label: str) -> list[tuple[str, float, dict[str, float] | None]]:
    """Each step waits until every chart then on the page is drawn (a page with closed sections shows fewer)."""
    rows: list[tuple[str, float, dict[str, float] | None]] = []

    def step(name: str, action: Callable[[], None], expect: str | None = None, charts: int = 1) -> None:
        try:
            seconds, cpu = timed(page, action, expect, charts=charts)
        except Exception as exc:  # noqa: BLE001 - one step that fails to show does not lose the others
            print(f"  {name}: failed ({type(exc).__name__}: {str(exc).splitlines()[0]})", flush=True)
            page.keyboard.press("Escape")
            return
        rows.append((name, seconds, cpu))

    for preset, label in (
        ("Last 1 h", "Cost (last 1 h)"),
        ("Last 7 d", "Cost (last 7 d)"),
        ("Last 30 d", "Cost (last 30 d)"),
        *([("This month", "Cost (this month)")] if range_label == "Date range" else []),
        ("All time", "Cost (all time)"),
        ("Last 24 h", "Cost (last 24 h)"),
    ):
        step(f"range: {preset}", partial(choose, page, range_label, preset), label)
    if range_label != "Date range":
        return rows
    step("granularity: day", lambda: choose(page, "Granularity", "day"))
    step("granularity: hour", lambda: choose(page, "Granularity", "hour"))
    step("filter: provider openai", lambda: choose(page, "Provider", "openai"))
    page.keyboard.press("Escape")
    breakdown = page.locator('[data-testid="stExpander"] summary').filter(has_text=SECTIONS[0])
    shown = 1  # the charts a new session shows: the cost over time
    if breakdown.count():  # a page that opens its breakdown on demand: open it to click a provider's bar
        shown += SECTION_CHARTS[SECTIONS[0]]
        step(f"open: {SECTIONS[0]}", breakdown.first.click, charts=shown)
    bar = partial(plot, page, "Cost by provider", 0)
    step("click: a provider bar", lambda: click_center(page, bar()), "Showing the calls of", shown)
    step("clear the click filter", lambda: page.get_by_role("button", name="Clear filter").click(), charts=shown)
    point = partial(plot, page, "Cost over time", 3)
    step("click: a time bucket (cost/time)", lambda: click_center(page, point()), "Showing the calls of", shown)
    detail = page.locator('[data-testid="stExpander"]').filter(has_text="Request detail").first

    def open_detail() -> None:
        detail.get_by_text("Request detail").first.click()
        detail.locator('[data-testid="stDataFrame"]').first.wait_for(state="visible", timeout=60_000)

    def next_call() -> None:
        detail.get_by_role("combobox").first.click()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")

    step("open the request detail", open_detail, charts=shown)
    step("detail: pick another call", next_call, charts=shown)
    for label in SECTIONS[1:]:  # a page whose sections open on demand (not the layout before them: no such expander)
        section = page.locator('[data-testid="stExpander"]').filter(has_text=label).first
        if page.locator('[data-testid="stExpander"] summary').filter(has_text=label).count():
            shown += SECTION_CHARTS[label]  # the step lasts until they are drawn too
            step(f"open: {label}", partial(section.locator("summary").first.click), charts=shown)
    return rows


#: The usage page's sections that a new session shows closed (ui/usage_data.py SECTIONS), opened one by one.
SECTIONS = (
    "Cost by provider and task",
    "Reliability and speed",
    "Users",
    "Savings",
    "Budgets and alerts",
    "Provider comparison (A/B)",
)


#: The charts each section draws over the bench's DB (no budgets are configured and no votes recorded).
SECTION_CHARTS = dict(zip(SECTIONS, (3, 2, 1, 1, 0, 0), strict=True))


def _checkout(spec: str) -> tuple[Path, int, str]:
    """PATH[@SCRIPT][:CHARTS] as (checkout, charts on its page, the script `streamlit run` starts)."""
    spec, _, charts = spec.partition(":")
    path, _, script = spec.partition("@")
    return Path(path).resolve(), int(charts) if charts else CHARTS, script or "app.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=REPO / "bench" / "usage_1m.db")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument(
        "--repo",
        action="append",
        help="a checkout to serve, optionally PATH@SCRIPT (e.g. @serve.py; default app.py) and PATH:CHARTS for a "
        "page drawing another number of charts (more than one: compared in one run)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="serve each checkout this many times, alternating")
    parser.add_argument("--floor", action="store_true", help="also time two synthetic floor pages")
    parser.add_argument("--floor-only", action="store_true", help="time the floor pages alone")
    parser.add_argument("--sessions-only", action="store_true", help="skip the range, filter and click steps")
    parser.add_argument("--range-label", default="Date range", help='the range select box ("Window" before v2)')
    args = parser.parse_args()
    repos = [_checkout(spec) for spec in args.repo or [str(REPO)]]
    if not args.db.exists():
        print(f"no DB at {args.db}: run bench/dashboard_render.py first")
        return 1
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        print("Chromium not found")
        return 1
    from playwright.sync_api import sync_playwright

    print(machine())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-browser-"))
    checkouts = [(f"{r} ({script})", r, n, not args.sessions_only, script) for r, n, script in repos]
    if args.floor_only:
        checkouts = []
    if args.floor or args.floor_only:
        checkouts += [
            (f"floor: {n} small {kind} charts", floor_repo(tmp, n, kind), n, False, "app.py")
            for n, kind in (
                (0, "plotly"),
                (1, "plotly"),
                (1, "lite"),
                (CHARTS, "plotly"),
                (CHARTS, "lite"),
                (CHARTS, "vega-lite"),
            )
        ]
    results: dict[str, dict[str, list[float]]] = {name: {} for name, *_ in checkouts}
    phase_sums: dict[str, dict[str, list[float]]] = {name: {} for name, *_ in checkouts}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for round_no in range(args.rounds):
            for name, repo, charts, full, script in checkouts:
                print(f"round {round_no + 1}: serving {name}", flush=True)
                for step, seconds, parts in run_checkout(
                    name, repo, args.db, tmp, browser, args.sessions, charts, full, args.range_label, script
                ):
                    results[name].setdefault(step, []).append(seconds)
                    extra = ""
                    if parts:
                        extra = "   " + "  ".join(f"{k} {v:.2f}" for k, v in parts.items() if not k.startswith("_"))
                        for k, v in parts.items():
                            phase_sums[name].setdefault(f"{step}|{k}", []).append(v)
                    print(f"  {step:<36}{seconds:>7.2f}{extra}", flush=True)
        browser.close()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    names = list(results)
    print("\nChromium: from the action until the script has settled and every chart is drawn, seconds (median)")
    print(f"{'':<36}" + "".join(f"{f'[{i}]':>9}" for i in range(len(names))))
    steps = list(dict.fromkeys(step for name in names for step in results[name]))
    for step in steps:
        cells = [results[n].get(step) for n in names]
        print(f"{step:<36}" + "".join(f"{statistics.median(c):>9.2f}" if c else f"{'-':>9}" for c in cells))
    for cpu in CPUS:
        print(f"\n{cpu.replace('cpu ', 'CPU seconds of the ')} over each step (median; steadier than wall time)")
        for step in steps:
            cells = [phase_sums[n].get(f"{step}|{cpu}") for n in names]
            print(f"{step:<36}" + "".join(f"{statistics.median(c):>9.2f}" if c else f"{'-':>9}" for c in cells))
    print("\nnew-session phases, seconds (median): html · front end to the rerun request · script run · drawing")
    for step in (s for s in steps if "session" in s or "new tab" in s):
        for i, n in enumerate(names):
            values = {p: phase_sums[n].get(f"{step}|{p}") for p in PHASES}
            if all(values.values()):
                text = "  ".join(f"{p} {statistics.median(v):.2f}" for p, v in values.items() if v)
                print(f"{step:<36}[{i}] {text}")
    for i, n in enumerate(names):
        print(f"[{i}] {n}")
    print(f"target ≤ {TARGET_S:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
