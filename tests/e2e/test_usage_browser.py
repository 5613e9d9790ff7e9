"""The usage page in a real browser, on a seeded DB: every chart is drawn, and drawn once; a new session draws only
the headline and the cost over time; a click on a bar opens the calls it filters.

Plotly widens a margin that its labels or legend do not fit (`automargin`) by measuring, widening and drawing the whole
chart again. The page's figures come with margins that already fit (core.charts._fit_margins), so no chart needs that
second pass: this checks, in Chromium, that no margin was widened after the figure arrived. Needs Debian's chromium;
skipped with a reason when it is missing (see tests/e2e/test_browser.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from core.usage_tracker import UsageTracker
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, streamlit_app
from ui.usage_data import SECTIONS

pytestmark = pytest.mark.e2e

#: Every Plotly chart of the page, in page order: those of st.plotly_chart and those drawn in the page's own chart
#: component's frames (ui/plotly_lite).
_PLOTS = """[document, ...[...document.querySelectorAll('iframe')].map(f => f.contentDocument).filter(Boolean)]
  .flatMap(d => [...d.querySelectorAll('.js-plotly-plot')])"""

#: Per chart: its title and [drawn size (l, r, t, b)] against [the margins the figure asked for].
_MARGINS = f"""() => {_PLOTS}.map(el => {{
  const fl = el._fullLayout, s = fl._size, m = fl.margin;
  return {{title: fl.title.text, drawn: [s.l, s.r, s.t, s.b].map(Math.round), asked: [m.l, m.r, m.t, m.b]}};
}})"""

#: The fill of every bar: Streamlit's Plotly template names its colours by placeholders (#000001...), which the
#: chart component must replace by the theme's.
_BAR_FILLS = f"() => {_PLOTS}.flatMap(el => [...el.querySelectorAll('g.point path')].map(p => p.style.fill))"

#: Labels longer than the demo data's, so a fixed margin would not do.
USERS = ("alice", "bob", "a.very.long.user.name@example.com")
ERRORS = ("timeout", "rate_limited", "provider_unavailable")


def seed(db: Path) -> None:
    tracker = UsageTracker(db)
    now = time.time()
    rows: list[dict[str, Any]] = []
    for i in range(90):
        failed = i % 9 == 0
        rows.append(
            {
                "task_type": ("cv_parsing", "cv_tailoring", "cover_letter", "job_matching", "fast_summary")[i % 5],
                "provider": ("openai", "gemini", "groq", "local")[i % 4],
                "model": "m",
                "input_tokens": 1000 + 37 * i,
                "output_tokens": 200 + 11 * i,
                "cost_usd": 0.0 if failed else 0.0123 * (i % 7 + 1),
                "baseline_cost_usd": 0.02 * (i % 5 + 1),
                "success": not failed,
                "error_kind": ERRORS[i % 3] if failed else None,
                "user_id": USERS[i % 3],
                "latency_ms": 300 + 41 * i,
                "ts": now - (i % 23) * 3600 - 60,
            }
        )
    tracker.record_many(rows)
    tracker.close()


#: The sections a new session shows closed (ui/usage_data.py SECTIONS): their charts and tables are not sent.
CLOSED = tuple(label for _key, label, opened in SECTIONS if not opened)


@contextmanager
def _browser_on(tmp_path: Path, script: str = "app.py") -> Iterator[tuple[Any, str]]:
    """A page in Chromium and the URL of `streamlit run <script>` over the seeded DB; the browser closed after."""
    from playwright.sync_api import sync_playwright

    seed(tmp_path / "usage.db")
    with streamlit_app(tmp_path, script=script) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page, url
        finally:
            browser.close()


def _open_usage(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/usage")
    expect(page.get_by_text("Recent calls").first).to_be_visible(timeout=TIMEOUT_MS)


def _click_until(page: Any, target: Any, shown: Any, attempts: int = 3) -> None:
    """Click the middle of `target` (through Plotly's drag layer above it) once it has stopped moving, until `shown`
    is visible. A section that has just opened may still be sliding down, so a click can land where the bar was; the
    click is then made again, at most `attempts` times."""
    from playwright.sync_api import Error, expect

    for attempt in range(attempts):
        target.scroll_into_view_if_needed()
        box, before = target.bounding_box(), None
        while box != before:  # still moving: read again
            before = box
            page.wait_for_timeout(200)
            box = target.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        try:
            expect(shown).to_be_visible(timeout=TIMEOUT_MS // attempts)
            return
        except (AssertionError, Error):
            if attempt == attempts - 1:
                raise


def _open_every_section(page: Any) -> None:
    from playwright.sync_api import expect

    for label in CLOSED:
        page.locator('[data-testid="stExpander"] summary').filter(has_text=label).first.click()
        expect(page.locator('[data-testid="stExpander"] details[open]').filter(has_text=label).first).to_be_visible()
    expect(page.get_by_role("button", name="Download CSV of the filtered calls")).to_be_visible()


def _charts_drawn(page: Any, count: int) -> None:
    page.wait_for_function(
        f"n => {_PLOTS}.filter(el => el._fullLayout && el.querySelector('.main-svg')).length >= n",
        arg=count,
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(500)  # a widened margin shows up as a second draw shortly after the first


@pytest.mark.parametrize("window", ["Last 24 h", "Last 30 d"])
def test_usage_charts_fit_their_labels_so_each_is_drawn_once(tmp_path: Path, window: str) -> None:
    from playwright.sync_api import expect

    with _browser_on(tmp_path) as (page, url):
        _open_usage(page, url)
        if window != "Last 24 h":
            box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Date range").first
            box.get_by_role("combobox").first.click()
            page.get_by_role("option", name=window, exact=True).first.click()
            expect(page.get_by_text(f"Cost ({window.lower()})").first).to_be_visible(timeout=TIMEOUT_MS)
        _open_every_section(page)
        _charts_drawn(page, 8)
        charts = page.evaluate(_MARGINS)
    assert 8 == len(charts)
    widened = [c for c in charts if c["drawn"] != c["asked"]]
    assert [] == widened


def test_streamlit_run_serve_py_serves_the_same_app_warmed(tmp_path: Path) -> None:
    """`streamlit run serve.py` (st.App with a lifespan hook that warms the usage page's default view) serves the
    same pages as `streamlit run app.py`: the CV page first, then the usage page."""
    from playwright.sync_api import expect

    with _browser_on(tmp_path, script="serve.py") as (page, url):
        page.goto(url)
        expect(page.get_by_role("heading", name="Your CV")).to_be_visible(timeout=TIMEOUT_MS)
        _open_usage(page, url)
        _charts_drawn(page, 1)
        assert 0 == page.locator('[data-testid="stException"]').count()
        tile = page.locator(".usage-headline .tile").filter(has_text="Requests").first
        assert "Requests\n90" in tile.inner_text()
    log = (tmp_path / "streamlit.log").read_text()
    assert "Traceback" not in log


def test_a_new_session_draws_the_first_view_and_a_click_opens_the_calls_it_filters(tmp_path: Path) -> None:
    """The first view: the headline and the cost over time, no other chart and no calls table. Opened, the breakdown
    draws its three charts; a click on a provider's bar opens Recent calls, listing that provider's calls only, and
    the charts stay where they were."""
    from playwright.sync_api import expect

    with _browser_on(tmp_path) as (page, url):
        _open_usage(page, url)
        _charts_drawn(page, 1)
        first_view = [c["title"] for c in page.evaluate(_MARGINS)]
        assert 0 == page.locator('[data-testid="stDataFrame"]').count()
        summaries = page.locator('[data-testid="stExpander"] summary')
        summaries.filter(has_text="Cost by provider and task").first.click()
        _charts_drawn(page, 4)
        titles = [c["title"] for c in page.evaluate(_MARGINS)]
        fills = set(page.evaluate(_BAR_FILLS))  # the task bars take the template's colours
        bars = next(  # a frame of the page's chart component (ui/plotly_lite)
            frame.locator(".js-plotly-plot")
            for frame in page.frames
            if frame.locator(".js-plotly-plot").filter(has_text="Cost by provider").count()
        )
        _click_until(page, bars.locator("g.point path").first, page.get_by_text("Showing the calls of").first)
        table = (
            page.locator('[data-testid="stExpander"]')
            .filter(has_text="Recent calls")
            .locator('[data-testid="stDataFrame"]')
        )
        expect(table.first).to_be_visible(timeout=TIMEOUT_MS)
        note = page.get_by_text("Showing the calls of").first.inner_text()
        page.get_by_role("button", name="Clear filter").click()
        expect(page.get_by_text("Showing the calls of")).to_have_count(0)
        _click_until(page, bars.locator("g.point path").first, page.get_by_text("Showing the calls of").first)
        again = page.get_by_text("Showing the calls of").first.inner_text()  # the same bar again: the same filter
        assert 0 == page.locator('[data-testid="stException"]').count()
        assert titles == [c["title"] for c in page.evaluate(_MARGINS)][: len(titles)]
    assert 1 == len(first_view) and "Cost over time by provider (USD)" in first_view[0]  # Plotly keeps it: <b>…</b>
    assert 4 == len(titles)
    assert fills and not [f for f in fills if f.startswith("rgb(0, 0, ")], fills  # the theme's colours
    assert any(f"provider {p}" in note for p in ("openai", "gemini", "groq", "local")), note
    assert note == again


def test_a_label_written_as_a_link_is_shown_as_text(tmp_path: Path) -> None:
    """A user named with an <a href> (any text of a chart is data): Plotly would draw it as a link; the page's charts
    show its text only, and the browser asks nothing of the outside."""
    from playwright.sync_api import expect

    tracker = UsageTracker(tmp_path / "usage.db")
    link = '<a href="https://example.com/x">click me</a>'
    row = {"task_type": "cv_parsing", "provider": "openai", "model": "m", "input_tokens": 10, "output_tokens": 5,
           "cost_usd": 0.5, "success": True, "latency_ms": 100, "user_id": link, "ts": time.time() - 600}  # fmt: skip
    tracker.record_many([row])
    tracker.close()
    with _browser_on(tmp_path) as (page, url):
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
        _open_usage(page, url)
        page.locator('[data-testid="stExpander"] summary').filter(has_text="Users").first.click()
        _charts_drawn(page, 2)
        users = next(f.locator(".js-plotly-plot") for f in page.frames if f.get_by_text("click me").count())
        expect(users.get_by_text("click me").first).to_be_visible()
        drawn = sum(frame.locator("a").count() for frame in page.frames[1:])
        users.locator("g.point path").first.hover(force=True)  # its hover label names the user too
        page.wait_for_timeout(300)
        hovered = sum(frame.locator("a").count() for frame in page.frames[1:])
    assert (0, 0, []) == (drawn, hovered, outside)
