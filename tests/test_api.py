"""The REST usage API over real HTTP: uvicorn on a loopback port, httpx as the client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from core import api
from core.base import PROVIDER_NAMES
from core.usage_tracker import UsageTracker
from tests.seed import SEED_STATS_KEYS

TOKEN = "test-token-0123456789abcdef-0123456789"
REPO = Path(__file__).resolve().parent.parent
PROVIDER_KEYS = [
    "provider",
    "period_hours",
    "total_requests",
    "successful_requests",
    "failed_requests",
    "total_input_tokens",
    "total_output_tokens",
    "total_tokens",
    "cost_usd",
    "avg_latency_ms",
    "cost_by_task",
    "cost_by_model",
    "errors_by_kind",
    "total_cost_all_time",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """uvicorn serving an app on an already-bound loopback socket, in a daemon thread."""

    def __init__(self, app) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()


def seed(tracker: UsageTracker, now: float) -> None:
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=200,
        cost_usd=0.30, success=True, user_id="alice", latency_ms=900, ts=now - 600,
    )  # fmt: skip
    tracker.record_usage(
        task_type="cover_letter", provider="gemini", model="gemini-2.0-flash", input_tokens=500, output_tokens=100,
        cost_usd=0.25, success=True, user_id="bob", latency_ms=400, ts=now - 1200,
    )  # fmt: skip
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=100, output_tokens=0,
        cost_usd=0.0, success=False, error_kind="timeout", user_id="alice", latency_ms=30000, ts=now - 300,
    )  # fmt: skip
    tracker.record_usage(
        task_type="cv_parsing", provider="legacy-x", model="old", input_tokens=10, output_tokens=1,
        cost_usd=2.0, success=True, ts=now - 72 * 3600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    tracker = UsageTracker(tmp_path_factory.mktemp("api") / "usage.db")
    seed(tracker, time.time())
    with ServerThread(api.create_app(tracker=tracker, token=TOKEN)) as running:
        yield running
    tracker.close()


@pytest.fixture(scope="module")
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("path", ["/api/v1/ai/usage", "/api/v1/ai/usage/provider/openai"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer"},
        {"Authorization": TOKEN},
    ],
    ids=["missing", "wrong", "longer", "prefix", "basic", "empty", "no-scheme"],
)
def test_missing_or_wrong_token_is_401(client: httpx.Client, path: str, headers: dict) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "detail" in response.json()
    assert "total_requests" not in response.text


def test_usage_returns_the_seed_json(client: httpx.Client) -> None:
    response = client.get("/api/v1/ai/usage", params={"hours": 24}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == SEED_STATS_KEYS
    assert body == {
        "period_hours": 24,
        "total_requests": 3,
        "successful_requests": 2,
        "failed_requests": 1,
        "total_input_tokens": 1600,
        "total_output_tokens": 300,
        "total_tokens": 1900,
        "cost_usd": 0.55,
        "cost_by_provider": {"openai": 0.3, "gemini": 0.25},
        "cost_by_task": {"cv_parsing": 0.3, "cover_letter": 0.25},
        "total_cost_all_time": 2.55,
    }


def test_usage_defaults_to_24_hours(client: httpx.Client) -> None:
    assert client.get("/api/v1/ai/usage", headers=AUTH).json()["period_hours"] == 24


@pytest.mark.parametrize(("hours", "expected"), [("0.25", 0.25), ("100", 100), ("87600", 87600), ("1e2", 100)])
def test_good_hours(client: httpx.Client, hours: str, expected: float) -> None:
    response = client.get("/api/v1/ai/usage", params={"hours": hours}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["period_hours"] == expected


def test_a_wider_window_sees_older_rows(client: httpx.Client) -> None:
    body = client.get("/api/v1/ai/usage", params={"hours": 100}, headers=AUTH).json()
    assert body["total_requests"] == 4
    assert body["cost_by_provider"]["legacy-x"] == 2.0


@pytest.mark.parametrize(
    ("hours", "reason"),
    [
        ("-1", "greater than 0"),
        ("0", "greater than 0"),
        ("abc", "not a number"),
        ("nan", "not a finite number"),
        ("NaN", "not a finite number"),
        ("inf", "not a finite number"),
        ("-inf", "not a finite number"),
        ("1e400", "not a finite number"),
        ("87601", "too large"),
        ("1e9", "too large"),
        ("", "not a number"),
        ("24h", "not a number"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/ai/usage", "/api/v1/ai/usage/provider/openai"])
def test_bad_hours_is_422_with_a_clear_message(client: httpx.Client, path: str, hours: str, reason: str) -> None:
    response = client.get(path, params={"hours": hours}, headers=AUTH)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "'hours'" in detail
    assert reason in detail


def test_bad_hours_without_a_token_is_still_401(client: httpx.Client) -> None:
    assert client.get("/api/v1/ai/usage", params={"hours": "abc"}).status_code in (401, 422)
    assert client.get("/api/v1/ai/usage", params={"hours": "24"}).status_code == 401


def test_provider_stats(client: httpx.Client) -> None:
    response = client.get("/api/v1/ai/usage/provider/openai", params={"hours": 24}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == PROVIDER_KEYS
    assert (body["provider"], body["total_requests"], body["failed_requests"], body["cost_usd"]) == (
        "openai",
        2,
        1,
        0.3,
    )
    assert body["errors_by_kind"] == {"timeout": 1}
    assert body["cost_by_model"] == {"gpt-4o": 0.3}


def test_known_provider_without_calls_gives_zeros(client: httpx.Client) -> None:
    body = client.get("/api/v1/ai/usage/provider/groq", headers=AUTH).json()
    assert list(body) == PROVIDER_KEYS
    assert (body["total_requests"], body["cost_usd"], body["errors_by_kind"]) == (0, 0.0, {})


def test_provider_only_in_the_database_is_known(client: httpx.Client) -> None:
    body = client.get("/api/v1/ai/usage/provider/legacy-x", params={"hours": 100}, headers=AUTH).json()
    assert body["total_cost_all_time"] == 2.0


@pytest.mark.parametrize("provider", ["nope", "OpenAI", "open ai"])
def test_unknown_provider_is_404_listing_known_ones(client: httpx.Client, provider: str) -> None:
    response = client.get(f"/api/v1/ai/usage/provider/{provider}", headers=AUTH)
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert f"{provider!r}" in detail
    assert ", ".join(sorted({*PROVIDER_NAMES, "legacy-x"})) in detail  # the catalogue's names plus the DB's


def test_unknown_provider_without_token_is_401_not_404(client: httpx.Client) -> None:
    assert client.get("/api/v1/ai/usage/provider/nope").status_code == 401


def test_openapi_is_served_behind_the_token_and_documents_auth_and_404(client: httpx.Client) -> None:
    assert 401 == client.get("/openapi.json").status_code
    doc = client.get("/openapi.json", headers=AUTH).json()
    assert set(doc["paths"]) == {"/api/v1/ai/usage", "/api/v1/ai/usage/provider/{provider}"}
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    provider_get = doc["paths"]["/api/v1/ai/usage/provider/{provider}"]["get"]
    assert {"200", "401", "404", "422"} <= set(provider_get["responses"])
    assert "404" in doc["info"]["description"]
    hours = next(p for p in provider_get["parameters"] if p["name"] == "hours")
    assert (hours["schema"]["exclusiveMinimum"], hours["schema"]["maximum"]) == (0, api.MAX_HOURS)
    assert "/openapi.json" not in doc["paths"]


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_no_docs_page_that_needs_a_cdn(client: httpx.Client, path: str) -> None:
    """Swagger UI and ReDoc load their assets from a CDN (nothing works offline), and were served without auth."""
    assert (404, 404) == (client.get(path).status_code, client.get(path, headers=AUTH).status_code)


def test_token_is_compared_in_constant_time(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = api.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api.hmac, "compare_digest", spy)
    assert client.get("/api/v1/ai/usage", headers={"Authorization": "Bearer guess"}).status_code == 401
    assert calls == [(b"guess", TOKEN.encode())]


def test_app_without_a_token_rejects_every_bearer(tmp_path: Path) -> None:
    with ServerThread(api.create_app(tracker=UsageTracker(tmp_path / "u.db"), token="")) as running:
        for header in ("Bearer x", "Bearer anything", "Bearer None"):
            response = httpx.get(f"{running.url}/api/v1/ai/usage", headers={"Authorization": header})
            assert response.status_code == 401


def test_app_reads_the_token_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CV_COPILOT_API_TOKEN", "from-env-token-0123456789abcdef-0123")
    with ServerThread(api.create_app(tracker=UsageTracker(tmp_path / "u.db"))) as running:
        auth = {"Authorization": "Bearer from-env-token-0123456789abcdef-0123"}
        ok = httpx.get(f"{running.url}/api/v1/ai/usage", headers=auth)
        assert ok.status_code == 200
        assert ok.json()["total_requests"] == 0


@pytest.mark.parametrize("token", ["x", "short-token", "a" * 31])
def test_create_app_refuses_a_short_token(tmp_path: Path, token: str) -> None:
    with pytest.raises(api.WeakTokenError, match="at least 32"):
        api.create_app(tracker=UsageTracker(tmp_path / "u.db"), token=token)


@pytest.mark.parametrize("token", ["x", "a" * 31])
def test_server_refuses_a_short_token_naming_the_generator(token: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.api", "--host", "0.0.0.0", "--port", str(free_port())],
        cwd=REPO,
        env=_env(CV_COPILOT_API_TOKEN=token),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (2, 1) == (result.returncode, len(result.stderr.strip().splitlines()))
    assert "python -c 'import secrets; print(secrets.token_urlsafe(32))'" in result.stderr
    assert token not in result.stderr.replace("CV_COPILOT_API_TOKEN", "").replace("secrets", "")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CV_COPILOT_API_TOKEN"}
    env.update(extra)
    return env


def test_server_refuses_to_start_without_a_token() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.api", "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "CV_COPILOT_API_TOKEN is not set" in lines[0]
    assert result.stdout == ""


def test_server_starts_as_documented_and_serves(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "cli.db"
    UsageTracker(db).record_usage(
        task_type="fast_summary",
        provider="groq",
        model="m",
        input_tokens=5,
        output_tokens=5,
        cost_usd=0.5,
        success=True,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.api", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env=_env(CV_COPILOT_API_TOKEN=TOKEN, CV_COPILOT_DB=str(db)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/ai/usage?hours=1"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(url, headers=AUTH, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["cost_by_provider"] == {"groq": 0.5}
        assert httpx.get(url, timeout=2).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
