"""Write-behind to PostgreSQL, with the same crash-proof journal as the SQLite writer (`core.tracker.writer`).

While PostgreSQL is down, `record()` goes on costing one append: the rows stay in memory and in this process's
journal (beside this machine's SQLite file), the flusher retries every second, and they are written once the server
is back. A process that dies meanwhile leaves its journal; the next tracker started on this machine for the same
server replays it. Replays are idempotent (`usage.request_id` is unique when set).

A batch is one statement per table: the rows go in with `INSERT … ON CONFLICT DO NOTHING RETURNING request_id` (so
a row already stored, e.g. replayed, is not summed twice), then each rollup gets one upsert per key, in key order,
so that two processes updating the same rollup rows cannot deadlock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import psycopg

from core.tracker.pg_storage import (
    PgMigration,
    PgStorage,
    PgUnavailable,
    journal_anchor,
    pg_storage_error,
    pg_storage_for,
    run_pg_migrations,
    translate,
)
from core.tracker.schema import COL, INSERT_SQL, ROLLUPS, Row
from core.tracker.writer import Writer, writer_for

__all__ = ["PgWriter", "pg_writer_for"]

_log = logging.getLogger("core.usage_tracker")

_REQUEST_ID = COL["request_id"]
_INSERT_RETURNING = f"{INSERT_SQL} RETURNING request_id"


class PgWriter(Writer):
    """The process's write-behind buffer for one PostgreSQL database."""

    #: The server is down, restarting, refusing connections, or the transaction lost a race: keep the rows.
    unavailable = (psycopg.OperationalError, psycopg.InterfaceError, PgUnavailable)

    def __init__(self, storage: PgStorage, *, journal: bool = True) -> None:
        super().__init__(storage.path, journal=journal, storage=storage, anchor=storage.journal_anchor)
        self.pg = storage
        self._replay_pending = False

    def replay_dead_journals(self) -> int:
        try:
            return super().replay_dead_journals()
        except Exception:
            self._replay_pending = True  # tried again after the next flush that reaches the server
            raise

    def flush(self) -> None:
        super().flush()
        if self._replay_pending:
            self._replay_pending = False
            try:
                self.replay_dead_journals()
            except Exception:  # noqa: BLE001 - the journals stay; tried again after the next flush
                _log.warning("could not replay usage journals for %s yet", self.pg.display, exc_info=True)

    def error(self, cause: Exception) -> Exception:
        if isinstance(cause, psycopg.Error):
            return pg_storage_error(cause, self.pg.display, self.pg.busy_timeout)
        return cause

    def copy_rows(self, rows: Sequence[Row]) -> int:
        """Store `rows` now (bulk copies: migrate-db), skipping those already stored. Returns how many were new.
        Raises psycopg errors."""
        return self._store(rows, careful=False)

    def _commit(self, rows: Sequence[Row], *, careful: bool, holds: Sequence[int] = ()) -> None:
        # budget holds (`release_hold`) live in a SQLite file's budget_reservations, never in PostgreSQL
        assert not holds, "budget holds are not kept in PostgreSQL"
        self._store(rows, careful=careful)

    def _store(self, rows: Sequence[Row], *, careful: bool) -> int:
        with self.pg.transaction() as conn:
            if careful or len(rows) == 1:
                inserted = [row for row in rows if conn.execute(INSERT_SQL, row).rowcount == 1]
            else:
                stored: set[str] = set()
                cursor = conn.raw.cursor()
                cursor.executemany(translate(_INSERT_RETURNING), [_clean(row) for row in rows], returning=True)
                while True:
                    stored.update(r[0] for r in cursor.fetchall())
                    if not cursor.nextset():
                        break
                inserted = []
                for row in rows:  # a request id twice in one batch (a replay beside a live write) counts once
                    if row[_REQUEST_ID] in stored:
                        stored.discard(row[_REQUEST_ID])
                        inserted.append(row)
            if inserted:
                for rollup in ROLLUPS:
                    conn.executemany(rollup.upsert_sql, sorted(rollup.folded_params(inserted)))
        return len(inserted)


def _clean(row: Row) -> Row:
    if any(type(v) is str and "\x00" in v for v in row):
        return tuple(v.replace("\x00", "\ufffd") if type(v) is str else v for v in row)
    return row


def pg_writer_for(url: str, local_path: str | os.PathLike[str]) -> PgWriter:
    """The process's writer (and through `.storage`, its pool) for one PostgreSQL database; on first use it replays
    the journals this machine's dead processes left for that database."""
    anchor = journal_anchor(url, local_path)
    writer = writer_for(anchor, lambda: PgWriter(_prepared(pg_storage_for(url, local_path))))
    assert isinstance(writer, PgWriter)
    return writer


def _prepared(storage: PgStorage) -> PgStorage:
    """The storage, migrated now if the server answers, else before its first use."""
    from core.tracker.pg_schema import MIGRATIONS

    storage.ready = lambda: _migrate(storage, MIGRATIONS)
    try:
        storage.ensure_ready()
    except psycopg.OperationalError:
        _log.error("PostgreSQL at %s is unavailable: usage rows wait in the local journal", storage.display)
    return storage


def _migrate(storage: PgStorage, migrations: Sequence[PgMigration]) -> None:
    applied = run_pg_migrations(storage, "usage", migrations)
    if applied:
        _log.info("migrated the usage tables at %s: %s", storage.display, ", ".join(applied))
