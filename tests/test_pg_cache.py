"""The response cache's contract suite on PostgreSQL (`test_cache.py`'s tests that speak only through the cache),
and what sharing it means: an answer cached by one replica is a hit for another.

Skipped, with the reason, when the PostgreSQL binaries are missing (see `tests/pg.py`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cache import ResponseCache
from tests.pg import needs_pg, pg_url  # noqa: F401 - fixtures
from tests.test_cache import (  # noqa: F401 - the contract tests, run again with the fixture below
    Clock,
    clock,
    key,
    put,
    test_clear_and_stats,
    test_content_must_be_text,
    test_miss_then_hit,
    test_purge_expired_deletes_only_old,
    test_put_replaces_and_refreshes,
    test_threads_read_and_write,
    test_ttl,
)

pytestmark = needs_pg


@pytest.fixture
def cache(pg_url: str, tmp_path: Path, clock: Clock) -> ResponseCache:  # noqa: F811
    return ResponseCache(pg_url, ttl_seconds=3600, clock=clock, local_path=tmp_path / "local.db")


def test_an_answer_cached_by_one_replica_is_a_hit_for_another(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    one = ResponseCache(pg_url, local_path=tmp_path / "one" / "local.db")
    put(one, key(prompt="shared"), "from replica one")
    one.flush()
    other = ResponseCache(pg_url, local_path=tmp_path / "two" / "local.db")  # started after: knows the key
    hit = other.get(key(prompt="shared"))
    assert hit is not None and hit["content"] == "from replica one"
    assert other.stats() == {"entries": 1, "bytes": len(b"from replica one")}


def test_the_prompt_itself_is_not_stored(cache: ResponseCache) -> None:
    put(cache, key(prompt="SECRET-CV-TEXT jane@example.com"), "ok")
    cache.flush()
    with cache._storage.read() as conn:
        rows = conn.execute("SELECT * FROM response_cache").fetchall()
    assert rows and "jane@example.com" not in repr(rows)
