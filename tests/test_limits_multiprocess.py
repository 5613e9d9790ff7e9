"""Limits and budgets hold across processes on one usage DB (the app, the REST API and the CLI are separate processes).

Each test spawns two fresh interpreters that start together (a barrier) and share one DB file. Router tests go
through `ModelRouter` against a loopback server speaking the OpenAI chat-completions format, which logs when each
request arrives. Calls past a limit are refused at once (the router falls back to the offline engine, or the block
policy raises), so nothing sleeps for a minute.

The "memory" rows are controls: the same run with per-process limits lets twice as much through, which shows the
tests can see the failure they guard against.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.base import BudgetExceeded
from tests.processes import run_together, spawned

# Spawned workers import this module: heavier imports are made where they are used, to keep process start cheap.

_SPAWN = multiprocessing.get_context("spawn")
_JOIN_TIMEOUT = 120.0


class FakeOpenAI:
    """A loopback OpenAI chat-completions server that logs every request's arrival time (wall clock)."""

    def __init__(self, output_tokens: int = 7, delay: float = 0.0) -> None:
        from tests.fakes import Script, openai_completion

        self.arrivals: list[float] = []
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

            def do_POST(self) -> None:
                arrived = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake._lock:
                    fake.arrivals.append(arrived)
                    fake.bodies.append(body)
                time.sleep(delay)
                reply = openai_completion(Script(input_tokens=20, output_tokens=output_tokens), body["model"])
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def most_in_any_window(times: list[float], window: float = 60.0) -> int:
    """The largest number of `times` inside any half-open interval [t, t + window)."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize(
    ("times", "most"),
    [
        ([], 0),
        ([0.0], 1),
        ([0.0, 59.9], 2),
        ([0.0, 60.0], 1),
        ([0.0, 1.0, 61.0, 61.5], 2),
        ([0.0, 30.0, 59.0, 61.0, 89.0], 4),
        ([5.0, 1.0, 3.0], 3),
    ],
)
def test_most_in_any_window(times: list[float], most: int) -> None:
    assert most == most_in_any_window(times)


# --- workers (run in spawned interpreters) ----------------------------------------------------------------------


def _router_worker(env: dict[str, str], backend: str, plan: dict[str, Any], barrier: Any) -> dict[str, Any]:
    """Make `plan["calls"]` calls as user "ann" through a router wired with the chosen limits backend, one after
    another or (`plan["burst"]`) all at once; report who answered and how many were refused at once (the rate
    limit with nothing to fall back to, or the block budget)."""
    import asyncio

    os.environ.update(env)
    from core.base import NoProviderAvailable
    from core.config import load_settings
    from core.limits import build_budget, build_limiter
    from core.router import ModelRouter
    from core.tokens import count_message_tokens
    from core.usage_tracker import UsageTracker

    settings = load_settings()
    tracker = UsageTracker(settings.db_path)
    router = ModelRouter(
        settings,
        tracker=tracker,
        limiter=build_limiter(settings, backend=backend),
        budget=build_budget(settings, spend_fn=tracker.spend_usd, backend=backend, flush_usage=tracker.flush),  # type: ignore[arg-type]
    )
    router.price("openai"), count_message_tokens("warm up", None, settings.providers["openai"].model)  # imports
    answered: list[str] = []
    refused = 0

    async def one(i: int) -> None:
        nonlocal refused
        try:
            response = await router.generate(
                task_type="fast_summary", prompt=f"Summarise item {i} of process {os.getpid()}.", user_id="ann",
                max_tokens=plan["max_tokens"], provider="openai", use_cache=False,
            )  # fmt: skip
        except (BudgetExceeded, NoProviderAvailable):
            refused += 1
        else:
            answered.append(response.provider)

    async def run() -> None:
        if plan.get("burst"):
            await asyncio.gather(*(one(i) for i in range(plan["calls"])))
        else:
            for i in range(plan["calls"]):
                await one(i)

    barrier.wait(timeout=60)
    asyncio.run(run())
    tracker.close()
    return {"answered": answered, "refused": refused}


def _limiter_worker(
    db: str, limits: dict[str, tuple[int | None, int | None]], calls: int, tokens: int, barrier: Any
) -> int:
    from core.limits import SQLiteRateLimiter

    limiter = SQLiteRateLimiter(db, limits)
    barrier.wait(timeout=60)
    return sum(1 for _ in range(calls) if limiter.acquire("openai", "ann", tokens) == 0.0)


def _leasing_worker(db: str, rpm: int, calls: int, barrier: Any) -> dict[str, Any]:
    """`calls` attempts 1 ms apart at `rpm` (high enough for leases); when each admitted call was admitted, and how
    many leases this process claimed."""
    from core.limits import SQLiteRateLimiter

    class Counting(SQLiteRateLimiter):
        claims = 0

        def _claim(self, *args: Any) -> bool:
            self.claims += 1
            return super()._claim(*args)

    limiter = Counting(db, {"openai": (rpm, None)})
    barrier.wait(timeout=60)
    times = []
    for _ in range(calls):
        if limiter.acquire("openai", "ann") == 0.0:
            times.append(time.time())
        time.sleep(0.001)
    return {"times": times, "claims": limiter.claims}


def _leasing_then_waiting_worker(db: str, rpm: int, report: Any) -> None:
    """Call until this process holds a lease with unused slots, report them, then wait to be killed."""
    from core.limits import SQLiteRateLimiter

    limiter = SQLiteRateLimiter(db, {"openai": (rpm, None)})
    made = 0
    while True:
        assert 0.0 == limiter.acquire("openai", "ann")
        made += 1
        lease = limiter._leases.get(("openai", "ann"))
        if lease is not None and len(lease.free) >= 2:
            break
        time.sleep(0.001)
    report.put({"made": made, "free": len(lease.free), "end": lease.end})
    time.sleep(120)


def _holding_worker(db: str, ttl: float, ready: Any) -> None:
    """Take a hold, say so, then wait to be killed."""
    from core.config import BudgetSettings
    from core.limits import SQLiteBudget

    budget = SQLiteBudget(BudgetSettings(user_daily_usd=0.05), db, reservation_ttl_seconds=ttl)
    budget.reserve("ann", 0.04)
    ready.set()
    time.sleep(120)


def _run_pair(target: Any, *args: Any) -> list[Any]:
    """Run `target(*args, barrier)` in two spawned processes started together; their results."""
    return run_together(target, 2, *args, timeout=_JOIN_TIMEOUT)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    yield tmp_path / "usage.db", tmp_path / "cv_copilot.toml"


def _env(server: FakeOpenAI, db: Path, config: Path) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": f"{server.url}/v1",
        "CV_COPILOT_DB": str(db),
        "CV_COPILOT_CONFIG": str(config),
        "CV_COPILOT_NO_DOTENV": "1",
    }


# --- the proofs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "reach"), [("sqlite", 60), ("memory", 120)])
def test_two_processes_at_60_rpm_send_at_most_60_a_minute(setup: tuple[Path, Path], backend: str, reach: int) -> None:
    """2 processes × 60 calls as one user, pinned to openai at 60 rpm: 60 reach the provider, the rest are refused."""
    db, config = setup
    config.write_text("[providers.openai]\nrpm = 60\nmodel = 'gpt-4o-mini'\n[cache]\nenabled = false\n")
    with FakeOpenAI() as server:
        started = time.time()
        out = _run_pair(_router_worker, _env(server, db, config), backend, {"calls": 60, "max_tokens": 50})
        elapsed = time.time() - started
    assert elapsed < 60, "the run took a minute: the window may have slid, so the count below would not prove much"
    answered = [p for o in out for p in o["answered"]]
    refused = sum(o["refused"] for o in out)
    assert (reach, reach, 120 - reach) == (answered.count("openai"), len(server.arrivals), refused)
    if backend == "sqlite":
        assert 60 >= most_in_any_window(server.arrivals)


_PAID = (
    "[providers.openai]\nrpm = 100000\nmodel = 'paid-test-model'\n"
    "[prices.paid-test-model]\ninput = 0.0\noutput = 0.01\n"  # 400 output tokens cost exactly $0.004; input is free
    "[budgets]\npolicy = 'block'\nuser_daily_usd = 0.05\n[cache]\nenabled = false\n"
)


def test_two_processes_bursting_share_one_block_budget(setup: tuple[Path, Path]) -> None:
    """A $0.05 block budget, calls of exactly $0.004 (their worst case), 2 processes × 20 calls at once, each call
    taking 0.3 s: together they pay for 12 calls ($0.048), never more than $0.05 plus one call; every paid request
    has its row. (The per-process control is the rpm test's: how far per-process holds overshoot depends on how the
    two bursts happen to overlap.)"""
    db, config = setup
    config.write_text(_PAID)
    with FakeOpenAI(output_tokens=400, delay=0.3) as server:
        out = _run_pair(
            _router_worker, _env(server, db, config), "sqlite", {"calls": 20, "max_tokens": 400, "burst": 1}
        )
    from core.usage_tracker import UsageTracker

    tracker = UsageTracker(db)
    spent = tracker.spend_usd(0.0, None)
    rows = tracker.get_usage_stats(hours=None)["total_requests"]
    tracker.close()
    answered = sum(len(o["answered"]) for o in out)
    reached = len(server.arrivals)
    assert (reached, reached, 40 - reached) == (answered, rows, sum(o["refused"] for o in out))
    assert pytest.approx(reached * 0.004) == spent
    assert 12 == reached
    assert spent <= 0.05 + 0.004 + 1e-9


def test_two_processes_one_call_at_a_time_use_the_whole_budget(setup: tuple[Path, Path]) -> None:
    """Sequential calls from 2 processes: the 12 calls that fit are all paid (a settled call is counted once, as
    its usage row, not also as a lingering hold), and the 13th is refused."""
    db, config = setup
    config.write_text(_PAID)
    with FakeOpenAI(output_tokens=400) as server:
        out = _run_pair(_router_worker, _env(server, db, config), "sqlite", {"calls": 15, "max_tokens": 400})
    from core.usage_tracker import UsageTracker

    tracker = UsageTracker(db)
    spent = tracker.spend_usd(0.0, None)
    tracker.close()
    assert (12, 18, pytest.approx(0.048)) == (len(server.arrivals), sum(o["refused"] for o in out), spent)


def test_two_processes_share_one_tokens_per_minute_limit(tmp_path: Path) -> None:
    """tpm 1000, calls of 100 tokens, 2 × 30 attempts: exactly 10 admitted in all."""
    admitted = _run_pair(_limiter_worker, str(tmp_path / "usage.db"), {"openai": (None, 1000)}, 30, 100)
    assert 10 == sum(admitted)


def test_a_live_process_hold_counts_and_a_killed_one_is_released_at_once(tmp_path: Path) -> None:
    """The holder's $0.04 counts while it lives; once it is SIGKILLed its pid is gone, so the hold is released
    at the next refusal instead of counting until its expiry (300 s)."""
    from core.config import BudgetSettings
    from core.limits import SQLiteBudget

    db = tmp_path / "usage.db"
    with spawned(_holding_worker, str(db), 300.0, timeout=60) as proc:
        budget = SQLiteBudget(BudgetSettings(user_daily_usd=0.05), db)
        with pytest.raises(BudgetExceeded):
            budget.reserve("ann", 0.02)  # the live process's $0.04 counts
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        assert -signal.SIGKILL == proc.exitcode
        assert 0.02 == budget.reserve("ann", 0.02).amount_usd
        assert 0.02 == pytest.approx(budget.status("ann")[0].reserved_usd)


def test_two_processes_leasing_rate_slots_admit_at_most_rpm_in_any_minute(tmp_path: Path) -> None:
    """rpm 500 (leases of up to 10 slots), 2 processes × 400 attempts 1 ms apart: both lease, at most 500 calls are
    admitted in any 60 s, and at most the two live leases' unused slots (2 × 10) go unserved."""
    started = time.time()
    out = _run_pair(_leasing_worker, str(tmp_path / "usage.db"), 500, 400)
    assert time.time() - started < 60, "the run took a minute: the window may have slid"
    times = [t for o in out for t in o["times"]]
    assert all(o["claims"] >= 1 for o in out)
    assert 500 >= most_in_any_window(times)
    assert 500 - 2 * 10 <= len(times)


def test_a_killed_process_unused_leased_slots_lapse_a_minute_after_its_lease(tmp_path: Path) -> None:
    """SIGKILL while a lease holds unused slots: they stay counted (at most rpm / 50 of them), never past the lease's
    end + 60 s; then another process gets the whole limit."""
    from core.limits import SQLiteRateLimiter
    from core.limits.sqlite_rate import LEASE_SECONDS, LEASE_SHARE

    db = tmp_path / "usage.db"
    rpm = 500
    report = _SPAWN.Queue()
    proc = _SPAWN.Process(target=_leasing_then_waiting_worker, args=(str(db), rpm, report))
    proc.start()
    try:
        held = report.get(timeout=_JOIN_TIMEOUT)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        assert -signal.SIGKILL == proc.exitcode
    finally:
        if proc.is_alive():
            proc.kill()
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = [ts for (ts,) in conn.execute("SELECT ts FROM rate_events")]
    assert held["made"] + held["free"] == len(rows)  # every call made, and the unused slots, still counted
    assert 2 <= held["free"] <= rpm // LEASE_SHARE
    assert max(rows) == held["end"] <= killed_at + LEASE_SECONDS
    later = max(rows) + 60.0 + 0.001
    other = SQLiteRateLimiter(db, {"openai": (rpm, None)}, clock=lambda: later)
    assert rpm == sum(other.acquire("openai", "ann") == 0.0 for _ in range(2 * rpm))
