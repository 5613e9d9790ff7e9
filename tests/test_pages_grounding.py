"""The CV page tells the user what grounding did with a real small model's parse.

A loopback OpenAI-compatible server replays what SmolLM2-135M-Instruct answered (through llama.cpp, with a JSON
schema grammar) when asked to parse a nurse's CV: the CV's education line as the employer of two jobs, "education"
(a heading) as the degree, the CV's own job title and employer as skills (tests/fixtures/llm_replies/smollm2/
nurse__parse__schema.json). The page must say which values it left out and where the ones it shows came from, and
the CV it keeps must be the grounded one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from core import local
from tests import llm_replay
from tests.apptest import open_page
from tests.fakes import LoopbackServer

RECORDING = llm_replay.HERE / "smollm2" / "nurse__parse__schema.json"


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """Every task routed to `custom`, a loopback server that answers with the recording."""
    config = Path(os.environ["CV_COPILOT_CONFIG"])
    config.write_text(llm_replay.CONFIG.format(timeout=10, call_timeout=40), encoding="utf-8")
    with LoopbackServer() as server:
        llm_replay.serve(server, llm_replay.load(RECORDING))
        monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", f"{server.url}/v1")
        monkeypatch.setenv("OPENAI_COMPAT_MODEL", "smollm2-135m-instruct")
        st.cache_data.clear()
        st.cache_resource.clear()
        yield server
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_cv_page_shows_what_grounding_left_out_and_replaced(model: LoopbackServer) -> None:
    cv_text = llm_replay.CASES["nurse"].cv_text
    at = open_page("app_pages/cv.py")
    at.text_area(key="cv_paste").input(cv_text)
    at.button(key="cv_parse").click()
    at.run(timeout=60)
    assert not at.exception, at.exception
    assert 1 == len(model.requests_for("/v1/chat/completions"))
    shown = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]  # as read: Markdown escapes undone
    for line in (
        "Name: the model left it empty; used “Grace Okoye” from your CV.",
        "Employer: the model's “BSc (Hons) Adult Nursing, University of Bradford,” is a degree, not an employer, "
        "so it was left out.",
        "Experience: the model gave none that is in your CV; used the entries read from your CV offline.",
        "Degree: the model's “education” is a heading of your CV, not a value, so it was left out.",
        "Skill: the model's “staff nurse” is an employer, job title or name in your CV, not a skill, so it was left "
        "out.",
    ):
        assert any(line in w for w in shown), (line, shown)
    assert any("Answered by custom" in c.value for c in at.caption)
    cv = at.session_state["cv"]
    offline = local.parse_cv(cv_text)
    assert "Grace Okoye" == cv["basics"]["name"]
    assert [j["name"] for j in offline["work"]] == [j["name"] for j in cv["work"]]
    assert "BSc (Hons) Adult Nursing, University of Bradford," not in [j["name"] for j in cv["work"]]
