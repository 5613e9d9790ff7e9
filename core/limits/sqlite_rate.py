"""A sliding-window rate limiter whose window lives in the usage DB file, so every process on it shares one limit.

Each admitted call is a row of `rate_events`; check and count run in one write transaction (one INSERT … SELECT,
which takes the file's write lock before it reads), serialising them across processes (and threads), so any number
of processes together admit at most `rpm` calls and `tpm` tokens per (provider, user) in any 60 s. A provider
without limits never touches the file.

Durability: the connection keeps the file's `synchronous = NORMAL`. In WAL mode that already means no fsync per
commit (a slot lost to a power cut only lets one call more through in that minute, which is harmless); OFF would
only skip the fsync of checkpoints, about 2 µs a call measured, and it is a per-connection setting whose
checkpoints also carry the usage rows, which must survive a power cut. So the limiter takes nothing from it.

Times are wall-clock (`time.time`), the only clock processes share.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping

from core.base import StorageBusy, StorageError
from core.limits._db import LimitsDB
from core.rate_limit import WINDOW_SECONDS, LimiterBase
from core.tracker.storage import storage_error

_log = logging.getLogger(__name__)

__all__ = ["SQLiteRateLimiter"]

_EPSILON = 1e-9
#: Every this many admitted calls, this process also drops expired rows of other (provider, user) pairs.
_SWEEP_EVERY = 1000
#: What a caller is told to wait when the file stayed locked: fail closed, never admit uncounted calls.
BUSY_WAIT_SECONDS = 1.0


#: The hot path: count and admit in one statement (its own transaction). An INSERT takes the file's write lock
#: before it reads, as BEGIN IMMEDIATE does, so the count it checks is the latest and nobody writes meanwhile.
#: Expired rows are not deleted here: the count seeks past them on the (provider, user, ts) key, and the sweep
#: drops them in bulk.
_ADMIT_SQL = (
    "INSERT INTO rate_events (provider, user_id, ts, tokens) SELECT ?1, ?2, ?3, ?4 WHERE "
    "(SELECT COUNT(*) < ?6 AND TOTAL(tokens) + ?4 <= ?7 FROM rate_events WHERE provider = ?1 AND user_id = ?2 "
    "AND ts > ?5)"
)
#: Stands for "no limit" in `_ADMIT_SQL` (a count or a token sum never reaches it).
_NO_LIMIT = 1 << 62


class SQLiteRateLimiter(LimiterBase):
    """`RateLimiter` over a shared SQLite file. Same semantics as `InMemoryRateLimiter`, across processes.

    An admitted call costs one INSERT … SELECT (one statement, one transaction, one B-tree page written); only a
    refused call runs the longer transaction that works out how long to wait.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | LimitsDB,
        limits: Mapping[str, tuple[int | None, int | None]] | None = None,
        *,
        default_rpm: int | None = 60,
        default_tpm: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(limits, default_rpm=default_rpm, default_tpm=default_tpm)
        self._db = db_path if isinstance(db_path, LimitsDB) else LimitsDB(db_path)
        self._clock = clock
        self._admitted = 0
        self._count_lock = threading.Lock()

    def _admit(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        try:
            storage = self._db.storage
            lock = storage.write_lock  # this process's writers queue here rather than in SQLite's busy handler
            if not lock.acquire(storage.busy_timeout):
                raise StorageBusy(str(storage.path), storage.busy_timeout)
            try:
                now = self._clock()
                params = (
                    provider, user_id, now, tokens, now - WINDOW_SECONDS + _EPSILON,
                    _NO_LIMIT if rpm is None else rpm, _NO_LIMIT if tpm is None else tpm,
                )  # fmt: skip
                admitted = storage.connection().execute(_ADMIT_SQL, params).rowcount == 1
            except sqlite3.Error as error:
                raise storage_error(error, storage.path, storage.busy_timeout) from error
            finally:
                lock.release()
            wait = 0.0 if admitted else self._wait(provider, user_id, tokens, rpm, tpm)
        except StorageError as exc:
            _log.warning("rate limit not checked, call refused for now: %s", exc)
            return BUSY_WAIT_SECONDS
        if wait == 0.0:
            self._maybe_sweep()
        return wait

    def _wait(self, provider: str, user_id: str, tokens: int, rpm: int | None, tpm: int | None) -> float:
        """A refused call: the seconds until it would fit, checked again (and admitted, if the window moved since)
        in one BEGIN IMMEDIATE transaction."""
        key = (provider, user_id)
        with self._db.immediate() as conn:
            now = self._clock()
            cutoff = now - WINDOW_SECONDS + _EPSILON
            count, total = conn.execute(
                "SELECT COUNT(*), TOTAL(tokens) FROM rate_events WHERE provider = ? AND user_id = ? AND ts > ?",
                (*key, cutoff),
            ).fetchone()
            wait = 0.0
            if rpm is not None and count >= rpm:
                # the call that must leave first is the (count - rpm + 1)-th oldest
                (at,) = conn.execute(
                    "SELECT ts FROM rate_events WHERE provider = ? AND user_id = ? AND ts > ? "
                    "ORDER BY ts LIMIT 1 OFFSET ?",
                    (*key, cutoff, count - rpm),
                ).fetchone()
                wait = at + WINDOW_SECONDS - now
            if tpm is not None and total + tokens > tpm:
                wait = max(wait, self._token_wait(conn, key, cutoff, int(total) + tokens - tpm, now))
            if wait > 0:
                return min(wait, WINDOW_SECONDS)  # a wall clock stepped back can push it past 60
            conn.execute(
                "INSERT INTO rate_events (provider, user_id, ts, tokens) VALUES (?, ?, ?, ?)", (*key, now, tokens)
            )
            return 0.0

    @staticmethod
    def _token_wait(conn: sqlite3.Connection, key: tuple[str, str], cutoff: float, excess: int, now: float) -> float:
        """Seconds until the oldest calls holding at least `excess` tokens have left the window."""
        freed = 0
        for at, spent in conn.execute(
            "SELECT ts, tokens FROM rate_events WHERE provider = ? AND user_id = ? AND ts > ? ORDER BY ts",
            (*key, cutoff),
        ):
            freed += spent
            if freed >= excess:
                return float(at) + WINDOW_SECONDS - now
        return math.inf  # not reached: tokens <= tpm guarantees the whole window frees enough

    def _maybe_sweep(self) -> None:
        """Now and then drop every expired row, so (provider, user) pairs seen once do not stay in the file."""
        with self._count_lock:
            self._admitted += 1
            if self._admitted % _SWEEP_EVERY:
                return
        try:
            self._db.write("DELETE FROM rate_events WHERE ts <= ?", (self._clock() - WINDOW_SECONDS,))
        except StorageError:
            _log.debug("rate_events sweep skipped", exc_info=True)

    def reset(self) -> None:
        """Forget every counted call, in every process sharing the file."""
        self._db.write("DELETE FROM rate_events", ())

    def close(self) -> None:
        self._db.close()
