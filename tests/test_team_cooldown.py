"""Provider cooldowns shared through Redis (issue 15): a provider one process put in cooldown is skipped by the others,
Redis forgets it when the cooldown ends, and without Redis (or while it is down) each process keeps its own.

Real redis-server on loopback (tests.test_limits_redis.RedisServer); skipped with the reason when it is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.base import ErrorKind
from core.config import Settings, load_settings
from tests.fakes import OPENAI_INVALID_KEY, LoopbackServer, Script
from tests.processes import python
from tests.test_limits_redis import RedisServer, needs_redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis of its own for each test, on a fast retry so a test sees outages and recoveries at once."""
    from core import limits
    from core.limits.redis_backend import RedisConnection

    server = RedisServer().start()
    limits._REDIS[server.url] = RedisConnection(server.url, retry_seconds=0.1, socket_timeout=0.2)
    try:
        yield server.url
    finally:
        limits._REDIS.pop(server.url, None)
        server.stop()


def _settings(redis_url: str | None, key: str = "sk-test-one", **env: str) -> Settings:
    values = {"CV_COPILOT_NO_DOTENV": "1", "OPENAI_API_KEY": key, **env}
    if redis_url:
        values["CV_COPILOT_REDIS_URL"] = redis_url
    return load_settings(values)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _book(settings: Settings, clock: Clock | None = None) -> Any:
    from core.routing.health import HealthBook

    return HealthBook(settings, clock or Clock())


@needs_redis
@pytest.mark.parametrize(
    ("kind", "retry_after", "seconds", "why"),
    [(ErrorKind.AUTH, None, 3600, "auth"), (ErrorKind.QUOTA_EXHAUSTED, None, 900, "quota_exhausted")],
)
def test_a_cooldown_one_book_starts_is_seen_by_another(
    redis_url: str, kind: ErrorKind, retry_after: float | None, seconds: int, why: str
) -> None:
    first, second = _book(_settings(redis_url)), _book(_settings(redis_url))
    first.failed("openai", kind, retry_after)
    assert (seconds, kind.value) == (round(second.cooling("openai")), second.last_error("openai"))
    assert why == kind.value


@needs_redis
def test_a_shared_cooldown_ends_by_its_ttl(redis_url: str, tmp_path: Path) -> None:
    """One failure starts a 1 s cooldown ([router] cooldown_failures = 1): gone everywhere a second later."""
    config = tmp_path / "one.toml"
    config.write_text("[router]\ncooldown_failures = 1\ncooldown_seconds = 1\n")
    first = _book(_settings(redis_url, CV_COPILOT_CONFIG=str(config)))
    second = _book(_settings(redis_url, CV_COPILOT_CONFIG=str(config)))
    first.failed("openai", ErrorKind.TIMEOUT)
    assert 0.5 < second.cooling("openai") <= 1.0
    time.sleep(1.1)  # also past the 0.5 s read cache
    assert 0.0 == second.cooling("openai")


@needs_redis
def test_a_cooldown_is_per_credential_not_per_provider_name(redis_url: str) -> None:
    """A session's own bad key cools down that key only, not the deployment's."""
    session, deployment = _book(_settings(redis_url, key="sk-typed-by-a-user")), _book(_settings(redis_url))
    session.failed("openai", ErrorKind.AUTH)
    assert (0.0, 3600) == (
        deployment.cooling("openai"),
        round(_book(_settings(redis_url, key="sk-typed-by-a-user")).cooling("openai")),
    )


@needs_redis
def test_a_shorter_cooldown_never_cuts_a_longer_one(redis_url: str, tmp_path: Path) -> None:
    config = tmp_path / "one.toml"
    config.write_text("[router]\ncooldown_failures = 1\ncooldown_seconds = 1\n")
    _book(_settings(redis_url)).failed("openai", ErrorKind.AUTH)
    _book(_settings(redis_url, CV_COPILOT_CONFIG=str(config))).failed("openai", ErrorKind.TIMEOUT)
    assert 3600 == round(_book(_settings(redis_url)).cooling("openai"))


@needs_redis
def test_redis_down_leaves_each_process_its_own_cooldowns(redis_url: str) -> None:
    from tests.test_limits_redis import RedisServer as _  # noqa: F401 - the fixture's server is stopped below

    book, other = _book(_settings(redis_url)), _book(_settings(redis_url))
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    _stop_redis_on(port)
    book.failed("openai", ErrorKind.AUTH)  # no exception: Redis is skipped
    assert (3600, 0.0) == (round(book.cooling("openai")), other.cooling("openai"))


def _stop_redis_on(port: int) -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=port).shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # it closes the connection as it goes
    time.sleep(0.15)


def test_without_redis_nothing_is_shared() -> None:
    book = _book(_settings(None))
    book.failed("openai", ErrorKind.AUTH)
    assert (None, 3600) == (book._shared, round(book.cooling("openai")))


# --- across processes, through the router ----------------------------------------------------------------------


_CALL = """
import asyncio, json
from core.router import ModelRouter
from core.config import load_settings
router = ModelRouter(load_settings())
try:
    answer = asyncio.run(router.generate(task_type="fast_summary", prompt="Summarise: a short note.",
                                         provider="openai", max_tokens=20, use_cache=False)).provider
except Exception as exc:
    answer = type(exc).__name__
print(json.dumps([answer, round(router.health.cooling("openai"))]))
"""


@pytest.mark.slow
@needs_redis
def test_a_provider_one_process_put_in_cooldown_is_skipped_by_the_next_process(redis_url: str, tmp_path: Path) -> None:
    """Process 1 gets a 401 from openai (an hour's cooldown); process 2, started afterwards with no failure of its
    own, never sends openai a request (the call is pinned to openai, so it is refused rather than sent)."""
    with LoopbackServer(Script(status=401, body=OPENAI_INVALID_KEY)) as fake:  # a revoked key
        env = {
            "PATH": "/usr/bin:/bin", "CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "usage.db"),
            "CV_COPILOT_CONFIG": str(tmp_path / "none.toml"), "OPENAI_API_KEY": "sk-test-revoked",
            "OPENAI_BASE_URL": f"{fake.url}/v1", "CV_COPILOT_REDIS_URL": redis_url,
        }  # fmt: skip
        runs = []
        for _ in range(2):
            done = python("-c", _CALL, env=env)
            assert 0 == done.returncode, done.stderr
            runs.append((json.loads(done.stdout.strip().splitlines()[-1]), len(fake.requests)))
    # (the pinned provider refused, requests the server saw); the second process's cooldown is the first one's
    assert [("NoProviderAvailable", 1), ("NoProviderAvailable", 1)] == [(answer, seen) for (answer, _), seen in runs]
    assert 3000 < runs[1][0][1] <= 3600
