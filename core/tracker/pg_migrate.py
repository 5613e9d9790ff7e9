"""`python -m core migrate-db --to URL`: copy a SQLite usage DB into PostgreSQL, as often as you like.

What is copied: the usage rows, the workspace (profiles, CVs and every version, applications with their documents
and call costs, match lists, the cache keys that let a delete reach cached answers), the budget alerts and the A/B
votes. Not the response cache (answers are cached again).

Idempotent: a usage row is known by its request id (unique when set), so a second run copies only what the first did
not, and the rollups count each row once. Rows written before request ids existed (an empty id) get one made from
their SQLite id and time (`sqlite-<id>-<ts>`): the same on every run from the same file. The workspace's rows are
known by their keys (ids, a CV's version number, an alert's budget, scope, period and threshold): a row already in
PostgreSQL is kept, or updated when the file's copy changed later (a CV, an application or a document edited since);
an application's call costs, which have no key, are copied as many times as the file has more of them.

The source file is first opened as the app would open it (migrated to the current schema, and the journals of its
dead processes replayed), then read in batches inside one snapshot.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.base import StorageError
from core.tracker.pg_writer import pg_writer_for
from core.tracker.schema import COL, INSERT_COLUMNS, Row

__all__ = ["MigrationReport", "TableCopy", "copy_usage"]

BATCH = 5000
_REQUEST_ID = COL["request_id"]


@dataclass(frozen=True)
class TableCopy:
    """One table's copy: rows read from the file, rows new (or newer) in PostgreSQL."""

    table: str
    read: int
    copied: int


@dataclass(frozen=True)
class MigrationReport:
    """What one run did: rows read from the file, rows new to PostgreSQL (the rest were there already)."""

    source: str
    target: str
    usage_read: int
    usage_copied: int
    tables: tuple[TableCopy, ...] = ()

    def copied(self, table: str) -> int:
        return sum(t.copied for t in self.tables if t.table == table)

    def __str__(self) -> str:
        already = self.usage_read - self.usage_copied
        lines = [
            f"usage: {self.usage_read:,} rows read from {self.source}, {self.usage_copied:,} copied to {self.target}"
            f" ({already:,} were there already)"
        ]
        for group, prefix in (("workspace", "ws_"), ("budget alerts", "budget_"), ("A/B votes", "ab_")):
            found = [t for t in self.tables if t.table.startswith(prefix)]
            if found:
                read, copied = sum(t.read for t in found), sum(t.copied for t in found)
                detail = ", ".join(f"{t.table} {t.copied:,}/{t.read:,}" for t in found if t.read)
                lines.append(f"{group}: {read:,} rows read, {copied:,} copied" + (f" ({detail})" if detail else ""))
        return "\n".join(lines)


def copy_usage(source: str | os.PathLike[str], url: str, *, local_path: str | os.PathLike[str]) -> MigrationReport:
    """Copy every usage row, the workspace and the budget alerts of the SQLite file `source` into the PostgreSQL
    database at `url`."""
    from core.ab import _PG_MIGRATIONS as ab_pg_migrations
    from core.ab import VoteStore
    from core.alerts import AlertStore
    from core.tracker.pg_storage import run_pg_migrations
    from core.tracker.storage import Storage
    from core.usage_tracker import UsageTracker
    from core.workspace import Workspace

    path = Path(source).expanduser()
    if not path.is_file():
        raise StorageError(str(path), "no such file")
    UsageTracker(path).close()  # migrated to the current schema; dead processes' journals replayed
    for opened in (Workspace(Storage(path)), AlertStore(Storage(path)), VoteStore(path)):  # their tables, in the file
        opened.close()
    writer = pg_writer_for(url, local_path)
    storage = writer.pg
    with storage.guard():  # a StorageError naming the server (never its password) when it cannot be reached
        storage.ensure_ready()
        Workspace(storage)  # the workspace's, the alerts' and the votes' tables in PostgreSQL (their migrations)
        AlertStore(storage)
        run_pg_migrations(storage, "ab", ab_pg_migrations)
    read = copied = 0
    tables: list[TableCopy] = []
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        cursor = conn.execute(f"SELECT id, {', '.join(INSERT_COLUMNS)} FROM usage ORDER BY id")
        while batch := cursor.fetchmany(BATCH):
            rows = [_with_request_id(row) for row in batch]
            with storage.guard():
                copied += writer.copy_rows(rows)
            read += len(rows)
        for table, copy in _COPIES:
            tables.append(copy(conn, storage, table))
    finally:
        conn.close()
    return MigrationReport(str(path.resolve()), storage.display, read, copied, tuple(tables))


def _with_request_id(row: tuple[object, ...]) -> Row:
    values = row[1:]
    if values[_REQUEST_ID]:
        return values
    return (*values[:_REQUEST_ID], f"sqlite-{row[0]}-{values[0]!r}", *values[_REQUEST_ID + 1 :])


# --- the workspace and the alerts -----------------------------------------------------------------------------------

#: Per table: its columns (all but a generated id), the rows of the file worth copying (a version of a CV that is
#: gone is not: SQLite does not enforce the foreign keys PostgreSQL does), and what a row already there becomes.
_KEYED: dict[str, tuple[str, str, str]] = {
    "ws_profiles": ("user_id, created", "", "ON CONFLICT (user_id) DO NOTHING"),
    "ws_cvs": (
        "id, user_id, name, created, updated",
        "",
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated = excluded.updated"
        " WHERE excluded.updated > ws_cvs.updated",
    ),
    "ws_cv_versions": (
        "cv_id, version, created, source, data, cv_text, diff",
        "WHERE cv_id IN (SELECT id FROM ws_cvs) ORDER BY cv_id, version",
        "ON CONFLICT (cv_id, version) DO NOTHING",
    ),
    "ws_applications": (
        "id, user_id, cv_id, company, role, job_text, link, status, created, updated, status_changed, notes",
        "",
        "ON CONFLICT (id) DO UPDATE SET cv_id = excluded.cv_id, company = excluded.company, role = excluded.role,"
        " job_text = excluded.job_text, link = excluded.link, status = excluded.status, updated = excluded.updated,"
        " status_changed = excluded.status_changed, notes = excluded.notes"
        " WHERE excluded.updated > ws_applications.updated",
    ),
    "ws_documents": (
        "application_id, kind, content, created",
        "WHERE application_id IN (SELECT id FROM ws_applications)",
        "ON CONFLICT (application_id, kind) DO UPDATE SET content = excluded.content, created = excluded.created"
        " WHERE excluded.created > ws_documents.created",
    ),
    "ws_match_lists": ("id, user_id, cv_id, created, rows, labels, cost_usd", "", "ON CONFLICT (id) DO NOTHING"),
    "ws_cache_keys": ("owner, key", "", "ON CONFLICT (owner, key) DO NOTHING"),
    "budget_alerts": (
        "budget, scope, period, threshold, spend_usd, limit_usd, forecast_usd, created_at, acknowledged_at,"
        " webhook_status, webhook_attempts, webhook_error",
        "ORDER BY id",
        "ON CONFLICT (budget, scope, period, threshold) DO NOTHING",
    ),
}
_CALL_COLUMNS = "application_id, kind, task, provider, model, cost_usd, created"


def _copy_keyed(source: sqlite3.Connection, storage: Any, table: str) -> TableCopy:
    """Rows known by a key: inserted when new, updated when the file's copy is newer (see `_KEYED`)."""
    columns, where, on_conflict = _KEYED[table]
    marks = ", ".join("?" * (columns.count(",") + 1))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) {on_conflict} RETURNING 1"
    cursor = source.execute(f"SELECT {columns} FROM {table} {where}")
    read = copied = 0
    while batch := cursor.fetchmany(BATCH):
        with storage.write() as conn:
            copied += sum(conn.execute(sql, row).fetchone() is not None for row in batch)
        read += len(batch)
    return TableCopy(table, read, copied)


def _copy_calls(source: sqlite3.Connection, storage: Any, table: str) -> TableCopy:
    """An application's call costs have no key: per application, copy as many of each as the file has more."""
    rows = source.execute(
        f"SELECT {_CALL_COLUMNS} FROM ws_calls WHERE application_id IN (SELECT id FROM ws_applications) ORDER BY id"
    ).fetchall()
    copied = 0
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        apps = sorted({row[0] for row in batch})
        with storage.write() as conn:
            found = conn.execute(f"SELECT {_CALL_COLUMNS} FROM ws_calls WHERE application_id = ANY(?)", (apps,))
            there = Counter(tuple(r) for r in found)
            missing: list[Sequence[Any]] = []
            for row in batch:
                if there[tuple(row)] > 0:
                    there[tuple(row)] -= 1
                else:
                    missing.append(row)
            if missing:
                conn.executemany(f"INSERT INTO ws_calls ({_CALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", missing)
            copied += len(missing)
    return TableCopy(table, len(rows), copied)


_VOTE_COLUMNS = "ts, user_id, task_type, providers, winner, costs, latencies"


def _copy_votes(source: sqlite3.Connection, storage: Any, table: str) -> TableCopy:
    """Votes have no key: a vote is copied unless one with the same time, user, task, providers and winner is there."""
    marks = ", ".join("?" * (_VOTE_COLUMNS.count(",") + 1))
    sql = (
        f"INSERT INTO ab_votes ({_VOTE_COLUMNS}) SELECT {marks} WHERE NOT EXISTS (SELECT 1 FROM ab_votes"
        " WHERE ts = ? AND user_id = ? AND task_type = ? AND providers = ? AND winner = ?) RETURNING 1"
    )
    cursor = source.execute(f"SELECT {_VOTE_COLUMNS} FROM ab_votes ORDER BY id")
    read = copied = 0
    while batch := cursor.fetchmany(BATCH):
        with storage.write() as conn:
            copied += sum(conn.execute(sql, (*row, *row[:5])).fetchone() is not None for row in batch)
        read += len(batch)
    return TableCopy(table, read, copied)


_COPIES = (
    *((t, _copy_keyed) for t in ("ws_profiles", "ws_cvs", "ws_cv_versions", "ws_applications", "ws_documents")),
    ("ws_calls", _copy_calls),
    *((t, _copy_keyed) for t in ("ws_match_lists", "ws_cache_keys", "budget_alerts")),
    ("ab_votes", _copy_votes),
)
