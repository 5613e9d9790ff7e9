"""The banner every page shows while the team's shared Redis is down, and clears once it is back (AppTest)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.test_limits_redis import RedisServer, needs_redis

pytestmark = pytest.mark.slow


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    from core import limits
    from core.limits.redis_backend import RedisConnection

    server = RedisServer().start()
    # the process's connection for this URL, on a fast retry: the page asks Redis again on every run
    limits._REDIS[server.url] = RedisConnection(server.url, retry_seconds=0.05, socket_timeout=0.2)
    monkeypatch.setenv("CV_COPILOT_REDIS_URL", server.url)
    try:
        yield server
    finally:
        limits._REDIS.pop(server.url, None)
        server.stop()


def _banners(at: object) -> list[str]:
    return [w.value for w in at.warning if "Redis" in w.value]  # type: ignore[attr-defined]


@needs_redis
@pytest.mark.parametrize("page", ["app_pages/cv.py", "app_pages/usage.py"])
def test_the_banner_shows_while_redis_is_down_and_clears_when_it_is_back(server: RedisServer, page: str) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.apptest import APP

    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(page)
    at.run()
    seen = [_banners(at)]
    server.stop()
    time.sleep(0.1)
    at.run()
    seen.append(_banners(at))
    server.start()
    time.sleep(0.1)
    at.run()
    seen.append(_banners(at))
    assert not at.exception
    assert [0, 1, 0] == [len(b) for b in seen]
    assert "stricter limits" in seen[1][0] and "127.0.0.1" not in seen[1][0]


def test_no_banner_and_no_redis_call_without_a_redis_url() -> None:
    from streamlit.testing.v1 import AppTest

    from core import limits
    from tests.apptest import APP

    before = dict(limits._REDIS)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert ([], before) == (_banners(at), limits._REDIS)
