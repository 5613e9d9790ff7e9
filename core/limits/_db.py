"""The limits' tables in the usage DB file: connections, IMMEDIATE transactions and named migrations.

Connections and migrations come from the tracker's storage code (one place opens the file, sets WAL and the busy
timeout, and serialises this process's writers on one lock per file), so the limiter, the budget and the tracker
queue on the same lock instead of spinning in SQLite's busy handler.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from core.base import CVCopilotError
from core.usage_tracker import SQLiteConnections, run_migrations

_log = logging.getLogger(__name__)

__all__ = ["LimitsDB", "LimitsUnavailable"]


class LimitsUnavailable(CVCopilotError):
    """The shared limits could not be read or written (the usage DB stayed locked by another process)."""

    def __init__(self, path: object, detail: str) -> None:
        self.path = str(path)
        super().__init__(
            f"The usage database {self.path} is busy (another CV Copilot process holds it: {detail}). "
            "Try again in a few seconds."
        )


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


_MIGRATIONS = (m001_rate_events, m002_budget_reservations)


class LimitsDB:
    """The usage DB file as the limiter and the budget use it; opened (and migrated) on first use."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self._db_path = db_path
        self._connections: SQLiteConnections | None = None
        self._open_lock = threading.Lock()

    @property
    def connections(self) -> SQLiteConnections:
        connections = self._connections
        if connections is None:
            with self._open_lock:
                if self._connections is None:
                    opened = SQLiteConnections(self._db_path)
                    try:
                        run_migrations(opened, "limits", _MIGRATIONS)
                    except sqlite3.OperationalError as exc:
                        raise LimitsUnavailable(opened.path, str(exc)) from None
                    self._connections = opened
                connections = self._connections
        return connections

    @property
    def path(self) -> str:
        return str(self.connections.path)

    @contextmanager
    def immediate(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: the check and the write that depends on it, atomic across processes."""
        connections = self.connections
        conn = connections.get()
        with connections.write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise LimitsUnavailable(connections.path, str(exc)) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise LimitsUnavailable(connections.path, str(exc)) from None
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read snapshot (WAL: it never waits for writers)."""
        conn = self.connections.get()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def write(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement in its own transaction, queued on this process's writer lock."""
        connections = self.connections
        with connections.write_lock:
            connections.get().execute(sql, params)

    def close(self) -> None:
        if self._connections is not None:
            self._connections.close_all()
