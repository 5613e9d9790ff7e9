"""The storage layer: one SQLite file shared by every part of the app that keeps state (usage, cache, votes, limits).

Use it like this (the limiter or the workspace keep their own tables in the same file)::

    storage = open_storage(path)                  # creates a 0700 directory and a 0600 file if missing
    run_migrations(storage, "limits", (m001_create_limits,))   # each migration: fn(sqlite_utils.Database)
    with storage.write() as conn:                 # BEGIN IMMEDIATE … COMMIT (ROLLBACK on error)
        conn.execute("INSERT …")
    with storage.read() as conn:                  # one consistent snapshot
        rows = conn.execute("SELECT …").fetchall()

Why this shape:
- Streamlit runs each session in its own thread and a sqlite3 connection belongs to one thread, so every thread
  gets its own connection (WAL, so readers run beside the one writer).
- Writers in this process queue on one lock per file instead of spinning in SQLite's busy handler; other processes
  are waited for `busy_timeout` seconds. After that a `StorageBusy` (a `CVCopilotError`) is raised, never a raw
  `sqlite3` error: every `sqlite3.Error` raised inside `read()` / `write()` / `guard()` becomes a `StorageError`.
- The file may hold CV-derived text (the response cache), so it and its -wal/-shm files are 0600 and a directory
  created for it is 0700. SQLite creates -wal/-shm with the database file's mode.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from core.base import StorageBusy, StorageError

__all__ = [
    "BUSY_TIMEOUT_S",
    "Migration",
    "Storage",
    "apply_pending",
    "make_private_dir",
    "open_storage",
    "run_migrations",
    "storage_error",
]

#: How long a writer waits for another process's write lock before `StorageBusy`.
BUSY_TIMEOUT_S = 5.0

Migration = Callable[[sqlite_utils.Database], None]


class _Connection(sqlite3.Connection):
    """A plain sqlite3 connection that can be weak-referenced, so closed threads do not pin their connection."""


class WriteLock:
    """This process's writer lock for one file, with a count of hand-overs.

    A wait gives up only when one holder keeps the lock for the whole timeout (a writer stuck behind another
    process's lock, or hung), not when many of our own threads queue behind each other: under heavy load each
    transaction is slow (every statement re-takes the GIL), and a long but moving queue is not a busy database.
    """

    __slots__ = ("_lock", "_taken")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = 0

    def acquire(self, timeout: float) -> bool:
        while True:
            seen = self._taken
            if self._lock.acquire(timeout=timeout):
                self._taken += 1
                return True
            if self._taken == seen:  # nobody got it meanwhile: one holder kept it the whole time
                return False

    def release(self) -> None:
        self._lock.release()


_WRITE_LOCKS: dict[str, WriteLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock_for(path: Path) -> WriteLock:
    key = str(path)
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(key)
        if lock is None:
            lock = _WRITE_LOCKS[key] = WriteLock()
        return lock


def make_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents, each 0700 (existing directories are left as they are)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def _make_private_file(path: Path) -> None:
    """Create `path` 0600 if missing; tighten it (and its -wal/-shm) if it is ours and readable by others.

    An existing file is never opened here: closing any descriptor of a file drops every POSIX lock this process holds
    on it, SQLite's included, and another process would then take this one's open database for closed and delete the
    -shm file under it (the readers here then fail with a short read)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _tighten(candidate)


def _tighten(path: Path) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IMODE(st.st_mode) & 0o600)


def storage_error(error: sqlite3.Error, path: Path, waited_s: float) -> StorageError:
    """The `CVCopilotError` a caller sees for a sqlite3 error: `StorageBusy` for a lock held too long."""
    text = str(error)
    if isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StorageBusy(str(path), waited_s)
    return StorageError(str(path), f"{type(error).__name__}: {text}")


class Storage:
    """One SQLite file: a connection per thread, write transactions serialised per process, errors made typed."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float | None = None) -> None:
        given = Path(path).expanduser()
        make_private_dir(given.parent)
        self.path = given.resolve()
        try:
            _make_private_file(self.path)
        except OSError as error:
            raise StorageError(str(self.path), f"cannot create the file ({error.strerror})") from error
        self.busy_timeout = float(BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout)
        self.write_lock = _write_lock_for(self.path)
        self._local = threading.local()
        self._opened: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._opened_guard = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: run statements inside `read()` / `write()`)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
        return conn

    get = connection  # the older name, used by code written before this module

    def _connect(self) -> sqlite3.Connection:
        with self.guard():
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # explicit BEGIN/COMMIT only
                check_same_thread=False,
                factory=_Connection,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            self._switch_to_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
        self._local.conn = conn
        with self._opened_guard:
            self._opened.add(conn)
        return conn

    def _switch_to_wal(self, conn: sqlite3.Connection) -> None:
        """Put a new file in WAL mode. The switch needs the file to itself, and SQLite answers "locked" at once,
        without its busy handler, while another process is inside a write (to spare it a deadlock). So the switch is
        retried, holding no lock in between, for `busy_timeout`; then the last "locked" is raised."""
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error).lower() or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
        for suffix in ("-wal", "-shm"):
            _tighten(self.path.with_name(self.path.name + suffix))

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Turn any sqlite3 error raised inside into a `StorageError` (`StorageBusy` for a lock held too long)."""
        try:
            yield
        except sqlite3.Error as error:
            raise storage_error(error, self.path, self.busy_timeout) from error

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same snapshot."""
        yield from self._transaction("BEGIN")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE), holding this process's writer lock for the file."""
        with self.locked():
            yield from self._transaction("BEGIN IMMEDIATE")

    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection: committed when the body returns, rolled back on any error."""
        with self.guard():
            conn = self.connection()
            conn.execute(begin)
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if conn.in_transaction:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this process's writer lock for the file (`StorageBusy` when one holder kept it `busy_timeout`)."""
        if not self.write_lock.acquire(timeout=self.busy_timeout):
            raise StorageBusy(str(self.path), self.busy_timeout)
        try:
            yield
        finally:
            self.write_lock.release()

    @contextlib.contextmanager
    def write_unlocked(self) -> Iterator[sqlite3.Connection]:
        """`write()` for a caller that already holds `locked()` (several transactions under one lock hold)."""
        yield from self._transaction("BEGIN IMMEDIATE")

    def close(self) -> None:
        """Close every connection this object opened (shutdown and tests; not while other threads query)."""
        with self._opened_guard:
            conns = list(self._opened)
            self._opened = weakref.WeakSet()
        for conn in conns:
            conn.close()
        self._local = threading.local()

    close_all = close


def open_storage(path: str | os.PathLike[str], *, busy_timeout: float | None = None) -> Storage:
    """Open (creating if needed, privately) the SQLite file at `path`. Share the result between threads.

    `busy_timeout` (seconds, default `BUSY_TIMEOUT_S`) is how long a write waits for another process's lock.
    """
    return Storage(path, busy_timeout=busy_timeout)


def run_migrations(storage: Storage, migration_set: str, migrations: Sequence[Migration]) -> list[str]:
    """Apply, in order, the migrations of `migration_set` that the `migrations` table has not recorded yet.

    A migration is a function of a `sqlite_utils.Database`; its `__name__` (e.g. `m001_create_usage`) is what is
    recorded, so never rename one. Runs under BEGIN IMMEDIATE so two processes opening a fresh file at once do not
    both migrate it. Returns the names applied now.
    """
    with storage.write() as conn:
        db = sqlite_utils.Database(conn, execute_plugins=False)
        return apply_pending(conn, migration_set, migrations, lambda migration: migration(db), time_type="REAL")


def apply_pending(
    conn: Any, migration_set: str, migrations: Sequence[Any], apply: Callable[[Any], None], *, time_type: str
) -> list[str]:
    """The one migration loop of both backends: inside the caller's transaction, apply in order the migrations of
    `migration_set` that the `migrations` table lacks, and record each by `__name__`. Returns the names applied now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (migration_set TEXT NOT NULL, name TEXT NOT NULL, "
        f"applied_at {time_type} NOT NULL, PRIMARY KEY (migration_set, name))"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM migrations WHERE migration_set = ?", (migration_set,))}
    applied_now: list[str] = []
    for migration in migrations:
        name = migration.__name__
        if name in done:
            continue
        apply(migration)
        conn.execute(
            "INSERT INTO migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            (migration_set, name, time.time()),
        )
        applied_now.append(name)
    return applied_now
