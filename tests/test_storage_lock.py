"""The process's writer lock per file: a long queue of our own quick writers is waited out; one holder that keeps
the lock for the whole busy timeout is reported as `StorageBusy`."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from core.base import StorageBusy
from core.tracker.storage import WriteLock, open_storage


def test_a_queue_longer_than_the_timeout_is_waited_out_when_the_lock_keeps_moving(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "u.db", busy_timeout=0.2)
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def writer() -> None:
        start.wait()
        try:
            with storage.locked():
                time.sleep(0.05)  # 12 holders x 0.05 s: the last waits ~0.55 s, well past the 0.2 s timeout
        except BaseException as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [] == errors


def test_one_holder_keeping_the_lock_past_the_timeout_is_storage_busy(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "u.db", busy_timeout=0.1)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with storage.locked():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    try:
        started = time.monotonic()
        with pytest.raises(StorageBusy), storage.locked():
            pass
        assert 0.1 <= time.monotonic() - started < 2.0
    finally:
        release.set()
        thread.join()
    with storage.locked():  # free again
        pass


def test_the_lock_counts_hand_overs_only_when_taken() -> None:
    lock = WriteLock()
    assert lock.acquire(0.01)
    assert not lock.acquire(0.05)  # the same (only) holder all along
    lock.release()
    assert lock.acquire(0.01)
    lock.release()


def _writer_in_rollback_mode(path: Path, held: threading.Event, release: threading.Event) -> None:
    """Another program's connection to a new file (still in rollback mode) inside a write transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS other (x)")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO other VALUES (1)")
    held.set()
    release.wait(10)
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.parametrize("holds_for", [0.05, 0.3])
def test_a_new_file_switches_to_wal_once_another_writer_is_done(tmp_path: Path, holds_for: float) -> None:
    """SQLite refuses the switch at once, without waiting, while another connection writes: it is retried."""
    path = tmp_path / "u.db"
    held, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_writer_in_rollback_mode, args=(path, held, release))
    thread.start()
    held.wait(5)
    threading.Timer(holds_for, release.set).start()
    try:
        storage = open_storage(path, busy_timeout=5)
        with storage.read() as conn:
            assert ("wal",) == conn.execute("PRAGMA journal_mode").fetchone()
            assert [(1,)] == conn.execute("SELECT x FROM other").fetchall()
    finally:
        release.set()
        thread.join()


def test_a_writer_that_never_lets_go_of_a_new_file_is_storage_busy(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    held, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_writer_in_rollback_mode, args=(path, held, release))
    thread.start()
    held.wait(5)
    try:
        started = time.monotonic()
        with pytest.raises(StorageBusy):
            open_storage(path, busy_timeout=0.2).connection()
        assert 0.15 <= time.monotonic() - started < 2.0
    finally:
        release.set()
        thread.join()
