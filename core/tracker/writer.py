"""Write-behind with a journal: `record()` costs one append, and a row it acknowledged survives a SIGKILL.

Why write-behind: a committed WAL transaction costs ~20 µs per B-tree page it touches on this kind of machine (a
usage row touches four: table, two indexes, rollup), ~90 µs in all, against a 50 µs budget on the router's hot path.
Appending to a list costs ~1 µs; a background thread writes the batch in one transaction `flush_interval` seconds
later. Every query flushes first, so this process always reads its own writes.

Why the journal: rows waiting in memory die with the process. So before `add()` returns, the row is also written
with one `os.write` (O_APPEND) to a per-process journal file beside the database (`usage.db.rows-<pid>-<id>-0.journal`
and `-1.journal`): once `write()` returns, the kernel holds the bytes and a killed process cannot lose them (a power cut
can: we do not fsync on the hot path). Each process holds an flock on its journal while it lives; a tracker starting
on the same database replays the journals of dead processes into SQLite and deletes them. Replay is idempotent:
`usage.request_id` is unique when set, and every row gets one. The two files take turns: at each flush the writer
switches files, and truncates the one it left once that batch has committed, so a journal stays as small as the
rows not yet written.

Nothing poisons the writer: a batch that fails for a reason other than the database itself (busy, full, read-only)
is written row by row, each row sanitised; a row that still cannot be stored is dropped with a log line. A busy
database keeps the rows (and their journal lines) for the next attempt.

SIGTERM and a normal exit flush (a SIGTERM handler is installed only from the main thread, when no other handler
is set, and it then dies by the default action as before).
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import glob
import itertools
import logging
import operator
import os
import secrets
import signal
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from core.tracker.schema import COL, INSERT_COLUMNS, INSERT_SQL, ROLLUPS, SUMS, Row, sanitised_row
from core.tracker.storage import BUSY_TIMEOUT_S, Storage, storage_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no journal, the write-behind buffer only
    fcntl = None  # type: ignore[assignment]

__all__ = ["Writer", "flush_all", "has_journal", "journal_pid", "process_gone", "writer_for"]

_log = logging.getLogger("core.usage_tracker")

_MAX_PENDING = 1000
_TS, _USER, _COST = COL["ts"], COL["user_id"], COL["cost_usd"]
_FLUSHER_IDLE_EXIT_S = 5.0
_RETRY_S = 1.0
_JOURNAL_VERSION = b"r1\t"  # a Python literal tuple per line: repr() is ~10x cheaper than json.dumps here
_HOLD_LINE = b"h1\t"  # a settled budget hold: its id, deleted with the rows journaled before it


class _Unwritten(Exception):
    """The database refused a batch (busy, full, read-only, down): these rows are still to be written."""

    def __init__(self, rows: list[Row], cause: Exception) -> None:
        super().__init__(str(cause))
        self.rows = rows
        self.cause = cause


# --- the journal --------------------------------------------------------------------------------------------------


def _journal_glob(db: Path, pid: int | None = None) -> str:
    owner = "*" if pid is None else f"{pid}-*"
    return os.path.join(glob.escape(str(db.parent)), glob.escape(db.name) + f".rows-{owner}-0.journal")


def _sibling(first: Path) -> Path:
    return first.with_name(first.name[: -len("-0.journal")] + "-1.journal")


class Journal:
    """This process's pair of append-only journal files for one database (see the module docstring)."""

    def __init__(self, db: Path) -> None:
        stem = f"{db.name}.rows-{os.getpid()}-{secrets.token_hex(4)}"
        self.paths = (db.with_name(stem + "-0.journal"), db.with_name(stem + "-1.journal"))
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self._fds = [os.open(path, flags, 0o600) for path in self.paths]
        if fcntl is not None:
            fcntl.flock(self._fds[0], fcntl.LOCK_EX | fcntl.LOCK_NB)  # "alive": released by the kernel on death
        self._active = 0
        self.clean = True  # every line in the files is committed (set by the writer)
        self._closed = False

    def append(self, line: bytes) -> None:
        os.write(self._fds[self._active], line)

    def swap(self) -> int:
        """Switch files; returns the one left, to `truncate` once everything written before the switch commits."""
        left = self._active
        self._active ^= 1
        return left

    def truncate(self, index: int) -> None:
        os.ftruncate(self._fds[index], 0)

    def close(self) -> None:
        """Close; delete the files when everything in them is committed (else a later start replays them)."""
        if self._closed:
            return
        self._closed = True
        if self.clean:
            for path in reversed(self.paths):
                with contextlib.suppress(OSError):
                    path.unlink()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _read_journal(path: Path) -> list[Row]:
    """The rows in one journal file (see `_read_entries`)."""
    return _read_entries(path)[0]


def _read_entries(path: Path) -> tuple[list[Row], list[int]]:
    """The rows and settled hold ids in one journal file; a line that does not parse (a torn write) is skipped with
    a log line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], []
    rows: list[Row] = []
    holds: list[int] = []
    lines = data.splitlines()
    whole = len(lines) if data.endswith(b"\n") else len(lines) - 1  # a last line without its newline is torn
    for number, line in enumerate(lines, 1):
        if line.startswith(_HOLD_LINE):
            try:
                if number > whole:
                    raise ValueError("torn")  # a cut id could name another hold
                holds.append(int(line[len(_HOLD_LINE) :]))
            except ValueError:
                _log.warning("skipped line %d of %s: cut short or damaged", number, path)
            continue
        if not line.startswith(_JOURNAL_VERSION):
            _log.warning("skipped line %d of %s: not a usage journal line", number, path)
            continue
        try:
            values = ast.literal_eval(line[len(_JOURNAL_VERSION) :].decode())
        except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
            _log.warning("skipped line %d of %s: cut short or damaged", number, path)
            continue
        if not isinstance(values, tuple) or len(values) != len(INSERT_COLUMNS):
            _log.warning("skipped line %d of %s: not a usage row", number, path)
            continue
        rows.append(values)
    return rows, holds


def journal_pid(path: Path) -> int | None:
    """The pid in a journal file's name (`<db>.rows-<pid>-<hex>-0.journal`), None when the name is not one."""
    try:
        return int(path.name.rsplit(".rows-", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def process_gone(db: Path, pid: int) -> bool:
    """True when process `pid` is provably dead: no such process here, and no journal of `db` it still locks (a
    process of another pid namespace on this file, whose pid means nothing here, keeps its journal locked). Never
    on Windows, where signalling a process (even with 0) terminates it."""
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    except OSError:  # PermissionError: alive, someone else's
        return False
    else:
        return False
    if fcntl is None:
        return True
    for name in glob.glob(_journal_glob(db, pid)):
        try:
            fd = os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return False  # locked: its owner lives
        finally:
            os.close(fd)  # closing drops our probe lock
    return True


def has_journal(db: Path, pid: int) -> bool:
    """Whether a journal of `db` named after `pid` is on disk (rows of that process not yet replayed)."""
    return bool(glob.glob(_journal_glob(db, pid)))


def _encode(row: Row) -> bytes:
    """One journal line. Text in a row is valid (sanitised), and repr() escapes newlines, so a line is one row."""
    return _JOURNAL_VERSION + repr(row).encode() + b"\n"


# --- the writer ---------------------------------------------------------------------------------------------------


class _QueuedSpend:
    """Running cost of queued rows, everyone's and per user, and the oldest row's time: a reservation reads three
    numbers instead of summing every queued row. The writer adds the rows queued since the last reservation when the
    next one asks, so a process without budgets never sums them."""

    __slots__ = ("count", "oldest", "total", "users")

    def __init__(self, rows: Sequence[Row] = ()) -> None:
        self.total = 0.0
        self.users: dict[str, float] = {}
        self.oldest = float("inf")
        self.count = 0  # rows added so far (the writer's queue is folded in as a budget asks, not per row)
        for row in rows:
            self.add(row)

    def add(self, row: Row) -> None:
        self.count += 1
        try:
            cost, ts = float(row[_COST]), float(row[_TS])
        except (TypeError, ValueError, IndexError):  # not a usage row as row_of makes them: counted by `pending()`
            self.oldest = float("-inf")
            return
        if ts < self.oldest:
            self.oldest = ts
        if cost:
            self.total += cost
            user = row[_USER]
            self.users[user] = self.users.get(user, 0.0) + cost


class Writer:
    """Rows recorded in this process and not yet written, for one DB file; shared by every tracker on that file.

    A subclass writes elsewhere (`core.tracker.pg_storage`): it passes its `storage`, the path its journal files are
    named after (`anchor`), and the errors that mean "the database refused, keep the rows" (`unavailable`)."""

    unavailable: tuple[type[Exception], ...] = (sqlite3.OperationalError,)

    def __init__(self, path: Path, *, journal: bool = True, storage: Any = None, anchor: Path | None = None) -> None:
        self.storage = Storage(path) if storage is None else storage
        self.anchor = self.storage.path if anchor is None else anchor
        self._rows: list[Row] = []
        self._rows_lock = threading.Lock()
        self._unwritten = 0  # rows added and not yet committed, including a batch being written right now
        self._holds: list[int] = []  # budget holds to delete with the rows (see `release_hold`)
        self._queued = _QueuedSpend()  # the cost of `_rows[:count]`, for the budget's reservations
        self.after_flush: Callable[[], None] | None = None
        self.journal: Journal | None = None
        if journal and fcntl is not None:
            try:
                self.journal = Journal(self.anchor)
            except OSError:
                _log.warning("no usage journal beside %s: rows of a killed process may be lost", path, exc_info=True)
            else:  # closed when this writer is collected; at exit, by flush_all after the last flush instead
                weakref.finalize(self, self.journal.close).atexit = False
        self._journal_failed = False

    # --- adding -------------------------------------------------------------------------------------------------

    def add(self, row: Row, delay: float) -> None:
        """Queue one row; it is in the journal (the kernel's hands) when this returns."""
        journal = self.journal
        line = _JOURNAL_VERSION + repr(row).encode() + b"\n" if journal is not None else b""  # `_encode`, inlined
        with self._rows_lock:
            if journal is not None:
                try:
                    journal.append(line)
                    journal.clean = False
                except OSError:
                    self._journal_write_failed()
            rows = self._rows
            rows.append(row)
            self._unwritten += 1
            pending = len(rows)
        if pending == 1:
            _FLUSHER.schedule(self, delay)
        elif pending >= _MAX_PENDING:
            # back-pressure: a writer outrunning the flusher pays for the write itself
            with contextlib.suppress(Exception):  # the rows stay queued (and journaled); the flusher retries
                self.flush()

    def release_hold(self, hold_id: int, delay: float = 0.05) -> None:
        """Delete budget hold `hold_id` (core.limits.SQLiteBudget) in the transaction that writes the rows queued so
        far, so other processes see either the hold or the call's row, never both or neither.

        The release is journaled after those rows: if this process dies before the writer runs, whoever replays the
        journal stores the rows and deletes the hold in one transaction. Hold ids are never reused
        (SQLiteBudget draws them at random), so replaying a line twice cannot delete another call's hold."""
        line = _HOLD_LINE + str(hold_id).encode() + b"\n" if self.journal is not None else b""
        with self._rows_lock:
            self._journal_append(line)
            self._holds.append(hold_id)
            first = len(self._holds) == 1
        if first:
            _FLUSHER.schedule(self, delay)

    def pending(self) -> tuple[list[Row], list[int]]:
        """Rows and hold releases not yet committed; consistent with the file while the caller holds the writer lock."""
        with self._rows_lock:
            return list(self._rows), list(self._holds)

    def pending_spend(self, user_id: str, since: float) -> tuple[float, float, list[int]] | None:
        """(everyone's, `user_id`'s) cost of the rows not yet committed, and the hold releases queued with them, as
        `pending`; None when some of those rows are older than `since` (then sum `pending()` rows by time)."""
        with self._rows_lock:
            queued = self._queued
            rows = self._rows
            for row in rows[queued.count :]:  # rows queued since the last look: a call pays for the budget's sums
                queued.add(row)  # only when a budget asks
            if queued.oldest < since:
                return None
            return queued.total, queued.users.get(user_id, 0.0), list(self._holds)

    def _journal_append(self, line: bytes) -> None:
        """One line into the journal (call with `_rows_lock` held, so lines and queues keep one order)."""
        if self.journal is None:
            return
        try:
            self.journal.append(line)
            self.journal.clean = False
        except OSError:
            self._journal_write_failed()

    def _journal_write_failed(self) -> None:
        if not self._journal_failed:
            self._journal_failed = True
            _log.error("cannot append to the usage journal beside %s", self.storage.path, exc_info=True)

    # --- writing ------------------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit every queued row. Raises `StorageBusy` / `StorageError` if the database refuses (rows are kept)."""
        if not self._unwritten and not self._holds:  # nothing pending and no batch in flight: no lock needed
            return
        with self.storage.locked():
            with self._rows_lock:
                rows, self._rows = self._rows, []
                self._queued = _QueuedSpend()
                holds, self._holds = self._holds, []
                left = self.journal.swap() if self.journal is not None else None
            if rows or holds:
                try:
                    self._write_locked(rows, holds=holds)
                except _Unwritten as failed:
                    with self._rows_lock:  # keep them for the next attempt, in order
                        self._rows[:0] = failed.rows
                        self._queued = _QueuedSpend(self._rows)
                        self._holds[:0] = holds
                        self._unwritten -= len(rows) - len(failed.rows)
                    raise self.error(failed.cause) from failed.cause
                with self._rows_lock:
                    self._unwritten -= len(rows)
                    if self.journal is not None and not self._unwritten and not self._holds:
                        self.journal.clean = True
            if left is not None and self.journal is not None:
                with contextlib.suppress(OSError):
                    self.journal.truncate(left)
        if self.after_flush is not None:
            self.after_flush()

    def write_now(self, rows: list[Row]) -> None:
        """Synchronous write (trackers created with flush_interval=None); earlier pending rows go first."""
        self.flush()
        with self.storage.locked():
            try:
                self._write_locked(rows)
            except _Unwritten as failed:
                raise self.error(failed.cause) from failed.cause
        if self.after_flush is not None:
            self.after_flush()

    def error(self, cause: Exception) -> Exception:
        """The typed error a caller sees when the database refused a batch."""
        assert isinstance(cause, sqlite3.Error)
        return storage_error(cause, self.storage.path, self.storage.busy_timeout)

    def _write_locked(self, rows: list[Row], *, careful: bool = False, holds: Sequence[int] = ()) -> None:
        """Commit `rows`; the caller holds the writer lock. A failure that is the database's raises `_Unwritten`;
        any other failure falls back to one row at a time, sanitised, dropping (and logging) what cannot be stored."""
        try:
            self._commit(rows, careful=careful, holds=holds)
            return
        except self.unavailable as error:
            raise _Unwritten(rows, error) from error
        except Exception:  # noqa: BLE001 - whatever a row holds, the writer must go on
            _log.warning("a batch of %d usage rows failed; writing them one by one", len(rows), exc_info=True)
        for i, row in enumerate(rows):
            try:
                self._commit([sanitised_row(row)], careful=True)
            except self.unavailable as error:
                raise _Unwritten(rows[i:], error) from error
            except Exception:  # noqa: BLE001 - one unstorable row is dropped, not retried forever
                _log.error("dropped a usage row that cannot be stored: %r", _describe(row), exc_info=True)
        if holds:
            try:
                self._commit((), careful=True, holds=holds)
            except self.unavailable as error:
                raise _Unwritten([], error) from error

    def _commit(self, rows: Sequence[Row], *, careful: bool, holds: Sequence[int] = ()) -> None:
        """One transaction: the rows not already stored (by request id), their rollup sums, the holds they settle."""
        conn = self.storage.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if careful:
                inserted = [row for row in rows if conn.execute(INSERT_SQL, row).rowcount == 1]
            else:
                inserted = list(rows)
                if _insert_all(conn, inserted) != len(rows):  # some were stored already
                    conn.execute("ROLLBACK")
                    self._commit(rows, careful=True, holds=holds)
                    return
            if inserted:
                for rollup, params in zip(ROLLUPS, _rollup_params(inserted), strict=True):
                    conn.executemany(rollup.upsert_sql, params)
            if holds:
                conn.executemany("DELETE FROM budget_reservations WHERE id = ?", [(h,) for h in holds])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # --- journals of dead processes -----------------------------------------------------------------------------

    def replay_dead_journals(self) -> int:
        """Store the rows of journals whose process has died (their flock is free), then delete them. The budget
        holds the journals settled are deleted in the transaction that stores their rows."""
        if fcntl is None:
            return 0
        own = self.journal.paths[0] if self.journal is not None else None
        replayed = 0
        for name in sorted(glob.glob(_journal_glob(self.anchor))):
            first = Path(name)
            if first == own:
                continue
            try:
                fd = os.open(first, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its process is alive
                (rows, holds), (more_rows, more_holds) = _read_entries(first), _read_entries(_sibling(first))
                rows += more_rows
                holds += more_holds
                if rows or holds:
                    with self.storage.locked():
                        try:
                            self._write_locked(rows, careful=True, holds=holds)
                        except _Unwritten as failed:
                            raise self.error(failed.cause) from failed.cause
                    replayed += len(rows)
                    _log.info("replayed %d usage rows and %d hold releases from %s", len(rows), len(holds), first.name)
                for path in (_sibling(first), first):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            finally:
                os.close(fd)
        return replayed

    def close_journal(self) -> None:
        if self.journal is not None:
            self.journal.close()


#: Multi-row INSERTs for whole chunks of a batch, largest first (27 values a row: 432 at most, under any SQLite's
#: limit of 999), each one statement prepared once per connection.
_CHUNKS = tuple(
    (size, f"INSERT INTO usage ({', '.join(INSERT_COLUMNS)}) VALUES "
     + ", ".join(["(" + ", ".join("?" * len(INSERT_COLUMNS)) + ")"] * size) + " ON CONFLICT DO NOTHING")
    for size in (16, 4)
)  # fmt: skip


def _insert_all(conn: sqlite3.Connection, rows: list[Row]) -> int:
    """Insert `rows` (each stored once: ON CONFLICT DO NOTHING); returns how many were new. Whole chunks go in one
    statement each, the rest one by one: a statement step per chunk instead of per row, and each step is a moment the
    writer thread lets go of the GIL and must win it back from the caller's thread."""
    stored, at = 0, 0
    for size, sql in _CHUNKS:
        while len(rows) - at >= size:
            stored += conn.execute(sql, tuple(itertools.chain.from_iterable(rows[at : at + size]))).rowcount
            at += size
    if at < len(rows):
        stored += conn.executemany(INSERT_SQL, rows[at:]).rowcount
    return stored


#: Every rollup's bucket sizes and keys, and where each of `SUMS` is in a row (-1: counts rows).
_BUCKETS = tuple(sorted({rollup.seconds for rollup in ROLLUPS}))
_FOLD_KEYS = tuple(dict.fromkeys(key for rollup in ROLLUPS for key in rollup.keys))
_FOLD_INDEX = tuple(COL[key] for key in _FOLD_KEYS)
_SUM_INDEX = tuple(-1 if s.source is None else COL[s.source] for s in SUMS)
#: `_rollup_params` spells these out (a row's group key is built once per row: no generator per row).
assert _BUCKETS == (60, 3600, 86400) and _FOLD_INDEX == (1, 2, 3, 4), "update _rollup_params"
assert _SUM_INDEX[0] == -1 and min(_SUM_INDEX[1:]) >= 0, "update _rollup_params"
_SUMMED = operator.itemgetter(*_SUM_INDEX[1:])
#: Per rollup: its bucket and its keys, picked from a group's key (minute, hour, day, *_FOLD_KEYS).
_ROLLUP_PICK = tuple(
    operator.itemgetter(_BUCKETS.index(rollup.seconds), *(len(_BUCKETS) + _FOLD_KEYS.index(k) for k in rollup.keys))
    for rollup in ROLLUPS
)


def _rollup_params(rows: Sequence[Row]) -> list[list[tuple[Any, ...]]]:
    """Each rollup's upsert parameters for a batch (what `Rollup.folded_params` gives), with the batch grouped once
    by (minute, hour, day, user, task, provider, model) first: a batch holds few such groups, so each rollup then
    folds those groups instead of every row (six rollups each reading every row cost more than the batch's SQL).
    Sums add the rows in their order, as `folded_params` does, so the totals are the same to the last bit."""
    if len(rows) == 1:
        return [[rollup.params(rows[0])] for rollup in ROLLUPS]
    try:
        members: dict[tuple[Any, ...], list[Row]] = {}
        for row in rows:
            ts = row[0]
            key = (int(ts // 60) * 60, int(ts // 3600) * 3600, int(ts // 86400) * 86400, row[1], row[2], row[3], row[4])
            same = members.get(key)
            if same is None:
                members[key] = [row]
            else:
                same.append(row)
        groups: list[tuple[tuple[Any, ...], list[Any]]] = []
        for key, group in members.items():
            if len(group) == 1:
                groups.append((key, [1, *_SUMMED(group[0])]))
            else:
                groups.append((key, [len(group), *map(sum, zip(*map(_SUMMED, group), strict=True))]))
        out: list[list[tuple[Any, ...]]] = []
        for pick in _ROLLUP_PICK:
            folded: dict[tuple[Any, ...], list[Any]] = {}
            for key, values in groups:
                short = pick(key)
                sums = folded.get(short)
                if sums is None:
                    folded[short] = list(values)
                else:
                    for j, value in enumerate(values):
                        sums[j] += value
            out.append([(*key, *sums) for key, sums in folded.items()])
        return out
    except TypeError:  # a row not as row_of makes them (an old journal's): the rollups fold it their own way
        return [rollup.folded_params(rows) for rollup in ROLLUPS]


def _describe(row: Any) -> str:
    """A row for a log line: its request id and provider/model only (never more than metadata anyway)."""
    try:
        values = dict(zip(INSERT_COLUMNS, row, strict=False))
        return f"request {values.get('request_id')!r} {values.get('provider')!r}/{values.get('model')!r}"
    except TypeError:
        return type(row).__name__


# --- the flusher thread -------------------------------------------------------------------------------------------


class _Flusher:
    """One daemon thread flushing due writers; it exits after a few idle seconds and restarts on demand."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[Writer, float] = {}  # strong refs: pending rows are never lost to garbage collection
        self._thread: threading.Thread | None = None

    def schedule(self, writer: Writer, delay: float) -> None:
        with self._cond:
            if writer not in self._due:
                self._due[writer] = time.monotonic() + delay
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="usage-tracker-flush", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._due and not self._cond.wait_for(lambda: self._due, timeout=_FLUSHER_IDLE_EXIT_S):
                    self._thread = None
                    return
                now = time.monotonic()
                ready = [w for w, at in self._due.items() if at <= now]
                if not ready:
                    self._cond.wait(timeout=min(self._due.values()) - now)
                    continue
                for writer in ready:
                    del self._due[writer]
            for writer in ready:
                if not _flush_quietly(writer):
                    self.schedule(writer, _RETRY_S)  # e.g. the file is locked by another process: retry soon


def _flush_quietly(writer: Writer) -> bool:
    try:
        writer.flush()
    except Exception:  # noqa: BLE001 - the flusher thread must survive anything; rows stay queued and journaled
        _log.warning("could not write usage rows to %s; will retry", writer.storage.path, exc_info=True)
        return False
    return True


_FLUSHER = _Flusher()
_WRITERS: weakref.WeakValueDictionary[str, Writer] = weakref.WeakValueDictionary()
_WRITERS_GUARD = threading.Lock()


def writer_for(path: Path, make: Callable[[], Writer] | None = None) -> Writer:
    """The process's writer for one database (created by `make`, default a SQLite `Writer` of `path`, replaying dead
    processes' journals, on first use)."""
    with _WRITERS_GUARD:
        writer = _WRITERS.get(str(path))
        if writer is not None:
            return writer
        writer = Writer(path) if make is None else make()
        _WRITERS[str(path)] = writer
    _install_sigterm_flush()
    try:
        writer.replay_dead_journals()
    except Exception:  # noqa: BLE001 - the journals stay for the next start
        _log.warning("could not replay usage journals beside %s yet", path, exc_info=True)
    return writer


def flush_all(*, close_journals: bool = False) -> None:
    """Flush every writer in this process (exit, SIGTERM); optionally close (and delete) their journals."""
    for writer in list(_WRITERS.values()):
        _flush_quietly(writer)
        if close_journals:
            writer.close_journal()


@atexit.register
def _flush_at_exit() -> None:
    flush_all(close_journals=True)


# --- SIGTERM ------------------------------------------------------------------------------------------------------

_sigterm_installed = False


def _install_sigterm_flush() -> None:
    """Flush on SIGTERM, then die by the default action: only from the main thread, and only over the default."""
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    _sigterm_installed = True
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # someone else handles it (Streamlit, uvicorn): their normal exit runs our atexit flush
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main interpreter, or no signals here
        return


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Flush from another thread: the interrupted main thread may hold a lock the flush needs. Rows it cannot
    # write in time stay in the journal, which the next start replays.
    flusher = threading.Thread(target=flush_all, kwargs={"close_journals": True}, name="usage-sigterm-flush")
    flusher.start()
    flusher.join(timeout=BUSY_TIMEOUT_S + 1.0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
