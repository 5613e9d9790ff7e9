"""In a real browser (Debian's chromium through Playwright): deep links, the network-served settings password, keys.

Each test starts its own `streamlit run app.py`, because what is checked depends on a fresh server (the first page a
fresh server serves, or the address it is bound to).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.config import hash_password
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, TIMEOUT_MS, _free_port, _wait_healthy

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
KEY = "sk-browser-test-key-abcdefghijklmnop-7q9Z"


@contextmanager
def streamlit_app(tmp_path: Path, *, address: str = "127.0.0.1", config: str = "") -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; install Debian's chromium package (CI does)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    port = _free_port()
    (tmp_path / "cv_copilot.toml").write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GEMINI_", "GROQ_", "GROK_", "XAI_"))}
    env.update(
        CV_COPILOT_DB=str(tmp_path / "usage.db"),
        CV_COPILOT_CONFIG=str(tmp_path / "cv_copilot.toml"),
        CV_COPILOT_NO_DOTENV="1",
        PYTHONPATH=str(ROOT),
    )
    log_path = tmp_path / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
        "--server.address", address, "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def browser_page() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


@pytest.mark.parametrize(("path", "heading"), [("usage", "Usage"), ("tailor", "Tailor your CV")])
def test_a_deep_link_right_after_start_shows_the_apps_navigation_and_sidebar(tmp_path, path, heading):
    from playwright.sync_api import expect

    with streamlit_app(tmp_path) as url, browser_page() as page:
        page.goto(f"{url}/{path}")  # the first page this server serves
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        nav = page.locator('[data-testid="stSidebarNav"]')
        expect(nav.get_by_text("Job seeker")).to_be_visible()  # the app's sections, not a raw file list
        expect(nav.get_by_role("link", name="Compare providers")).to_be_visible()
        expect(page.get_by_role("textbox", name="Your name")).to_be_visible()  # the app's shared sidebar
        assert 0 == nav.get_by_role("link", name="cover letter", exact=True).count()


def test_served_on_a_network_the_settings_page_asks_for_the_password(tmp_path):
    from playwright.sync_api import expect

    config = f'[security]\nsettings_password_hash = "{hash_password(PASSWORD)}"\n'
    with streamlit_app(tmp_path, address="0.0.0.0", config=config) as url, browser_page() as page:
        page.goto(f"{url}/settings")
        expect(page.get_by_label("Settings password")).to_be_visible()
        assert 0 == page.get_by_role("button", name="Save budgets").count()
        page.get_by_label("Settings password").fill("wrong password")
        page.get_by_role("button", name="Unlock settings").click()
        expect(page.get_by_text("Wrong password")).to_be_visible()
        page.get_by_label("Settings password").fill(PASSWORD)
        page.get_by_role("button", name="Unlock settings").click()
        expect(page.get_by_role("button", name="Save budgets")).to_be_visible()
        assert PASSWORD not in page.content()


def test_a_used_key_is_not_in_the_page_html(tmp_path):
    from playwright.sync_api import expect

    with streamlit_app(tmp_path) as url, browser_page() as page:
        page.goto(f"{url}/settings")
        page.get_by_text("Enter an API key").click()
        page.get_by_label("API key", exact=True).fill(KEY)
        page.get_by_role("button", name="Use this key").click()
        expect(page.get_by_text("set for this session")).to_be_visible()
        expect(page.get_by_label("API key", exact=True)).to_have_value("")
        html = page.content()
        assert (KEY not in html, KEY[-4:] in html) == (True, True)
