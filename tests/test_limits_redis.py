"""Limits and budgets on a real Redis server (issue 15): started here on loopback (as the `redis` user when the tests
run as root), a throwaway child process (tests.processes, as are the worker processes here).

The contract suites in test_rate_limit.py and test_budget.py also run against Redis through `shared_redis_url()`.
This file holds what only Redis has: several processes on one server, and Redis stopping and coming back (stricter
per-process limits meanwhile, a loud log, a banner message, recovery).

Skipped, with the reason, when `redis-server` (Debian package redis-server) or the `redis` package is missing.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from core.base import BudgetExceeded
from core.config import BudgetSettings
from tests import processes

REDIS_SERVER = shutil.which("redis-server")
SKIP_REASON = (
    "redis-server is not installed (apt-get install -y redis-server)"
    if REDIS_SERVER is None
    else "the redis package is not installed (pip install -r requirements.txt)"
    if importlib.util.find_spec("redis") is None
    else ""
)
needs_redis = pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON or "redis available")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_user() -> str | None:
    """Who runs redis-server when the tests run as root: Debian's `redis` user, else `nobody`."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    for name in ("redis", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


class RedisServer:
    """A throwaway redis-server on 127.0.0.1 (no persistence), which a test may stop and start again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = tempfile.TemporaryDirectory()
        self._proc: subprocess.Popen[bytes] | None = None  # the running server (tests.processes.program)

    def start(self) -> RedisServer:
        assert REDIS_SERVER is not None
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", self._folder.name, "--protected-mode", "yes"]  # fmt: skip
        user = _unprivileged_user()
        if user:  # as root (CI): the server runs as an unprivileged user; it only needs to enter its folder
            os.chmod(self._folder.name, 0o755)
            command = ["runuser", "-u", user, "--", *command]
        self._proc = processes.program(*command)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self._proc is not None:
            processes.stop(self._proc)
        self._proc = None


_shared: RedisServer | None = None


def shared_redis_url() -> str:
    """The URL of one Redis server for the whole test run (started on first use, stopped at exit)."""
    global _shared
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    if _shared is None:
        _shared = RedisServer().start()
        atexit.register(_shared.stop)
    return _shared.url


def prefix() -> str:
    """A key prefix of its own for each limiter or budget under test, so tests never see each other's keys."""
    return f"test-{uuid.uuid4().hex}"


# --- several processes on one server ------------------------------------------------------------------------------


@needs_redis
def test_connections_to_one_server_share_one_window() -> None:
    """Two limiters with their own clients (as two machines would have) admit the limit once, not twice."""
    from core.limits.redis_backend import RedisConnection, RedisRateLimiter

    url, space = shared_redis_url(), prefix()
    first, second = (RedisRateLimiter(RedisConnection(url, prefix=space), {"openai": (5, None)}) for _ in "ab")
    admitted = [lim.acquire("openai", "ann") == 0.0 for _ in range(5) for lim in (first, second)]
    assert [True] * 5 + [False] * 5 == admitted
    assert 55 < second.acquire("openai", "ann") <= 60  # the server's clock: the first call leaves in about 60 s


@needs_redis
def test_two_processes_at_60_rpm_admit_60(tmp_path: Path) -> None:
    url = shared_redis_url()
    admitted = processes.run_together(_redis_worker, 2, url, prefix(), 60)
    assert 60 == sum(admitted)


def _redis_worker(url: str, space: str, calls: int, barrier: object) -> int:
    from core.limits.redis_backend import RedisConnection, RedisRateLimiter

    limiter = RedisRateLimiter(RedisConnection(url, prefix=space), {"openai": (60, None)})
    barrier.wait(timeout=60)  # type: ignore[attr-defined]
    return sum(1 for _ in range(calls) if limiter.acquire("openai", "ann") == 0.0)


@needs_redis
def test_a_crashed_workers_hold_lapses() -> None:
    """A hold nobody settles (its process died) stops counting at its expiry."""
    from core.limits.redis_backend import RedisBudget, RedisConnection

    connection = RedisConnection(shared_redis_url(), prefix=prefix())
    budget = RedisBudget(
        BudgetSettings(user_daily_usd=0.05), connection, lambda since, user: 0.0, reservation_ttl_seconds=1.0
    )
    budget.reserve("ann", 0.04)  # never settled
    with pytest.raises(BudgetExceeded):
        budget.reserve("ann", 0.02)
    time.sleep(1.1)
    assert 0.02 == budget.reserve("ann", 0.02).amount_usd


# --- Redis down and back ------------------------------------------------------------------------------------------


class StepClock:
    """A wall clock a test moves forward by hand (the limiter's and the Redis script's "now")."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@needs_redis
def test_redis_down_holds_then_gives_stricter_local_limits_then_quarantines_then_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """10 rpm shared by 2 replicas. Redis down: for one window nothing is admitted locally (what Redis admitted before
    it went away still counts, and nobody knows how much), then 5 per process. Back (restarted empty): for one more
    window a call needs Redis and the local share, then Redis alone again. One ERROR for the outage, not one per
    call."""
    from core.limits.redis_backend import RedisConnection, RedisRateLimiter

    server = RedisServer().start()
    clock = StepClock()
    try:
        connection = RedisConnection(server.url, prefix=prefix(), retry_seconds=0.2, socket_timeout=0.2)
        limiter = RedisRateLimiter(connection, {"openai": (10, None)}, replicas=2, clock=clock)
        assert [0.0] * 3 == [limiter.acquire("openai", "ann") for _ in range(3)]
        assert None is limiter.degraded
        server.stop()
        with caplog.at_level(logging.ERROR, logger="core.limits.redis_backend"):
            held = [limiter.acquire("openai", "ann") for _ in range(8)]
            time.sleep(0.25)  # past the retry interval: the next call asks Redis again, and fails again
            held.append(limiter.acquire("openai", "ann"))
        assert [60.0] * 9 == [round(w) for w in held]  # the hold: one window from the moment Redis went away
        assert 1 == sum("falling back" in r.getMessage() for r in caplog.records)  # loud, once per outage
        assert "not answering" in (limiter.degraded or "")
        clock.now += 60.5
        local = [limiter.acquire("openai", "ann") == 0.0 for _ in range(8)]
        assert [True] * 5 + [False] * 3 == local  # 10 rpm / 2 replicas
        server.start()  # empty: it knows nothing of the 5 calls admitted locally
        time.sleep(0.25)
        with caplog.at_level(logging.WARNING, logger="core.limits.redis_backend"):
            assert 0.0 < limiter.acquire("openai", "ann")  # quarantine: the local share is still full
        assert "answers again" in caplog.text
        assert None is limiter.degraded
        clock.now += 60.2  # the 5 local calls have left; Redis and the local share both admit 5
        assert [True] * 5 + [False] == [limiter.acquire("openai", "ann") == 0.0 for _ in range(6)]
        clock.now += 1.0  # quarantine over (60 s + retry + timeout after Redis answered): Redis alone, 10 in all
        assert [True] * 5 + [False] == [limiter.acquire("openai", "ann") == 0.0 for _ in range(6)]
    finally:
        server.stop()


@needs_redis
def test_a_budget_hold_taken_locally_while_redis_is_down_counts_replicas_times() -> None:
    from core.limits.redis_backend import RedisBudget, RedisConnection

    server = RedisServer().start()
    try:
        connection = RedisConnection(server.url, prefix=prefix(), retry_seconds=0.2, socket_timeout=0.2)
        budget = RedisBudget(BudgetSettings(user_daily_usd=1.0), connection, lambda since, user: 0.0, replicas=2)
        server.stop()
        held = budget.reserve("ann", 0.25)  # held locally, counted twice: 0.5 of 1.0
        with pytest.raises(BudgetExceeded):
            budget.reserve("ann", 0.3)  # (0.25 + 0.3) × 2 > 1.0
        budget.settle(held, 0.25)
        assert 0.3 == budget.reserve("ann", 0.3).amount_usd
    finally:
        server.stop()


@needs_redis
def test_a_hold_from_before_a_redis_restart_never_settles_a_new_one() -> None:
    """Hold ids are random, not a counter kept in Redis: a Redis restarted empty cannot hand out an id again."""
    from core.limits.redis_backend import RedisBudget, RedisConnection

    server = RedisServer().start()
    try:
        connection = RedisConnection(server.url, prefix=prefix(), retry_seconds=0.1, socket_timeout=0.2)
        budget = RedisBudget(
            BudgetSettings(user_daily_usd=1.0), connection, lambda since, user: 0.0, settle_grace_seconds=0
        )
        old = budget.reserve("ann", 0.1)
        server.stop()
        server.start()
        time.sleep(0.15)
        new = [budget.reserve("ann", 0.2) for _ in range(3)]
        budget.settle(old, 0.0)
        assert (old.id not in {n.id for n in new}, 0.6) == (True, pytest.approx(budget.status("ann")[0].reserved_usd))
    finally:
        server.stop()


@needs_redis
def test_redis_problem_is_the_banner_text_while_down_and_none_once_back(tmp_path: Path) -> None:
    """What the pages show: asked without any call being made (a PING at most once per retry interval)."""
    from core import limits
    from core.config import load_settings
    from core.limits.redis_backend import RedisConnection

    server = RedisServer().start()
    try:
        settings = load_settings({"CV_COPILOT_REDIS_URL": server.url, "CV_COPILOT_NO_DOTENV": "1"})
        limits._REDIS[server.url] = RedisConnection(server.url, retry_seconds=0.1, socket_timeout=0.2)
        assert None is limits.redis_problem(settings)
        server.stop()
        time.sleep(0.15)
        assert "Redis is not answering" in (limits.redis_problem(settings) or "")
        server.start()
        time.sleep(0.15)
        assert None is limits.redis_problem(settings)
        no_redis = load_settings({"CV_COPILOT_NO_DOTENV": "1"})
        assert None is limits.redis_problem(no_redis)
    finally:
        limits._REDIS.pop(server.url, None)
        server.stop()


@needs_redis
def test_the_logged_url_has_no_password() -> None:
    from core.limits.redis_backend import _without_password

    assert "redis://cache.internal:6380/2" == _without_password("redis://user:s3cret@cache.internal:6380/2")


# --- a worker killed while it holds money ---------------------------------------------------------------------------


def _redis_holding_worker(url: str, space: str, ttl: float, ready: object) -> None:
    """Take a $0.04 hold on Redis, say so, then wait to be killed."""
    from core.limits.redis_backend import RedisBudget, RedisConnection

    budget = RedisBudget(
        BudgetSettings(user_daily_usd=0.05), RedisConnection(url, prefix=space), lambda since, user: 0.0,
        reservation_ttl_seconds=ttl,
    )  # fmt: skip
    budget.reserve("ann", 0.04)
    ready.set()  # type: ignore[attr-defined]
    time.sleep(120)


@pytest.mark.slow
@needs_redis
def test_a_hold_of_a_worker_killed_with_sigkill_is_released_at_its_expiry() -> None:
    """kill -9 a process holding $0.04 of a $0.05 budget: its hold still counts (nobody can tell a dead worker from a
    slow one) until its TTL, then the money is free again, with no process left to settle it."""
    import os
    import signal

    from core.limits.redis_backend import RedisBudget, RedisConnection

    url, space = shared_redis_url(), prefix()
    with processes.spawned(_redis_holding_worker, url, space, 3.0, timeout=60) as proc:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        killed_at = time.time()
        assert -signal.SIGKILL == proc.exitcode
    budget = RedisBudget(BudgetSettings(user_daily_usd=0.05), RedisConnection(url, prefix=space), lambda s, u: 0.0)
    assert 0.04 == pytest.approx(budget.status("ann")[0].reserved_usd)
    with pytest.raises(BudgetExceeded):
        budget.reserve("ann", 0.02)
    time.sleep(max(0.0, killed_at + 3.1 - time.time()))
    assert 0.02 == budget.reserve("ann", 0.02).amount_usd
    assert 0.02 == pytest.approx(budget.status("ann")[0].reserved_usd)
