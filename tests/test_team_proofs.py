"""The team deployment, proved against real servers (issue 15): three processes on one usage DB and one Redis.

The three processes are two app workers and the REST API process. Each app worker builds its services as the app
does (core.services, from the environment). The API process serves `python -m core.api`'s app under uvicorn and
makes its share of the calls through the same process root. The API is read-only, so it has no call endpoint.
Every call goes to a loopback server that speaks OpenAI's chat-completions format and logs when each request
arrives. Redis is a real redis-server, which one test stops mid-run and starts again.

Each proof runs on the shared SQLite usage file and, where the PostgreSQL tracker and a PostgreSQL server are
available (tests.pg starts one on loopback), on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_limits_multiprocess import _SPAWN, FakeOpenAI, most_in_any_window
from tests.test_limits_redis import RedisServer, needs_redis

pytestmark = [pytest.mark.slow, needs_redis]

ROLES = ("app-1", "app-2", "api")
TOKEN = "team-proof-token-" + "x" * 32
try:
    from tests.pg import SKIP_REASON as _PG_SKIP
except ImportError:  # a tree without the PostgreSQL tracker
    _PG_SKIP = "this tree has no PostgreSQL tracker (tests/pg.py)"
DATABASES = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(bool(_PG_SKIP), reason=_PG_SKIP or "PostgreSQL available")),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the three processes (spawned interpreters) --------------------------------------------------------------------


def _entry(index: int, role: str, env: dict[str, str], plan: dict[str, Any], barrier: Any, stop: Any, out: Any) -> None:
    try:
        out.put((index, _process(role, env, plan, barrier, stop, out)))
    except BaseException:
        import traceback

        out.put((index, {"error": traceback.format_exc()}))
        raise


def _process(role: str, env: dict[str, str], plan: dict[str, Any], barrier: Any, stop: Any, out: Any) -> dict[str, Any]:
    """Build the process's services from the environment, make the planned calls as user "ann", and report who
    answered, what was refused or failed, and the banner text after each call."""
    os.environ.update(env)
    if "CV_COPILOT_LOCAL_DB" in env:  # PostgreSQL only: each process's own local file
        os.environ["CV_COPILOT_LOCAL_DB"] = env["CV_COPILOT_LOCAL_DB"].replace(".db", f"-{role}.db")
    errors: list[str] = []
    admitted: list[tuple[float, float]] = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage())

    logging.getLogger("core.limits.redis_backend").addHandler(Count(level=logging.ERROR))
    from core import limits, services
    from core.base import BudgetExceeded, NoProviderAvailable
    from core.config import load_settings
    from core.limits.redis_backend import RedisConnection

    settings = load_settings()
    url = env["CV_COPILOT_REDIS_URL"]
    limits._REDIS[url] = RedisConnection(url, retry_seconds=plan["retry"], socket_timeout=0.2)
    parts: dict[str, Any] = {}
    if plan.get("naive"):  # the control: plain 1/N local limits from the first failure, Redis trusted at once again
        from core.limits.redis_backend import RedisRateLimiter

        RedisRateLimiter._went_down = lambda self: None  # type: ignore[method-assign]
        RedisRateLimiter._answered = lambda self: False  # type: ignore[method-assign]
    if plan.get("window"):  # a short window, so a test sees many windows, an outage and a recovery in seconds
        from core.limits.redis_backend import RedisRateLimiter

        class Timed(RedisRateLimiter):
            """Notes when each of user ann's openai calls was admitted: between `before` and `after`."""

            def acquire(self, provider: str, user_id: str, tokens: int = 0) -> float:
                before = time.time()
                wait = super().acquire(provider, user_id, tokens)
                if wait <= 0 and (provider, user_id) == ("openai", "ann"):
                    admitted.append((before, time.time()))
                return wait

        parts["limiter"] = Timed(
            limits._REDIS[url], limits.provider_limits(settings), replicas=3, window_seconds=plan["window"]
        )
    root = services.build_services(settings, **parts)
    services.install(root)
    router = root.router
    router.price("openai"), root.tracker  # imports and files before the start line
    server = None
    if role == "api":
        import uvicorn

        from core.api import create_app

        server = uvicorn.Server(
            uvicorn.Config(create_app(), host="127.0.0.1", port=plan["api_port"], log_level="error")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
    answered: list[str] = []
    refused: list[str] = []
    failed: list[str] = []
    banner: list[str | None] = []

    async def one(i: int) -> None:
        try:
            response = await router.generate(
                task_type="fast_summary", prompt=f"Summarise item {i} of {role}.", user_id="ann",
                max_tokens=plan["max_tokens"], provider=plan.get("pin"), use_cache=False,
            )  # fmt: skip
        except (BudgetExceeded, NoProviderAvailable) as exc:
            refused.append(type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - reported, and the test fails on it
            failed.append(f"{type(exc).__name__}: {exc}")
        else:
            answered.append(response.provider)
        problem = limits.redis_problem(settings)
        if not banner or banner[-1] != problem:
            banner.append(problem)

    async def run() -> None:
        if plan.get("burst"):
            await asyncio.gather(*(one(i) for i in range(plan["calls"])))
        elif plan.get("seconds"):
            i, until = 0, time.time() + plan["seconds"]
            while time.time() < until:
                await one(i)
                i += 1
                await asyncio.sleep(plan["pace"])
        else:
            for i in range(plan["calls"]):
                await one(i)

    if plan.get("warm"):  # a first request (as another user) builds the adapter and its connection: measured calls
        # then reach the provider within milliseconds of being admitted, as they do in a running app
        asyncio.run(router.generate(task_type="fast_summary", prompt="warm-up", user_id="warm-up", max_tokens=5))
    barrier.wait(timeout=120)
    asyncio.run(run())
    root.tracker.flush()
    report = {"answered": answered, "refused": refused, "failed": failed, "banner": banner, "errors": errors}
    report["admitted"] = admitted
    if server is not None:  # keep serving until the test has asked the API
        out.put((-1, report))
        stop.wait(120)
        server.should_exit = True
        time.sleep(0.3)
    return report


def _run_three(env: dict[str, str], plan: dict[str, Any], ask_api: Any = None) -> tuple[list[dict[str, Any]], Any]:
    """Run the three processes together; their reports, and what `ask_api(port)` returned while the API served."""
    barrier, stop, out = _SPAWN.Barrier(3), _SPAWN.Event(), _SPAWN.Queue()
    plan = {**plan, "api_port": _free_port()}
    procs = [
        _SPAWN.Process(target=_entry, args=(i, role, env, plan, barrier, stop, out)) for i, role in enumerate(ROLES)
    ]
    for proc in procs:
        proc.start()
    reports: dict[int, dict[str, Any]] = {}
    answer = None
    try:
        while len(reports) < 3:
            index, report = out.get(timeout=300)
            if "error" in report:
                pytest.fail(f"a process failed:\n{report['error']}")
            reports[2 if index == -1 else index] = report
            if index == -1 and ask_api is not None:
                while len(reports) < 3:  # the app workers first: every row is written when the API is asked
                    i, r = out.get(timeout=300)
                    if "error" in r:
                        pytest.fail(f"a process failed:\n{r['error']}")
                    reports[i] = r
                answer = ask_api(plan["api_port"])
        stop.set()
        for proc in procs:
            proc.join(timeout=60)
    finally:
        stop.set()
        for proc in procs:
            if proc.is_alive():
                proc.kill()
    assert [0, 0, 0] == [proc.exitcode for proc in procs]
    return [reports[i] for i in range(3)], answer


def _usage_from_the_api(port: int) -> int:
    import httpx

    reply = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/ai/usage?hours=24", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    assert 200 == reply.status_code, reply.text
    return int(reply.json()["total_requests"])


def most_surely_in_a_window(admitted: list[tuple[float, float]], window: float) -> int:
    """The most admissions certainly inside one window, each known only to lie in its (before, after) interval: a
    set whose latest `after` is less than `window` past its earliest `before`. Jitter (a loaded machine) can hide an
    excess from this count, never invent one, unlike request arrival times, which come a variable moment later."""
    ordered = sorted(admitted)
    return max(
        (sum(1 for b, a in ordered[i:] if a < before + window) for i, (before, _) in enumerate(ordered)), default=0
    )


@pytest.mark.parametrize(
    ("admitted", "most"),
    [
        ([], 0),
        ([(0.0, 0.1)], 1),
        ([(0.0, 0.1), (3.0, 3.9)], 2),
        ([(0.0, 0.1), (3.0, 4.0)], 1),  # might be exactly 4 s apart: not certainly in one 4 s window
        ([(0.0, 0.1), (1.0, 1.1), (4.05, 4.1), (4.5, 4.6)], 3),
        ([(5.0, 5.0), (1.0, 1.0), (3.0, 3.0)], 2),  # 1 and 5 are a whole window apart
        ([(4.9, 4.9), (1.0, 1.0), (3.0, 3.0)], 3),
    ],
)
def test_most_surely_in_a_window(admitted: list[tuple[float, float]], most: int) -> None:
    assert most == most_surely_in_a_window(admitted, 4.0)


def _measured(fake: FakeOpenAI) -> list[float]:
    """Arrival times of the requests under test (not the warm-up ones)."""
    with fake._lock:
        pairs = list(zip(fake.arrivals, fake.bodies, strict=True))
    return [t for t, body in pairs if "warm-up" not in str(body["messages"])]


def _env(fake: FakeOpenAI, redis: RedisServer, db: str, config: Path) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": f"{fake.url}/v1",
        "CV_COPILOT_DB": db,
        "CV_COPILOT_LOCAL_DB": str(config.parent / "local.db"),  # with PostgreSQL: each machine's own file
        "CV_COPILOT_CONFIG": str(config),
        "CV_COPILOT_NO_DOTENV": "1",
        "CV_COPILOT_REDIS_URL": redis.url,
        "CV_COPILOT_REPLICAS": "3",
        "CV_COPILOT_API_TOKEN": TOKEN,
    }


def _database(kind: str, tmp_path: Path) -> str:
    """CV_COPILOT_DB for the three processes: one SQLite file, or a fresh schema on the run's PostgreSQL server."""
    if kind == "sqlite":
        return str(tmp_path / "usage.db")
    from tests.pg import fresh_schema_url, shared_pg_server

    return fresh_schema_url(shared_pg_server())[0]


def _spent(env: dict[str, str]) -> float:
    """Everything recorded as spent, read as the app reads it (SQLite or PostgreSQL, from the same settings)."""
    from core.config import load_settings
    from core.services import build_tracker

    tracker = build_tracker(load_settings({k: v for k, v in env.items() if k != "CV_COPILOT_REDIS_URL"}))
    try:
        return tracker.spend_usd(0.0, None)
    finally:
        tracker.close()


@pytest.fixture
def redis() -> Any:
    server = RedisServer().start()
    yield server
    server.stop()


# --- the proofs ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("database", DATABASES)
def test_three_processes_at_60_rpm_send_at_most_60_a_minute_and_rows_equal_requests(
    tmp_path: Path, redis: RedisServer, database: str
) -> None:
    """3 × 60 calls as one user, pinned to openai at 60 rpm: 60 reach the provider, 120 are refused at once, and the
    REST API process counts one usage row per provider request."""
    config = tmp_path / "cv_copilot.toml"
    config.write_text("[providers.openai]\nrpm = 60\nmodel = 'gpt-4o-mini'\n[cache]\nenabled = false\n")
    with FakeOpenAI() as fake:
        started = time.time()
        reports, rows = _run_three(
            _env(fake, redis, _database(database, tmp_path), config),
            {"calls": 60, "max_tokens": 50, "pin": "openai", "retry": 5.0},
            ask_api=_usage_from_the_api,
        )
        elapsed = time.time() - started
    answered = [p for r in reports for p in r["answered"]]
    assert elapsed < 60, "the run took a minute: the window may have slid, so the count below would not prove much"
    assert (60, 60, 120, 60) == (
        answered.count("openai"),
        len(fake.arrivals),
        sum(len(r["refused"]) for r in reports),
        rows,
    )
    assert 60 >= most_in_any_window(fake.arrivals)
    assert ([], [None]) == ([f for r in reports for f in r["failed"]], reports[0]["banner"])


_PAID = (
    "[providers.openai]\nrpm = 100000\nmodel = 'paid-test-model'\n"
    "[prices.paid-test-model]\ninput = 0.0\noutput = 0.01\n"  # 400 output tokens cost exactly $0.004; input is free
    "[budgets]\npolicy = 'block'\nuser_daily_usd = 0.05\n[cache]\nenabled = false\n"
)


@pytest.mark.parametrize("database", DATABASES)
def test_three_processes_bursting_never_pass_a_005_block_budget_by_more_than_one_call(
    tmp_path: Path, redis: RedisServer, database: str
) -> None:
    """A $0.05 block budget; calls of exactly $0.004 (their worst case); 3 processes × 20 calls at once, each call
    taking 0.3 s: together they pay at most $0.05 plus one call, and the API counts a row per paid request."""
    config = tmp_path / "cv_copilot.toml"
    config.write_text(_PAID)
    with FakeOpenAI(output_tokens=400, delay=0.3) as fake:
        env = _env(fake, redis, _database(database, tmp_path), config)
        reports, rows = _run_three(
            env,
            {"calls": 20, "max_tokens": 400, "burst": 1, "pin": "openai", "retry": 5.0},
            ask_api=_usage_from_the_api,
        )
    spent = _spent(env)
    reached = len(fake.arrivals)
    answered = sum(len(r["answered"]) for r in reports)
    assert (reached, reached, 60 - reached) == (answered, rows, sum(len(r["refused"]) for r in reports))
    assert pytest.approx(reached * 0.004) == spent
    assert 10 <= reached <= 13
    assert spent <= 0.05 + 0.004 + 1e-9
    assert [] == [f for r in reports for f in r["failed"]]


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("rules", [True, False], ids=["hold-and-quarantine", "control-naive-fallback"])
def test_redis_stopped_mid_run_and_started_again_no_call_fails_and_limits_stay_under(
    tmp_path: Path, redis: RedisServer, database: str, rules: bool
) -> None:
    """12 calls per 4 s window (a short window, so the run sees many), demand far above it from 3 processes for 16 s;
    Redis is stopped at 5 s and started again, empty, at 10 s. Every call is answered (openai, or the offline engine
    when openai is limited), at most 12 requests reach openai in any window, each process logs the outage once, and
    the banner text appears and clears. The control (plain 1/N local limits from the first failure, Redis trusted
    again at once) goes over the limit: the measurement can see what the hold and the quarantine prevent."""
    window, limit = 4.0, 12
    config = tmp_path / "cv_copilot.toml"
    config.write_text(
        f"[providers.openai]\nrpm = {limit}\nmodel = 'gpt-4o-mini'\n[routing]\nfast_summary = 'openai'\n"
        "[cache]\nenabled = false\n"
    )
    with FakeOpenAI() as fake:
        plan = {"seconds": 16, "pace": 0.05, "max_tokens": 50, "retry": 0.5, "window": window, "warm": 1}
        plan["naive"] = not rules
        begun: list[float] = []

        def outage() -> None:
            while not _measured(fake):  # the processes take a while to start: time runs from the first request
                time.sleep(0.01)
            begun.append(start := _measured(fake)[0])
            time.sleep(max(0.0, start + 5 - time.time()))
            redis.stop()
            time.sleep(max(0.0, start + 10 - time.time()))
            redis.start()

        conductor = threading.Thread(target=outage, daemon=True)
        conductor.start()
        reports, _ = _run_three(_env(fake, redis, _database(database, tmp_path), config), plan)
        conductor.join(30)
    answered = [p for r in reports for p in r["answered"]]
    arrivals = sorted(_measured(fake))
    assert [] == [f for r in reports for f in r["failed"]] + [x for r in reports for x in r["refused"]]
    assert len(answered) == answered.count("openai") + answered.count("local")
    assert len(arrivals) == answered.count("openai")
    admitted = [pair for r in reports for pair in r["admitted"]]
    assert len(arrivals) == len(admitted)  # every admission is a request sent, and only those
    assert rules == (limit >= most_surely_in_a_window(admitted, window))
    assert [1, 1, 1] == [len(r["errors"]) for r in reports]
    for r in reports:
        assert None is r["banner"][0] and None is r["banner"][-1]
        assert any(b and "Redis is not answering" in b for b in r["banner"])
    # the provider was used before, during (after the hold) and after the outage
    phases = [sum(1 for t in arrivals if a <= t - begun[0] < b) for a, b in ((0, 5), (5, 10), (10, 16))]
    assert all(n > 0 for n in phases), phases
