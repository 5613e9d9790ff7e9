"""The composition root: one Settings → one set of services, the seed's accessors as views of it, and bug 1."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

import core.config
from core import aio, services
from core.ab import get_vote_store
from core.ai_service import get_ai_service
from core.base import TaskType
from core.config import ConfigError, load_settings
from core.router import get_model_router, reset_model_router
from core.usage_tracker import get_usage_tracker
from tests.fakes import LoopbackServer
from tests.usage_page import headline

TOKEN = "bug1-token-" + "0123456789" * 4


def test_accessors_are_views_of_one_root():
    root = services.get_services()
    assert (root.router, root.ai, root.tracker, root.votes, root.settings) == (
        get_model_router(),
        get_ai_service(),
        get_usage_tracker(),
        get_vote_store(),
        core.config.get_settings(),
    )
    assert (root.tracker, root.limiter, root.cache, root.budget) == (
        root.router.tracker,
        root.router.limiter,
        root.router.cache,
        root.router.budget,
    )
    assert root.ai.router is root.router


def test_reset_forgets_the_root_and_reads_the_environment_again(monkeypatch, tmp_path):
    first = services.get_services()
    monkeypatch.setenv("CV_COPILOT_DB", str(tmp_path / "other.db"))
    assert first is services.get_services()  # no env fingerprint: the root is built once
    services.reset()
    assert (tmp_path / "other.db") == services.get_services().settings.db_path
    assert first.closed


def test_reload_rebuilds_from_the_changed_config_file():
    before = get_model_router()
    core.config.update_config_file({"routing": {"cv_parsing": "gemini"}})
    assert "openai" == get_model_router().settings.task_routing[TaskType.CV_PARSING]
    reset_model_router()
    assert ("gemini", True) == (
        get_model_router().settings.task_routing[TaskType.CV_PARSING],
        get_model_router() is not before,
    )


def test_a_bad_config_fails_on_first_use_naming_the_file(monkeypatch, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[budgets]\npolicy = "blok"\n')
    monkeypatch.setenv("CV_COPILOT_CONFIG", str(path))
    with pytest.raises(ConfigError, match=r"bad\.toml.*\[budgets\] policy"):
        get_model_router()


def test_session_routers_share_the_parts_and_are_bounded(tmp_path):
    root = services.build_services(
        load_settings(env={"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "u.db")}),
        max_session_routers=2,
    )
    a = root.session_router({"openai": "sk-session-a-0000000000"})
    assert a is root.session_router({"openai": "sk-session-a-0000000000", "groq": ""})
    assert root.router is root.session_router({}) is root.session_router({"groq": "  "})
    assert (a.tracker, a.limiter, a.cache, a.budget) == (root.tracker, root.limiter, root.cache, root.budget)
    assert ("session", ["openai", "local"]) == (
        a.settings.providers["openai"].key_source,
        a.settings.configured_providers,
    )
    b = root.session_router({"openai": "sk-session-b-0000000000"})
    root.session_router({"openai": "sk-session-a-0000000000"})  # a is now the most recently used
    root.session_router({"groq": "gsk-session-c-000000000"})  # evicts b
    assert 2 == root.session_router_count
    assert b is not root.session_router({"openai": "sk-session-b-0000000000"})
    root.close()


def test_an_evicted_or_released_router_is_closed(monkeypatch, tmp_path):
    closed: list[object] = []
    mine: list[object] = []  # this test's routers: a router another test released may close meanwhile (its grace
    # is the real call timeout, 90 s, on the process's one loop), and it is not this root's business

    async def fake_aclose(self):
        if any(self is r for r in mine):
            closed.append(self)

    monkeypatch.setattr("core.router.ModelRouter.aclose", fake_aclose)
    settings = load_settings(env={"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "u.db")})
    from dataclasses import replace

    root = services.build_services(replace(settings, call_timeout_seconds=0.0), max_session_routers=1)
    mine.append(root.router)
    first = root.session_router({"openai": "sk-one-000000000000"})
    mine.append(first)
    second = root.session_router({"openai": "sk-two-000000000000"})  # evicts first
    mine.append(second)
    root.release_session_router({"openai": "sk-two-000000000000"})
    root.release_session_router(root.router)  # the shared router is never closed by a session
    deadline = time.monotonic() + 30
    while len(closed) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    aio.run_sync(asyncio.sleep(0))  # anything else queued on the loop (a wrong close of the shared router) has run
    assert [first, second] == closed
    assert 0 == root.session_router_count


def test_build_services_uses_the_injected_transport(tmp_path):
    def reply(request: httpx.Request) -> httpx.Response:
        body = {
            "id": "x", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8},
        }  # fmt: skip
        return httpx.Response(200, json=body)

    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "u.db"), "OPENAI_API_KEY": "sk-t-00000000000"}
    root = services.build_services(load_settings(env=env), transport=httpx.MockTransport(reply))
    response = aio.run_sync(root.router.generate(TaskType.CV_PARSING, "hello"))
    assert ("openai", "hi", 7) == (response.provider, response.content, response.input_tokens)
    assert 1 == root.tracker.get_usage_stats(hours=1)["total_requests"]
    root.close()


# --- bug 1: CV_COPILOT_DB set only in .env (or only in secrets.toml) ------------------------------------------------


@pytest.fixture(params=["dotenv", "secrets"])
def db_set_in_a_file(request, monkeypatch, tmp_path) -> Path:
    """A project folder whose .env (or .streamlit/secrets.toml) alone names the DB and the API token."""
    project = tmp_path / "project"
    (project / ".streamlit").mkdir(parents=True)
    db = tmp_path / "elsewhere" / "from-file.db"
    db.parent.mkdir()
    if request.param == "dotenv":
        (project / ".env").write_text(f"CV_COPILOT_DB={db}\nCV_COPILOT_API_TOKEN={TOKEN}\n")
    else:
        (project / ".streamlit" / "secrets.toml").write_text(
            f'CV_COPILOT_DB = "{db}"\nCV_COPILOT_API_TOKEN = "{TOKEN}"\n'
        )
    monkeypatch.setattr(core.config, "PROJECT_ROOT", project)
    for name in ("CV_COPILOT_DB", "CV_COPILOT_NO_DOTENV", "CV_COPILOT_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return db


def test_bug1_router_page_api_and_cli_use_the_db_named_in_the_file(db_set_in_a_file, capsys):
    from fastapi.testclient import TestClient

    from core import api, cli
    from tests.apptest import open_page

    db = db_set_in_a_file
    response = aio.run_sync(get_model_router().generate(TaskType.FAST_SUMMARY, "A short text to summarise."))
    assert "local" == response.provider
    assert db == get_usage_tracker().db_path

    with TestClient(api.create_app()) as client:
        reply = client.get("/api/v1/ai/usage?hours=1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (200, 1) == (reply.status_code, reply.json()["total_requests"])

    capsys.readouterr()
    assert 0 == cli.main(["usage", "--json", "--hours", "1"])
    assert 1 == json.loads(capsys.readouterr().out)["total_requests"]

    at = open_page("app_pages/usage.py")
    assert "1" == headline(at)["Requests"]["value"]
    assert not (Path(core.config.PROJECT_ROOT) / "data" / "usage.db").exists()


def test_bug1_a_second_process_reads_the_same_file(db_set_in_a_file):
    """Seen from another process (`python -m core usage`), the rows are in the file the settings name."""
    from core.usage_tracker import UsageTracker

    aio.run_sync(get_model_router().generate(TaskType.FAST_SUMMARY, "Another short text."))
    get_usage_tracker().flush()
    assert 1 == UsageTracker(db_set_in_a_file).get_usage_stats(hours=1)["total_requests"]


def test_loopback_server_sees_one_client_per_provider(monkeypatch):
    """Synchronous callers share one loop, so calls reuse the provider's pooled connection."""
    with LoopbackServer() as server:
        server.configure("/openai", text="ok", input_tokens=3, output_tokens=1)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loop-000000000000")
        monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/openai/v1")
        router = get_model_router()
        for i in range(5):
            aio.run_sync(router.generate(TaskType.CV_PARSING, f"call {i}", use_cache=False))
        assert (5, 1) == (len(server.requests_for("/openai")), server.connections)


@pytest.mark.parametrize(
    ("toml", "limiter", "budget"),
    [
        ("", "SQLiteRateLimiter", "SQLiteBudget"),
        ('[limits]\nbackend = "sqlite"\n', "SQLiteRateLimiter", "SQLiteBudget"),
        ('[limits]\nbackend = "memory"\n', "InMemoryRateLimiter", "BudgetGuard"),
    ],
)
def test_limits_backend_comes_from_the_settings(tmp_path, toml, limiter, budget):
    """By default the window and the holds live in the usage DB, so the app, the API and the CLI share them."""
    config = tmp_path / "c.toml"
    config.write_text(toml)
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "u.db")}
    root = services.build_services(load_settings(env=env, config_path=config))
    assert (limiter, budget) == (type(root.limiter).__name__, type(root.budget).__name__)
    assert (root.limiter, root.budget) == (root.router.limiter, root.router.budget)
    root.close()


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({}, '[limits]\nbackend = "redis"\n', "needs CV_COPILOT_REDIS_URL"),
        ({"CV_COPILOT_REDIS_URL": "localhost:6379"}, "", "CV_COPILOT_REDIS_URL .from environment.: not a redis://"),
        ({}, '[limits]\nbackend = "postgres"\n', r"\[limits\] backend"),
    ],
)
def test_a_bad_limits_setting_is_named(tmp_path, env, toml, message):
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(env={"CV_COPILOT_NO_DOTENV": "1", **env}, config_path=config)
