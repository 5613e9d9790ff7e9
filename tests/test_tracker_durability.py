"""No lost rows: a call acknowledged to its caller has its row after SIGKILL; SIGTERM and a normal exit flush."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.tracker import schema
from core.tracker.record import UsageRecord
from core.tracker.writer import _encode
from core.usage_tracker import UsageTracker

REPO = Path(__file__).resolve().parent.parent
#: One whole acknowledgement line (a line cut by the kill has no newline and does not count).
ACK = re.compile(r"^ack \S+\n$")


def start(code: str, db: Path, **env: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CV_COPILOT_")}
    environ.update(CV_COPILOT_DB=str(db), CV_COPILOT_NO_DOTENV="1", CV_COPILOT_CONFIG=str(db.parent / "none.toml"))
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_after_acks(proc: subprocess.Popen[str], rng: random.Random) -> list[str]:
    """Read acknowledged ids until a random moment (after at least one ack), SIGKILL, then collect the rest."""
    assert proc.stdout is not None
    acked: list[str] = []
    deadline: float | None = None
    while True:
        line = proc.stdout.readline()
        if not line:
            _out, err = proc.communicate()
            raise AssertionError(f"the child stopped before it was killed: {err[-2000:]}")
        if ACK.match(line):
            acked.append(line.split()[1])
            if deadline is None:
                deadline = time.monotonic() + rng.uniform(0.0, 0.6)
        if deadline is not None and time.monotonic() >= deadline:
            break
    proc.send_signal(signal.SIGKILL)
    rest, _err = proc.communicate()
    acked += [line.split()[1] for line in rest.splitlines(keepends=True) if ACK.match(line)]
    assert proc.returncode == -signal.SIGKILL
    return acked


def other_journals(directory: Path) -> list[Path]:
    """Journal files of processes other than this one (whose own tracker keeps its journal open)."""
    return [p for p in directory.glob("usage.db.rows-*") if f".rows-{os.getpid()}-" not in p.name]


def rows_by(db: Path, column: str) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute(f"SELECT {column}, COUNT(*) FROM usage GROUP BY {column}").fetchall())


def check_consistent(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for rollup in schema.ROLLUPS:
            raw = conn.execute("SELECT COUNT(*), ROUND(SUM(cost_usd), 9) FROM usage").fetchone()
            rolled = conn.execute(f"SELECT SUM(requests), ROUND(SUM(cost_usd), 9) FROM {rollup.table}").fetchone()
            assert raw == rolled, rollup.table


ROUTER_CHILD = """
    import asyncio, sys
    from core.router import get_model_router

    async def main() -> None:
        router = get_model_router()
        n = 0
        while True:
            user = f"{sys.argv[1] if len(sys.argv) > 1 else 'k'}{KILL}-{n}"
            await router.generate(task_type="fast_summary", prompt=f"Summarise call {n}.", user_id=user, max_tokens=64)
            print("ack", user, flush=True)
            n += 1

    asyncio.run(main())
"""


def test_every_call_the_router_acknowledged_survives_sigkill(tmp_path: Path) -> None:
    """Ten SIGKILLs at random moments of a process calling the router (offline provider): no acknowledged call
    is missing its row, none has two, and the file is sound."""
    db = tmp_path / "usage.db"
    rng = random.Random(20261127)
    acked: list[str] = []
    for kill in range(10):
        proc = start(ROUTER_CHILD.replace("KILL", str(kill)), db)
        acked += kill_after_acks(proc, rng)
    tracker = UsageTracker(db)  # a new process's tracker replays the journals of the killed ones
    tracker.close()
    stored = rows_by(db, "user_id")
    assert len(acked) >= 10
    assert [] == [user for user in acked if stored.get(user) != 1]
    assert [] == other_journals(tmp_path)  # replayed journals are deleted
    check_consistent(db)


RECORD_CHILD = """
    import sys, threading, time, uuid
    from core.tracker.record import UsageRecord
    from core.usage_tracker import UsageTracker

    tracker = UsageTracker(sys.argv[1], flush_interval=float(sys.argv[2]))

    lock = threading.Lock()

    def work(n: int) -> None:
        while True:
            rid = uuid.uuid4().hex
            tracker.record(UsageRecord(task_type="cv_parsing", provider="openai", model="gpt-4o", user_id=f"t{n}",
                                       input_tokens=100, output_tokens=20, cost_usd=0.001, request_id=rid))
            with lock:
                sys.stdout.write(f"ack {rid}\\n")
                sys.stdout.flush()
            time.sleep(0.0005)

    for n in range(4):
        threading.Thread(target=work, args=(n,), daemon=True).start()
    threading.Event().wait()
"""


def test_every_record_acknowledged_by_four_threads_survives_sigkill(tmp_path: Path) -> None:
    """Four threads recording as fast as they can, rows waiting up to 5 s in memory: the journal keeps them."""
    db = tmp_path / "usage.db"
    flush_interval = 5.0
    rng = random.Random(5)
    acked: list[str] = []
    for _kill in range(10):
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(RECORD_CHILD), str(db), str(flush_interval)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        acked += kill_after_acks(proc, rng)
    UsageTracker(db).close()
    stored = rows_by(db, "request_id")
    assert len(acked) >= 40
    assert [] == [rid for rid in acked if stored.get(rid) != 1]
    check_consistent(db)


STOP_CHILD = """
    import signal, sys, time
    from core.tracker.record import UsageRecord
    from core.usage_tracker import UsageTracker

    if sys.argv[3] == "own-handler":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tracker = UsageTracker(sys.argv[1], flush_interval=3600)  # nothing is written unless something flushes
    for i in range(50):
        tracker.record(UsageRecord(task_type="cv_parsing", provider="openai", model="gpt-4o", request_id=f"r{i}"))
    print("handler", "ours" if signal.getsignal(signal.SIGTERM).__module__ == "core.tracker.writer" else "theirs")
    print("ready", flush=True)
    if sys.argv[2] == "wait":
        time.sleep(60)
"""


@pytest.mark.parametrize(
    ("how", "handler", "returncode"),
    [("sigterm", "default", -signal.SIGTERM), ("sigterm", "own-handler", 0), ("exit", "default", 0)],
)
def test_sigterm_and_a_normal_exit_flush(tmp_path: Path, how: str, handler: str, returncode: int) -> None:
    db = tmp_path / "usage.db"
    mode = "wait" if how == "sigterm" else "exit"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STOP_CHILD), str(db), mode, handler],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip(), proc.stdout.readline().strip()]
    assert ["handler ours" if handler == "default" else "handler theirs", "ready"] == lines
    if how == "sigterm":
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert returncode == proc.returncode, proc.stderr.read() if proc.stderr else ""
    # read the file directly: a tracker would replay a journal and hide a missing flush
    assert 50 == sum(rows_by(db, "request_id").values())
    assert [] == other_journals(tmp_path)  # flushed, so the journal was deleted


def test_replaying_a_journal_twice_stores_each_row_once(tmp_path: Path) -> None:
    """A dead process's journal may hold rows already written (before its files were switched): stored once."""
    db = tmp_path / "usage.db"
    tracker = UsageTracker(db, flush_interval=None)
    records = [UsageRecord("cv_parsing", "openai", "gpt-4o", cost_usd=0.01, request_id=f"r{i}") for i in range(6)]
    for rec in records[:3]:
        tracker.record(rec)  # already in SQLite
    lines = [_encode(schema.row_of(rec, 1_700_000_000.0)) for rec in records]
    (tmp_path / "usage.db.rows-999999-deadbeef-0.journal").write_bytes(b"".join(lines[:4]))
    (tmp_path / "usage.db.rows-999999-deadbeef-1.journal").write_bytes(b"".join(lines) + b"r1\t(1.0, 'torn")
    assert 10 == tracker._writer.replay_dead_journals()  # 4 + 6 lines read, the torn one skipped: 3 new rows
    assert {f"r{i}": 1 for i in range(6)} == rows_by(db, "request_id")
    assert 0.06 == round(tracker.get_usage_stats(None)["cost_usd"], 6)
    assert not list(tmp_path.glob("usage.db.rows-999999-*"))
    check_consistent(db)


def test_a_live_process_journal_is_left_alone_until_it_dies(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STOP_CHILD), str(db), "wait", "default"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert ["handler", "ready"] == [proc.stdout.readline().split()[0] for _ in range(2)]
    tracker = UsageTracker(db)  # replays dead journals on start: this one is alive (its flock is held)
    try:
        assert 0 == tracker._writer.replay_dead_journals()
        assert 2 == len(list(tmp_path.glob(f"usage.db.rows-{proc.pid}-*")))
        assert {} == rows_by(db, "request_id")
    finally:
        proc.kill()
        proc.wait()
    assert 50 == tracker._writer.replay_dead_journals()
    assert 50 == tracker.get_usage_stats(None)["total_requests"]


def test_journal_files_are_private_and_small(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    tracker = UsageTracker(db, flush_interval=3600)
    for i in range(20):
        tracker.record(UsageRecord("cv_parsing", "openai", "gpt-4o", request_id=f"r{i}"))
    journals = sorted(tmp_path.glob("usage.db.rows-*"))
    assert 2 == len(journals)
    assert {0o600} == {stat.S_IMODE(os.stat(p).st_mode) for p in journals}
    assert 20 == sum(len(p.read_bytes().splitlines()) for p in journals)
    tracker.flush()
    tracker.record(UsageRecord("cv_parsing", "openai", "gpt-4o", request_id="after"))
    tracker.flush()  # each flush truncates the file it switched away from
    assert 0 == sum(len(p.read_bytes().splitlines()) for p in journals)


def test_concurrent_records_and_flushes_keep_every_row_once(tmp_path: Path) -> None:
    tracker = UsageTracker(tmp_path / "usage.db", flush_interval=0.0)
    ids = [[f"t{n}-{i}" for i in range(300)] for n in range(4)]

    def work(mine: list[str]) -> None:
        for rid in mine:
            tracker.record(UsageRecord("cv_parsing", "openai", "gpt-4o", cost_usd=0.001, request_id=rid))

    threads = [threading.Thread(target=work, args=(mine,)) for mine in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracker.flush()
    assert {rid: 1 for mine in ids for rid in mine} == rows_by(tracker.db_path, "request_id")
    check_consistent(tracker.db_path)
