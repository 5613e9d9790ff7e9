"""In a real browser (Debian's chromium through Playwright): deep links, the network-served settings password, keys.

Each test starts its own `streamlit run app.py`, because what is checked depends on a fresh server (the first page a
fresh server serves, or the address it is bound to).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.config import hash_password
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, streamlit_app

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
KEY = "sk-browser-test-key-abcdefghijklmnop-7q9Z"


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
