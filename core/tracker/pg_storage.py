"""The storage layer on PostgreSQL: a psycopg 3 connection pool behind the interface of `core.tracker.storage`.

Chosen by `CV_COPILOT_DB=postgresql://user:pass@host/db`, for a team whose app replicas and API workers on several
machines share one spend. Use it like the SQLite `Storage`::

    storage = PgStorage(url, local_path=Path("data/usage.db"))
    run_pg_migrations(storage, "usage", MIGRATIONS)   # each migration: fn(PgConnection)
    with storage.write() as conn:                     # one transaction on a pooled connection
        conn.execute("INSERT … VALUES (?, ?)", (a, b))
    with storage.read() as conn:                      # REPEATABLE READ, READ ONLY: one snapshot
        rows = conn.execute("SELECT …").fetchall()

Why this shape:
- The tracker's and the workspace's queries are written once. `translate` turns the few SQLite spellings they use
  into PostgreSQL's, in this one place: `?` placeholders, `WHERE 1`, `INDEXED BY` hints, `CAST(x AS INTEGER)`
  (SQLite truncates, a PostgreSQL cast rounds: time buckets need truncation), the unary `+` that steers SQLite's
  planner, `GROUP_CONCAT(x, sep)` (PostgreSQL's `STRING_AGG`), the list of tables (`sqlite_master`, PostgreSQL's
  `information_schema`) and `/* FOR UPDATE */`: SQLite serialises its writers (BEGIN IMMEDIATE), so a write that
  checks a row first needs no lock there; PostgreSQL's writers run side by side, so there the row is locked.
- `SUM` of a BIGINT is a NUMERIC in PostgreSQL; the tracker's sums are whole numbers or doubles, so NUMERIC is read
  back as an int (or a float), never a Decimal the callers would have to know about.
- PostgreSQL may be down. A connection is never waited for longer than `connect_timeout`, and for `retry_s` after a
  failure every use fails at once (`PgUnavailable`), so the router's hot path never queues behind a dead server;
  the writer keeps rows in its journal meanwhile.
- Errors are typed: any psycopg error inside `read()` / `write()` / `guard()` becomes a `StorageError` that names
  the server without its password.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool

from core.base import StorageBusy, StorageError
from core.config import redact_db_url
from core.tracker.storage import BUSY_TIMEOUT_S, apply_pending, make_private_dir

__all__ = [
    "PgConnection",
    "PgMigration",
    "PgStorage",
    "PgUnavailable",
    "pg_storage_at",
    "pg_storage_for",
    "run_pg_migrations",
    "translate",
]

_log = logging.getLogger("core.usage_tracker")

#: How long one connection attempt may take, and how long after a failure every use fails at once.
CONNECT_TIMEOUT_S = 3.0
RETRY_S = 1.0


class PgUnavailable(psycopg.OperationalError):
    """PostgreSQL failed a moment ago: not tried again before `RETRY_S` (the rows wait in the journal)."""


# --- SQL: SQLite's spellings made PostgreSQL's --------------------------------------------------------------------

_LITERAL = re.compile(r"('(?:[^']|'')*')")
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
_WHERE_ONE = re.compile(r"\bWHERE\s+1\b(?!\s*[=<>!.\d])", re.IGNORECASE)
_UNARY_PLUS = re.compile(r"((?:\bSELECT|,)\s*)\+\(")
_CAST_INT = re.compile(r"\bCAST\(", re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"\bGROUP_CONCAT\(", re.IGNORECASE)
_FOR_UPDATE = re.compile(r"/\*\s*FOR\s+UPDATE\s*\*/", re.IGNORECASE)
_TABLE_LIST = re.compile(r"\bSELECT\s+name\s+FROM\s+sqlite_master\s+WHERE\s+type\s*=\s*'table'", re.IGNORECASE)
_PG_TABLE_LIST = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"


def _cast_to_bigint(sql: str) -> str:
    """`CAST(x AS INTEGER)` → `CAST(TRUNC(x) AS BIGINT)`: SQLite truncates towards zero, PostgreSQL would round."""
    out: list[str] = []
    pos = 0
    for match in _CAST_INT.finditer(sql):
        if match.start() < pos:
            continue
        depth, i = 1, match.end()
        while i < len(sql) and depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        inner = sql[match.end() : i - 1]
        head, sep, kind = inner.rpartition(" AS ")
        if not sep or kind.strip().upper() != "INTEGER":
            continue
        out.append(sql[pos : match.start()])
        out.append(f"CAST(TRUNC({_cast_to_bigint(head)}) AS BIGINT)")
        pos = i
    out.append(sql[pos:])
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def translate(sql: str, with_params: bool = True) -> str:
    """`sql` as PostgreSQL reads it (see the module docstring); string literals are left alone. With parameters,
    `?` becomes `%s` and a literal `%` is doubled, as psycopg expects. `GROUP_CONCAT` takes its separator (PostgreSQL's
    `STRING_AGG` has no default)."""
    pieces = _LITERAL.split(_TABLE_LIST.sub(_PG_TABLE_LIST, sql))  # the one rule that spans a literal ('table')
    for i in range(0, len(pieces), 2):  # the even pieces are outside string literals
        piece = _INDEXED_BY.sub("", pieces[i])
        piece = _WHERE_ONE.sub("WHERE TRUE", piece)
        piece = _UNARY_PLUS.sub(r"\1(", piece)
        piece = _GROUP_CONCAT.sub("STRING_AGG(", piece)
        piece = _FOR_UPDATE.sub("FOR UPDATE", piece)
        if with_params:
            piece = piece.replace("%", "%%").replace("?", "%s")
        pieces[i] = piece
    if with_params:
        for i in range(1, len(pieces), 2):
            pieces[i] = pieces[i].replace("%", "%%")
    return _cast_to_bigint("".join(pieces))


class _NumberLoader(Loader):
    """NUMERIC (what SUM of a BIGINT gives) read as an int, or a float when it has a fraction."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if "." in text or "e" in text.lower() or text in ("NaN", "Infinity", "-Infinity"):
            return float(text)
        return int(text)


def _clean_nul(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL (SQLite can): a provider's reply must not poison a row for that
    return value.replace("\x00", "\ufffd") if type(value) is str and "\x00" in value else value


def _params(params: Sequence[Any] | None) -> Sequence[Any] | None:
    if not params:
        return None
    if any(type(v) is str and "\x00" in v for v in params):
        return [_clean_nul(v) for v in params]
    return params


class PgConnection:
    """A pooled psycopg connection that takes the tracker's SQL (see `translate`) and SQLite-style parameters."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        values = _params(params)
        return self.raw.execute(translate(sql, values is not None), values)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql, True), [_params(p) or () for p in seq])
        return cursor

    def stream(self, sql: str, params: Sequence[Any] | None, batch: int) -> Iterator[list[Any]]:
        """The rows of a query, `batch` at a time, from a server-side cursor: PostgreSQL keeps the result and sends
        one batch per round trip, so memory holds one batch however many rows match. Inside a transaction
        (`read()`): the cursor lives until its end."""
        values = _params(params)
        with self.raw.cursor(name=f"cv_stream_{next(_STREAMS)}") as cursor:
            cursor.itersize = batch
            cursor.execute(translate(sql, values is not None), values)
            while rows := cursor.fetchmany(batch):
                yield rows

    def copy(self, sql: str) -> Any:
        """`COPY … FROM STDIN` (bulk loads: the bench, migrate-db)."""
        return self.raw.cursor().copy(sql)


PgMigration = Callable[[PgConnection], None]
_STREAMS = itertools.count(1)


class Result:
    """The rows of one statement, fetched (the connection has gone back to the pool): a cursor's reading methods."""

    def __init__(self, rows: list[Any], rowcount: int, description: Any) -> None:
        self._rows, self.rowcount, self.description = rows, rowcount, description
        self._at = 0

    def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchmany(self, size: int) -> list[Any]:
        out = self._rows[self._at : self._at + size]
        self._at += len(out)
        return out

    def fetchall(self) -> list[Any]:
        out = self._rows[self._at :]
        self._at = len(self._rows)
        return out

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class OneShot:
    """`PgStorage.connection()`: each statement on a pooled connection, in autocommit."""

    def __init__(self, storage: PgStorage) -> None:
        self._storage = storage

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        with self._storage.pooled() as conn:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
            return Result(rows, cursor.rowcount, cursor.description)


class PgStorage:
    """A PostgreSQL database through a connection pool: transactions, typed errors, a breaker for a dead server.

    `local_path` is this machine's SQLite file: the writer's journal lives beside it, and `path` names it, for the
    parts (alerts, the usage page's caches) that key on a tracker's file.
    """

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        local_path: str | os.PathLike[str],
        pool_size: int = 8,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        busy_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.display = redact_db_url(url)
        self.path = Path(local_path).expanduser().resolve()
        make_private_dir(self.path.parent)
        #: Where this server's journal files go: `<local file>.pg-<digest>.rows-<pid>-…journal`.
        self.journal_anchor = journal_anchor(url, self.path)
        self.busy_timeout = float(BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout)
        self.connect_timeout = float(connect_timeout)
        self.write_lock = threading.Lock()
        self._failed_at = -float("inf")
        self._pool_size = max(1, pool_size)
        self._pool_guard = threading.Lock()
        self._pool: ConnectionPool[Any] | None = None
        self.ready: Callable[[], None] | None = None  # run before each use until it succeeds once (migrations)
        self._ready_lock = threading.Lock()

    def _open_pool(self) -> ConnectionPool[Any]:
        """The pool, opened on first use (and again after `close`): connections are made in the background."""
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_guard:
            if self._pool is not None:
                return self._pool
            pool = ConnectionPool(
                self.url,
                min_size=1,
                max_size=self._pool_size,
                kwargs={
                    "autocommit": True,
                    "connect_timeout": max(1, round(self.connect_timeout)),
                    "application_name": "cv-copilot",
                },
                configure=_configure,
                check=ConnectionPool.check_connection,
                timeout=self.connect_timeout,
                reconnect_timeout=0,  # a failed attempt is dropped; the next use (RETRY_S later) makes a new one
                open=False,
                name=f"cv-copilot {self.display}",
            )
            pool.open(wait=False)
            self._pool = pool
            return pool

    def __repr__(self) -> str:
        return f"PgStorage({self.display!r})"

    # --- connections ---------------------------------------------------------------------------------------------

    def connection(self) -> OneShot:
        """What SQLite's per-thread connection is for: single statements outside a transaction (each one on a
        pooled connection, its rows fetched at once), e.g. `storage.connection().execute(sql, params).fetchone()`.
        Use inside `guard()`."""
        return OneShot(self)

    @contextlib.contextmanager
    def pooled(self) -> Iterator[PgConnection]:
        """A pooled connection (autocommit). Raises psycopg errors; `PgUnavailable` right after a failure."""
        if time.monotonic() - self._failed_at < RETRY_S:
            raise PgUnavailable(f"PostgreSQL at {self.display} is unavailable; retrying in a moment")
        try:
            with self._open_pool().connection(timeout=self.connect_timeout) as conn:
                yield PgConnection(conn)
        except psycopg.OperationalError:
            self._failed_at = time.monotonic()
            raise
        self._failed_at = -float("inf")

    @contextlib.contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[PgConnection]:
        """One transaction, committed when the body returns and rolled back on error; psycopg errors pass through."""
        self.ensure_ready()
        with self.pooled() as conn, conn.raw.transaction():
            if read_only:
                conn.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def ensure_ready(self) -> None:
        """Run `ready` (the migrations) if it has not succeeded yet; raises what it raises."""
        if self.ready is None:
            return
        with self._ready_lock:
            ready = self.ready
            if ready is not None:
                ready()
                self.ready = None

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Turn any psycopg error raised inside into a `StorageError` (`StorageBusy` for a lock held too long)."""
        try:
            yield
        except psycopg.Error as error:
            raise pg_storage_error(error, self.display, self.busy_timeout) from error

    @contextlib.contextmanager
    def read(self) -> Iterator[PgConnection]:
        """A read transaction: every query inside sees the same snapshot."""
        with self.guard(), self.transaction(read_only=True) as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[PgConnection]:
        """A write transaction (PostgreSQL orders concurrent writers itself: no process-wide lock is needed)."""
        with self.guard(), self.transaction() as conn:
            yield conn

    write_unlocked = write

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """This process's writer lock (the write-behind flush holds it: one flush at a time)."""
        if not self.write_lock.acquire(timeout=self.busy_timeout):
            raise StorageBusy(self.display, self.busy_timeout)
        try:
            yield
        finally:
            self.write_lock.release()

    def close(self) -> None:
        """Close the pool's connections (shutdown and tests); a later use opens a new pool."""
        with self._pool_guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    close_all = close


_STORAGES: dict[tuple[str, str], PgStorage] = {}
_STORAGES_GUARD = threading.Lock()


def pg_storage_for(url: str, local_path: str | os.PathLike[str]) -> PgStorage:
    """The process's storage (one pool) for the database at `url`, shared by the tracker, the cache and the votes."""
    key = (url, str(Path(local_path).expanduser().resolve()))
    with _STORAGES_GUARD:
        storage = _STORAGES.get(key)
        if storage is None:
            storage = _STORAGES[key] = PgStorage(url, local_path=local_path)
        return storage


def pg_storage_at(local_path: str | os.PathLike[str]) -> PgStorage | None:
    """The storage this process opened with `local_path` as this machine's file, if any (the newest of several):
    what the parts keyed on a tracker's file (the budget alerts) use to find the tracker's database."""
    path = str(Path(local_path).expanduser().resolve())
    with _STORAGES_GUARD:
        found = [storage for (_, local), storage in _STORAGES.items() if local == path]
    return found[-1] if found else None


def journal_anchor(url: str, local_path: str | os.PathLike[str]) -> Path:
    """The name this machine's journals for the database at `url` start with: beside the local SQLite file, one per
    server and database (never replayed into the SQLite file, whose journals are `<file>.rows-…`)."""
    path = Path(local_path).expanduser().resolve()
    digest = hashlib.sha256(redact_db_url(url).encode()).hexdigest()[:12]
    return path.with_name(f"{path.name}.pg-{digest}")


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)


def pg_storage_error(error: psycopg.Error, where: str, waited_s: float) -> StorageError:
    """The `CVCopilotError` a caller sees for a psycopg error (the server named without its password)."""
    if isinstance(error, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
        return StorageBusy(where, waited_s)
    if isinstance(error, psycopg.OperationalError):
        return StorageError(where, "PostgreSQL is unavailable (usage rows wait in the local journal)")
    detail = str(error).splitlines()[0] if str(error) else ""
    return StorageError(where, f"{type(error).__name__}: {detail}")


#: Any number: the advisory lock that keeps two processes from migrating a fresh database at once.
_MIGRATION_LOCK = 0x63765F6D6967


def run_pg_migrations(storage: PgStorage, migration_set: str, migrations: Sequence[PgMigration]) -> list[str]:
    """Apply, in order, the migrations of `migration_set` not recorded yet in the `migrations` table (the same table
    and names as on SQLite). One transaction, under an advisory lock. Returns the names applied now. Raises psycopg
    errors (`read()` / `write()` make them typed)."""
    with storage.pooled() as conn, conn.raw.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        return apply_pending(
            conn, migration_set, migrations, lambda migration: migration(conn), time_type="DOUBLE PRECISION"
        )
