"""Write-behind to PostgreSQL, with the same crash-proof journal as the SQLite writer (`core.tracker.writer`).

While PostgreSQL is down, `record()` goes on costing one append: the rows stay in memory and in this process's
journal (beside this machine's SQLite file), the flusher retries every second, and they are written once the server
is back. A process that dies meanwhile leaves its journal; the next tracker started on this machine for the same
server replays it. Replays are idempotent (`usage.request_id` is unique when set).

A batch is one statement per table: the rows go in with `INSERT … ON CONFLICT DO NOTHING RETURNING request_id` (so
a row already stored, e.g. replayed, is not summed twice), then each rollup gets one upsert per key, in key order,
so that two processes updating the same rollup rows cannot deadlock.

Budgets read the recorded spend from PostgreSQL. While it is down, `SpendWhileDown` answers instead, from what this
machine knows: the spend last read from the server, plus the rows this process wrote after that read, plus every row
waiting in this machine's journals for that server (this process's and other processes', live or dead). Each part
is counted in full even where they overlap, so the figure is never below the truth this machine can see.
"""

from __future__ import annotations

import glob
import itertools
import logging
import math
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from core.base import StorageError
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
from core.tracker.writer import Writer, _read_journal, _sibling, writer_for

__all__ = ["PgWriter", "SpendWhileDown", "pg_writer_for"]

_log = logging.getLogger("core.usage_tracker")

_REQUEST_ID = COL["request_id"]
_TS, _USER, _COST = COL["ts"], COL["user_id"], COL["cost_usd"]
#: (since, user or None for everyone): the key of one spend figure a budget reads.
SpendKey = tuple[float, str | None]
_INSERT_RETURNING = f"{INSERT_SQL} RETURNING request_id"


class PgWriter(Writer):
    """The process's write-behind buffer for one PostgreSQL database."""

    #: The server is down, restarting, refusing connections, or the transaction lost a race: keep the rows.
    unavailable = (psycopg.OperationalError, psycopg.InterfaceError, PgUnavailable)

    def __init__(self, storage: PgStorage, *, journal: bool = True) -> None:
        super().__init__(storage.path, journal=journal, storage=storage, anchor=storage.journal_anchor)
        self.pg = storage
        self._replay_pending = False
        self.spend = SpendWhileDown(self)

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
        self.spend.committed(inserted)
        return len(inserted)

    def journal_rows(self) -> list[Row]:
        """Every row in this machine's journals for this server (this process's and others'), and this process's
        rows not yet committed: what is recorded here and may not be in PostgreSQL yet. Read from the files."""
        rows, _holds = self.pending()
        pattern = glob.escape(str(self.anchor)) + ".rows-*-0.journal"
        for name in glob.glob(pattern):
            first = Path(name)
            rows += _read_journal(first) + _read_journal(_sibling(first))
        return rows


class SpendWhileDown:
    """The spend a budget reads, kept answerable while PostgreSQL is down (see the module docstring).

    `read(key, flush, fetch)` runs `fetch` (the query on the server) and remembers its answer with the position of this
    process's commit log at the time; when `fetch` fails because the server is unavailable, the answer is the last
    one remembered for the key (or for a wider key: an earlier start, or everyone instead of one user), plus the
    rows committed since, plus the rows in the journals. With nothing remembered at all (the process started while
    the server was down) the spend is unknown, and reported as infinite: a budget then admits no paid call.
    """

    #: Most commits remembered: older ones are dropped once every remembered answer is newer than they are.
    _LOG_CAP = 100_000

    def __init__(self, writer: PgWriter) -> None:
        self._writer = weakref.ref(writer)  # no cycle: a writer nobody uses is collected (and its journal closed)
        self._display = writer.pg.display
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._at = 0  # the sequence number of the last commit
        self._log: list[tuple[int, float, str, float]] = []  # (seq, ts, user, cost) of rows this process committed
        self._known: dict[SpendKey, tuple[float, int]] = {}  # key → (spend read from the server, commit seq before)
        self._down = False  # the last read fell back to the estimate

    def committed(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        with self._lock:
            seq = self._at = next(self._seq)
            self._log.extend((seq, float(r[_TS]), str(r[_USER]), float(r[_COST])) for r in rows if r[_COST])
            if len(self._log) > self._LOG_CAP:
                oldest = min((at for _value, at in self._known.values()), default=seq)
                self._log = [entry for entry in self._log if entry[0] > oldest][-self._LOG_CAP :]

    def read(self, key: SpendKey, flush: Callable[[], None], fetch: Callable[[], float]) -> float:
        """The spend for `key`: `flush` (this process's rows), then `fetch` from the server when it answers, else
        this machine's estimate."""
        try:
            flush()
            with self._lock:
                mark = self._at  # before the read: a commit racing it is counted twice later, never missed
            value = fetch()
        except StorageError as error:
            if not isinstance(error.__cause__, PgWriter.unavailable):
                raise
            estimate = self.estimate(key)
            if not self._down:  # once per outage, not once per call
                self._down = True
                _log.warning(
                    "PostgreSQL at %s is unavailable: budgets read the spend known on this machine until it is back",
                    self._display,
                )
            return estimate
        if self._down:
            self._down = False
            _log.warning("PostgreSQL at %s answers again: budgets read the spend from it", self._display)
        with self._lock:
            if len(self._known) > 4096:  # old periods and one-off users
                self._known.clear()
            self._known[key] = (value, mark)
        return value

    def estimate(self, key: SpendKey) -> float:
        """The spend for `key` as this machine knows it without the server (never below the truth it can see)."""
        since, user = key
        writer = self._writer()
        journal = writer.journal_rows() if writer is not None else []  # file reads: outside the lock
        with self._lock:
            bases = [
                (value, at)
                for (known_since, known_user), (value, at) in self._known.items()
                if known_since <= since and known_user in (user, None)
            ]
            if not bases:
                return math.inf
            best = math.inf
            for value, at in bases:
                later = sum(c for seq, ts, who, c in self._log if seq > at and ts >= since and user in (None, who))
                best = min(best, value + later)
        seen: set[str] = set()
        waiting = 0.0
        for row in journal:
            request = str(row[_REQUEST_ID])
            if request and request in seen:
                continue
            seen.add(request)
            if row[_TS] >= since and user in (None, row[_USER]):
                waiting += float(row[_COST])
        return best + waiting


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
