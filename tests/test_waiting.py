"""While a call is in flight a page shows who it waits for and for how long; stopping the wait cancels the call
(one `cancelled` usage row) and the rerun answers with the offline engine. Against slow servers on 127.0.0.1."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

from core import local
from core.aio import spawn
from core.base import TaskType
from tests.apptest import open_page
from tests.fakes_slow import SlowServer
from tests.test_ai_service import CV_TEXT
from tests.test_router_endings import make_router, outcomes
from ui import waiting

JOB = "Data engineer at Acme Corp. Python, SQL and Kubernetes required; Airflow is a plus."


class Rerun(BaseException):
    """What Streamlit raises at an st.* call when the user clicked something during the run."""


@pytest.mark.parametrize(
    ("provider", "elapsed", "expected"),
    [("openai", 3.41, "Waiting for openai… 3.4 s"), ("gemini", 0.0, "Waiting for gemini… 0.0 s")],
)
def test_status_text(provider: str, elapsed: float, expected: str) -> None:
    assert expected == waiting.status_text(provider, elapsed)


def test_a_stopped_wait_cancels_the_call_and_records_it_cancelled(tmp_path: Path) -> None:
    with SlowServer("keepalive", interval=0.1) as slow:
        router = make_router(tmp_path, {"openai": f"{slow.url}/openai"}, "[providers.openai]\ntimeout = 30\n")
        future = spawn(router.generate(TaskType.CV_PARSING, "Parse this CV.", use_cache=False))
        shown: list[float] = []

        def show() -> None:
            shown.append(time.monotonic())
            if len(shown) >= 4 and slow.requests:  # the request is at the provider (a busy machine takes a while)
                raise Rerun

        with pytest.raises(Rerun):
            waiting.poll(future, show, interval=0.1)
        assert future.cancelled()
        deadline = time.monotonic() + 5
        while not router.tracker.records and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert 1 == len(slow.requests)
    assert [("openai", "cancelled")] == outcomes(router) == router.tracker.outcomes_in_file()  # type: ignore[attr-defined]
    gaps = [b - a for a, b in itertools.pairwise(shown)]
    assert 0.05 < min(gaps) and sorted(gaps)[len(gaps) // 2] < 0.5  # drawn about every interval while waiting


def test_a_wait_stopped_by_leaving_the_page_lets_the_call_finish(tmp_path: Path) -> None:
    """Any stop but the stop button (the user went to another page): the call runs on and its result is kept."""
    router = make_router(tmp_path, {})
    future = spawn(router.generate(TaskType.CV_PARSING, CV_TEXT, use_cache=False))

    def show() -> None:
        raise Rerun

    with pytest.raises(Rerun):
        waiting.poll(future, show, interval=0.05, cancel=False)
    assert ("local", False) == (future.result(timeout=30).provider, future.cancelled())


def test_a_finished_call_is_returned_and_not_cancelled(tmp_path: Path) -> None:
    router = make_router(tmp_path, {})
    future = spawn(router.generate(TaskType.CV_PARSING, CV_TEXT, use_cache=False))
    response = waiting.poll(future, lambda: None, interval=0.05)
    assert ("local", False) == (response.provider, future.cancelled())


@pytest.fixture
def slow_openai(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SlowServer]:
    """OpenAI at a server that never answers; the attempt's deadline (1.5 s) ends it and the offline engine answers."""
    (tmp_path / "cv_copilot.toml").write_text("[providers.openai]\ntimeout = 1.5\n", encoding="utf-8")
    with SlowServer("keepalive", interval=0.2) as slow:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef0123")
        monkeypatch.setenv("OPENAI_BASE_URL", f"{slow.url}/v1")
        st.cache_data.clear()
        st.cache_resource.clear()
        yield slow
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def status_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every status line drawn while a page waits (waiting.status_text spied on), in order."""
    texts: list[str] = []
    real = waiting.status_text

    def spy(provider: str, elapsed: float) -> str:
        texts.append(real(provider, elapsed))
        return texts[-1]

    monkeypatch.setattr(waiting, "status_text", spy)
    return texts


#: (page, key, the input box, what to type in it, the page's CV: none for the CV page, which makes it)
PAGES = [
    ("app_pages/tailor.py", "tailor", "tailor_job", JOB, True),
    ("app_pages/cover_letter.py", "letter", "letter_job", JOB, True),
    ("app_pages/cv.py", "cv", "cv_paste", CV_TEXT, False),
    ("app_pages/match.py", "match", "match_jobs", JOB, True),
]


def _provider(at: Any, key: str) -> str:
    """Who answered the page's call, from what the page keeps of it."""
    s = at.session_state
    if key == "tailor":
        return str(s["tailor_result"]["meta"]["provider"])
    if key == "letter":
        return str(s["letter_meta"].meta["provider"])
    if key == "cv":
        return str(s["cv_meta"]["provider"])
    return str(s["match_result"]["record"].provider)


@pytest.mark.parametrize(("page", "key", "box", "text", "with_cv"), PAGES)
def test_the_page_shows_who_it_waits_for_and_for_how_long(
    slow_openai: SlowServer, status_texts: list[str], page: str, key: str, box: str, text: str, with_cv: bool
) -> None:
    at = open_page(page, local.parse_cv(CV_TEXT) if with_cv else None)
    at.text_area(key=box).set_value(text)
    button = "cv_parse" if key == "cv" else f"{key}_run"
    at.button(key=button).click().run(timeout=60)
    assert not at.exception, at.exception
    assert 1 <= len(slow_openai.requests)
    waits = [t for t in status_texts if t.startswith("Waiting for openai… ")]
    assert len(waits) >= 4  # drawn every ~0.25 s through the 1.5 s the provider took
    assert float(waits[-1].split("… ")[1].removesuffix(" s")) >= 1.0
    assert [] == [b for b in at.button if b.label == waiting.STOP_LABEL]  # gone once answered
    assert any(" answered in " in c.value for c in at.caption)
    assert "local" == _provider(at, key)  # the provider's deadline ended the wait; the offline engine answered


@pytest.mark.parametrize(("page", "key", "box", "text", "with_cv"), PAGES)
def test_after_stop_waiting_the_rerun_answers_offline(
    slow_openai: SlowServer, page: str, key: str, box: str, text: str, with_cv: bool
) -> None:
    at = open_page(page, local.parse_cv(CV_TEXT) if with_cv else None)
    at.text_area(key=box).set_value(text)
    at.session_state[f"{key}_use_offline"] = True  # what the stop button's click leaves for the rerun
    at.run(timeout=60)
    assert not at.exception, at.exception
    assert [] == slow_openai.requests  # no provider was asked again
    assert "local" == _provider(at, key)
    assert any(c.value.startswith("The offline engine answered in ") for c in at.caption)
    assert f"{key}_use_offline" not in at.session_state  # only that one run


def _runner_page() -> None:
    """A page whose one action parses the CV in the session through `waiting.runner` (AppTest runs this source)."""
    import streamlit as st

    from core.ai_service import record_of
    from core.base import TaskType
    from ui import waiting

    wait = waiting.runner("demo", TaskType.CV_PARSING)
    parsed = wait.run(wait.svc.parse_cv(st.session_state["demo_text"]))
    st.session_state["demo_answered_by"] = getattr(record_of(parsed), "provider", None)


@pytest.mark.parametrize("stopped", [False, True])
def test_a_runner_ties_its_key_to_the_service_and_the_wait(
    slow_openai: SlowServer, status_texts: list[str], monkeypatch: pytest.MonkeyPatch, stopped: bool
) -> None:
    """Not stopped: the provider is asked, the wait is shown with its stop button (keyed by the runner's key) until
    the provider's deadline, then the offline engine answers. Stopped (the runner's key flagged by a stop on the last
    run): no provider is asked, no wait or stop button is drawn, and the flag is used up."""
    from streamlit.testing.v1 import AppTest

    buttons: list[str] = []
    real_button = st.delta_generator.DeltaGenerator.button

    def button(self: Any, label: str, *args: Any, **kw: Any) -> Any:  # each button: key, label, what a click calls
        buttons.append(f"{kw.get('key')}: {label} -> {getattr(kw.get('on_click'), '__name__', None)}{kw.get('args')}")
        return real_button(self, label, *args, **kw)

    monkeypatch.setattr(st.delta_generator.DeltaGenerator, "button", button)
    at = AppTest.from_function(_runner_page, default_timeout=60)
    at.session_state["demo_text"] = CV_TEXT
    if stopped:
        at.session_state["demo_use_offline"] = True
    at.run()
    assert not at.exception, at.exception
    assert "local" == at.session_state["demo_answered_by"]
    assert "demo_use_offline" not in at.session_state
    assert [] == [b for b in at.button if b.label == waiting.STOP_LABEL]  # gone once answered
    if stopped:
        assert ([], [], []) == (slow_openai.requests, status_texts, buttons)
        assert any(c.value.startswith("The offline engine answered in ") for c in at.caption)
    else:
        assert 1 <= len(slow_openai.requests)
        assert len([t for t in status_texts if t.startswith("Waiting for openai… ")]) >= 4
        assert [f"demo_stop: {waiting.STOP_LABEL} -> _choose_offline('demo',)"] == buttons
        assert any(" answered in " in c.value for c in at.caption)
