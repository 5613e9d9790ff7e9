"""One real-browser run: `streamlit run app.py` in a subprocess, Chromium via Playwright, the job seeker's path.

Paste a CV, parse it, see its e-mail; tailor it to a job; open the usage page. Needs Debian's chromium
(/usr/bin/chromium, or CHROMIUM_PATH); skipped with a reason when it is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_ai_service import CV_TEXT, JOB

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy in {seconds} s:\n{log_path.read_text(errors='replace')}")


@contextmanager
def streamlit_server(
    root: Path, env: dict[str, str], log_path: Path, *, address: str = "127.0.0.1", script: str = "app.py"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`streamlit run app.py` (or `script`) from `root` on a free port, with exactly `env`, its output in `log_path`:
    the URL once it answers its health check, and the process (the bench reads its CPU time). Stopped on exit."""
    port = _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true", "--server.port", str(port),
        "--server.address", address, "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def streamlit_app(
    tmp_path: Path,
    *,
    address: str = "127.0.0.1",
    config: str | None = None,
    env: dict[str, str] | None = None,
    script: str = "app.py",
) -> Iterator[str]:
    """A fresh `streamlit run app.py` on its own port and DB (skipped without Chromium or Playwright); its URL.
    `env` adds to the environment the app starts with (no provider key or URL is passed on from this one)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; install Debian's chromium package (CI does)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if config is not None:
        (tmp_path / "cv_copilot.toml").write_text(config, encoding="utf-8")
    app_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GEMINI_", "GROQ_", "GROK_", "XAI_"))
    }
    app_env.update(
        CV_COPILOT_DB=str(tmp_path / "usage.db"),
        CV_COPILOT_CONFIG=str(tmp_path / "cv_copilot.toml"),
        CV_COPILOT_NO_DOTENV="1",
        PYTHONPATH=str(ROOT),
        **(env or {}),
    )
    with streamlit_server(ROOT, app_env, tmp_path / "streamlit.log", address=address, script=script) as (url, _proc):
        yield url


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    with streamlit_app(tmp_path) as url:
        yield url


def _no_exception(page) -> None:  # type: ignore[no-untyped-def]
    assert 0 == page.locator('[data-testid="stException"]').count()


@contextmanager
def app_page(url: str, requests: list[str] | None = None) -> Iterator[Any]:
    """Chromium showing the app's first page (the CV page, drawn); `requests` collects every URL the page fetches."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # a first page run imports pandas and Plotly: slow on a busy machine
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            if requests is not None:
                context.on("request", lambda request: requests.append(request.url))
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            expect(page.get_by_role("heading", name="Your CV")).to_be_visible()
            yield page
        finally:
            browser.close()


def parse_pasted(page: Any, cv_text: str, provider: str) -> None:
    """Paste `cv_text`, press "Parse CV" and wait until the page says which provider answered."""
    from playwright.sync_api import expect

    page.get_by_label("Paste your CV").fill(cv_text)
    page.get_by_role("button", name="Parse CV").click()
    expect(page.get_by_text(f"Answered by {provider}").first).to_be_visible()


def test_job_seeker_path_in_a_real_browser(app_url: str) -> None:
    from playwright.sync_api import expect

    with app_page(app_url) as page:
        parse_pasted(page, CV_TEXT, "local")
        expect(page.get_by_text("jane.doe@example.com").first).to_be_visible()
        _no_exception(page)

        page.get_by_role("link", name="Tailor").first.click()
        expect(page.get_by_role("heading", name="Tailor your CV")).to_be_visible()
        page.get_by_label("Job description").fill(JOB)
        page.get_by_role("button", name="Tailor my CV").click()
        expect(page.get_by_text("ATS keyword coverage before")).to_be_visible()
        expect(page.get_by_text("Answered by local").first).to_be_visible()
        _no_exception(page)

        page.get_by_role("link", name="Usage").first.click()
        page.wait_for_url("**/usage")
        page.wait_for_load_state("networkidle")
        expect(page.locator('[data-testid="stSidebar"]')).to_be_visible()
        page.wait_for_timeout(1000)
        _no_exception(page)
