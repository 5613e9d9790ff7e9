"""What the app does with a real small model's replies: recorded wire bodies replayed through a loopback server.

tests/fixtures/llm_replies/smollm2/ holds what SmolLM2-135M-Instruct, served by llama.cpp (llama-cpp-python's
OpenAI-compatible server), answered to the app's own prompts for seven short CVs (see README.md there). Each
recording is replayed, byte for byte and in order, by a LoopbackServer speaking the OpenAI format
(tests/llm_replay.py); the real router (`custom` provider) and AIService make the same calls as at recording time,
and the tests assert what the user is shown:
- a parse keeps only values found in the CV, replaces the rest by the offline parser's or drops them, and says which;
- a tailored CV keeps no employer, school, degree or skill the CV does not have;
- a letter, e-mail or summary that echoes the prompt or markup, is in another language than the job, or names
  neither company nor role is refused, asked for once more, then answered offline with a notice; one that passes
  is shown as the model wrote it.
Every recording is asserted on: a new one fails `test_every_recording_is_asserted_on` until it is.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from core import local
from core.grounding import describe, describe_parsed
from tests import llm_replay

MODEL_DIR = "smollm2"
FIXTURES = sorted((llm_replay.HERE / MODEL_DIR).glob("*__*.json"))
STEMS = [p.stem for p in FIXTURES]
ECHO_MARKS = re.compile(r"<\s*/?\s*(cv|job_description|text)\s*>|\{\s*\"(basics|work|skills)\"|```|You are CV Copilot")
PLACEHOLDERS = re.compile(r"\[[^\]\n]*(?i:name|company|date|title)[^\]\n]*\]")


@pytest.fixture(scope="module")
def replays(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Each recording replayed once per module (a replay is deterministic: the same bodies, the same app)."""
    done: dict[str, llm_replay.Replay] = {}

    def get(stem: str) -> llm_replay.Replay:
        if stem not in done:
            fixture = llm_replay.load(llm_replay.HERE / MODEL_DIR / f"{stem}.json")
            done[stem] = llm_replay.replay(fixture, tmp_path_factory.mktemp(stem))
        return done[stem]

    return get


def test_every_recording_is_asserted_on() -> None:
    assert len(STEMS) >= 24
    tables = [set(TEXT_EXPECTED), set(PARSE_EXPECTED), set(TAILOR_EXPECTED)]
    assert set(STEMS) == set().union(*tables)
    assert sum(len(t) for t in tables) == len(STEMS)  # each in one table only


# --- the recordings themselves --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=STEMS)
def test_fixture_holds_real_wire_bodies_and_says_how_it_was_made(path: Path) -> None:
    fixture = llm_replay.load(path)
    assert fixture["exchanges"]
    assert ("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf") == (fixture["model"], fixture["model_file"])
    assert fixture["server"].startswith("llama-cpp-python 0.3.36")
    assert re.fullmatch(r"2026-\d\d-\d\dT\d\d:\d\d:\d\dZ", fixture["recorded_at"])
    assert fixture["how"]
    for exchange in fixture["exchanges"]:
        assert (200, "/chat/completions") == (exchange["status"], exchange["path"])
        assert exchange["request"]["messages"] and exchange["prompt_sha256"]
        if exchange["request"].get("stream"):  # SSE: data events, and ": ping" comments while the model is slow
            lines = [line for line in exchange["body"].splitlines() if line]
            assert all(line.startswith(("data: ", ": ping")) for line in lines)
            assert "data: [DONE]" == lines[-1]
        else:
            assert "chat.completion" == json.loads(exchange["body"])["object"]


@pytest.mark.parametrize("path", [p for p in FIXTURES if "__schema" in p.stem], ids=lambda p: p.stem)
def test_a_schema_recording_says_what_was_added_to_the_apps_request(path: Path) -> None:
    fixture = llm_replay.load(path)
    assert "JSON schema" in fixture["how"]
    for exchange in fixture["exchanges"]:
        assert {"type": "json_object"} == exchange["response_format_from_app"]
        sent = exchange["request"]["response_format"]
        assert ("json_object", "object") == (sent["type"], sent["schema"]["type"])


@pytest.mark.parametrize("stem", STEMS)
def test_replay_makes_the_calls_of_the_recording(replays: Any, stem: str) -> None:
    got = replays(stem)
    recorded = [(bool(e["request"].get("stream")), "response_format" in e["request"]) for e in got.fixture["exchanges"]]
    made = [(bool(r.get("stream")), "response_format" in r) for r in got.requests]
    if stem in TEXT_EXPECTED and TEXT_EXPECTED[stem][1] is NOT_RECORDED:  # now refused: asked once more
        recorded.append(recorded[0])
    assert recorded == made
    # the same task asked the same way (the prompts' wording may have moved on since the recording)
    system = [e["request"]["messages"][0]["content"].split(".")[1] for e in got.fixture["exchanges"]]
    assert system == [r["messages"][0]["content"].split(".")[1] for r in got.requests][: len(system)]


# --- generated text: what each recorded reply was refused for, and what the user got instead ---------------------

ECHO, PLACEHOLDER, REPEATS = "echoes the prompt", "unfilled placeholders", "repeats"
NOT_RECORDED: list[str] = []  # the app of recording time accepted the first reply: there is no second one
ENGLISH = "it is in English, but"
NO_TARGET, NOTHING_FROM_CV, NOTHING_FROM_TEXT = (
    "names neither",
    "says nothing from the CV",
    "says nothing from the text",
)

#: stem → (why the first reply was refused, why the second was refused, who answered in the end).
#: Written from reading each recorded reply (tests/fixtures/llm_replies/smollm2/*.json); see README.md there.
#: No recorded letter, summary or e-mail of the small model passes the checks; a good reply being used as written is
#: tested with fakes (tests/test_ai_service.py: a bad letter is asked for again and a good second one is used).
TEXT_EXPECTED: dict[str, tuple[list[str], list[str], str]] = {
    # the letter began "<<refillable_v2: …>>\n\n<cv>\n"Grace Okoye, …" (the prompt's CV echoed back), then a
    # "revised version" signed "[Your Name] [Company Name] [Job Title] …"
    "nurse__letter": ([ECHO], [PLACEHOLDER], "local"),
    # streamed: the letter began `<cv>\n{"basics": {"name": "Grace Okoye", …` (the case); asked again, a
    # letter headed "[Company Name] [Date] 2023-10-07 [Job Description]"
    "nurse__letter_stream": ([ECHO], [PLACEHOLDER], "local"),
    # for a German job: `<cv>\n"""\n# This is a cover letter. …` in English, then an English "rewritten version"
    # that names the role only as "Backbone-Entwickler Python" (and invents ten years and a university)
    "german_developer__letter": ([ECHO, ENGLISH, NO_TARGET], [ENGLISH], "local"),
    # for a Spanish job: "Dear [Candidate's Name] and [Job Description], I am writing to provide you with a cover
    # letter …" in English, then "I'm glad you're happy with the cover letter. …" (a chat reply, not a letter)
    "spanish_analyst__letter": ([PLACEHOLDER, ENGLISH, NO_TARGET, NOTHING_FROM_CV], [ENGLISH, NO_TARGET], "local"),
    # "Draft a short email to the hiring manager at Example Freight Ltd … Dear [Hiring Manager's Name] [Your Name]
    # … Phone: [Phone]": English, names the company, echoes no prompt sentence word for word, so it was shown to the
    # user until the placeholder check; asked again, "I am an Accountant at [Example Freight Ltd]. …"
    "accountant__email": ([PLACEHOLDER], [PLACEHOLDER], "local"),
    # summarising the Spanish CV: "👨‍⚌️💡 Sí, este documento es de forma completa … No te dices "comercio" ni
    # "ventas"." looped three times until cut (shown to the user before the repetition check: Spanish, and it names
    # two of the CV's words); asked again, it echoed the retry instruction: "Your previous answer was rejected …"
    "spanish_analyst__summary": ([REPEATS], [ECHO, ENGLISH, NOTHING_FROM_TEXT], "local"),
    # summarising the German CV: its header and skills line copied back, ending "</text>" (the prompt's fence);
    # asked again, the header and "Python, Java, …, Python, Python, Python" until the cap, header again
    "german_developer__summary": ([ECHO], [REPEATS], "local"),
    # an e-mail for the German job in German, but ending "</job_description>" (the prompt's fence); asked again,
    # German again, ending with `<cv>\n{"basics": {"name": "Lukas Brenner", …` (the prompt's CV)
    "german_developer__email": ([ECHO], [ECHO], "local"),
    # streamed, for the German job: `<cv>\n"Lukas Brenner, Softwareentwickler …` in German, then two paragraphs
    # over and over until the cap; asked again, it copied the retry instruction back, in English
    "german_developer__letter_stream": ([ECHO, REPEATS, NO_TARGET], [ECHO, ENGLISH], "local"),
    # for the Spanish job: "Día 18 de junio, 2023, 2:57 PM … / Ejemplo Seguros S.A. / Ubicación: Madrid / Celda:
    # EJEMBLANDA / Para la apreciada: …" with the same short lines over and over until the cap. Spanish, names the
    # company, no markup, no sentence of six words twice: it was shown to the user as an e-mail until short lines
    # repeated counted as looping. The recording ends there (the app of the day accepted it); now the app asks once
    # more, the loopback server has no second reply (500), and the offline engine answers.
    "spanish_analyst__email": ([REPEATS], NOT_RECORDED, "local"),
    # streamed, for the Spanish job: "<<Cómo encontrar el cliente de la persona>>\n\n<cv>\n"Las personas están en
    # una cidade …" (Spanish, but the prompt's fence, paragraphs looping, nothing from the CV, neither company nor
    # role); asked again, an English chat reply quoting a letter to "[Recipient's Name]" from "[Company Name]"
    "spanish_analyst__letter_stream": (
        [ECHO, REPEATS, NOTHING_FROM_CV, NO_TARGET],
        [PLACEHOLDER, ENGLISH, NO_TARGET],
        "local",
    ),
}


def _retry_prompt(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


@pytest.mark.parametrize("stem", sorted(TEXT_EXPECTED))
def test_weak_generated_text_is_refused_asked_again_then_answered_offline(replays: Any, stem: str) -> None:
    first, second, final = TEXT_EXPECTED[stem]
    got = replays(stem)
    record, warnings = got.record, got.record.warnings
    asked_again = [w for w in warnings if "so it was asked once more" in w]
    assert 1 == len(asked_again), warnings
    assert [] == [why for why in first if why not in asked_again[0]]
    assert 2 == len(got.requests)
    assert len(got.fixture["exchanges"]) == (1 if second is NOT_RECORDED else 2)
    assert "Your previous answer was rejected because" in _retry_prompt(got.requests[1])
    assert [] == [why for why in first if why not in _retry_prompt(got.requests[1])]
    assert final == record.provider
    refused_again = [w for w in warnings if "so the offline engine answered" in w]
    assert 1 == len(refused_again), warnings
    assert [] == [why for why in second if why not in refused_again[0]]
    assert ["custom", "local"] == record.attempts
    assert record.notice.startswith("offline engine")
    shown = got.outcome.text
    assert ECHO_MARKS.search(shown) is None, shown[:300]
    assert PLACEHOLDERS.search(shown) is None, shown[:300]
    if got.fixture["task"] != "summary":
        said = _fold(shown)
        assert _fold(got.case.company) in said or _fold(got.case.role) in said
    for exchange in got.fixture["exchanges"]:  # what the model said is never what the user is shown
        assert llm_replay.content_of(exchange).strip()[:80] not in shown


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


# --- parsing: the model's JSON is checked against the CV text -----------------------------------------------------

# why a value was left out, as grounding.describe_parsed words it: "" = not in the CV
SHAPE, HEADING, DEGREE, OWN, NOT_A_SKILL = "shape", "heading", "degree, not", "employer, job title", "not a skill"
PIECED, NAME, NOT_A_GROUP, EMAIL = "pieced together", "your name", "not a skill group", "e-mail address"
OFFLINE = "offline"  # the whole section is the offline parser's


def _finding(kind: str, value: str, action: str, why: str = "") -> tuple[str, str, str, str]:
    return (kind, value, action, why)


def _replaced(kind: str) -> tuple[str, str, str, str]:
    return (kind, "", "replaced", OFFLINE)


GERMAN_NONSENSE = (
    "Ausführt einer Aufgaberei von Python und Java auf Linux, wie in Python-Python-Funktionen können nach Daten "
    "angebenen Softwareentwicklern beimleigehen. Sie sind"
)
AWESOME = "Awesome, amazing, amazing, amazing, awesome, " + ", ".join(["amazing"] * 13)  # the model's nurse summary

#: stem → (provider, the findings in order, skills the user gets from the model's own reply (None: the offline
#: parser's)). Written from reading each recorded reply.
PARSE_EXPECTED: dict[str, tuple[str, list[tuple[str, str, str, str]], list[str] | None]] = {
    # the app's prompt: the prompt's JSON shape handed back with every value "", twice (also to the repair prompt)
    "nurse__parse": ("local", [], None),
    "tech__parse": ("local", [], None),
    # the app's prompt, short CVs: JSON the model never closes ("skill_description_type" repeated until the cap,
    # slugged skills "menu-costing", "food-safety"), and the same to the repair prompt
    "chef__parse": ("local", [], None),
    # "work": [{…}, "education: 15, Skills: 20, …"] (not JSON), twice
    "teacher__parse": ("local", [], None),
    # "filled": the name "Sergeant", "sergent@example.com", employers "Sergeant" and "Manchester City Cafe,
    # Sommelier, 2020-12-31", "Samsung Electronics" as a school, and then a keyword string the grammar let run on
    # into `"]}]}\n</cv>\n\nA: The document, …`: not JSON, twice (also to the repair prompt), so none of it
    # reaches the user
    "chef__parse__schema_filled": ("local", [], None),
    # with the schema grammar: basics all "", one job with no employer or position but invented dates
    # ("2018-04-30" for a CV's "Jun 2018"), the shape's own words as degree and field ("degree", "field of study"),
    # made-up ones ("schools", "industry"), and two real skills, "food safety" and "stock control"
    "chef__parse__schema": (
        "custom",
        [
            *[_finding(k, "", "replaced") for k in ("name", "label", "email", "phone")],
            _replaced("work"),
            _finding("degree", "degree", "dropped", SHAPE),
            _finding("area", "field of study", "dropped", SHAPE),
            _finding("degree", "schools", "dropped"),
            _finding("area", "industry", "dropped"),
            _replaced("education"),
        ],
        ["food safety", "stock control"],
    ),
    # two jobs with no employer or position, the shape's words as degrees ("degree", "school"), skills all ""
    "teacher__parse__schema": (
        "custom",
        [
            *[_finding(k, "", "replaced") for k in ("name", "label", "email", "phone")],
            _replaced("work"),
            _finding("degree", "degree", "dropped", SHAPE),
            _finding("area", "field of study", "dropped", SHAPE),
            _finding("degree", "school", "dropped", SHAPE),
            _finding("area", "field of study", "dropped", SHAPE),
            _replaced("education"),
            _replaced("skills"),
        ],
        None,
    ),
    # skills group "group" (a word of the shape) and "language": ["Python", "go"]; a degree "skill" (found inside
    # the CV's heading "SKILLS" before grounding matched whole words only)
    "tech__parse__schema": (
        "custom",
        [
            *[_finding(k, "", "replaced") for k in ("name", "label", "email", "phone")],
            _replaced("work"),
            _finding("degree", "degree", "dropped", SHAPE),
            _finding("area", "field of study", "dropped", SHAPE),
            _finding("degree", "skill", "dropped", SHAPE),
            _finding("area", "industry", "dropped"),
            _replaced("education"),
            _finding("skill", "group", "dropped", SHAPE),
            # kept 2 of the CV's 8 skills: the other six are added from the offline parse
            _finding("skill", "PostgreSQL", "added"),
            _finding("skill", "Redis", "added"),
            _finding("skill", "Django", "added"),
            _finding("skill", "Docker", "added"),
            _finding("skill", "Kubernetes", "added"),
            _finding("skill", "AWS", "added"),
        ],
        ["Python", "go"],
    ),
    # the education line "BSc (Hons) Adult Nursing, University of Bradford," given as the employer of two identical
    # jobs (kept before: it is in the CV text), a position that joins two jobs, "education" (the CV's heading) as a
    # degree, the CV's own job title and employer as skills, and a highlight's first words as a skill group
    "nurse__parse__schema": (
        "custom",
        [
            *[_finding(k, "", "replaced") for k in ("name", "label", "email", "phone")],
            _finding("employer", "BSc (Hons) Adult Nursing, University of Bradford,", "dropped", DEGREE),
            _finding("employer", "BSc (Hons) Adult Nursing, University of Bradford,", "dropped", DEGREE),
            _replaced("work"),
            _finding("degree", "degree", "dropped", SHAPE),
            _finding("area", "field of study", "dropped", SHAPE),
            _finding("school", "BSc (Hons) Adult Nursing, University of Bradford,", "dropped", PIECED),
            _finding("degree", "education", "dropped", HEADING),
            _finding("area", "medical field", "dropped"),
            _replaced("education"),
            _finding("skill", "practice", "dropped"),
            _finding("skill", "caregiver", "dropped"),
            _finding("skill", "patient care", "dropped"),
            _finding("skill", "staff nurse", "dropped", OWN),
            _finding("skill", "example care homes", "dropped", OWN),
            _finding("skill", "Care for up to 7 post-op", "dropped", NOT_A_SKILL),
            _replaced("skills"),
        ],
        None,
    ),
    # with the "filled" schema (every key field must have a value): the candidate's own name as employer and as
    # school, an e-mail one letter short ("oliver.hartle@"), an invented phone "1234567890", "Frontend Developer at
    # Example Insurance Plc" (the CV's employer, an invented title), "Bristol" (a city) as employer and school,
    # "Education" (a heading) as degree, the CV's skills line as one keyword "Python, Go, Redis, Django"
    "tech__parse__schema_filled": (
        "custom",
        [
            _finding("label", "", "replaced"),
            _finding("email", "oliver.hartle@example.com", "replaced"),
            _finding("phone", "1234567890", "replaced"),
            _finding("employer", "Oliver Hartley", "dropped", NAME),
            _finding("position", "Frontend Developer at Example Insurance Plc", "dropped"),
            _finding("position", "Frontend Developer at Example Insurance Plc", "dropped"),
            _replaced("work"),
            _finding("degree", "Education", "dropped", HEADING),
            _finding("area", "Business and Finance", "dropped"),
            _finding("school", "Oliver Hartley", "dropped", NAME),
            _finding("degree", "Education", "dropped", HEADING),
            _finding("area", "Data Science", "dropped"),
            _replaced("education"),
            _finding("skill", "Bridgestown School of Data", "dropped", NOT_A_GROUP),
            _finding("skill", "Data Science", "dropped"),
            _finding("skill", "Business and Finance", "dropped"),
            _finding("skill", "Oliver Hartley", "dropped", OWN),
            # kept 4 of 8 (in one keyword "Python, Go, Redis, Django"): the other four are added
            _finding("skill", "PostgreSQL", "added"),
            _finding("skill", "Docker", "added"),
            _finding("skill", "Kubernetes", "added"),
            _finding("skill", "AWS", "added"),
        ],
        ["Python", "Go", "Redis", "Django"],
    ),
    # "filled": an invented e-mail "john_kelly@example.org" and phone "123-456-7890", a summary of "Awesome,
    # amazing, amazing, …", the candidate's name and "Awesome, amazing, …" as employers, "Bradford University" for
    # "University of Bradford", slugged and glued skills ("medical_drs.mjr1325086499", "HealthcareAidmentService")
    "nurse__parse__schema_filled": (
        "custom",
        [
            _finding("label", "", "replaced"),
            _finding("email", "john_kelly@example.org", "replaced"),
            _finding("phone", "123-456-7890", "replaced"),
            _finding("summary", AWESOME, "replaced"),
            _finding("employer", "Grace Okoye", "dropped", NAME),
            _finding("employer", "Awesome, amazing, amazing, awesome, Awesous, Awesu", "dropped"),
            _finding("employer", "Awesome, amazing, awesome, Awesous, Awesu", "dropped"),
            _replaced("work"),
            _finding("school", "Bradford University", "dropped"),
            _finding("degree", "Education", "dropped", HEADING),
            _replaced("education"),
            _finding("skill", "cure", "dropped"),
            _finding("skill", "surgery", "dropped"),
            _finding("skill", "Care for up to 7 post-opraids", "dropped", NOT_A_GROUP),
            _finding("skill", "medical_drs.mjr1325086499", "dropped"),
            _finding("skill", "studyType:", "dropped"),
            _finding("skill", "education", "dropped", HEADING),
            _finding("skill", "HealthcareAidmentService", "dropped"),
            _finding("skill", "Careers", "dropped"),
            _finding("skill", "Education", "dropped", HEADING),
            _finding("skill", "Cure", "dropped"),
            _finding("skill", "PatientCaregiverDrs.mjr1325086", "dropped"),
            _finding("skill", "Mentor student nurses on place", "dropped", NOT_A_SKILL),
            # kept only "patient" and "healthcare": the CV's own skills are added
            _finding("skill", "IV Therapy", "added"),
            _finding("skill", "Wound Care", "added"),
            _finding("skill", "NEWS2", "added"),
            _finding("skill", "Medication Administration", "added"),
            _finding("skill", "BLS", "added"),
        ],
        ["patient", "healthcare"],  # "patients" and "Healthcare Assistant" are in the CV: kept (fuzzily found)
    ),
    # "filled", German CV: "lucbrenner@example.de", "123-456-7890", a German summary of nonsense, the candidate's
    # name as employer (twice), school and skill group, the e-mail as a school, and "fünf Jahren Erfahrung in PHP"
    # (the CV says "… in Python und Java") as the degree: kept before fuzzy matching had to match word for word
    "german_developer__parse__schema_filled": (
        "custom",
        [
            _finding("label", "", "replaced"),
            _finding("email", "lucbrenner@example.de", "replaced"),
            _finding("phone", "123-456-7890", "replaced"),
            _finding("summary", GERMAN_NONSENSE, "replaced"),
            _finding("employer", "Lukas Brenner", "dropped", NAME),
            _finding("employer", "Lukas Brenner", "dropped", NAME),
            _replaced("work"),
            _finding("school", "Lukas Brenner", "dropped", NAME),
            _finding("degree", "degree", "dropped", SHAPE),
            _finding("area", "field of study", "dropped", SHAPE),
            _finding("school", "lucbrenner@example.de", "dropped", EMAIL),
            _finding("degree", "fünf Jahren Erfahrung in PHP", "dropped"),
            _finding("area", "Fürgetstellen von Python und Java auf Linux, wie e", "dropped"),
            _replaced("education"),
            _finding("skill", "Lukas Brenner", "dropped", NOT_A_GROUP),
            _finding("skill", "Fürgetstellen von Python und J", "dropped"),
            _finding("skill", "studyType: Fünf Jahren Erfahr", "dropped"),
            _finding("skill", "highlights:", "dropped", HEADING),
            _finding("skill", "lucbrener@example.de", "dropped", NOT_A_SKILL),
            # kept 2 of 8: the other six are added
            _finding("skill", "FastAPI", "added"),
            _finding("skill", "PostgreSQL", "added"),
            _finding("skill", "Docker", "added"),
            _finding("skill", "GitLab CI", "added"),
            _finding("skill", "Linux", "added"),
            _finding("skill", "REST", "added"),
        ],
        ["Python", "Java"],
    ),
}


def _why(finding: dict[str, str]) -> str:
    if finding["kind"] in ("work", "education", "skills"):
        return OFFLINE
    why = finding.get("why", "")
    for short in (SHAPE, HEADING, DEGREE, OWN, NOT_A_GROUP, NOT_A_SKILL, PIECED, NAME, EMAIL):
        if short in why:
            return short
    assert not why, why
    return ""


@pytest.mark.parametrize("stem", sorted(PARSE_EXPECTED))
def test_a_parse_keeps_what_the_cv_has_and_says_what_it_replaced_or_dropped(replays: Any, stem: str) -> None:
    provider, expected, model_skills = PARSE_EXPECTED[stem]
    got = replays(stem)
    parsed, record = got.outcome.value, got.record
    offline = local.parse_cv(got.case.cv_text)
    assert provider == record.provider
    found = [(f["kind"], f["value"], f["action"], _why(f)) for f in record.grounding]
    assert expected == found
    assert [] == [line for line in describe_parsed(record.grounding) if line not in record.warnings]
    for kind in ("name", "label", "email", "phone"):  # every contact detail shown is the CV's own
        assert offline["basics"][kind] == parsed["basics"][kind]
    cv_words = set(_words(_fold(got.case.cv_text)))
    assert set(_words(_fold(parsed["basics"]["summary"]))) <= cv_words  # the summary too: no "Awesome, amazing"
    sections = {f["kind"] for f in record.grounding if f["action"] == "replaced"} & {"work", "education", "skills"}
    if provider == "local":
        assert ["custom", "local"] == record.attempts and record.notice.startswith("offline engine")
        assert any("could not be read" in w for w in record.warnings)
        sections = {"work", "education", "skills"}
    for section in sections:  # a section the model got wrong as a whole is the offline parser's, unchanged
        assert offline[section] == parsed[section], section
    added = [value for kind, value, action, _ in expected if kind == "skill" and action == "added"]
    assert added == [g["name"] for g in parsed["skills"]][len(parsed["skills"]) - len(added) :]  # after the model's
    skills = [k for g in parsed["skills"] for k in g.get("keywords") or []]
    if model_skills is not None:  # the model's grounded skills are really used
        assert model_skills == skills
    cv = got.case.cv_text.casefold()
    for job in parsed["work"]:
        for key in ("name", "position"):
            assert str(job.get(key) or "").casefold() in cv


# --- tailoring -------------------------------------------------------------------------------------------------------

#: stem → (provider, findings (kind, value, action) of the grounding). Written from reading each recorded reply.
NURSE_SUMMARY = (
    "Registered adult nurse with five years on a busy surgical ward. Calm, organised and kind under pressure."
)
TAILOR_EXPECTED: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    # the app's prompt: `"work_aroundes": [{"title": …, "level": "Sales"}, "skillset", "description", …` repeated
    # until the cap, twice (also to the repair prompt): the offline engine tailors
    "tech__tailor": ("local", []),
    # the app's prompt: one job (the current employer with the previous job's title and start date), one job with no
    # employer or position, no education, the skills outside the resume, no summary
    "nurse__tailor": (
        "custom",
        [
            ("position", "Healthcare Assistant", "replaced"),
            ("date", "2017-05", "replaced"),
            ("employer", "Example Care Homes Ltd", "restored"),
            ("education", "", "restored"),
            ("skills", "", "restored"),
            ("summary", NURSE_SUMMARY, "restored"),
        ],
    ),
    # with the schema grammar: the job ad's company as an employer (twice), the candidate's own name as an employer,
    # dates "2021-09" to "2020-12", both real jobs left out, and the ad's first sentence as the candidate's summary
    # "filled" schema: the current job with the old job's dates, "Mentor" and "BLS" (words of the CV) as employers,
    # an invented "Local University of Newcastle" MHS, skills "VetCare", "NMC", "education.bzwsys.com", "Education"
    "nurse__tailor__schema_filled": (
        "custom",
        [
            ("date", "2017-05", "replaced"),
            ("date", "2020-03", "replaced"),
            ("employer", "Mentor", "removed"),
            ("employer", "BLS", "removed"),
            ("employer", "Example Care Homes Ltd", "restored"),
            ("school", "Local University of Newcastle", "removed"),
            ("skill", "VetCare", "removed"),
            ("skill", "NMC", "removed"),
            ("skill", "MHS", "removed"),
            ("skill", "Healthcare and Health Care Sos", "removed"),
            ("skill", "Education", "removed"),
            ("skill", "education.bzwsys.com", "removed"),
            ("skill", "highlights: [VetCare, Wound, N", "removed"),
        ],
    ),
    "tech__tailor__schema": (
        "custom",
        [
            ("employer", "Example Lending Ltd", "removed"),
            ("employer", "Oliver Hartley", "removed"),
            ("employer", "Example Payments Ltd", "restored"),
            ("employer", "Example Insurance plc", "restored"),
            (
                "summary",
                "Example Lending Ltd is looking for a Senior Python Developer to build our loan servicing platform.",
                "replaced",
            ),
        ],
    ),
}


@pytest.mark.parametrize("stem", sorted(TAILOR_EXPECTED))
def test_a_tailored_cv_keeps_nothing_the_cv_does_not_have(replays: Any, stem: str) -> None:
    provider, expected = TAILOR_EXPECTED[stem]
    got = replays(stem)
    assert provider == got.record.provider
    assert expected == [(f["kind"], f["value"], f["action"]) for f in got.record.grounding]
    assert [] == [line for line in describe(got.record.grounding) if line not in got.record.warnings]
    resume = got.outcome.value["resume"]
    offline = local.parse_cv(got.case.cv_text)
    # every job of the CV, in the CV's order, with its own employer, position and dates; nothing else
    facts = ("name", "position", "startDate")
    jobs = [[j.get(k) for k in facts] for j in offline["work"] if j.get("name")]  # not the parser's nameless "Mentor"
    assert jobs == [[j.get(k) for k in facts] for j in resume["work"]]
    assert [e["institution"] for e in offline["education"]] == [e["institution"] for e in resume["education"]]
    assert resume["skills"]
    assert resume["basics"]["summary"].strip()
    assert _fold(got.case.company) not in _fold(resume["basics"]["summary"])
