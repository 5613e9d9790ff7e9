"""The seed's examples, end to end: environment → get_model_router() → real HTTP on loopback → SQLite tracker."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from core.ai_service import get_ai_service
from core.base import TaskType
from core.router import get_model_router, reset_model_router
from core.usage_tracker import get_usage_tracker
from tests.fakes import OPENAI_SERVER_ERROR, LoopbackServer
from tests.seed import SEED_STATS_KEYS

KEYS = {
    "OPENAI_API_KEY": "sk-e2e-openai-key-1111",
    "GEMINI_API_KEY": "e2e-gemini-key-2222",
    "GROQ_API_KEY": "gsk-e2e-groq-key-3333",
    "GROK_API_KEY": "xai-e2e-grok-key-4444",
}


@pytest.fixture
def server(monkeypatch):
    with LoopbackServer() as srv:
        for name, value in KEYS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_BASE_URL", f"{srv.url}/openai/v1")
        monkeypatch.setenv("GROQ_BASE_URL", f"{srv.url}/groq/openai/v1")
        monkeypatch.setenv("GROK_BASE_URL", f"{srv.url}/grok/v1")
        monkeypatch.setenv("GEMINI_BASE_URL", f"{srv.url}/gemini/v1beta")
        for prefix in ("/openai", "/groq", "/grok", "/gemini"):
            srv.configure(prefix, text=f"reply via {prefix[1:]}", input_tokens=321, output_tokens=123)
        yield srv


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize(
    ("task", "provider"),
    [(TaskType.CV_PARSING, "openai"), (TaskType.EMAIL_DRAFTING, "grok"), (TaskType.FAST_SUMMARY, "groq"),
     (TaskType.JOB_MATCHING, "gemini")],
)  # fmt: skip
def test_seed_basic_usage_routes_per_task(server, task, provider):
    router = get_model_router()
    response = run(router.generate(task_type=task, prompt="Extract information from this CV...", user_id="user-123"))
    assert (provider, f"reply via {provider}") == (response.provider, response.content)
    assert (321, 123) == (response.input_tokens, response.output_tokens)
    assert response.cost_usd > 0
    request = server.requests_for(f"/{provider}")[-1]
    if provider == "gemini":
        assert request.headers["x-goog-api-key"] == KEYS["GEMINI_API_KEY"]
        assert "key=" not in request.query
    else:
        assert request.path.endswith("/chat/completions")


def test_seed_stats_keys_and_cost(server):
    router = get_model_router()
    run(router.generate(task_type=TaskType.FAST_SUMMARY, prompt="Test prompt", user_id="test-user"))
    stats = get_usage_tracker().get_usage_stats(hours=24)
    assert SEED_STATS_KEYS == list(stats)
    assert (1, 1, 0) == (stats["total_requests"], stats["successful_requests"], stats["failed_requests"])
    assert stats["cost_usd"] > 0 and stats["cost_by_provider"]["groq"] == stats["cost_usd"]
    assert get_ai_service().get_usage_stats(hours=24) == stats


def test_seed_fallback_on_500(server):
    server.configure("/openai", status=500, body=OPENAI_SERVER_ERROR)
    response = run(get_model_router().generate(task_type=TaskType.CV_PARSING, prompt="Parse this CV"))
    assert "groq" == response.provider
    stats = get_usage_tracker().get_usage_stats(hours=1)
    assert (2, 1, 1) == (stats["total_requests"], stats["successful_requests"], stats["failed_requests"])


def test_seed_cost_optimization(server):
    response = run(get_model_router().generate(TaskType.COVER_LETTER, "Summarize this...", optimize_cost=True))
    assert "groq" == response.provider


def test_environment_change_is_picked_up(server, monkeypatch):
    assert "openai" == run(get_model_router().generate(TaskType.CV_PARSING, "a")).provider
    monkeypatch.delenv("OPENAI_API_KEY")
    reset_model_router()  # settings are read once; this re-reads them (the settings page calls it after a change)
    assert "groq" == run(get_model_router().generate(TaskType.CV_PARSING, "b")).provider


def test_offline_parse_with_no_keys():
    cv = run(
        get_ai_service().parse_cv(
            "Jane Doe\njane.doe@example.com\n\nExperience\nData Analyst, Acme Ltd, 2019 - Present"
        )
    )
    assert "jane.doe@example.com" == cv["basics"]["email"]
    assert "local" == cv["meta"]["provider"]


def test_no_key_lands_in_the_db(server):
    router = get_model_router()
    for task in TaskType:
        run(router.generate(task, "hello"))
    server.configure("/openai", status=401)
    run(router.generate(TaskType.CV_PARSING, "fails over"))
    get_usage_tracker().flush()
    db = Path(get_usage_tracker().db_path)
    blob = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    dump = "\n".join(sqlite3.connect(db).iterdump())
    for key in KEYS.values():
        assert key.encode() not in blob and key not in dump
