"""Queries over the usage table: the planner that reads rollups instead of raw rows, and the seed's stats.

A window query reads whole days from the smallest daily rollup that has the columns it groups or filters by, the
partial first day from an hourly rollup, the partial first hour from the minute rollup (or from raw rows when the
query is about users) and the partial first minute from raw rows. Results equal the same sums over raw rows.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from core.tracker.schema import DAY_TOTAL, GRAINS, HOUR, SUMS, Rollup, Totals
from core.tracker.storage import Storage

__all__ = ["DIMENSIONS", "UsageQueries", "batches", "filter_sql", "query_columns", "r6", "sorted_costs", "tiers"]

#: Columns the breakdown, filters and dropdowns may group by.
DIMENSIONS: tuple[str, ...] = ("provider", "task_type", "user_id", "model")

#: One aggregate group: the values of its keys, and its sums.
Group = tuple[tuple[Any, ...], Totals]


class SpendReader(Protocol):
    def read(self, key: tuple[float, str | None], flush: Callable[[], None], fetch: Callable[[], float]) -> float: ...


def r6(value: float | None) -> float:
    return round(value or 0.0, 6)


def sorted_costs(costs: Mapping[str, float]) -> dict[str, float]:
    """Most expensive first (then by name), rounded to 6 decimals."""
    return {name: r6(cost) for name, cost in sorted(costs.items(), key=lambda item: (-item[1], item[0]))}


def as_values(value: Any) -> list[str] | None:
    """A filter value as a list of strings; None or an empty sequence means no filter."""
    if value is None:
        return None
    if isinstance(value, str):  # TaskType is a str enum; its value is what is stored
        return [getattr(value, "value", value)]
    values = [getattr(v, "value", v) for v in value]
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"filter values must be strings, got {value!r}")
    return values or None


def filter_sql(filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """` AND column IN (…)` clauses for the filters (a TypeError names unknown ones), and their parameters."""
    unknown = set(filters) - set(DIMENSIONS)
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(sorted(unknown))}")
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("provider", "task_type", "user_id", "model"):
        values = as_values(filters.get(column))
        if values is None:
            continue
        if len(values) == 1:
            clauses.append(f"{column} = ?")
        else:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
        params.extend(values)
    return "".join(f" AND {c}" for c in clauses), params


def query_columns(keys: Sequence[tuple[str, str]], filters: Mapping[str, Any]) -> frozenset[str]:
    """The dimensions a query groups by (named in a rollup key expression) or filters on."""
    grouped = {c for c in DIMENSIONS if any(c in rollup_expr for rollup_expr, _raw in keys)}
    return frozenset(grouped | {c for c in DIMENSIONS if as_values(filters.get(c)) is not None})


def tiers(columns: frozenset[str]) -> list[Rollup]:
    """The rollups that can answer a query touching `columns`: one per grain, coarsest first, the smallest that fits."""
    out = []
    for grain in GRAINS:
        fitting = next((r for r in grain if columns <= set(r.keys)), None)
        if fitting is not None:
            out.append(fitting)
    return out


class UsageQueries:
    """Reads of the usage tables. `before_read` runs first (the writer's flush: this process reads its own writes)."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], float],
        before_read: Callable[[], None],
        spend_while_down: SpendReader | None = None,
    ) -> None:
        """`spend_while_down` (PostgreSQL: `pg_writer.SpendWhileDown`) answers `spend_usd` when the server cannot."""
        self.storage = storage
        self.clock = clock
        self._before_read = before_read
        self._spend_reader = spend_while_down

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read snapshot (after a flush), so the several queries of one method agree with each other."""
        self._before_read()
        with self.storage.read() as conn:
            yield conn

    def since(self, hours: float | None) -> float | None:
        if hours is None:
            return None
        value = float(hours)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"hours must be a finite number >= 0 or None, got {hours!r}")
        return self.clock() - value * HOUR

    # --- the seed's stats -----------------------------------------------------------------------------------------

    def usage_stats(self, hours: float | None = 24, **filters: Any) -> dict[str, Any]:
        """The seed's stats JSON, keys exactly as in the seed and in its order. Costs rounded to 6 decimals."""
        since = self.since(hours)
        fsql, fparams = filter_sql(filters)
        with self.read() as conn:
            groups = self.aggregate(conn, [("provider", "provider"), ("task_type", "task_type")], since, filters)
            table = tiers(query_columns((), filters))[0].table
            all_time = conn.execute(f"SELECT SUM(cost_usd) FROM {table} WHERE 1{fsql}", fparams).fetchone()[0]
        by_provider: dict[str, float] = {}
        by_task: dict[str, float] = {}
        for (provider, task), sums in groups:
            by_provider[provider] = by_provider.get(provider, 0.0) + sums.cost_usd
            by_task[task] = by_task.get(task, 0.0) + sums.cost_usd
        totals = _total(sums for _keys, sums in groups)
        return {
            **_seed_totals(hours, totals),
            "cost_by_provider": sorted_costs(by_provider),
            "cost_by_task": sorted_costs(by_task),
            "total_cost_all_time": r6(all_time),
        }

    def provider_stats(self, provider: str, hours: float | None = 24) -> dict[str, Any]:
        """Stats of one provider; an unknown provider gives the same keys with zeros and empty dicts."""
        since = self.since(hours)
        filters = {"provider": provider}
        with self.read() as conn:
            groups = self.aggregate(conn, [("task_type", "task_type"), ("model", "model")], since, filters)
            errors = self.errors(conn, since, filters)
            all_time = conn.execute(
                f"SELECT SUM(cost_usd) FROM {DAY_TOTAL.table} WHERE provider = ?", (provider,)
            ).fetchone()[0]
        by_task: dict[str, float] = {}
        by_model: dict[str, float] = {}
        for (task, model), sums in groups:
            by_task[task] = by_task.get(task, 0.0) + sums.cost_usd
            by_model[model] = by_model.get(model, 0.0) + sums.cost_usd
        totals = _total(sums for _keys, sums in groups)
        errors_by_kind: dict[str, int] = {}
        for _provider, kind, count in errors:
            errors_by_kind[kind] = errors_by_kind.get(kind, 0) + count
        requests = int(totals.requests)
        return {
            "provider": provider,
            **_seed_totals(hours, totals),
            "avg_latency_ms": round(totals.latency_ms_sum / requests, 3) if requests else 0.0,
            "cost_by_task": sorted_costs(by_task),
            "cost_by_model": sorted_costs(by_model),
            "errors_by_kind": errors_by_kind,
            "total_cost_all_time": r6(all_time),
        }

    def token_stats(self, hours: float | None = 24, **filters: Any) -> dict[str, Any]:
        """Token kinds beside the seed's stats: cached input, reasoning (and its share of output), caching saving."""
        with self.read() as conn:
            groups = self.aggregate(conn, [("'all'", "'all'")], self.since(hours), filters)
        return {"period_hours": hours, **token_kinds(_total(sums for _keys, sums in groups))}

    def spend_usd(self, since_ts: float, user_id: str | None = None) -> float:
        """Cost of every row since `since_ts` (for budgets), optionally for one user. Not rounded. On PostgreSQL,
        while the server is down, the spend this machine knows (never less than it can see)."""
        filters = {} if user_id is None else {"user_id": user_id}

        def fetch() -> float:
            with self.storage.read() as conn:
                groups = self.aggregate(conn, [("'all'", "'all'")], float(since_ts), filters)
            return float(sum(sums.cost_usd for _keys, sums in groups))

        if self._spend_reader is None:
            self._before_read()
            return fetch()
        return self._spend_reader.read((float(since_ts), user_id), self._before_read, fetch)

    # --- the planner ----------------------------------------------------------------------------------------------

    def aggregate(
        self,
        conn: sqlite3.Connection,
        keys: Sequence[tuple[str, str]],
        since: float | None,
        filters: Mapping[str, Any],
        *,
        bucket_seconds: int | None = None,
    ) -> list[Group]:
        """`SUMS` grouped by `keys` over ts >= since, as (key values, Totals) pairs.

        `keys` are pairs (rollup expression, raw expression); `{t}` in a rollup expression is the rollup's time
        column. The window is cut into whole days (daily rollup), whole hours (hourly rollup), then whole minutes
        (minute rollup, when the query has no user in it), then the raw rows of the partial first minute or hour.
        A rollup is skipped when `bucket_seconds` is not a multiple of its grain.
        """
        fsql, fparams = filter_sql(filters)
        usable = [
            t for t in tiers(query_columns(keys, filters)) if bucket_seconds is None or bucket_seconds % t.seconds == 0
        ]
        names = [f"k{i}" for i in range(len(keys))]
        group = ", ".join(names)
        rollup_sums = ", ".join(f"SUM({s.name}) AS s{i}" for i, s in enumerate(SUMS))
        raw_sums = ", ".join(f"{s.raw_sql} AS s{i}" for i, s in enumerate(SUMS))
        raw_keys = ", ".join(f"{raw} AS {name}" for (_rollup, raw), name in zip(keys, names, strict=True))
        parts: list[str] = []
        params: list[Any] = []
        upper: float | None = None  # where the coarser tier began: finer tiers stop there
        for tier in usable:
            if since is not None and upper is not None and upper <= since:
                break
            # unary + (a no-op on the value) keeps the planner from walking a whole rollup through a dropdown index
            # just to get its GROUP BY order, instead of seeking the window's range of the primary key
            rollup_keys = ", ".join(
                f"+({rollup.format(t=tier.time_column)}) AS {name}"
                for (rollup, _raw), name in zip(keys, names, strict=True)
            )
            start = None if since is None else math.ceil(since / tier.seconds) * tier.seconds
            conds: list[str] = []
            cond_params: list[float] = []
            if start is not None:
                conds.append(f"{tier.time_column} >= ?")
                cond_params.append(start)
            if upper is not None:
                conds.append(f"{tier.time_column} < ?")
                cond_params.append(upper)
            where = " AND ".join(conds) or "1"
            parts.append(f"SELECT {rollup_keys}, {rollup_sums} FROM {tier.table} WHERE {where}{fsql} GROUP BY {group}")
            params += [*cond_params, *fparams]
            if since is None:
                break
            upper = start
        if not usable or (since is not None and (upper is None or upper > since)):
            conds, raw_params = [], []
            if since is not None:
                conds.append("ts >= ?")
                raw_params.append(since)
            if upper is not None:
                conds.append("ts < ?")
                raw_params.append(float(upper))
            where = " AND ".join(conds) or "1"
            # the ts index, always: with a provider filter the planner may otherwise walk a provider's whole history
            source = "usage" if since is None else "usage INDEXED BY idx_usage_ts"
            parts.append(f"SELECT {raw_keys}, {raw_sums} FROM {source} WHERE {where}{fsql} GROUP BY {group}")
            params += [*raw_params, *fparams]
        if len(parts) == 1:
            rows = conn.execute(parts[0], params).fetchall()
        else:
            outer = ", ".join(f"SUM(s{i})" for i in range(len(SUMS)))
            union = " UNION ALL ".join(parts)
            rows = conn.execute(f"SELECT {group}, {outer} FROM ({union}) AS u GROUP BY {group}", params).fetchall()
        width = len(keys)
        return [(tuple(row[:width]), Totals.of(row[width:])) for row in rows]

    def errors(
        self, conn: sqlite3.Connection, since: float | None, filters: Mapping[str, Any]
    ) -> list[tuple[str, str, int]]:
        """(provider, error kind, count) of failed attempts, most frequent first."""
        fsql, fparams = filter_sql(filters)
        time_sql, time_params = ("", []) if since is None else (" AND ts >= ?", [since])
        return [
            (str(p), str(k), int(n))
            for p, k, n in conn.execute(
                "SELECT provider, COALESCE(error_kind, 'unknown') AS kind, COUNT(*) AS n "
                f"FROM usage INDEXED BY idx_usage_failures WHERE success = 0{time_sql}{fsql} "
                "GROUP BY provider, kind ORDER BY n DESC, provider, kind",
                [*time_params, *fparams],
            )
        ]


def batches(conn: Any, sql: str, params: Sequence[Any], size: int) -> Iterator[list[Any]]:
    """A query's rows `size` at a time, in bounded memory: SQLite steps its cursor; PostgreSQL reads from a
    server-side cursor (`PgConnection.stream`), since a plain psycopg cursor would fetch the whole result first."""
    stream = getattr(conn, "stream", None)
    if stream is not None:
        yield from stream(sql, params, size)
        return
    cursor = conn.execute(sql, params)
    while rows := cursor.fetchmany(size):
        yield rows


def _total(groups: Iterator[Totals] | Sequence[Totals]) -> Totals:
    sums = [0.0] * len(SUMS)
    for totals in groups:
        for i, value in enumerate(totals):
            sums[i] += value
    return Totals._make(sums)


def _seed_totals(hours: float | None, totals: Totals) -> dict[str, Any]:
    requests, successful = int(totals.requests), int(totals.successful)
    tokens_in, tokens_out = int(totals.input_tokens), int(totals.output_tokens)
    return {
        "period_hours": hours,
        "total_requests": requests,
        "successful_requests": successful,
        "failed_requests": requests - successful,
        "total_input_tokens": tokens_in,
        "total_output_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
        "cost_usd": r6(totals.cost_usd),
    }


def token_kinds(totals: Totals) -> dict[str, Any]:
    """Prompt caching and reasoning totals. `output_tokens` includes reasoning, hence the share."""
    output = int(totals.output_tokens)
    reasoning = int(totals.reasoning_tokens)
    return {
        "total_input_tokens": int(totals.input_tokens),
        "total_output_tokens": output,
        "total_cached_input_tokens": int(totals.cached_input_tokens),
        "total_reasoning_tokens": reasoning,
        "reasoning_share": round(reasoning / output, 4) if output else 0.0,
        "cache_saved_usd": r6(totals.cache_saved_usd),
    }
