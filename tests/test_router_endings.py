"""Exactly one usage row per provider request, whatever way it ends: cancelled, abandoned, failed mid-stream, or
out of time; and the per-attempt and per-call deadlines. Against real HTTP on 127.0.0.1, in both wire formats."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.base import CallDeadlineExceeded, ProviderError, TaskType
from core.config import load_settings
from core.router import ModelRouter
from core.tracker.record import UsageRecord
from core.usage_tracker import UsageTracker
from tests.fakes import LoopbackServer, Script, gemini_response, openai_stream_events, sse_handler
from tests.fakes_slow import SlowServer

KEYS = {"openai": "sk-openai-test-key-0001", "gemini": "gemini-test-key-0002", "groq": "gsk-groq-test-key-0003"}
KEY_VARS = {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY", "groq": "GROQ_API_KEY"}
BASES = {
    "openai": ("OPENAI_BASE_URL", "/v1"),
    "gemini": ("GEMINI_BASE_URL", "/v1beta"),
    "groq": ("GROQ_BASE_URL", "/v1"),
}
#: a task whose default is each family's provider; the fallback after it is groq (the only other key set)
TASK = {"openai": TaskType.CV_PARSING, "gemini": TaskType.JOB_ANALYSIS}
LONG = "Dear hiring manager, I am writing to apply for the data engineer role at Acme. " * 8


class Spy(UsageTracker):
    """The real tracker, also keeping each UsageRecord the router hands it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[UsageRecord] = []

    def record(self, rec: UsageRecord) -> None:
        self.records.append(rec)
        super().record(rec)

    def rows_in_file(self) -> int:
        return len(self.outcomes_in_file())

    def outcomes_in_file(self) -> list[tuple[str, str]]:
        """(provider, outcome) of each row in the SQLite file, oldest first."""
        self.flush()
        with sqlite3.connect(self.db_path) as conn:
            return [(str(p), str(o)) for p, o in conn.execute("select provider, outcome from usage order by id")]


def make_router(
    tmp_path: Path, urls: dict[str, str], config: str = "", *, call_timeout: float | None = None, **kwargs: Any
) -> ModelRouter:
    """A router whose providers (only those in `urls`) live at those base URLs."""
    env = {"CV_COPILOT_NO_DOTENV": "1", "CV_COPILOT_DB": str(tmp_path / "usage.db")}
    for name, url in urls.items():
        var, suffix = BASES[name]
        env[KEY_VARS[name]] = KEYS[name]
        env[var] = url + suffix
    if call_timeout is not None:
        config += f"\n[router]\ncall_timeout = {call_timeout}\n"
    path = tmp_path / "cv_copilot.toml"
    path.write_text(config, encoding="utf-8")
    settings = load_settings(env=env, config_path=path)
    if call_timeout is not None and getattr(settings, "call_timeout_seconds", None) != call_timeout:
        object.__setattr__(
            settings, "call_timeout_seconds", call_timeout
        )  # until config.py reads [router] call_timeout
    return ModelRouter(settings, tracker=Spy(settings.db_path), **kwargs)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        for name in KEYS:
            srv.configure(f"/{name}", text=f"answer from {name}", input_tokens=300, output_tokens=40)
        yield srv


def urls_of(srv: LoopbackServer, *names: str) -> dict[str, str]:
    return {name: f"{srv.url}/{name}" for name in names}


def outcomes(router: ModelRouter) -> list[tuple[str, str]]:
    return [(r.provider, r.outcome) for r in router.tracker.records]  # type: ignore[attr-defined]


# --- cancelled: the caller stops waiting --------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["openai", "gemini"])
def test_ten_cancelled_generates_are_ten_cancelled_rows(tmp_path: Path, server: LoopbackServer, family: str) -> None:
    router = make_router(tmp_path, urls_of(server, family), "[budgets]\nuser_daily_usd = 5\n")

    async def run() -> None:
        await router.generate(TASK[family], "warm up", provider=family, user_id="warm")  # connections, encodings
        router.tracker.records.clear()  # type: ignore[attr-defined]
        server.configure(f"/{family}", delay=5.0)
        for i in range(10):
            with pytest.raises(TimeoutError):
                call = router.generate(TASK[family], f"Parse CV number {i}.", provider=family, user_id="ann")
                await asyncio.wait_for(call, 0.5)

    asyncio.run(run())
    records = router.tracker.records  # type: ignore[attr-defined]
    assert [(family, "cancelled")] * 10 == outcomes(router)
    assert [(family, "ok")] + [(family, "cancelled")] * 10 == router.tracker.outcomes_in_file()  # type: ignore[attr-defined]
    assert 11 == len(server.requests_for(f"/{family}")) == router.tracker.rows_in_file()  # type: ignore[attr-defined]
    assert all(r.tokens_estimated and r.input_tokens > 0 and r.output_tokens == 0 for r in records)
    assert all(r.cost_usd > 0 and not r.success for r in records)  # the provider received (and bills) the input
    assert 0.0 == router.budget.status("ann")[0].reserved_usd


def test_a_cancelled_stream_is_one_cancelled_row(tmp_path: Path, server: LoopbackServer) -> None:
    server.configure("/openai", delay=5.0)
    router = make_router(tmp_path, urls_of(server, "openai"), "[budgets]\nuser_daily_usd = 5\n")

    async def read_all() -> None:
        async for _ in router.stream(TaskType.COVER_LETTER, "Write a letter.", provider="openai", user_id="ann"):
            pass

    async def run() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(read_all(), 0.5)

    asyncio.run(run())
    assert [("openai", "cancelled")] == outcomes(router)
    assert 0.0 == router.budget.status("ann")[0].reserved_usd


# --- abandoned: the reader stops a stream early -------------------------------------------------------------------


@pytest.mark.parametrize("family", ["openai", "gemini"])
@pytest.mark.parametrize("how", ["break", "aclose", "garbage-collected"])
def test_an_abandoned_stream_is_one_row_with_its_partial_output(
    tmp_path: Path, server: LoopbackServer, family: str, how: str
) -> None:
    server.configure(f"/{family}", text=LONG, chunk_delay=0.3)
    router = make_router(tmp_path, urls_of(server, family), "[budgets]\nuser_daily_usd = 5\n")
    received: list[str] = []

    async def run() -> None:
        stream = router.stream(TaskType.COVER_LETTER, "Write a letter.", provider=family, user_id="ann")
        async for piece in stream:
            received.append(piece)
            break
        if how == "aclose":
            await stream.aclose()
        elif how == "garbage-collected":
            del stream
            gc.collect()
            await asyncio.sleep(0.2)  # the loop closes a dropped generator on its next turns

    asyncio.run(run())
    [record] = router.tracker.records  # type: ignore[attr-defined]
    assert (family, "abandoned", False, True) == (
        record.provider,
        record.outcome,
        record.success,
        record.tokens_estimated,
    )
    assert 0 < record.output_tokens < 40 and record.input_tokens > 0 and record.cost_usd > 0
    assert [(family, "abandoned")] == router.tracker.outcomes_in_file()  # type: ignore[attr-defined]
    assert 0.0 == router.budget.status("ann")[0].reserved_usd
    assert received and len(received[0]) < len(LONG)


# --- a stream that fails midway is billed for what it consumed --------------------------------------------------


def _openai_chunk(text: str) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": [
        {"index": 0, "delta": {"content": text}, "finish_reason": None}]}  # fmt: skip


MID_STREAM = {
    "openai": [
        _openai_chunk("Dear hiring manager, "),
        _openai_chunk("I am writing to apply for the role of data engineer at Acme, "),
        {"error": {"message": "The server had an error while processing your request.", "type": "server_error"}},
    ],
    "gemini": [
        gemini_response(Script(text="Dear hiring manager, I am writing to apply"), "gemini-2.5-flash", final=False),
        {"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}},
    ],
}


@pytest.mark.parametrize("family", ["openai", "gemini"])
def test_a_stream_failing_midway_records_the_tokens_consumed(tmp_path: Path, family: str) -> None:
    transport = httpx.MockTransport(sse_handler(*MID_STREAM[family], crlf=family == "gemini"))
    router = make_router(tmp_path, {family: "https://example.test"}, transport=transport)
    pieces: list[str] = []

    async def run() -> None:
        async for piece in router.stream(TaskType.COVER_LETTER, "Write a letter.", provider=family):
            pieces.append(piece)

    with pytest.raises(ProviderError, match="server"):
        asyncio.run(run())
    [record] = router.tracker.records  # type: ignore[attr-defined]
    assert (family, "error", "server", "error") == (
        record.provider, record.outcome, record.error_kind, record.finish_reason
    )  # fmt: skip
    assert pieces and record.output_tokens > 5 and record.cost_usd > 0 and record.tokens_estimated


# --- deadlines: a provider's timeout bounds the whole attempt -----------------------------------------------------


@pytest.mark.parametrize(
    ("family", "streaming", "mode"),
    [
        ("openai", False, "trickle"),
        ("openai", True, "trickle"),
        ("openai", True, "keepalive"),
        ("gemini", False, "trickle"),
        ("gemini", True, "trickle"),
        ("gemini", True, "keepalive"),
    ],
)
def test_a_slow_provider_ends_at_its_deadline_and_falls_back(
    tmp_path: Path, server: LoopbackServer, family: str, streaming: bool, mode: str
) -> None:
    with SlowServer(mode, interval=0.5) as slow:
        urls = {family: f"{slow.url}/{family}", "groq": f"{server.url}/groq"}
        router = make_router(tmp_path, urls, f"[providers.{family}]\ntimeout = 1.5\n")

        async def run() -> tuple[str, Any]:
            if not streaming:
                response = await router.generate(TASK[family], "Summarise this job.", use_cache=False)
                return response.content, response
            stream = router.stream(TASK[family], "Summarise this job.", use_cache=False)
            return "".join([piece async for piece in stream]), stream.response

        started = time.monotonic()
        text, response = asyncio.run(run())
        elapsed = time.monotonic() - started
        assert 1 == len(slow.requests)
    assert ("answer from groq", "groq") == (text, response.provider)
    assert 1.4 < elapsed < 4.0  # the deadline, not the (endless) trickle or keep-alive
    assert [(family, "deadline"), ("groq", "ok")] == outcomes(router) == router.tracker.outcomes_in_file()  # type: ignore[attr-defined]
    first = router.tracker.records[0]  # type: ignore[attr-defined]
    assert ("timeout", True) == (first.error_kind, first.tokens_estimated)
    assert ("deadline", "timeout") == (response.attempts[0].outcome, response.attempts[0].error_kind)
    assert "within 1.5 s" in response.attempts[0].reason


def test_a_stream_out_of_time_after_some_text_bills_it_and_tells_the_reader(
    tmp_path: Path, server: LoopbackServer
) -> None:
    script = Script(text=LONG)
    first_three = b"".join(openai_stream_events(script, "gpt-4o")[:3])  # the role chunk and two pieces of text
    with SlowServer("trickle", interval=0.5, script=script, burst=len(first_three)) as slow:
        urls = {"openai": f"{slow.url}/openai", "groq": f"{server.url}/groq"}
        router = make_router(tmp_path, urls, "[providers.openai]\ntimeout = 1.5\n")
        pieces: list[str] = []

        async def run() -> None:
            async for piece in router.stream(TaskType.COVER_LETTER, "Write a letter.", use_cache=False):
                pieces.append(piece)

        with pytest.raises(ProviderError, match="timeout"):
            asyncio.run(run())
    assert 2 == len(pieces)
    [record] = router.tracker.records  # type: ignore[attr-defined]
    assert ("deadline", "timeout", True) == (record.outcome, record.error_kind, record.tokens_estimated)
    assert record.output_tokens > 10 and record.cost_usd > 0
    assert [] == server.requests_for("/groq")  # text had reached the reader: no silent switch of provider


@pytest.mark.parametrize("streaming", [False, True])
def test_the_call_cap_ends_a_call_with_a_clear_error(tmp_path: Path, server: LoopbackServer, streaming: bool) -> None:
    with SlowServer("trickle", interval=0.5) as slow:
        urls = {"openai": f"{slow.url}/openai", "groq": f"{server.url}/groq"}
        router = make_router(tmp_path, urls, "[providers.openai]\ntimeout = 10\n", call_timeout=1.0)

        async def run() -> None:
            if streaming:
                async for _ in router.stream(TaskType.CV_PARSING, "Parse this CV.", use_cache=False):
                    pass
            else:
                await router.generate(TaskType.CV_PARSING, "Parse this CV.", use_cache=False)

        started = time.monotonic()
        with pytest.raises(CallDeadlineExceeded, match=r"No provider answered cv_parsing within 1 s") as info:
            asyncio.run(run())
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3.0
    assert [("openai", "deadline")] == outcomes(router)
    assert "openai: no complete answer within 1 s (the call time limit)" in str(info.value)
    assert [] == server.requests_for("/groq")  # no time left to fall back


def test_a_fast_provider_is_unaffected_by_the_deadlines(tmp_path: Path, server: LoopbackServer) -> None:
    server.configure("/openai", delay=0.3)
    router = make_router(tmp_path, urls_of(server, "openai"), "[providers.openai]\ntimeout = 2\n", call_timeout=5.0)
    response = asyncio.run(router.generate(TaskType.CV_PARSING, "Parse this CV.", use_cache=False))
    assert ("openai", [("openai", "ok")]) == (response.provider, outcomes(router))


def test_openai_stream_events_carry_the_script_usage() -> None:
    """Guard for the fakes used above: the OpenAI SSE fake ends with usage and [DONE]."""
    events = openai_stream_events(replace(Script(), input_tokens=5, output_tokens=3), "gpt-4o")
    assert events[-1] == b"data: [DONE]\n\n" and b'"prompt_tokens":5' in events[-2]


def test_a_page_that_stops_reading_leaves_one_abandoned_row(tmp_path: Path, server: LoopbackServer) -> None:
    """st.write_stream reads through core.aio.iter_sync, on its own loop in a worker thread."""
    from core.aio import iter_sync

    server.configure("/openai", text=LONG, chunk_delay=0.3)
    router = make_router(tmp_path, urls_of(server, "openai"))
    for _piece in iter_sync(router.stream(TaskType.COVER_LETTER, "Write a letter.", provider="openai")):
        break
    assert [("openai", "abandoned")] == router.tracker.outcomes_in_file()  # type: ignore[attr-defined]
    assert router.tracker.records[0].output_tokens > 0  # type: ignore[attr-defined]
