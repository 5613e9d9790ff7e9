"""Response cache: keys, hit and miss, TTL, clear, purge, stats, sharing the tracker's file, threads."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from core.cache import ResponseCache
from core.usage_tracker import UsageTracker

NOW = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


BASE: dict[str, Any] = {"system": None, "max_tokens": 512, "temperature": 0.2, "json_mode": False}


def key(**overrides: Any) -> str:
    args = {"provider": "openai", "model": "gpt-4o", "prompt": "Summarise my CV", **BASE, **overrides}
    provider, model, prompt = args.pop("provider"), args.pop("model"), args.pop("prompt")
    return ResponseCache.make_key(provider, model, prompt, **args)


def put(cache: ResponseCache, k: str, content: str = "answer") -> None:
    cache.put(k, content=content, input_tokens=120, output_tokens=40, cost_usd=0.0021, model="gpt-4o")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(tmp_path: Path, clock: Clock) -> ResponseCache:
    return ResponseCache(tmp_path / "usage.db", ttl_seconds=3600, clock=clock)


def test_key_is_sha256_hex_and_stable() -> None:
    k = key()
    assert len(k) == 64
    assert set(k) <= set("0123456789abcdef")
    assert key() == k


@pytest.mark.parametrize(
    "change",
    [
        {"provider": "groq"},
        {"model": "gpt-4o-mini"},
        {"prompt": "Summarise my CV."},
        {"system": "Be brief"},
        {"max_tokens": 513},
        {"temperature": 0.3},
        {"json_mode": True},
        {"extra": {"schema": "resume"}},
    ],
)
def test_every_parameter_that_matters_changes_the_key(change: dict[str, Any]) -> None:
    assert key(**change) != key()


def test_extra_order_does_not_change_the_key() -> None:
    assert key(extra={"a": 1, "b": 2}) == key(extra={"b": 2, "a": 1})
    assert key(extra={}) == key(extra=None)
    assert key(temperature=0) == key(temperature=0.0)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"system": "ab", "prompt": "c"}, {"system": "a", "prompt": "bc"}),  # where the system prompt ends
        ({"system": "", "prompt": "x"}, {"system": None, "prompt": "x"}),
        ({"system": "a\n", "prompt": "b"}, {"system": "a", "prompt": "\nb"}),
        ({"model": "m\n1"}, {"model": "m", "prompt": "1\nSummarise my CV"}),  # a newline in a parameter
        ({"prompt": "Résumé – ok"}, {"prompt": "Resume - ok"}),
    ],
)
def test_texts_hashed_raw_cannot_run_into_each_other(one: dict[str, Any], other: dict[str, Any]) -> None:
    assert key(**one) != key(**other)


@pytest.mark.parametrize("prompt", ["Résumé • 10 years — Zürich ✓", "lone \ud800 surrogate", ""])
def test_any_text_has_a_stable_key(prompt: str) -> None:
    assert key(prompt=prompt) == key(prompt=prompt)
    assert 64 == len(key(prompt=prompt))


def reference_key(provider: Any, model: Any, prompt: str, **args: Any) -> str:
    """The key as the cache has always made it, written out in full (no remembered parameter hashes)."""
    system, extra = args["system"], args.get("extra")
    system_bytes = None if system is None else system.encode("utf-8", "surrogatepass")
    extra_json = json.dumps(dict(extra or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    params = (
        2, str(provider), str(model), None if system_bytes is None else len(system_bytes), int(args["max_tokens"]),
        float(args["temperature"]), bool(args["json_mode"]), extra_json if extra else None,
    )  # fmt: skip
    digest = hashlib.sha256(repr(params).encode("utf-8", "surrogatepass") + b"\n")
    digest.update(system_bytes or b"")
    digest.update(prompt.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class Named(str):
    def __str__(self) -> str:
        return "named-" + str.__str__(self)


#: Parameter sets that compare equal (so a remembered parameter hash could be shared) but are different keys.
LOOKALIKES: list[dict[str, Any]] = [
    {"temperature": 0.0},
    {"temperature": -0.0},
    {"temperature": 0},
    {"temperature": float("nan")},
    {"max_tokens": 1},
    {"max_tokens": True},
    {"max_tokens": 1.0},
    {"json_mode": True},
    {"json_mode": 1},
    {"extra": {"task": "1"}},
    {"extra": {"task": 1}},
    {"extra": {"task": True}},
    {"extra": {"task": "cv_parsing"}},
    {"extra": {"task": "cv_parsing", "schema": "resume"}},
    {"extra": {}},
    {"provider": Named("openai")},
    {"model": Named("gpt-4o")},
    {"system": ""},
    {"system": "Be brief"},
    {"system": "Be briefé"},
]


def test_keys_are_the_ones_the_cache_always_made() -> None:
    """Keys stored by earlier versions still hit: every parameter set, asked twice in both orders, gives the key
    written out in full, whatever parameter hash was remembered before it."""
    for overrides in [*LOOKALIKES, *reversed(LOOKALIKES), *LOOKALIKES]:
        args = {"provider": "openai", "model": "gpt-4o", "prompt": "Summarise my CV", **BASE, **overrides}
        provider, model, prompt = args.pop("provider"), args.pop("model"), args.pop("prompt")
        assert ResponseCache.make_key(provider, model, prompt, **args) == reference_key(provider, model, prompt, **args)


def test_lookalike_parameters_are_different_keys() -> None:
    keys = {key(**overrides) for overrides in LOOKALIKES}
    # 0 and 0.0 are one temperature, and max_tokens 1/True/1.0 and json_mode True/1 are one value each
    assert len(keys) == len(LOOKALIKES) - 4


def test_remembered_parameter_hashes_stay_few(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import cache as cache_module

    for i in range(cache_module._PARAMS_MAX * 3):
        key(max_tokens=i)
    assert len(cache_module._PARAMS) <= cache_module._PARAMS_MAX
    assert key(max_tokens=7) == reference_key("openai", "gpt-4o", "Summarise my CV", **{**BASE, "max_tokens": 7})


def test_miss_then_hit(cache: ResponseCache) -> None:
    k = key()
    assert cache.get(k) is None
    put(cache, k, "Ten years of Python; led a team of five.")
    assert cache.get(k) == {
        "content": "Ten years of Python; led a team of five.",
        "input_tokens": 120,
        "output_tokens": 40,
        "cost_usd": 0.0021,
        "model": "gpt-4o",
        "created": NOW,
    }


def test_put_replaces_and_refreshes(cache: ResponseCache, clock: Clock) -> None:
    k = key()
    put(cache, k, "old")
    clock.now += 3000
    put(cache, k, "new")
    clock.now += 3000  # 6000 s after the first put, 3000 after the second
    hit = cache.get(k)
    assert hit is not None
    assert (hit["content"], hit["created"]) == ("new", NOW + 3000)
    assert cache.stats()["entries"] == 1


@pytest.mark.parametrize(("age", "hit"), [(0, True), (3599, True), (3600, False), (10_000, False)])
def test_ttl(cache: ResponseCache, clock: Clock, age: float, hit: bool) -> None:
    put(cache, key())
    clock.now += age
    assert (cache.get(key()) is not None) is hit


def test_purge_expired_deletes_only_old(cache: ResponseCache, clock: Clock) -> None:
    put(cache, key(prompt="old"))
    clock.now += 2000
    put(cache, key(prompt="new"))
    clock.now += 2000
    assert cache.purge_expired() == 1
    assert cache.get(key(prompt="new")) is not None
    assert cache.stats()["entries"] == 1


def test_clear_and_stats(cache: ResponseCache) -> None:
    assert cache.stats() == {"entries": 0, "bytes": 0}
    put(cache, key(prompt="a"), "héllo")  # 6 bytes in UTF-8
    put(cache, key(prompt="b"), "abc")
    assert cache.stats() == {"entries": 2, "bytes": 9}
    assert cache.clear() == 2
    assert cache.stats() == {"entries": 0, "bytes": 0}
    assert cache.get(key(prompt="a")) is None


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")])
def test_bad_ttl(tmp_path: Path, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        ResponseCache(tmp_path / "c.db", ttl_seconds=ttl)


def test_content_must_be_text(cache: ResponseCache) -> None:
    with pytest.raises(TypeError):
        cache.put(key(), content=None, input_tokens=1, output_tokens=1, cost_usd=0, model="m")  # type: ignore[arg-type]


def test_shares_the_tracker_file_without_touching_usage(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "usage.db"
    tracker = UsageTracker(path, clock=clock)
    cache = ResponseCache(path, clock=clock)
    tracker.record_usage(
        task_type="cv_parsing", provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1, cost_usd=0.1,
        success=True,
    )  # fmt: skip
    put(cache, key())
    assert cache.clear() == 1
    assert tracker.get_usage_stats(None)["total_requests"] == 1
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        sets = {r[0] for r in conn.execute("SELECT DISTINCT migration_set FROM migrations")}
    assert {"usage", "usage_hourly", "response_cache", "migrations"} <= tables
    assert sets == {"usage", "response_cache"}


def test_the_prompt_itself_is_not_stored(cache: ResponseCache) -> None:
    put(cache, key(prompt="SECRET-CV-TEXT jane@example.com"), "ok")
    with sqlite3.connect(cache._storage.path) as conn:
        dump = "\n".join(conn.iterdump())
    assert "jane@example.com" not in dump


def test_threads_read_and_write(cache: ResponseCache) -> None:
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                k = key(prompt=f"{n}-{i}")
                put(cache, k, f"{n}-{i}")
                hit = cache.get(k)
                assert hit is not None
                assert hit["content"] == f"{n}-{i}"
        except Exception as exc:  # noqa: BLE001 - collected and asserted empty below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.stats()["entries"] == 400


def test_put_is_visible_at_once_and_reaches_disk(tmp_path):
    from core.cache import ResponseCache

    path = tmp_path / "shared.db"
    writer = ResponseCache(path)
    writer.put("k1", content="answer", input_tokens=3, output_tokens=4, cost_usd=0.5, model="m")
    assert "answer" == writer.get("k1")["content"]
    writer.flush()
    assert {"content": "answer", "model": "m"}.items() <= ResponseCache(path).get("k1").items()


def test_clear_drops_pending_answers_too(tmp_path):
    from core.cache import ResponseCache

    cache = ResponseCache(tmp_path / "c.db")
    cache.put("k", content="cv text", input_tokens=1, output_tokens=1, cost_usd=0.0, model="m")
    cache.clear()
    cache.flush()
    assert (None, 0) == (cache.get("k"), cache.stats()["entries"])
