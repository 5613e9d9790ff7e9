"""The limits' tables in the usage DB file, through the storage layer (core.tracker.storage).

The storage layer opens the file (WAL, busy timeout, 0600), serialises this process's writers on one lock per file
(shared with the tracker's writer, so they queue instead of spinning in SQLite's busy handler) and turns sqlite3
errors into `StorageError` / `StorageBusy`. This module adds the limits' named migrations and opens lazily, so a
process whose providers have no limits and whose users have no budget never touches the file for them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from core.tracker.storage import BUSY_TIMEOUT_S, Storage, open_storage, run_migrations

__all__ = ["LimitsDB"]


def m001_rate_events(db: Any) -> None:
    """One row per admitted call in the last minute, per (provider, user): the sliding window's log."""
    db.execute(
        "CREATE TABLE rate_events (provider TEXT NOT NULL, user_id TEXT NOT NULL, ts REAL NOT NULL, "
        "tokens INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute("CREATE INDEX idx_rate_events_key ON rate_events (provider, user_id, ts)")


def m002_budget_reservations(db: Any) -> None:
    """Money held for calls in flight; a row lapses at `expires_at`, so a killed process's hold does not stay.

    No secondary index: only calls in flight (and holds of killed processes, until they lapse) are rows here, so a
    scan is a page or two, and every hold taken or settled writes one B-tree page instead of three.
    """
    db.execute(
        "CREATE TABLE budget_reservations (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, amount_usd REAL NOT NULL, "
        "created_at REAL NOT NULL, expires_at REAL NOT NULL, pid INTEGER NOT NULL DEFAULT 0)"
    )


def m003_rate_events_without_rowid(db: Any) -> None:
    """The window's log as one B-tree keyed (provider, user, ts): an admitted call writes one page instead of two
    (table and index), which halves the cost of the limiter's transaction. `n` (random) keeps two calls counted at
    the same instant apart; its default lets any writer insert the four columns as before."""
    db.execute(
        "CREATE TABLE rate_events_new (provider TEXT NOT NULL, user_id TEXT NOT NULL, ts REAL NOT NULL, "
        "tokens INTEGER NOT NULL DEFAULT 0, n INTEGER NOT NULL DEFAULT (random()), "
        "PRIMARY KEY (provider, user_id, ts, n)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO rate_events_new (provider, user_id, ts, tokens) "
        "SELECT provider, user_id, ts, tokens FROM rate_events"
    )
    db.execute("DROP TABLE rate_events")
    db.execute("ALTER TABLE rate_events_new RENAME TO rate_events")


_MIGRATIONS = (m001_rate_events, m002_budget_reservations, m003_rate_events_without_rowid)


class LimitsDB:
    """The usage DB file as the limiter and the budget use it; opened (and migrated) on first use."""

    def __init__(self, db_path: str | os.PathLike[str], *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self._db_path = db_path
        self._busy_timeout = busy_timeout
        self._storage: Storage | None = None
        self._open_lock = threading.Lock()

    @property
    def storage(self) -> Storage:
        storage = self._storage
        if storage is None:
            with self._open_lock:
                if self._storage is None:
                    opened = open_storage(self._db_path, busy_timeout=self._busy_timeout)
                    run_migrations(opened, "limits", _MIGRATIONS)
                    self._storage = opened
                storage = self._storage
        return storage

    @contextmanager
    def immediate(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: the check and the write that depends on it, atomic across processes."""
        with self.storage.write() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read snapshot (WAL: it never waits for writers)."""
        with self.storage.read() as conn:
            yield conn

    def write(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement in its own write transaction."""
        with self.storage.write() as conn:
            conn.execute(sql, params)

    def close(self) -> None:
        if self._storage is not None:
            self._storage.close()
