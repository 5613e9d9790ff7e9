"""The usage table, its rollups and its migrations; and one `UsageRecord` as a row of that table.

Why rollups: `get_usage_stats(24)` over 1M raw rows takes ~0.5 s as a plain scan, and an hourly rollup barely
shrinks a year of traffic. Every insert also upserts, in the same transaction, a row of each rollup in `ROLLUPS`:
per day (without the user: ~25 rows a day; per user alone; and per user, task, provider and model), per hour (with
and without the user) and per minute (without the user). The query planner in `core.tracker.queries` picks them.

Migrations are small named functions, applied once each by `core.tracker.storage.run_migrations` and recorded by
name: never rename or edit one that has shipped, add the next instead.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlite_utils

from core.tracker.record import UsageRecord
from core.tracker.storage import Migration

__all__ = [
    "BOOL_COLUMNS",
    "DAY",
    "GRAINS",
    "HOUR",
    "INSERT_COLUMNS",
    "INSERT_SQL",
    "MIGRATIONS",
    "ROLLUPS",
    "SUMS",
    "Rollup",
    "Row",
    "Sum",
    "Totals",
    "clean_text",
    "row_of",
    "sanitised_row",
]

HOUR = 3600
DAY = 86_400
#: The latency sample index holds the non-cached rows whose id is a multiple of this (see m007; keep them equal).
LATENCY_STRIDE = 16

# --- the usage table ----------------------------------------------------------------------------------------------

#: The columns m001 created. Later migrations add `_ADDED_COLUMNS`.
_M001_COLUMNS: dict[str, type] = {
    "id": int,
    "ts": float,
    "user_id": str,
    "task_type": str,
    "provider": str,
    "model": str,
    "input_tokens": int,
    "output_tokens": int,
    "cost_usd": float,
    "baseline_cost_usd": float,
    "saved_cost_usd": float,
    "latency_ms": float,
    "success": int,
    "error_kind": str,
    "cached": int,
    "fallback_chain": str,
    "tokens_estimated": int,
    "price_estimated": int,
    "challenger": int,
}
#: m008: every `UsageRecord` field the table did not hold yet (name, SQL declaration).
_ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("outcome", "TEXT NOT NULL DEFAULT 'ok'"),
    ("finish_reason", "TEXT"),
    ("cached_input_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("cache_write_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("reasoning_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("cache_saved_usd", "REAL NOT NULL DEFAULT 0"),
    ("route_reason", "TEXT NOT NULL DEFAULT ''"),
    ("application_id", "TEXT"),
    ("request_id", "TEXT NOT NULL DEFAULT ''"),
)
USAGE_COLUMNS: tuple[str, ...] = (*_M001_COLUMNS, *(name for name, _decl in _ADDED_COLUMNS))
INSERT_COLUMNS: tuple[str, ...] = tuple(c for c in USAGE_COLUMNS if c != "id")
#: Idempotent by request_id (unique when non-empty): a row replayed from the journal is stored once.
INSERT_SQL = (
    f"INSERT INTO usage ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))}) "
    "ON CONFLICT DO NOTHING"
)
BOOL_COLUMNS = ("success", "cached", "tokens_estimated", "price_estimated", "challenger")
#: Position of each column in a `Row`.
COL: dict[str, int] = {name: i for i, name in enumerate(INSERT_COLUMNS)}

#: One usage row, values in `INSERT_COLUMNS` order (a plain tuple: it is built on the router's hot path).
Row = tuple[Any, ...]

_SURROGATES = re.compile("[\ud800-\udfff]")
_INT64_MAX = 2**63 - 1


def clean_text(value: str) -> str:
    """`value` made storable: lone surrogates (valid in JSON, invalid in UTF-8) replaced by U+FFFD."""
    if value.isascii():
        return value
    return _SURROGATES.sub("\ufffd", value)


def _text(name: str, value: Any, *, required: bool = True) -> str:
    if type(value) is not str:
        value = getattr(value, "value", value)  # str enums (TaskType, ErrorKind, Outcome) are stored by value
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        value = str(value)
    if required and not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value if value.isascii() else _SURROGATES.sub("\ufffd", value)


def _optional_text(name: str, value: Any) -> str | None:
    return None if value is None else _text(name, value, required=False)


def _count(name: str, value: Any) -> int:
    number = value if type(value) is int else int(value)
    if not 0 <= number <= _INT64_MAX:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return number


def _money(name: str, value: Any) -> float:
    number = float(value)
    if not 0.0 <= number < math.inf:  # also false for NaN
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


class _RequestIds:
    """Unique ids without a syscall each: 16 random hex digits per process (new after a fork), then a counter."""

    def __init__(self) -> None:
        self.reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


#: A fresh request id (32 hex digits, like a uuid4 hex) for a record that has none.
new_request_id = _RequestIds()


def row_of(rec: UsageRecord, now: float) -> Row:
    """Validate and sanitise one record; return it as a row (`now` when it has no ts, a fresh request id if none).

    Raises ValueError for a record that cannot be stored (negative tokens, empty provider…): the caller's bug.
    This runs on the router's hot path, so the common case (plain str, int and float values) is kept cheap.
    """
    cost = _money("cost_usd", rec.cost_usd)
    when = now if rec.ts is None else float(rec.ts)
    if not math.isfinite(when):
        raise ValueError(f"ts must be finite, got {rec.ts!r}")
    chain = rec.fallback_chain
    names = (
        [_text("fallback_chain", chain)] if isinstance(chain, str) else [_text("fallback_chain", str(p)) for p in chain]
    )
    outcome = _text("outcome", rec.outcome)
    if outcome == "ok" and not rec.success:  # record_usage(success=False) callers do not name the outcome
        outcome = "error"
    return (
        when,
        _text("user_id", rec.user_id),
        _text("task_type", rec.task_type),
        _text("provider", rec.provider),
        _text("model", rec.model),
        _count("input_tokens", rec.input_tokens),
        _count("output_tokens", rec.output_tokens),
        cost,
        cost if rec.baseline_cost_usd is None else _money("baseline_cost_usd", rec.baseline_cost_usd),
        _money("saved_cost_usd", rec.saved_cost_usd) if rec.saved_cost_usd else 0.0,
        _money("latency_ms", rec.latency_ms),
        1 if rec.success else 0,
        None if rec.error_kind is None else _text("error_kind", rec.error_kind, required=False),
        1 if rec.cached else 0,
        '["' + '","'.join(names) + '"]'
        if names and all(n.isalnum() for n in names)
        else json.dumps(names, separators=(",", ":")),
        1 if rec.tokens_estimated else 0,
        1 if rec.price_estimated else 0,
        1 if rec.challenger else 0,
        outcome,
        None if rec.finish_reason is None else _text("finish_reason", rec.finish_reason, required=False),
        _count("cached_input_tokens", rec.cached_input_tokens) if rec.cached_input_tokens else 0,
        _count("cache_write_tokens", rec.cache_write_tokens) if rec.cache_write_tokens else 0,
        _count("reasoning_tokens", rec.reasoning_tokens) if rec.reasoning_tokens else 0,
        _money("cache_saved_usd", rec.cache_saved_usd) if rec.cache_saved_usd else 0.0,
        _text("route_reason", rec.route_reason, required=False) if rec.route_reason else "",
        None if rec.application_id is None else _text("application_id", rec.application_id, required=False),
        _text("request_id", rec.request_id, required=False) if rec.request_id else new_request_id(),
    )


def sanitised_row(row: Sequence[Any]) -> Row:
    """A row that failed to store, made storable whatever it holds (text cleaned, numbers clamped), or ValueError."""
    if len(row) != len(INSERT_COLUMNS):
        raise ValueError(f"a usage row has {len(INSERT_COLUMNS)} values, got {len(row)}")
    out: list[Any] = []
    for name, value in zip(INSERT_COLUMNS, row, strict=True):
        if isinstance(value, str):
            value = _SURROGATES.sub("\ufffd", value)
        elif isinstance(value, bool):
            value = int(value)
        elif isinstance(value, int):
            value = min(max(value, 0), _INT64_MAX)
        elif isinstance(value, float):
            value = value if math.isfinite(value) and value >= 0 else 0.0
        elif value is not None:
            value = _SURROGATES.sub("\ufffd", str(value))
        if value is None and name not in ("error_kind", "finish_reason", "application_id"):
            raise ValueError(f"{name} is missing")
        out.append(value)
    return tuple(out)


# --- rollups ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sum:
    """One summed column of every rollup: its name there, and the usage column it sums (None: counts rows)."""

    name: str
    source: str | None
    real: bool = False

    @property
    def raw_sql(self) -> str:
        return "COUNT(*)" if self.source is None else f"SUM({self.source})"


#: The sums m004 created.
_M004_SUMS: tuple[Sum, ...] = (
    Sum("requests", None),
    Sum("successful", "success"),
    Sum("cached_requests", "cached"),
    Sum("input_tokens", "input_tokens"),
    Sum("output_tokens", "output_tokens"),
    Sum("cost_usd", "cost_usd", real=True),
    Sum("baseline_cost_usd", "baseline_cost_usd", real=True),
    Sum("saved_cost_usd", "saved_cost_usd", real=True),
    Sum("latency_ms_sum", "latency_ms", real=True),
)
#: The sums m008 added: prompt caching and reasoning, for the savings panel and the reasoning share.
_M008_SUMS: tuple[Sum, ...] = (
    Sum("cached_input_tokens", "cached_input_tokens"),
    Sum("reasoning_tokens", "reasoning_tokens"),
    Sum("cache_saved_usd", "cache_saved_usd", real=True),
)
SUMS: tuple[Sum, ...] = (*_M004_SUMS, *_M008_SUMS)


class Totals(NamedTuple):
    """The sums of a group of usage rows, by name (the fields are `SUMS` in order)."""

    requests: float
    successful: float
    cached_requests: float
    input_tokens: float
    output_tokens: float
    cost_usd: float
    baseline_cost_usd: float
    saved_cost_usd: float
    latency_ms_sum: float
    cached_input_tokens: float
    reasoning_tokens: float
    cache_saved_usd: float

    @classmethod
    def of(cls, values: Sequence[Any]) -> Totals:
        return cls._make(v or 0 for v in values)


assert Totals._fields == tuple(s.name for s in SUMS)

_ROW_ONE = -1  # marks the COUNT(*) sum in a rollup's parameter recipe: every row counts 1


class Rollup:
    """One rollup table: sums per (time bucket of `seconds`, key columns), maintained with every insert."""

    def __init__(self, table: str, time_column: str, seconds: int, keys: tuple[str, ...]) -> None:
        self.table, self.time_column, self.seconds, self.keys = table, time_column, seconds, keys
        self.upsert_sql = self._upsert_sql(SUMS)
        self._key_index = tuple(COL[k] for k in keys)
        self._sum_index = tuple(_ROW_ONE if s.source is None else COL[s.source] for s in SUMS)

    def _upsert_tail(self, sums: Sequence[Sum]) -> str:
        key = (self.time_column, *self.keys)
        return f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(
            f"{s.name} = {self.table}.{s.name} + excluded.{s.name}"
            for s in sums  # qualified: PostgreSQL needs it
        )

    def _upsert_sql(self, sums: Sequence[Sum]) -> str:
        columns = ", ".join((self.time_column, *self.keys, *(s.name for s in sums)))
        holes = ", ".join("?" * (1 + len(self.keys) + len(sums)))
        return f"INSERT INTO {self.table} ({columns}) VALUES ({holes}){self._upsert_tail(sums)}"

    def from_raw_sql(self, where: str, sums: Sequence[Sum] = SUMS) -> str:
        """INSERT … SELECT adding the raw rows matching `where` to the rollup."""
        columns = ", ".join((self.time_column, *self.keys, *(s.name for s in sums)))
        # WHERE is always present: SQLite's parser needs it before an upsert's ON CONFLICT in INSERT … SELECT
        return (
            f"INSERT INTO {self.table} ({columns}) SELECT CAST(ts / {self.seconds} AS INTEGER) * {self.seconds}, "
            f"{', '.join(self.keys)}, {', '.join(s.raw_sql for s in sums)} FROM usage WHERE {where} "
            f"GROUP BY 1, {', '.join(self.keys)}{self._upsert_tail(sums)}"
        )

    def create_sql(self, sums: Sequence[Sum] = SUMS) -> str:
        keys = ", ".join(f"{k} TEXT NOT NULL" for k in self.keys)
        columns = ", ".join(f"{s.name} {'REAL' if s.real else 'INTEGER'} NOT NULL" for s in sums)
        pk = ", ".join((self.time_column, *self.keys))
        return (
            f"CREATE TABLE {self.table} ({self.time_column} INTEGER NOT NULL, {keys}, {columns}, PRIMARY KEY ({pk})) "
            "WITHOUT ROWID"
        )

    def params(self, row: Row) -> tuple[Any, ...]:
        """A usage row as the parameters of `upsert_sql`: bucket, keys, then each of `SUMS`."""
        bucket = int(row[0] // self.seconds) * self.seconds
        keys = (row[i] for i in self._key_index)
        sums = (1 if i == _ROW_ONE else row[i] for i in self._sum_index)
        return (bucket, *keys, *sums)

    def folded_params(self, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        """`params` of a batch with rows of the same bucket and keys summed first: one upsert per key, not per row
        (a burst of 1,000 calls touches ~30 keys of a daily rollup)."""
        if len(rows) == 1:
            return [self.params(rows[0])]
        width = len(self.keys) + 1
        folded: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            values = self.params(row)
            key = values[:width]
            sums = folded.get(key)
            if sums is None:
                folded[key] = list(values[width:])
            else:
                for i, value in enumerate(values[width:]):
                    sums[i] += value
        return [(*key, *sums) for key, sums in folded.items()]

    def rebuild_range(self, conn: sqlite3.Connection, start: float, end: float) -> None:
        """Recompute the buckets of [start, end) (both bucket-aligned) from raw rows."""
        conn.execute(f"DELETE FROM {self.table} WHERE {self.time_column} >= ? AND {self.time_column} < ?", (start, end))
        conn.execute(self.from_raw_sql("ts >= ? AND ts < ?"), (float(start), float(end)))


#: Per user (for per-user stats, user filters and budgets); without the user (most dashboard queries: far fewer
#: rows); and per minute without the user (the partial first hour of a window, and 5-minute charts).
BY_USER = Rollup("usage_hourly", "hour", HOUR, ("user_id", "task_type", "provider", "model"))
TOTAL = Rollup("usage_hourly_total", "hour", HOUR, ("task_type", "provider", "model"))
MINUTE = Rollup("usage_minutely", "minute", 60, ("task_type", "provider", "model"))
#: Per day: without the user (all-time totals, charts), per user alone (user tables, budgets), and with every
#: dimension (a user view filtered by provider or task, or the reverse).
DAY_TOTAL = Rollup("usage_daily_total", "day", DAY, ("task_type", "provider", "model"))
DAY_USER = Rollup("usage_daily_user", "day", DAY, ("user_id",))
DAY_FULL = Rollup("usage_daily", "day", DAY, ("user_id", "task_type", "provider", "model"))
ROLLUPS: tuple[Rollup, ...] = (BY_USER, TOTAL, MINUTE, DAY_TOTAL, DAY_USER, DAY_FULL)
#: Per grain, coarsest grain first, smallest rollup first: a query uses the first rollup of each grain that has
#: every column it groups or filters by (the minute grain has no per-user rollup: those read raw rows instead).
GRAINS: tuple[tuple[Rollup, ...], ...] = ((DAY_TOTAL, DAY_USER, DAY_FULL), (TOTAL, BY_USER), (MINUTE,))


def _rollup_from_sql(target: Rollup, source: Rollup, sums: Sequence[Sum]) -> str:
    """INSERT … SELECT filling `target` from a finer rollup `source` that has all of target's key columns."""
    keys = ", ".join(target.keys)
    names = ", ".join(s.name for s in sums)
    return (
        f"INSERT INTO {target.table} ({target.time_column}, {keys}, {names}) "
        f"SELECT {source.time_column} / {target.seconds} * {target.seconds}, {keys}, "
        f"{', '.join(f'SUM({s.name})' for s in sums)} FROM {source.table} GROUP BY 1, {keys}"
    )


# --- migrations ---------------------------------------------------------------------------------------------------


def m001_create_usage(db: sqlite_utils.Database) -> None:
    """The raw table: one row per attempt, metadata only."""
    db.table("usage").create(_M001_COLUMNS, pk="id", not_null={c for c in _M001_COLUMNS if c != "error_kind"})


def m002_usage_indexes(db: sqlite_utils.Database) -> None:
    """ts for windows and recent calls; (provider, ts, latency_ms) for percentiles; failures only for error counts."""
    usage = db.table("usage")
    usage.create_index(["ts"], index_name="idx_usage_ts")
    usage.create_index(["provider", "ts", "latency_ms"], index_name="idx_usage_provider_ts_latency")  # see m005
    db.execute("CREATE INDEX idx_usage_failures ON usage (ts, provider, error_kind) WHERE success = 0")


def _readable_view_sql(columns: Sequence[str]) -> str:
    shown = ", ".join(c for c in columns if c not in ("id", "ts"))
    return f"SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', ts, 'unixepoch') AS time, {shown} FROM usage"


def m003_usage_readable_view(db: sqlite_utils.Database) -> None:
    """A view with an ISO 8601 UTC time column, for people browsing the file in Datasette or sqlite-utils."""
    db.create_view("usage_readable", _readable_view_sql(tuple(_M001_COLUMNS)))


def m004_hourly_rollup(db: sqlite_utils.Database) -> None:
    """Sums and counts per (hour, user, task, provider, model), back-filled from any existing raw rows."""
    db.execute(BY_USER.create_sql(_M004_SUMS))
    db.execute(BY_USER.from_raw_sql("1", _M004_SUMS))


def m005_total_and_minute_rollups(db: sqlite_utils.Database) -> None:
    """Rollups without the user (hourly and per minute), and a latency index that skips cache hits."""
    for rollup in (TOTAL, MINUTE):
        db.execute(rollup.create_sql(_M004_SUMS))
        db.execute(rollup.from_raw_sql("1", _M004_SUMS))
    db.execute("DROP INDEX IF EXISTS idx_usage_provider_ts_latency")
    db.table("usage").create_index(["provider", "cached", "ts", "latency_ms"], index_name="idx_usage_latency")


def m006_rollup_dimension_indexes(db: sqlite_utils.Database) -> None:
    """Indexes that let the filter dropdowns list distinct values with a skip-scan."""
    db.table("usage_hourly").create_index(["user_id"], index_name="idx_usage_hourly_user")
    for column in ("provider", "task_type", "model"):
        db.table("usage_hourly_total").create_index([column], index_name=f"idx_usage_hourly_total_{column}")


def m007_daily_rollups(db: sqlite_utils.Database) -> None:
    """Daily rollups, their dropdown indexes (replacing the hourly ones), and a covering index over every 16th
    non-cached call for latency percentiles of long windows. Back-filled from the hourly rollup, which equals the raw
    rows: much faster than a scan of them."""
    db.execute(DAY_FULL.create_sql(_M004_SUMS))
    db.execute(_rollup_from_sql(DAY_FULL, BY_USER, _M004_SUMS))
    for rollup in (DAY_TOTAL, DAY_USER):
        db.execute(rollup.create_sql(_M004_SUMS))
        db.execute(_rollup_from_sql(rollup, DAY_FULL, _M004_SUMS))
    for name in ("user", "total_provider", "total_task_type", "total_model"):  # m006's: now unused, still written
        db.execute(f"DROP INDEX IF EXISTS idx_usage_hourly_{name}")
    db.execute("CREATE INDEX idx_usage_daily_user_user ON usage_daily_user (user_id)")
    for column in ("provider", "task_type", "model"):
        db.execute(f"CREATE INDEX idx_usage_daily_total_{column} ON usage_daily_total ({column})")
    # 16 is LATENCY_STRIDE: a query must repeat this WHERE clause word for word to use the index
    db.execute(
        "CREATE INDEX idx_usage_latency_sample ON usage (provider, ts, latency_ms, task_type, user_id, model) "
        "WHERE cached = 0 AND id % 16 = 0"
    )


def m008_token_kinds_outcome_and_request_id(db: sqlite_utils.Database) -> None:
    """Every UsageRecord field: the outcome and finish reason, cached/cache-write/reasoning tokens, what prompt
    caching saved, why the route was chosen, the application, and a request id unique when set (so a row replayed
    from the journal after a crash is stored once). Rollups sum cached input, reasoning tokens and the caching saving;
    older rows hold 0 for them, so no back-fill is needed."""
    for name, declaration in _ADDED_COLUMNS:
        db.execute(f"ALTER TABLE usage ADD COLUMN {name} {declaration}")
    db.execute("UPDATE usage SET outcome = 'error' WHERE success = 0")
    db.execute("CREATE UNIQUE INDEX idx_usage_request_id ON usage (request_id) WHERE request_id <> ''")
    db.execute("DROP VIEW IF EXISTS usage_readable")
    db.execute(f"CREATE VIEW usage_readable AS {_readable_view_sql(USAGE_COLUMNS)}")
    for rollup in ROLLUPS:
        for s in _M008_SUMS:
            kind = "REAL" if s.real else "INTEGER"
            db.execute(f"ALTER TABLE {rollup.table} ADD COLUMN {s.name} {kind} NOT NULL DEFAULT 0")


def m009_usage_application_index(db: sqlite_utils.Database) -> None:
    """Deleting an application clears `application_id` on its usage rows: an index over the tagged rows only keeps
    that from scanning the whole table (untagged rows, the most, cost nothing to write)."""
    db.execute("CREATE INDEX idx_usage_application ON usage (application_id) WHERE application_id IS NOT NULL")


MIGRATIONS: tuple[Migration, ...] = (
    m001_create_usage,
    m002_usage_indexes,
    m003_usage_readable_view,
    m004_hourly_rollup,
    m005_total_and_minute_rollups,
    m006_rollup_dimension_indexes,
    m007_daily_rollups,
    m008_token_kinds_outcome_and_request_id,
    m009_usage_application_index,
)


def record_of(values: Mapping[str, Any]) -> UsageRecord:
    """A `UsageRecord` from `record_usage`-style keyword arguments (enums and lists accepted)."""
    fields = dict(values)
    chain = fields.get("fallback_chain")
    if chain is not None and not isinstance(chain, str):
        fields["fallback_chain"] = tuple(chain)
    return UsageRecord(**fields)
