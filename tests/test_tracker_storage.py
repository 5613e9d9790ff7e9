"""The storage layer: private files, typed errors, transactions, migrations, a second process holding the lock."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from core.base import CVCopilotError, StorageBusy, StorageError
from core.tracker.storage import open_storage, run_migrations


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_its_wal_and_shm_are_0600_and_new_directories_0700(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a typical umask, which would give 0644 files
    try:
        storage = open_storage(tmp_path / "new" / "deeper" / "usage.db")
        with storage.write() as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.execute("INSERT INTO t VALUES (1)")
    finally:
        os.umask(old)
    db = tmp_path / "new" / "deeper" / "usage.db"
    assert [mode(db), mode(Path(f"{db}-wal")), mode(Path(f"{db}-shm"))] == [0o600, 0o600, 0o600]
    assert [mode(tmp_path / "new"), mode(tmp_path / "new" / "deeper")] == [0o700, 0o700]
    storage.close()


def test_an_existing_world_readable_file_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    os.chmod(db, 0o644)
    open_storage(db).close()
    assert mode(db) == 0o600


def test_write_commits_and_rolls_back_on_error(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "s.db")
    with storage.write() as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), storage.write() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    with storage.write() as conn:
        conn.execute("INSERT INTO t VALUES (2)")
    with storage.read() as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(2,)]


def test_sqlite_errors_become_storage_errors(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "s.db")
    with pytest.raises(StorageError) as caught, storage.read() as conn:
        conn.execute("SELECT * FROM no_such_table")
    assert isinstance(caught.value, CVCopilotError)
    assert "no_such_table" in str(caught.value)


def test_each_thread_has_its_own_connection(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "s.db")
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(storage.connection()))
    thread.start()
    thread.join()
    assert seen[0] is not storage.connection()
    assert storage.connection() is storage.connection()


def m001_create_things(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE things (name TEXT)")


def m002_seed_things(db: sqlite_utils.Database) -> None:
    db.execute("INSERT INTO things VALUES ('first')")


def test_migrations_run_once_each_by_name(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "s.db")
    assert run_migrations(storage, "things", (m001_create_things,)) == ["m001_create_things"]
    assert run_migrations(storage, "things", (m001_create_things, m002_seed_things)) == ["m002_seed_things"]
    assert run_migrations(open_storage(tmp_path / "s.db"), "things", (m001_create_things, m002_seed_things)) == []
    with storage.read() as conn:
        assert conn.execute("SELECT name FROM things").fetchall() == [("first",)]


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    def m002_broken(db: sqlite_utils.Database) -> None:
        db.execute("INSERT INTO things VALUES ('half')")
        raise ValueError("broken migration")

    storage = open_storage(tmp_path / "s.db")
    run_migrations(storage, "things", (m001_create_things,))
    with pytest.raises(ValueError):
        run_migrations(storage, "things", (m001_create_things, m002_broken))
    with storage.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM things").fetchone() == (0,)
        assert conn.execute("SELECT name FROM migrations").fetchall() == [("m001_create_things",)]


def hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding BEGIN IMMEDIATE on `db` for `seconds`; returns once it holds it."""
    code = textwrap.dedent(
        f"""
        import sqlite3, sys, time
        conn = sqlite3.connect({str(db)!r}, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep({seconds})
        conn.execute("ROLLBACK")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_write_lock_held_by_another_process_past_the_timeout_raises_storage_busy(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "s.db", busy_timeout=0.3)
    with storage.write() as conn:
        conn.execute("CREATE TABLE t (x)")
    holder = hold_write_lock(storage.path, 3.0)
    try:
        started = time.monotonic()
        with pytest.raises(StorageBusy) as caught, storage.write() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        waited = time.monotonic() - started
        assert 0.25 <= waited < 2.5  # waited for the timeout, then gave up
        assert "busy" in str(caught.value)
        with storage.read() as conn:  # WAL: readers are not blocked by the writer
            assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    finally:
        holder.kill()
        holder.wait()
    with storage.write() as conn:  # and once it is gone, writing works again
        conn.execute("INSERT INTO t VALUES (1)")


def test_a_lock_held_for_less_than_the_timeout_is_waited_for(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "s.db", busy_timeout=5.0)
    with storage.write() as conn:
        conn.execute("CREATE TABLE t (x)")
    holder = hold_write_lock(storage.path, 0.5)
    try:
        with storage.write() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
    finally:
        holder.wait()
    with storage.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)


def test_opening_the_same_file_again_keeps_this_process_s_sqlite_locks(tmp_path: Path) -> None:
    """A second `open_storage` of a file this process already has open must not drop its SQLite locks: another
    process closing its last connection would then delete the -shm file under this one's readers (a short read)."""
    path = tmp_path / "usage.db"
    first = open_storage(path)
    with first.write() as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
    with first.read() as conn:
        assert [(1,)] == conn.execute("SELECT x FROM t").fetchall()
    open_storage(path)  # the tracker, the limiter, the workspace and the alerts each open the file
    other = f"import sqlite3; c = sqlite3.connect({str(path)!r}); c.execute('SELECT * FROM t').fetchall(); c.close()"
    subprocess.run([sys.executable, "-c", other], check=True, timeout=60)
    assert (tmp_path / "usage.db-shm").exists()
    with first.read() as conn:
        assert [(1,)] == conn.execute("SELECT x FROM t").fetchall()
