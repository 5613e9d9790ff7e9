"""A hostile model in a real browser: Chromium opens the app, whose provider (a loopback OpenAI-compatible fake)
answers with Markdown images and links in every field. Every network request the page makes is recorded: none may
leave 127.0.0.1 (an image would carry the CV's name and e-mail to a stranger the moment the page draws)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.test_browser import _no_exception, app_page, parse_pasted, streamlit_app
from tests.fakes import LoopbackServer, Script
from tests.test_ai_service import JOB
from tests.test_pages_hostile import CV_WITH_URL, hostile_letter, hostile_match, hostile_parse, hostile_tailor

pytestmark = pytest.mark.e2e


@pytest.fixture
def hostile_app(tmp_path: Path) -> Iterator[tuple[str, LoopbackServer]]:
    with LoopbackServer(Script(text=hostile_parse())) as server:
        env = {"OPENAI_API_KEY": "sk-test-0123456789abcdef0123", "OPENAI_BASE_URL": f"{server.url}/v1"}
        with streamlit_app(tmp_path, env=env) as url:
            yield url, server


def test_hostile_model_output_makes_no_request_outside_this_machine(hostile_app: tuple[str, LoopbackServer]) -> None:
    from playwright.sync_api import expect

    url, server = hostile_app
    requests: list[str] = []
    with app_page(url, requests) as page:
        parse_pasted(page, CV_WITH_URL, "openai")
        _no_exception(page)

        server.default.text = hostile_tailor()
        page.get_by_role("link", name="Tailor").first.click()
        page.get_by_label("Job description").fill(JOB)
        page.get_by_role("button", name="Tailor my CV").click()
        expect(page.get_by_text("ATS keyword coverage before")).to_be_visible()
        page.get_by_role("tab", name="Tailored CV").click()
        tailored = page.locator('[data-testid="stMarkdownContainer"]', has_text="Python engineer for Globex.")
        expect(tailored.last).to_be_visible()
        _no_exception(page)

        server.default.text = hostile_letter()
        page.get_by_role("link", name="Cover letter").first.click()
        page.get_by_label("Job description").fill(JOB)
        page.get_by_label("Company").fill("Globex Corporation")
        page.get_by_role("button", name="Write my letter").click()
        expect(page.get_by_label("Your letter (edit freely before downloading)")).to_be_visible()
        _no_exception(page)

        server.default.text = hostile_match()
        page.get_by_role("link", name="Job match").first.click()
        page.get_by_label("Job descriptions (separate several with a line of ---)").fill(JOB)
        page.get_by_role("button", name="Match", exact=True).click()
        expect(page.locator('[data-testid="stExpander"]').first).to_be_visible()
        for toggle in page.locator('[data-testid="stExpander"] summary').all():
            toggle.click()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        _no_exception(page)
    hosts = {urlsplit(u).hostname for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert requests, "no request was recorded at all"
    assert {"127.0.0.1"} == hosts, sorted(u for u in requests if urlsplit(u).hostname != "127.0.0.1")
