"""Rate limiter contract, run against every backend: exact under threads and asyncio, independence per (provider,
user), sliding window, tpm. The shared backend's own promises (several limiters on one file, no file when unlimited)
are at the end; the multi-process proof is in test_limits_multiprocess.py.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.limits import SQLiteRateLimiter
from core.rate_limit import WINDOW_SECONDS, InMemoryRateLimiter, RateLimiter
from tests.test_limits_redis import prefix, shared_redis_url

Make = Callable[..., Any]
_files = itertools.count()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    """Builds a limiter of the backend under test; each sqlite one gets a fresh file, each redis one its own keys."""
    made: list[SQLiteRateLimiter] = []
    folder = tempfile.TemporaryDirectory()
    url = shared_redis_url() if request.param == "redis" else ""  # skips, with the reason, without a server

    def build(*args: Any, **kwargs: Any) -> Any:
        if request.param == "memory":
            return InMemoryRateLimiter(*args, **kwargs)
        if request.param == "redis":
            from core.limits.redis_backend import RedisConnection, RedisRateLimiter

            return RedisRateLimiter(RedisConnection(url, prefix=prefix()), *args, **kwargs)
        limiter = SQLiteRateLimiter(Path(folder.name) / f"usage{next(_files)}.db", *args, **kwargs)
        made.append(limiter)
        return limiter

    yield build
    for limiter in made:
        limiter.close()
    folder.cleanup()


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_satisfies_the_protocol(make: Make) -> None:
    assert isinstance(make(), RateLimiter)


def test_default_is_sixty_per_minute(make: Make) -> None:
    limiter = make(clock=Clock())
    results = [limiter.acquire("openai", "ann") for _ in range(61)]
    assert results[:60] == [0.0] * 60
    assert results[60] == pytest.approx(WINDOW_SECONDS)


@pytest.mark.parametrize("rpm", [1, 7, 60])
def test_burst_across_threads_admits_exactly_the_limit(make: Make, rpm: int) -> None:
    limiter = make({"openai": (rpm, None)})
    barrier = threading.Barrier(10)
    admitted: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        mine = sum(1 for _ in range(10) if limiter.acquire("openai", "ann") == 0.0)
        with lock:
            admitted.append(mine)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == rpm


@pytest.mark.parametrize("rpm", [1, 25, 60])
def test_burst_across_asyncio_gather_admits_exactly_the_limit(make: Make, rpm: int) -> None:
    limiter = make({"groq": (rpm, None)})

    async def one() -> bool:
        await asyncio.sleep(0)
        return limiter.acquire("groq", "ann") == 0.0

    async def burst() -> list[bool]:
        return await asyncio.gather(*(one() for _ in range(100)))

    assert sum(asyncio.run(burst())) == rpm


def test_users_and_providers_are_independent(make: Make) -> None:
    limiter = make(default_rpm=2, clock=Clock())
    for _ in range(2):
        assert limiter.acquire("openai", "ann") == 0.0
    assert limiter.acquire("openai", "ann") > 0
    assert limiter.acquire("openai", "bob") == 0.0
    assert limiter.acquire("gemini", "ann") == 0.0


def test_refused_calls_are_not_counted(make: Make) -> None:
    clock = Clock()
    limiter = make(default_rpm=1, clock=clock)
    assert limiter.acquire("openai", "ann") == 0.0
    for _ in range(50):
        clock.now += 1
        assert limiter.acquire("openai", "ann") > 0
    clock.now += 10  # 60 s after the only admitted call
    assert limiter.acquire("openai", "ann") == 0.0


def test_window_slides(make: Make) -> None:
    clock = Clock(0.0)
    limiter = make(default_rpm=3, clock=clock)
    for t in (0.0, 10.0, 20.0):
        clock.now = t
        assert limiter.acquire("p", "u") == 0.0
    clock.now = 30.0
    assert limiter.acquire("p", "u") == pytest.approx(30.0)  # the call at 0 leaves at 60
    clock.now = 60.0
    assert limiter.acquire("p", "u") == 0.0
    clock.now = 65.0
    assert limiter.acquire("p", "u") == pytest.approx(5.0)  # the call at 10 leaves at 70


def test_tokens_per_minute(make: Make) -> None:
    clock = Clock(0.0)
    limiter = make({"openai": (None, 1000)}, clock=clock)
    assert limiter.acquire("openai", "ann", tokens=600) == 0.0
    clock.now = 5.0
    assert limiter.acquire("openai", "ann", tokens=300) == 0.0
    clock.now = 10.0
    assert limiter.acquire("openai", "ann", tokens=200) == pytest.approx(50.0)  # needs the 600 to leave
    assert limiter.acquire("openai", "ann", tokens=100) == 0.0
    assert limiter.acquire("openai", "ann", tokens=2000) == math.inf  # can never fit


def test_rpm_and_tpm_together_wait_for_the_later(make: Make) -> None:
    clock = Clock(0.0)
    limiter = make({"p": (2, 100)}, clock=clock)
    assert limiter.acquire("p", "u", 10) == 0.0
    clock.now = 30.0
    assert limiter.acquire("p", "u", 85) == 0.0
    clock.now = 40.0
    # rpm frees at 60 (the first call leaves); tpm needs the 85 to leave too, at 90
    assert limiter.acquire("p", "u", 50) == pytest.approx(50.0)


def test_configure_and_unlimited(make: Make) -> None:
    limiter = make(default_rpm=None, clock=Clock())
    assert all(limiter.acquire("local", "u") == 0.0 for _ in range(1000))
    limiter.configure("local", rpm=1)
    assert limiter.limits("local") == (1, None)
    assert limiter.acquire("local", "u") == 0.0
    assert limiter.acquire("local", "u") > 0
    limiter.configure("off", rpm=0)
    assert limiter.acquire("off", "u") == math.inf


@pytest.mark.parametrize("bad", [-1, 1.5, "60", True])
def test_bad_limits_are_rejected(make: Make, bad: object) -> None:
    with pytest.raises(ValueError):
        make(default_rpm=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make().configure("p", tpm=bad)  # type: ignore[arg-type]


def test_negative_tokens_rejected(make: Make) -> None:
    with pytest.raises(ValueError, match="tokens"):
        make().acquire("p", "u", tokens=-1)


def test_reset_forgets_calls(make: Make) -> None:
    limiter = make(default_rpm=1, clock=Clock())
    limiter.acquire("p", "u")
    limiter.reset()
    assert limiter.acquire("p", "u") == 0.0


# --- properties ---------------------------------------------------------------------------------------------------

gaps = st.lists(st.floats(min_value=0.0, max_value=30.0, allow_nan=False), min_size=1, max_size=120)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rpm=st.integers(min_value=1, max_value=10), gaps=gaps)
def test_never_more_than_rpm_in_any_window(make: Make, rpm: int, gaps: list[float]) -> None:
    clock = Clock(0.0)
    limiter = make(default_rpm=rpm, clock=clock)
    admitted: list[float] = []
    for gap in gaps:
        clock.now += gap
        if limiter.acquire("p", "u") == 0.0:
            admitted.append(clock.now)
    for i, start in enumerate(admitted):
        in_window = [t for t in admitted[i:] if t < start + WINDOW_SECONDS - 1e-6]
        assert len(in_window) <= rpm


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rpm=st.integers(min_value=1, max_value=8),
    tpm=st.one_of(st.none(), st.integers(min_value=50, max_value=500)),
    calls=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=20.0, allow_nan=False), st.integers(min_value=0, max_value=50)),
        min_size=1,
        max_size=80,
    ),
)
def test_retry_after_is_accurate(make: Make, rpm: int, tpm: int | None, calls: list[tuple[float, int]]) -> None:
    """Refused now, admitted exactly retry_after later, and not a moment (0.01 s) before."""
    clock = Clock(0.0)
    limiter = make(default_rpm=rpm, default_tpm=tpm, clock=clock)
    for gap, tokens in calls:
        clock.now += gap
        wait = limiter.acquire("p", "u", tokens)
        if wait == 0.0:
            continue
        assert 0 < wait <= WINDOW_SECONDS
        start = clock.now
        if wait > 0.01:
            clock.now = start + wait - 0.01
            assert limiter.acquire("p", "u", tokens) > 0
        clock.now = start + wait
        assert limiter.acquire("p", "u", tokens) == 0.0


# --- the shared backend -------------------------------------------------------------------------------------------


def test_limiters_on_one_file_share_one_window(tmp_path: Path) -> None:
    """Two limiters on one file, as two processes hold them: together they admit the limit once, not twice."""
    clock = Clock(1000.0)
    first = SQLiteRateLimiter(tmp_path / "usage.db", {"openai": (5, None)}, clock=clock)
    second = SQLiteRateLimiter(tmp_path / "usage.db", {"openai": (5, None)}, clock=clock)
    admitted = [lim.acquire("openai", "ann") == 0.0 for _ in range(5) for lim in (first, second)]
    assert [True] * 5 + [False] * 5 == admitted
    clock.now += WINDOW_SECONDS
    assert 0.0 == second.acquire("openai", "ann")


def test_tokens_are_shared_across_limiters_on_one_file(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    first = SQLiteRateLimiter(tmp_path / "usage.db", {"openai": (None, 1000)}, clock=clock)
    second = SQLiteRateLimiter(tmp_path / "usage.db", {"openai": (None, 1000)}, clock=clock)
    assert 0.0 == first.acquire("openai", "ann", 700)
    clock.now += 10
    assert pytest.approx(50.0) == second.acquire("openai", "ann", 400)
    assert 0.0 == second.acquire("openai", "ann", 300)


def test_unlimited_provider_never_opens_the_file(tmp_path: Path) -> None:
    limiter = SQLiteRateLimiter(tmp_path / "usage.db", {"local": (None, None)}, default_rpm=None)
    assert all(limiter.acquire(p, "ann", 10) == 0.0 for p in ("local", "openai") for _ in range(100))
    assert not (tmp_path / "usage.db").exists()


def test_expired_rows_stop_counting_and_the_sweep_drops_them(tmp_path: Path) -> None:
    import sqlite3

    clock = Clock(1000.0)
    limiter = SQLiteRateLimiter(tmp_path / "usage.db", default_rpm=1, clock=clock)
    for user in ("ann", "bob", "cid"):
        assert 0.0 == limiter.acquire("openai", user)
    clock.now += WINDOW_SECONDS + 1
    assert 0.0 == limiter.acquire("openai", "ann")  # the old row no longer counts against rpm 1
    with sqlite3.connect(tmp_path / "usage.db") as conn:
        rows = conn.execute("SELECT user_id FROM rate_events ORDER BY user_id").fetchall()
    assert [("ann",), ("ann",), ("bob",), ("cid",)] == rows  # expired rows wait for the sweep
    limiter._admitted = 999  # the next admitted call sweeps
    limiter.acquire("openai", "dan")
    with sqlite3.connect(tmp_path / "usage.db") as conn:
        rows = conn.execute("SELECT user_id FROM rate_events ORDER BY user_id").fetchall()
    assert [("ann",), ("dan",)] == rows


def test_a_locked_file_refuses_instead_of_raising(tmp_path: Path) -> None:
    """Another process holding the write lock past the busy timeout: the call is refused for now, not crashed."""
    import sqlite3

    from core.limits import LimitsDB

    limiter = SQLiteRateLimiter(LimitsDB(tmp_path / "usage.db", busy_timeout=0.05), default_rpm=10)
    assert 0.0 == limiter.acquire("openai", "ann")
    holder = sqlite3.connect(tmp_path / "usage.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert limiter.acquire("openai", "ann") > 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert 0.0 == limiter.acquire("openai", "ann")


def test_a_window_from_before_the_without_rowid_table_is_kept_and_still_counts(tmp_path: Path) -> None:
    """A file whose `rate_events` is the first (rowid + index) table: its calls survive the migration and count."""
    import sqlite3
    import time as _time

    from core.limits import SQLiteRateLimiter
    from core.limits._db import m001_rate_events, m002_budget_reservations
    from core.tracker.storage import open_storage, run_migrations

    db = tmp_path / "u.db"
    run_migrations(open_storage(db), "limits", (m001_rate_events, m002_budget_reservations))
    now = _time.time()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO rate_events (provider, user_id, ts, tokens) VALUES ('openai', 'ann', ?, 0)", [(now,), (now,)]
        )
    limiter = SQLiteRateLimiter(db, {"openai": (3, None)})
    assert (0.0, True) == (limiter.acquire("openai", "ann"), limiter.acquire("openai", "ann") > 0)
    with sqlite3.connect(db) as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'rate_events'").fetchone()
        assert (3, True) == (conn.execute("SELECT COUNT(*) FROM rate_events").fetchone()[0], "WITHOUT ROWID" in sql)


# --- leases (the shared backend, many calls a second) -------------------------------------------------------------


def _rows(db: Path, provider: str = "p", user: str = "u") -> list[float]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        query = "SELECT ts FROM rate_events WHERE provider = ? AND user_id = ? ORDER BY ts"
        return [ts for (ts,) in conn.execute(query, (provider, user))]


def _most_in_any_window(times: list[float]) -> int:
    ordered, best, start = sorted(times), 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - WINDOW_SECONDS + 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


class _Counting(SQLiteRateLimiter):
    """Counts the limiter's transactions: leases claimed and single calls written."""

    claims = 0
    singles = 0

    def _claim(self, *args: Any) -> bool:
        self.claims += 1
        return super()._claim(*args)

    def _admit_one(self, *args: Any) -> float:
        self.singles += 1
        return super()._admit_one(*args)


def test_a_fast_caller_takes_most_slots_from_leases_and_gives_the_unused_back(tmp_path: Path) -> None:
    """300 calls 10 ms apart at 100,000 rpm: a few transactions instead of 300; every row is stamped at or after its
    call; once the lease has ended, its unused slots are deleted, so the file counts exactly the calls made."""
    from core.limits.sqlite_rate import LEASE_MAX, LEASE_SECONDS

    clock = Clock(1000.0)
    limiter = _Counting(tmp_path / "usage.db", {"p": (100_000, None)}, clock=clock)
    made = []
    for _ in range(300):
        clock.now += 0.01
        assert 0.0 == limiter.acquire("p", "u")
        made.append(clock.now)
    assert limiter.claims + limiter.singles <= 20
    rows = _rows(tmp_path / "usage.db")
    assert len(rows) - len(made) <= LEASE_MAX  # the live lease's unused slots, still counted
    assert all(ts >= t - 1e-9 for ts, t in zip(rows, made, strict=False))  # each call counted at or after its time
    assert max(rows) <= clock.now + LEASE_SECONDS
    clock.now += LEASE_SECONDS + 0.01
    limiter._give_back()
    assert len(made) == len(_rows(tmp_path / "usage.db"))


def test_the_background_thread_gives_unused_slots_back(tmp_path: Path) -> None:
    import time

    from core.limits.sqlite_rate import LEASE_SECONDS

    limiter = SQLiteRateLimiter(tmp_path / "usage.db", {"p": (100_000, None)})
    assert 0.0 == limiter.acquire("p", "u")
    made = 1
    while len(_rows(tmp_path / "usage.db")) == made and made < 1000:  # until a lease holds unused slots
        assert 0.0 == limiter.acquire("p", "u")
        made += 1
        time.sleep(0.002)
    assert len(_rows(tmp_path / "usage.db")) > made
    deadline = time.monotonic() + LEASE_SECONDS + 5
    while len(_rows(tmp_path / "usage.db")) > made and time.monotonic() < deadline:
        time.sleep(0.05)
    assert made == len(_rows(tmp_path / "usage.db"))


@pytest.mark.parametrize(
    ("limits", "gap", "tokens"),
    [
        ((100_000, None), 2.0, 0),  # one call every 2 s: nothing to gain from a lease
        ((99, None), 0.001, 0),  # rpm below 2 × LEASE_SHARE: a lease would hold more than 2 % of it
        ((100_000, 10**9), 0.001, 10),  # a tpm limit: tokens are counted per call
    ],
)
def test_rare_calls_small_limits_and_tpm_are_one_statement_each(
    tmp_path: Path, limits: tuple[int, int | None], gap: float, tokens: int
) -> None:
    clock = Clock(1000.0)
    limiter = _Counting(tmp_path / "usage.db", {"p": limits}, clock=clock)
    made = []
    for _ in range(50):
        clock.now += gap
        assert 0.0 == limiter.acquire("p", "u", tokens)
        made.append(clock.now)
    assert (0, 50) == (limiter.claims, limiter.singles)
    assert made == pytest.approx(_rows(tmp_path / "usage.db"))


def test_configure_gives_back_the_unused_slots_of_a_lease(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    limiter = SQLiteRateLimiter(tmp_path / "usage.db", {"p": (100_000, None)}, clock=clock)
    for _ in range(100):
        clock.now += 0.005
        limiter.acquire("p", "u")
    assert len(_rows(tmp_path / "usage.db")) > 100
    limiter.configure("p", rpm=100)
    assert 100 == len(_rows(tmp_path / "usage.db"))
    assert limiter.acquire("p", "u") > 0  # the 100 calls made fill the new limit


def test_near_the_limit_leases_stop_and_single_calls_fill_it_exactly(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    limiter = _Counting(tmp_path / "usage.db", {"p": (500, None)}, clock=clock)
    admitted = 0
    for _ in range(700):
        clock.now += 0.01
        admitted += limiter.acquire("p", "u") == 0.0
    assert 500 == admitted
    assert limiter.claims > 0
    assert 500 == len(_rows(tmp_path / "usage.db"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rpm=st.integers(min_value=100, max_value=300),
    steps=st.lists(
        st.tuples(
            st.one_of(st.floats(min_value=0.0, max_value=0.05), st.floats(min_value=0.0, max_value=70.0)),
            st.booleans(),  # which of the two limiters (two processes) calls
            st.booleans(),  # whether the background thread gives back ended leases' slots first
        ),
        min_size=1,
        max_size=600,
    ),
)
def test_two_leasing_limiters_never_admit_more_than_rpm_in_any_window(
    tmp_path: Path, rpm: int, steps: list[tuple[float, bool, bool]]
) -> None:
    """Two limiters on one file (two processes), leasing: every call admitted, at the time it was admitted, is
    within rpm in any 60 s, whatever the pace."""
    clock = Clock(0.0)
    db = tmp_path / f"usage{next(_files)}.db"
    pair = [SQLiteRateLimiter(db, {"p": (rpm, None)}, clock=clock) for _ in range(2)]
    admitted: list[float] = []
    for gap, second, give_back in steps:
        clock.now += gap
        limiter = pair[second]
        if give_back:
            limiter._give_back()
        if limiter.acquire("p", "u") == 0.0:
            admitted.append(clock.now)
    assert _most_in_any_window(admitted) <= rpm
    for limiter in pair:
        limiter.close()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_does_not_use_its_parents_leased_slots(tmp_path: Path) -> None:
    """Parent and child would both take the same slots: the child starts with no lease and claims its own."""
    import os

    clock = Clock(1000.0)
    limiter = SQLiteRateLimiter(tmp_path / "usage.db", {"p": (100_000, None)}, clock=clock)
    for _ in range(100):
        clock.now += 0.005
        limiter.acquire("p", "u")
    assert limiter._leases[("p", "u")].free
    before = len(_rows(tmp_path / "usage.db"))
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never through pytest
        ok = not limiter._leases and limiter.acquire("p", "u") == 0.0
        ok = ok and len(_rows(tmp_path / "usage.db")) > before  # its call was written, not taken from memory
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert 0 == os.waitstatus_to_exitcode(status)
    assert limiter._leases[("p", "u")].free  # the parent keeps its own
