"""A/B provider comparison: run one task on several providers at once, store the user's votes, rank providers.

Votes live in the usage database (table `ab_votes`), so one file holds everything a user may want to inspect or
delete. Like the usage table, only metadata is kept: who voted, which task, which providers, the winner, and each
provider's cost and latency. Never the CV, the job or the answers.

Win rate is wins / comparisons; a tie is a comparison without a win. Cost per win is what a provider cost over all
the comparisons it took part in, divided by its wins: the price of one answer a user preferred.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from core.base import CVCopilotError, NoProviderAvailable, TaskType
from core.tracker.storage import open_storage, run_migrations

__all__ = [
    "COMPARE_TASKS", "MAX_PROVIDERS", "TIE", "Evidence", "VoteStore", "compare", "evidence", "get_vote_store",
    "task_request",
]  # fmt: skip

TIE = "tie"
MAX_PROVIDERS = 4
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


# --- storage --------------------------------------------------------------------------------------------------


def m001_create_ab_votes(db: sqlite_utils.Database) -> None:
    """One row per vote; providers/costs/latencies as JSON, read back with json_each in SQL."""
    db.table("ab_votes").create(
        {
            "id": int,
            "ts": float,
            "user_id": str,
            "task_type": str,
            "providers": str,
            "winner": str,
            "costs": str,
            "latencies": str,
        },
        pk="id",
        not_null={"ts", "user_id", "task_type", "providers", "winner", "costs", "latencies"},
    )
    db.table("ab_votes").create_index(["task_type", "ts"], index_name="idx_ab_votes_task_ts")
    db.table("ab_votes").create_index(["ts"], index_name="idx_ab_votes_ts")


_MIGRATIONS = (m001_create_ab_votes,)

_WIN_RATES_SQL = """
SELECT v.task_type AS task_type,
       p.value AS provider,
       COUNT(*) AS comparisons,
       SUM(v.winner = p.value) AS wins,
       SUM(v.winner = 'tie') AS ties,
       SUM(COALESCE(c.value, 0.0)) AS cost_usd,
       AVG(l.value) AS avg_latency_ms
FROM ab_votes AS v
JOIN json_each(v.providers) AS p
LEFT JOIN json_each(v.costs) AS c ON c.key = p.value
LEFT JOIN json_each(v.latencies) AS l ON l.key = p.value
WHERE {where}
GROUP BY v.task_type, p.value
"""


def _numbers(values: Mapping[str, float] | None, providers: Sequence[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in (values or {}).items():
        if name not in providers:
            raise ValueError(f"{what} names {name!r}, which is not one of the compared providers")
        number = float(value)
        if not (math.isfinite(number) and number >= 0):
            raise ValueError(f"{what} for {name!r} must be a finite number >= 0, got {value!r}")
        out[name] = number
    return out


class VoteStore:
    """A/B votes in the usage database; safe to share between threads (one connection per thread, WAL)."""

    def __init__(self, db_path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> None:
        self._storage = open_storage(db_path)
        self._clock = clock
        run_migrations(self._storage, "ab", _MIGRATIONS)

    @property
    def db_path(self) -> Path:
        return self._storage.path

    def close(self) -> None:
        self._storage.close()

    def record_vote(
        self,
        *,
        task_type: TaskType | str,
        providers: Sequence[str],
        winner: str,
        costs: Mapping[str, float] | None = None,
        latencies: Mapping[str, float] | None = None,
        user_id: str = "anonymous",
        ts: float | None = None,
    ) -> int:
        """Store one vote and return its id. `winner` is one of `providers` or "tie"."""
        task = TaskType(task_type).value
        names = [str(p) for p in providers]
        if not 2 <= len(names) <= MAX_PROVIDERS:
            raise ValueError(f"a vote compares 2 to {MAX_PROVIDERS} providers, got {len(names)}")
        if len(set(names)) != len(names):
            raise ValueError(f"each provider may appear once in a vote, got {names}")
        for name in names:
            if not _NAME.match(name) or name == TIE:
                raise ValueError(f"not a valid provider name: {name!r}")
        if winner != TIE and winner not in names:
            raise ValueError(f"the winner must be one of {names} or {TIE!r}, got {winner!r}")
        if not isinstance(user_id, str) or not user_id:
            raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
        cost_map = _numbers(costs, names, "costs")
        latency_map = _numbers(latencies, names, "latencies")
        when = self._clock() if ts is None else float(ts)
        row = (
            when,
            user_id,
            task,
            json.dumps(names),
            winner,
            json.dumps(cost_map, sort_keys=True),
            json.dumps(latency_map, sort_keys=True),
        )
        with self._storage.write() as conn:
            cursor = conn.execute(
                "INSERT INTO ab_votes (ts, user_id, task_type, providers, winner, costs, latencies) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return int(cursor.lastrowid or 0)

    def win_rates(
        self, hours: float | None = None, task_type: TaskType | str | None = None, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Per (task, provider): comparisons, wins, ties, win_rate, cost_usd, cost_per_win, avg_latency_ms.

        Sorted by task, then best win rate, then cheapest. `cost_per_win` is None for a provider that never won.
        """
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if hours is not None:
            value = float(hours)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"hours must be a finite number >= 0 or None, got {hours!r}")
            clauses.append("v.ts >= ?")
            params.append(self._clock() - value * 3600)
        if task_type is not None:
            clauses.append("v.task_type = ?")
            params.append(TaskType(task_type).value)
        if user_id is not None:
            clauses.append("v.user_id = ?")
            params.append(user_id)
        sql = (
            "SELECT *, CAST(wins AS REAL) / comparisons AS win_rate, "
            "CASE WHEN wins > 0 THEN cost_usd / wins END AS cost_per_win "
            f"FROM ({_WIN_RATES_SQL.format(where=' AND '.join(clauses))}) "
            "ORDER BY task_type, win_rate DESC, cost_usd ASC, provider"
        )
        with self._storage.read() as conn:
            cursor = conn.execute(sql, params)
            columns = [d[0] for d in cursor.description]
            fetched = cursor.fetchall()
        out = []
        for values in fetched:
            row = dict(zip(columns, values, strict=True))
            out.append(
                {
                    "task_type": row["task_type"],
                    "provider": row["provider"],
                    "comparisons": int(row["comparisons"]),
                    "wins": int(row["wins"]),
                    "ties": int(row["ties"]),
                    "win_rate": float(row["win_rate"]),
                    "cost_usd": float(row["cost_usd"]),
                    "cost_per_win": None if row["cost_per_win"] is None else float(row["cost_per_win"]),
                    "avg_latency_ms": None if row["avg_latency_ms"] is None else float(row["avg_latency_ms"]),
                }
            )
        return out

    def vote_counts(self) -> dict[str, int]:
        """Votes per task (ties included): the evidence threshold of vote-based routing counts these."""
        with self._storage.read() as conn:
            rows = conn.execute("SELECT task_type, COUNT(*) FROM ab_votes GROUP BY task_type").fetchall()
        return {str(task): int(n) for task, n in rows}

    def votes(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest votes first, JSON columns decoded (for a history table and exports)."""
        with self._storage.read() as conn:
            rows = conn.execute(
                "SELECT id, ts, user_id, task_type, providers, winner, costs, latencies FROM ab_votes "
                "ORDER BY ts DESC, id DESC LIMIT ?",
                (max(0, int(limit)),),
            ).fetchall()
        keys = ("id", "ts", "user_id", "task_type", "providers", "winner", "costs", "latencies")
        out = []
        for values in rows:
            row = dict(zip(keys, values, strict=True))
            for name in ("providers", "costs", "latencies"):
                row[name] = json.loads(row[name])
            out.append(row)
        return out

    def clear(self) -> int:
        """Delete every vote (votes name users). Returns how many were deleted."""
        with self._storage.write() as conn:
            cursor = conn.execute("DELETE FROM ab_votes")
        return int(cursor.rowcount)


# --- routing by votes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What the votes of one task say: how many, each provider's record, and the winner by win rate per dollar.

    `winner` is None until the task has `min_votes` votes, or when no provider (other than the offline engine,
    which stays the last resort) has won yet.
    """

    task_type: str
    votes: int
    min_votes: int
    rows: tuple[dict[str, Any], ...]
    winner: str | None

    @property
    def enough(self) -> bool:
        return self.votes >= self.min_votes

    def row(self, provider: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["provider"] == provider), None)

    def sentence(self) -> str:
        """One line for a page or a route reason."""
        if not self.enough:
            return f"{self.votes} of {self.min_votes} votes needed for {self.task_type}; routing ignores them so far"
        row = self.row(self.winner) if self.winner else None
        if row is None:
            return f"{self.votes} votes for {self.task_type}, but no provider other than the offline engine has won one"
        return f"{self.winner} preferred for {self.task_type}: {self.votes} votes, {_record(row)}"


def _record(row: Mapping[str, Any]) -> str:
    per_win = row["cost_per_win"]
    cost = "free" if not per_win else f"${per_win:.4f} per win"
    return f"win rate {row['win_rate']:.0%}, {cost}"


def _per_dollar(row: Mapping[str, Any]) -> float:
    """Win rate per dollar spent per comparison, i.e. wins / cost; a free provider that wins is worth most."""
    return math.inf if row["cost_usd"] <= 0 else row["wins"] / row["cost_usd"]


def evidence(
    rows: Iterable[Mapping[str, Any]], counts: Mapping[str, int], task_type: TaskType | str, min_votes: int
) -> Evidence:
    """The evidence for one task from `VoteStore.win_rates()` rows and `VoteStore.vote_counts()`.

    The winner has the best win rate per dollar (ties: higher win rate, then more wins, then the name); only a
    provider with at least one win qualifies, and the offline engine is never the winner (free, it would always be).
    """
    task = TaskType(task_type).value
    own = tuple(dict(r) for r in rows if r["task_type"] == task)
    votes = int(counts.get(task, 0))
    winner = None
    if votes >= min_votes:
        eligible = [r for r in own if r["wins"] > 0 and r["provider"] != "local"]
        if eligible:
            best = min(eligible, key=lambda r: (-_per_dollar(r), -r["win_rate"], -r["wins"], r["provider"]))
            winner = str(best["provider"])
    return Evidence(task, votes, min_votes, own, winner)


def get_vote_store(db_path: str | os.PathLike[str] | None = None) -> VoteStore:
    """The process's vote store (on the settings' database), or a shared one on another database file."""
    from core.services import get_services

    return get_services().vote_store(db_path)


# --- running a comparison -------------------------------------------------------------------------------------

#: The tasks the comparison page offers, with the output limit each gets (as the job-seeker pages use).
COMPARE_TASKS: dict[TaskType, int] = {
    TaskType.CV_TAILORING: 3000,
    TaskType.COVER_LETTER: 900,
    TaskType.FAST_SUMMARY: 300,
    TaskType.JOB_ANALYSIS: 800,
}


def task_request(
    task_type: TaskType | str, *, cv: dict[str, Any] | None, cv_text: str, job_description: str
) -> dict[str, Any]:
    """{system, prompt, payload, json_mode, max_tokens} for one comparison task, built as the job-seeker pages
    build it, ready for `compare(router, task, **request, ...)`.

    With only CV text (no parsed CV yet), the offline parser turns it into a CV first, at no cost. The payload
    lets the offline engine answer the task as a peer of the LLMs.
    """
    from core import local, prompts

    task = TaskType(task_type)
    if task not in COMPARE_TASKS:
        raise ValueError(f"cannot compare providers on {task.value}")
    json_mode = task in (TaskType.CV_TAILORING, TaskType.JOB_ANALYSIS)
    payload: dict[str, Any] = {"job_description": job_description}
    if task is TaskType.JOB_ANALYSIS:
        system, prompt = prompts.job_analysis(job_description)
    else:
        if cv is None:
            cv = local.parse_cv(cv_text)
        payload.update(cv=cv, cv_text=cv_text)
        if task is TaskType.CV_TAILORING:
            system, prompt = prompts.cv_tailoring(cv, job_description)
        elif task is TaskType.COVER_LETTER:
            system, prompt = prompts.cover_letter(cv, job_description, company=None, role=None)
            payload.update(company=None, role=None, tone="formal", length="medium")
        else:
            text = cv_text or json.dumps(cv, ensure_ascii=False)
            system, prompt = prompts.summary(text)
            payload.update(text=text, max_sentences=3)
    return {
        "system": system,
        "prompt": prompt,
        "payload": payload,
        "json_mode": json_mode,
        "max_tokens": COMPARE_TASKS[task],
    }


def _readable(exc: BaseException, provider: str) -> str:
    """One line a user can act on, without the router's whole attempt list."""
    if isinstance(exc, NoProviderAvailable):
        own = [a for a in exc.attempts if a.provider == provider and a.outcome != "ok"]
        if own:
            return own[-1].reason or own[-1].outcome
    if isinstance(exc, CVCopilotError):
        return str(exc)
    return f"unexpected error ({type(exc).__name__})"


async def compare(
    router: Any,
    task_type: TaskType | str,
    prompt: str,
    providers: Sequence[str],
    *,
    user_id: str = "anonymous",
    payload: dict[str, Any] | None = None,
    max_tokens: int = 1024,
    system: str | None = None,
    temperature: float = 0.2,
    json_mode: bool = False,
) -> list[dict[str, Any]]:
    """Run the same task on each provider at once (forced, no cache, no fallback); one result per provider, in order.

    Takes 1 to 4 distinct providers (one alone is allowed so that the offline engine can still be tried with no
    key). A provider that fails gets `error` set and zero cost; the others are unaffected.
    """
    task = TaskType(task_type)
    names = list(providers)
    if not 1 <= len(names) <= MAX_PROVIDERS:
        raise ValueError(f"compare 1 to {MAX_PROVIDERS} providers, got {len(names)}")
    if len(set(names)) != len(names):
        raise ValueError(f"each provider may appear once, got {names}")

    async def one(name: str) -> dict[str, Any]:
        model = router.settings.providers[name].model if name in router.settings.providers else ""
        started = time.perf_counter()
        try:
            response = await router.generate(
                task, prompt, user_id=user_id, provider=name, use_cache=False, max_tokens=max_tokens,
                temperature=temperature, system=system, json_mode=json_mode, payload=payload,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - one provider's failure must not sink the others
            return {
                "provider": name,
                "model": model,
                "content": "",
                "cost_usd": 0.0,
                "input_tokens": 0,
                "output_tokens": 0,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "error": _readable(exc, name),
            }
        return {
            "provider": name,
            "model": response.model,
            "content": response.content,
            "cost_usd": response.cost_usd,
            "input_tokens": response.input_tokens,
            "output_tokens": response.output_tokens,
            "latency_ms": round(response.latency_ms, 3),
            "error": None,
        }

    return list(await asyncio.gather(*(one(name) for name in names)))
