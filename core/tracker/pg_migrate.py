"""`python -m core migrate-db --to URL`: copy a SQLite usage DB into PostgreSQL, as often as you like.

Idempotent: a usage row is known by its request id (unique when set), so a second run copies only what the first did
not, and the rollups count each row once. Rows written before request ids existed (an empty id) get one made from
their SQLite id and time (`sqlite-<id>-<ts>`): the same on every run from the same file.

The source file is first opened as the app would open it (migrated to the current schema, and the journals of its
dead processes replayed), then read in batches inside one snapshot.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from core.base import StorageError
from core.tracker.pg_writer import pg_writer_for
from core.tracker.schema import COL, INSERT_COLUMNS, Row

__all__ = ["MigrationReport", "copy_usage"]

BATCH = 5000
_REQUEST_ID = COL["request_id"]


@dataclass(frozen=True)
class MigrationReport:
    """What one run did: rows read from the file, rows new to PostgreSQL (the rest were there already)."""

    source: str
    target: str
    usage_read: int
    usage_copied: int

    def __str__(self) -> str:
        already = self.usage_read - self.usage_copied
        return (
            f"usage: {self.usage_read:,} rows read from {self.source}, {self.usage_copied:,} copied to {self.target}"
            f" ({already:,} were there already)"
        )


def copy_usage(source: str | os.PathLike[str], url: str, *, local_path: str | os.PathLike[str]) -> MigrationReport:
    """Copy every usage row of the SQLite file `source` into the PostgreSQL database at `url`."""
    from core.usage_tracker import UsageTracker

    path = Path(source).expanduser()
    if not path.is_file():
        raise StorageError(str(path), "no such file")
    UsageTracker(path).close()  # migrated to the current schema; dead processes' journals replayed
    writer = pg_writer_for(url, local_path)
    storage = writer.pg
    with storage.guard():  # a StorageError naming the server (never its password) when it cannot be reached
        storage.ensure_ready()
    read = copied = 0
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        cursor = conn.execute(f"SELECT id, {', '.join(INSERT_COLUMNS)} FROM usage ORDER BY id")
        while batch := cursor.fetchmany(BATCH):
            rows = [_with_request_id(row) for row in batch]
            with storage.guard():
                copied += writer.copy_rows(rows)
            read += len(rows)
    finally:
        conn.close()
    return MigrationReport(str(path.resolve()), storage.display, read, copied)


def _with_request_id(row: tuple[object, ...]) -> Row:
    values = row[1:]
    if values[_REQUEST_ID]:
        return values
    return (*values[:_REQUEST_ID], f"sqlite-{row[0]}-{values[0]!r}", *values[_REQUEST_ID + 1 :])
